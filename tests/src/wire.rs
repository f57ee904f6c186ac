//! A raw RESP connection, for tests that need to see exact bytes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tessera_resp::frame::{self, Frame};

/// A simple-string frame.
pub fn simple(text: &str) -> Frame {
    Frame::Simple(text.as_bytes().to_vec())
}

/// A bulk-string frame.
pub fn bulk(text: &str) -> Frame {
    Frame::Bulk(text.as_bytes().to_vec())
}

/// An error frame.
pub fn error(text: &str) -> Frame {
    Frame::Error(text.as_bytes().to_vec())
}

/// A TCP connection speaking RESP, without any client library in between.
pub struct RawConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawConnection {
    /// Connects to a local port.
    pub fn connect(port: u16) -> io::Result<RawConnection> {
        Self::connect_to("127.0.0.1", port)
    }

    /// Connects to `host:port` (one of this machine's other addresses, to be seen as a
    /// remote client).
    pub fn connect_to(host: &str, port: u16) -> io::Result<RawConnection> {
        let stream = TcpStream::connect((host, port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            stream,
            buffer: Vec::new(),
        })
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one reply frame.
    pub fn read_frame(&mut self) -> io::Result<Frame> {
        loop {
            match frame::decode(&self.buffer, usize::MAX) {
                Ok(Some((f, used))) => {
                    self.buffer.drain(..used);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads one reply and answers its exact bytes (to tell `*-1` from `$-1`).
    pub fn read_raw(&mut self) -> io::Result<Vec<u8>> {
        loop {
            match frame::decode(&self.buffer, usize::MAX) {
                Ok(Some((_, used))) => return Ok(self.buffer.drain(..used).collect()),
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command as an array of bulk strings and reads its reply.
    pub fn command(&mut self, args: &[&str]) -> io::Result<Frame> {
        self.send(&Frame::command(args.iter().map(|a| a.as_bytes())))?;
        self.read_frame()
    }

    /// Sends a command of raw byte arguments and reads its reply.
    pub fn command_bytes(&mut self, args: &[&[u8]]) -> io::Result<Frame> {
        self.send(&Frame::command(args.iter().copied()))?;
        self.read_frame()
    }

    /// Reads everything until the server closes the connection (or `timeout`).
    pub fn read_until_closed(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        self.stream.set_read_timeout(Some(timeout))?;
        let mut all = std::mem::take(&mut self.buffer);
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(all),
                Ok(n) => all.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "still open after {timeout:?}; got {:?}",
                            String::from_utf8_lossy(&all)
                        ),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(all),
                Err(e) => return Err(e),
            }
        }
    }
}

/// A frame as readable text, for assertion messages.
pub fn show(frame: &Frame) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match frame {
        Frame::Simple(b) => format!("+{}", text(b)),
        Frame::Error(b) => format!("-{}", text(b)),
        Frame::Integer(n) => format!(":{n}"),
        Frame::Bulk(b) => format!("{:?}", text(b)),
        Frame::Null => "(nil)".into(),
        Frame::Boolean(b) => format!("#{b}"),
        Frame::Double(d) => format!(",{d}"),
        Frame::BigNumber(b) => format!("({}", text(b)),
        Frame::BulkError(b) => format!("!{}", text(b)),
        Frame::Verbatim(f, b) => format!("={}:{}", text(f), text(b)),
        Frame::Array(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Frame::Set(items) => format!(
            "~[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Frame::Push(items) => format!(
            ">[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Frame::Map(pairs) | Frame::Attribute(pairs, _) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The raw text of a string reply (simple, error, bulk or verbatim); empty otherwise.
pub fn text(frame: &Frame) -> String {
    match frame {
        Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::Verbatim(_, b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        _ => String::new(),
    }
}
