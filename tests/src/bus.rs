//! Raw cluster bus messages for tests that probe a node's bus port, built by hand from
//! the Redis 7.0 layout (not with Tessera's encoder, so the tests check the decoder
//! against the layout itself), and a connection that counts the replies.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Size of the fixed header.
pub const HEADER_LEN: usize = 2256;
/// Message type codes.
pub const PING: u16 = 0;
/// PONG.
pub const PONG: u16 = 1;
/// FAIL.
pub const FAIL: u16 = 3;

/// A message header with every field at its offset; the body follows.
#[derive(Clone)]
pub struct RawMessage {
    bytes: Vec<u8>,
}

impl RawMessage {
    /// A header of `kind` from `sender` (40 characters), zeros elsewhere, version 1,
    /// master flag, claiming client port `port` and bus port `cport`; totlen is set to
    /// the real length when [`RawMessage::bytes`] is called unless overridden.
    pub fn new(kind: u16, sender: &str, port: u16, cport: u16) -> RawMessage {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..4].copy_from_slice(b"RCmb");
        b[8..10].copy_from_slice(&1u16.to_be_bytes());
        b[10..12].copy_from_slice(&port.to_be_bytes());
        b[12..14].copy_from_slice(&kind.to_be_bytes());
        b[40..80].copy_from_slice(&sender.as_bytes()[..40]);
        b[2248..2250].copy_from_slice(&cport.to_be_bytes());
        b[2250..2252].copy_from_slice(&1u16.to_be_bytes());
        RawMessage { bytes: b }
    }

    /// Sets a big-endian u16 field at `offset`.
    pub fn u16_at(mut self, offset: usize, value: u16) -> RawMessage {
        self.bytes[offset..offset + 2].copy_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends body bytes.
    pub fn body(mut self, body: &[u8]) -> RawMessage {
        self.bytes.extend_from_slice(body);
        self
    }

    /// The message with totlen set to its real length.
    pub fn bytes(&self) -> Vec<u8> {
        let len = self.bytes.len() as u32;
        self.with_totlen(len)
    }

    /// The message with totlen set to `totlen`, whatever its real length.
    pub fn with_totlen(&self, totlen: u32) -> Vec<u8> {
        let mut b = self.bytes.clone();
        b[4..8].copy_from_slice(&totlen.to_be_bytes());
        b
    }
}

/// Sends `input` on a new connection to a bus port and returns the type codes of the
/// messages the node sends back: everything up to the node closing the link, or, when
/// it answers, its first reply and whatever follows it at once (a node answers the
/// messages of one batch together). An input that ends with a valid PING therefore
/// shows whether the link survived what came before it.
pub fn exchange(bus_port: u16, input: &[u8]) -> Vec<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", bus_port)).expect("bus port");
    // The node may close the link while we still write: that is an answer, not an error.
    let _ = stream.write_all(input);
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut chunk = [0u8; 65536];
    loop {
        let answered = !frames(&received).is_empty();
        let wait = if answered {
            Duration::from_millis(200)
        } else {
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        };
        stream.set_read_timeout(Some(wait)).expect("timeout");
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                assert!(answered, "no reply and the link still open after 10 s");
                break;
            }
            Err(_) => break,
        }
    }
    frames(&received)
}

/// Sends `input` and drops the connection without waiting for anything.
pub fn abandon(bus_port: u16, input: &[u8]) {
    let mut stream = TcpStream::connect(("127.0.0.1", bus_port)).expect("bus port");
    let _ = stream.write_all(input);
    let _ = stream.shutdown(Shutdown::Both);
}

/// The type codes of the complete messages in `bytes`.
fn frames(mut rest: &[u8]) -> Vec<u16> {
    let mut kinds = Vec::new();
    while rest.len() >= 8 {
        let total = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        if &rest[..4] != b"RCmb" || total < HEADER_LEN || rest.len() < total {
            break;
        }
        kinds.push(u16::from_be_bytes([rest[12], rest[13]]));
        rest = &rest[total..];
    }
    kinds
}
