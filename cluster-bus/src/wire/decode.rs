//! Reading messages as a Redis 7.0 node does: framing, then per-type validation.

use super::*;
use crate::node_id::NODE_ID_LEN;
use crate::slot_bitmap::SLOT_BITMAP_LEN;

/// Why a complete frame was dropped (the link stays open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// `ver` is not 1 (Redis drops these silently).
    BadVersion(u16),
    /// The length does not match what the type requires.
    WrongLength {
        /// Total length received.
        got: u64,
        /// Length the header implies.
        expected: u64,
    },
    /// A ping extension is not a multiple of 8 bytes or overruns the message.
    BadExtension,
}

/// The outcome of reading one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A valid message.
    Message(Message),
    /// Dropped; `kind` is the type code (for the statistics, counted anyway).
    Dropped {
        /// The type code.
        kind: u16,
        /// Why.
        reason: DropReason,
    },
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn id_at(b: &[u8], at: usize) -> NodeId {
    NodeId::from_bytes(b[at..at + NODE_ID_LEN].try_into().expect("40 bytes"))
}

/// A NUL-terminated text field.
fn text_at(b: &[u8], at: usize, len: usize) -> String {
    let field = &b[at..at + len];
    let end = field.iter().position(|&c| c == 0).unwrap_or(len);
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn header(frame: &[u8]) -> Header {
    let replica_of = if frame[2128..2168].iter().all(|&b| b == 0) {
        None
    } else {
        Some(id_at(frame, 2128))
    };
    Header {
        kind: u16_at(frame, 12),
        port: u16_at(frame, 10),
        current_epoch: u64_at(frame, 16),
        config_epoch: u64_at(frame, 24),
        offset: u64_at(frame, 32),
        sender: id_at(frame, 40),
        slots: SlotBitmap::from_bytes(
            frame[80..80 + SLOT_BITMAP_LEN]
                .try_into()
                .expect("2048 bytes"),
        ),
        replica_of,
        ip: text_at(frame, 2168, IP_LEN),
        pport: u16_at(frame, 2246),
        cport: u16_at(frame, 2248),
        flags: u16_at(frame, 2250),
        state: frame[2252],
        // EXT_DATA is framing: the body carries the extensions themselves.
        mflags: frame[2253] & !MFLAG_EXT_DATA,
    }
}

/// Walks the ping extensions as Redis 7.0 validates them; returns their total length.
fn extension_lengths(frame: &[u8], start: usize, count: u16) -> Result<u64, DropReason> {
    let total = frame.len() as u64;
    let mut at = start as u64;
    let mut sum = 0u64;
    for _ in 0..count {
        if at + 8 > total {
            return Err(DropReason::BadExtension);
        }
        // Redis reads the length into 16 bits; honour that quirk so we agree on what
        // is valid.
        let len = u64::from(u32_at(frame, at as usize) as u16);
        if len % 8 != 0 || len > total - at {
            return Err(DropReason::BadExtension);
        }
        sum += len;
        at += len;
        if len == 0 {
            // A zero-length extension stays in place; the remaining ones read the
            // same header again, as in Redis. Nothing more can be learned.
            continue;
        }
    }
    Ok(sum)
}

/// Validates and decodes one frame. Framing (signature, `totlen`, at least a header)
/// is already proven by the [`CheckedFrame`]; this checks what depends on the type.
pub fn decode(frame: CheckedFrame<'_>) -> Received {
    let frame = frame.bytes();
    let kind = u16_at(frame, 12);
    let version = u16_at(frame, 8);
    if version != PROTOCOL_VERSION {
        return Received::Dropped {
            kind,
            reason: DropReason::BadVersion(version),
        };
    }
    let total = frame.len() as u64;
    let header_len = HEADER_LEN as u64;
    let count = u16_at(frame, 14);
    let mflags = frame[2253];
    let expected = match MessageType::from_code(kind) {
        Some(MessageType::Ping | MessageType::Pong | MessageType::Meet) => {
            let gossip_end = header_len + GOSSIP_LEN as u64 * u64::from(count);
            if mflags & MFLAG_EXT_DATA != 0 && gossip_end <= total {
                match extension_lengths(frame, gossip_end as usize, u16_at(frame, 2214)) {
                    Ok(ext) => gossip_end + ext,
                    Err(reason) => return Received::Dropped { kind, reason },
                }
            } else {
                gossip_end
            }
        }
        Some(MessageType::Fail) => header_len + NODE_ID_LEN as u64,
        Some(MessageType::Publish | MessageType::PublishShard) => {
            if total < header_len + 8 {
                header_len + 8
            } else {
                header_len + 8 + u64::from(u32_at(frame, 2256)) + u64::from(u32_at(frame, 2260))
            }
        }
        Some(
            MessageType::FailoverAuthRequest | MessageType::FailoverAuthAck | MessageType::MfStart,
        ) => header_len,
        Some(MessageType::Update) => UPDATE_LEN as u64,
        Some(MessageType::Module) => {
            if total < header_len + 13 {
                header_len + 13
            } else {
                header_len + 13 + u64::from(u32_at(frame, 2264))
            }
        }
        // Unknown types are accepted at any length and then ignored.
        None => total,
    };
    if expected != total {
        return Received::Dropped {
            kind,
            reason: DropReason::WrongLength {
                got: total,
                expected,
            },
        };
    }
    let header = header(frame);
    let body = match MessageType::from_code(kind) {
        Some(t) if t.is_ping_like() => {
            let mut gossip = Vec::with_capacity(count as usize);
            for i in 0..count as usize {
                let g = HEADER_LEN + i * GOSSIP_LEN;
                gossip.push(GossipEntry {
                    node: id_at(frame, g),
                    ping_sent: u32_at(frame, g + 40),
                    pong_received: u32_at(frame, g + 44),
                    ip: text_at(frame, g + 48, IP_LEN),
                    port: u16_at(frame, g + 94),
                    cport: u16_at(frame, g + 96),
                    flags: u16_at(frame, g + 98),
                    pport: u16_at(frame, g + 100),
                });
            }
            let mut extensions = Vec::new();
            if mflags & MFLAG_EXT_DATA != 0 {
                let mut at = HEADER_LEN + count as usize * GOSSIP_LEN;
                for _ in 0..u16_at(frame, 2214) {
                    let len = u32_at(frame, at) as u16 as usize;
                    let ext_type = u16_at(frame, at + 4);
                    extensions.push(if ext_type == 0 && len >= 8 {
                        PingExtension::Hostname(text_at(frame, at + 8, len - 8))
                    } else {
                        PingExtension::Unknown(ext_type)
                    });
                    at += len;
                }
            }
            Body::Ping { gossip, extensions }
        }
        Some(MessageType::Fail) => Body::Fail(id_at(frame, HEADER_LEN)),
        Some(MessageType::Publish | MessageType::PublishShard) => {
            let channel_len = u32_at(frame, 2256) as usize;
            Body::Publish {
                channel: frame[2264..2264 + channel_len].to_vec(),
                message: frame[2264 + channel_len..].to_vec(),
            }
        }
        Some(MessageType::Update) => Body::Update {
            config_epoch: u64_at(frame, 2256),
            node: id_at(frame, 2264),
            slots: SlotBitmap::from_bytes(
                frame[2304..2304 + SLOT_BITMAP_LEN]
                    .try_into()
                    .expect("2048 bytes"),
            ),
        },
        Some(MessageType::Module) => Body::Module {
            module_id: frame[2256..2264].try_into().expect("8 bytes"),
            module_type: frame[2268],
            payload: frame[2269..].to_vec(),
        },
        _ => Body::Empty,
    };
    Received::Message(Message { header, body })
}
