//! A minimal blocking RESP client for talking to the nodes `tessera up` starts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tessera_resp_server::protocol::frame::{self, Frame};

/// One connection to a node.
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    /// Connects to a local port.
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Client {
            stream,
            buffer: Vec::new(),
        })
    }

    /// Sends a command and reads its reply; an error reply becomes `Err`.
    pub fn call(&mut self, args: &[&str]) -> anyhow::Result<Frame> {
        self.stream
            .write_all(&Frame::command(args.iter().map(|a| a.as_bytes())))?;
        loop {
            if let Some((f, used)) = frame::decode(&self.buffer, usize::MAX)? {
                self.buffer.drain(..used);
                if let Frame::Error(e) = &f {
                    anyhow::bail!("{}: {}", args.join(" "), String::from_utf8_lossy(e));
                }
                return Ok(f);
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            anyhow::ensure!(n > 0, "connection closed");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// A command whose reply is text (bulk or verbatim).
    pub fn text(&mut self, args: &[&str]) -> anyhow::Result<String> {
        match self.call(args)? {
            Frame::Bulk(b) | Frame::Verbatim(_, b) | Frame::Simple(b) => {
                Ok(String::from_utf8_lossy(&b).into_owned())
            }
            other => anyhow::bail!("unexpected reply to {}: {other:?}", args.join(" ")),
        }
    }
}
