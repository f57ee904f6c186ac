//! A small blocking RESP client: what `tessera up` and the admin plane's slot mover
//! use to talk to nodes (Tessera or redis-server) on their client port.

use anyhow::Context;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tessera_resp::frame::{self, Frame};

/// One connection to a node.
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// A command's arguments.
pub type Args = Vec<Vec<u8>>;

impl Client {
    /// Connects to a local port.
    pub fn connect(port: u16) -> anyhow::Result<Client> {
        Client::open("127.0.0.1", port, None)
    }

    /// Connects to `host:port` and authenticates with `password` when given.
    pub fn open(host: &str, port: u16, password: Option<&str>) -> anyhow::Result<Client> {
        let stream = TcpStream::connect((host, port))
            .with_context(|| format!("connecting to {host}:{port}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        let mut client = Client {
            stream,
            buffer: Vec::new(),
        };
        if let Some(password) = password {
            client.call(&["AUTH", password])?;
        }
        Ok(client)
    }

    /// Sends a command and reads its reply; an error reply becomes `Err`.
    pub fn call(&mut self, args: &[&str]) -> anyhow::Result<Frame> {
        self.stream
            .write_all(&Frame::command(args.iter().map(|a| a.as_bytes())))?;
        match self.read_frame()? {
            Frame::Error(e) => {
                anyhow::bail!("{}: {}", args.join(" "), String::from_utf8_lossy(&e))
            }
            f => Ok(f),
        }
    }

    /// Sends every command at once, then reads every reply, in order. Error replies
    /// are returned as [`Frame::Error`], not as `Err`.
    pub fn pipeline(&mut self, commands: &[Args]) -> anyhow::Result<Vec<Frame>> {
        let mut out = Vec::new();
        for c in commands {
            out.extend_from_slice(&Frame::command(c.iter().map(Vec::as_slice)));
        }
        self.stream.write_all(&out)?;
        commands.iter().map(|_| self.read_frame()).collect()
    }

    fn read_frame(&mut self) -> anyhow::Result<Frame> {
        loop {
            if let Some((f, used)) = frame::decode(&self.buffer, usize::MAX)? {
                self.buffer.drain(..used);
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

/// Builds a command from text and byte arguments.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(AsRef::<[u8]>::as_ref(&$a).to_vec()),*]
    };
}
