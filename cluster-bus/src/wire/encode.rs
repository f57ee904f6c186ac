//! Writing messages exactly as a Redis 7.0 node writes them.

use super::*;

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// Copies text into a NUL-terminated fixed field (truncated to leave room for NUL).
fn put_text(b: &mut [u8], at: usize, len: usize, text: &str) {
    let bytes = text.as_bytes();
    let n = bytes.len().min(len - 1);
    b[at..at + n].copy_from_slice(&bytes[..n]);
}

/// Encodes `msg`. The total length, gossip count and extension count are derived from
/// the body; the header's own fields are taken as given.
pub fn encode(msg: &Message) -> Vec<u8> {
    let h = &msg.header;
    let mut out = vec![0u8; HEADER_LEN];
    out[..4].copy_from_slice(SIGNATURE);
    put_u16(&mut out, 8, PROTOCOL_VERSION);
    put_u16(&mut out, 10, h.port);
    put_u16(&mut out, 12, h.kind);
    put_u64(&mut out, 16, h.current_epoch);
    put_u64(&mut out, 24, h.config_epoch);
    put_u64(&mut out, 32, h.offset);
    out[40..80].copy_from_slice(h.sender.as_bytes());
    out[80..2128].copy_from_slice(h.slots.as_bytes());
    if let Some(master) = &h.replica_of {
        out[2128..2168].copy_from_slice(master.as_bytes());
    }
    put_text(&mut out, 2168, IP_LEN, &h.ip);
    put_u16(&mut out, 2246, h.pport);
    put_u16(&mut out, 2248, h.cport);
    put_u16(&mut out, 2250, h.flags);
    out[2252] = h.state;
    let mut mflags = h.mflags & !MFLAG_EXT_DATA;
    match &msg.body {
        Body::Ping { gossip, extensions } => {
            put_u16(&mut out, 14, gossip.len() as u16);
            for g in gossip {
                let mut e = [0u8; GOSSIP_LEN];
                e[..40].copy_from_slice(g.node.as_bytes());
                put_u32(&mut e, 40, g.ping_sent);
                put_u32(&mut e, 44, g.pong_received);
                put_text(&mut e, 48, IP_LEN, &g.ip);
                put_u16(&mut e, 94, g.port);
                put_u16(&mut e, 96, g.cport);
                put_u16(&mut e, 98, g.flags);
                put_u16(&mut e, 100, g.pport);
                out.extend_from_slice(&e);
            }
            let hostnames: Vec<&String> = extensions
                .iter()
                .filter_map(|e| match e {
                    PingExtension::Hostname(h) => Some(h),
                    PingExtension::Unknown(_) => None,
                })
                .collect();
            if !hostnames.is_empty() {
                mflags |= MFLAG_EXT_DATA;
                put_u16(&mut out, 2214, hostnames.len() as u16);
                for host in hostnames {
                    // Payload: the name, a NUL, zero padding to a multiple of 8.
                    let payload = (host.len() + 1).div_ceil(8) * 8;
                    let mut ext = vec![0u8; 8 + payload];
                    put_u32(&mut ext, 0, (8 + payload) as u32);
                    put_u16(&mut ext, 4, 0);
                    ext[8..8 + host.len()].copy_from_slice(host.as_bytes());
                    out.extend_from_slice(&ext);
                }
            }
        }
        Body::Fail(node) => out.extend_from_slice(node.as_bytes()),
        Body::Publish { channel, message } => {
            let mut lens = [0u8; 8];
            put_u32(&mut lens, 0, channel.len() as u32);
            put_u32(&mut lens, 4, message.len() as u32);
            out.extend_from_slice(&lens);
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            out.extend_from_slice(&config_epoch.to_be_bytes());
            out.extend_from_slice(node.as_bytes());
            out.extend_from_slice(slots.as_bytes());
        }
        Body::Module {
            module_id,
            module_type,
            payload,
        } => {
            out.extend_from_slice(module_id);
            out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            out.push(*module_type);
            out.extend_from_slice(payload);
        }
        Body::Empty => {}
    }
    out[2253] = mflags;
    let total = out.len() as u32;
    put_u32(&mut out, 4, total);
    out
}
