//! The MIGRATE client: one batch of RESTORE commands to a target node over a connection
//! kept for the next batch, as Redis keeps one per target for 10 seconds. A batch is
//! written in one go and its replies read in order, so a slot moves in round trips of
//! whole batches rather than of keys.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use tessera_resp::command::encode_command;

use crate::args::TargetAuth;

/// How long an unused connection to a target is kept.
pub const IDLE_LIMIT: Duration = Duration::from_secs(10);
/// Idle connections kept per target (one per MIGRATE running at once).
const MAX_PER_TARGET: usize = 16;

/// How many targets keep connections at once.
const MAX_CACHED: usize = 64;
/// Longest reply line accepted from a target.
const MAX_LINE: usize = 64 * 1024;

/// Why a batch failed, with Redis's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateError {
    /// The target could not be reached.
    Connect,
    /// Sending the batch failed or timed out.
    Write,
    /// A reply did not arrive.
    Read,
    /// The target refused a command: its error line, without the `-`.
    Target(String),
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Connect => f.write_str("IOERR error or timeout connecting to the client"),
            MigrateError::Write => f.write_str("IOERR error or timeout writing to target instance"),
            MigrateError::Read => f.write_str("IOERR error or timeout reading to target instance"),
            MigrateError::Target(e) => write!(f, "ERR Target instance replied with error: {e}"),
        }
    }
}

/// One MIGRATE call's worth of commands for a target.
#[derive(Debug)]
pub struct TargetBatch<'a> {
    /// Sent first, when given.
    pub auth: Option<&'a TargetAuth>,
    /// The database the keys go to.
    pub db: i64,
    /// Each RESTORE (or RESTORE-ASKING) command, already encoded as RESP.
    pub restores: Vec<Vec<u8>>,
}

/// What a batch achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// For each RESTORE, whether the target confirmed it.
    pub accepted: Vec<bool>,
    /// The first problem, if any. Keys confirmed before a failure stay confirmed.
    pub error: Option<MigrateError>,
}

struct Cached {
    link: LineLink,
    last_db: Option<i64>,
    last_use: Instant,
}

/// The cached connections to targets, shared by every MIGRATE of a node.
#[derive(Default)]
pub struct TargetPool {
    /// Per target, the connections not in use: concurrent MIGRATEs to one target
    /// (of different slots) each take one.
    idle: Mutex<HashMap<String, Vec<Cached>>>,
}

impl TargetPool {
    /// An empty pool.
    pub fn new() -> TargetPool {
        TargetPool::default()
    }

    /// Closes connections unused for [`IDLE_LIMIT`].
    pub fn close_idle(&self, now: Instant) {
        let mut idle = self.idle.lock();
        for conns in idle.values_mut() {
            conns.retain(|c| now.duration_since(c.last_use) < IDLE_LIMIT);
        }
        idle.retain(|_, conns| !conns.is_empty());
    }

    /// How many connections are cached.
    pub fn cached(&self) -> usize {
        self.idle.lock().values().map(Vec::len).sum()
    }

    /// Runs a batch against `host:port`. Blocks: call it off the async workers. A
    /// broken cached connection is replaced once, as long as nothing was confirmed on
    /// it and the failure was not a timeout, as Redis does.
    pub fn send(
        &self,
        host: &str,
        port: &str,
        timeout: Duration,
        batch: &TargetBatch<'_>,
    ) -> BatchOutcome {
        let name = format!("{host}:{port}");
        let mut may_retry = true;
        loop {
            let cached = self.idle.lock().get_mut(&name).and_then(Vec::pop);
            let mut conn = match cached {
                Some(c) => c,
                None => match LineLink::connect(host, port, timeout) {
                    Ok(link) => Cached {
                        link,
                        last_db: None,
                        last_use: Instant::now(),
                    },
                    // Redis connects without waiting, so a refused connection shows
                    // up when it writes; only a timeout or a bad address fails the
                    // connect itself.
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        return failed(batch, MigrateError::Write);
                    }
                    Err(_) => return failed(batch, MigrateError::Connect),
                },
            };
            match exchange(&mut conn, timeout, batch) {
                Exchange::Done(outcome) => {
                    conn.last_use = Instant::now();
                    self.keep(name, conn);
                    return outcome;
                }
                Exchange::Broken { outcome, retry } => {
                    if retry && may_retry {
                        may_retry = false;
                        continue;
                    }
                    return outcome;
                }
            }
        }
    }

    fn keep(&self, name: String, conn: Cached) {
        let mut idle = self.idle.lock();
        if !idle.contains_key(&name)
            && idle.len() >= MAX_CACHED
            && let Some(evict) = idle.keys().next().cloned()
        {
            idle.remove(&evict);
        }
        let conns = idle.entry(name).or_default();
        if conns.len() < MAX_PER_TARGET {
            conns.push(conn);
        }
    }
}

fn failed(batch: &TargetBatch<'_>, error: MigrateError) -> BatchOutcome {
    BatchOutcome {
        accepted: vec![false; batch.restores.len()],
        error: Some(error),
    }
}

enum Exchange {
    /// The connection is still good (the target may have refused commands).
    Done(BatchOutcome),
    /// The connection is gone; `retry` when nothing was confirmed and it was no timeout.
    Broken { outcome: BatchOutcome, retry: bool },
}

fn exchange(conn: &mut Cached, timeout: Duration, batch: &TargetBatch<'_>) -> Exchange {
    let select = conn.last_db != Some(batch.db);
    let mut out = Vec::with_capacity(batch.restores.iter().map(Vec::len).sum::<usize>() + 64);
    if let Some(auth) = batch.auth {
        let mut parts: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(user) = &auth.user {
            parts.push(user);
        }
        parts.push(&auth.password);
        encode_command(&mut out, &parts);
    }
    if select {
        encode_command(&mut out, &[b"SELECT", batch.db.to_string().as_bytes()]);
    }
    for restore in &batch.restores {
        out.extend_from_slice(restore);
    }
    if let Err(e) = conn.link.send(&out, timeout) {
        return Exchange::Broken {
            outcome: failed(batch, MigrateError::Write),
            retry: !is_timeout(&e),
        };
    }
    let mut first_error: Option<String> = None;
    let mut preamble = |conn: &mut Cached| -> io::Result<()> {
        for wanted in [batch.auth.is_some(), select] {
            if wanted {
                let line = conn.link.read_line(timeout)?;
                if let Some(e) = line.strip_prefix('-') {
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        Ok(())
    };
    if let Err(e) = preamble(conn) {
        return Exchange::Broken {
            outcome: failed(batch, MigrateError::Read),
            retry: !is_timeout(&e),
        };
    }
    let mut accepted = vec![false; batch.restores.len()];
    for (j, ok) in accepted.iter_mut().enumerate() {
        let line = match conn.link.read_line(timeout) {
            Ok(line) => line,
            Err(e) => {
                let outcome = BatchOutcome {
                    accepted,
                    error: Some(first_error.map_or(MigrateError::Read, MigrateError::Target)),
                };
                return Exchange::Broken {
                    retry: j == 0 && outcome.error == Some(MigrateError::Read) && !is_timeout(&e),
                    outcome,
                };
            }
        };
        match line.strip_prefix('-') {
            Some(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
            None => *ok = first_error.is_none(),
        }
    }
    if first_error.is_some() {
        // The target may have refused the SELECT: select again next time.
        conn.last_db = None;
    } else {
        conn.last_db = Some(batch.db);
    }
    Exchange::Done(BatchOutcome {
        accepted,
        error: first_error.map(MigrateError::Target),
    })
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A blocking connection read one reply line at a time.
struct LineLink {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl LineLink {
    fn connect(host: &str, port: &str, timeout: Duration) -> io::Result<LineLink> {
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad port"))?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(LineLink {
                        stream,
                        buf: Vec::new(),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn send(&mut self, bytes: &[u8], timeout: Duration) -> io::Result<()> {
        self.stream.set_write_timeout(Some(timeout))?;
        self.stream.write_all(bytes)
    }

    fn read_line(&mut self, timeout: Duration) -> io::Result<String> {
        self.stream.set_read_timeout(Some(timeout))?;
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "reply too long"));
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A target that answers each command with the next scripted line.
    fn scripted_target(replies: Vec<&'static str>) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let handle = std::thread::spawn(move || {
            let mut accepted = 0;
            for stream in listener.incoming().take(1) {
                let mut stream = stream.unwrap();
                accepted += 1;
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut answered = 0;
                while answered < replies.len() {
                    let n = stream.read(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&chunk[..n]);
                    let commands = seen.iter().filter(|&&b| b == b'*').count();
                    while answered < commands.min(replies.len()) {
                        stream.write_all(replies[answered].as_bytes()).unwrap();
                        answered += 1;
                    }
                }
            }
            accepted
        });
        (port, handle)
    }

    fn restore(key: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"RESTORE-ASKING", key.as_bytes(), b"0", b"x"]);
        out
    }

    #[test]
    fn a_batch_selects_once_and_reports_each_key() {
        let (port, target) = scripted_target(vec![
            "+OK\r\n",
            "+OK\r\n",
            "-BUSYKEY Target key name already exists.\r\n",
        ]);
        let pool = TargetPool::new();
        let batch = TargetBatch {
            auth: None,
            db: 0,
            restores: vec![restore("a"), restore("b")],
        };
        let outcome = pool.send("127.0.0.1", &port, Duration::from_secs(5), &batch);
        assert_eq!(outcome.accepted, vec![true, false]);
        assert_eq!(
            outcome.error.unwrap().to_string(),
            "ERR Target instance replied with error: BUSYKEY Target key name already exists."
        );
        assert_eq!(pool.cached(), 1, "a refusal keeps the connection");
        pool.close_idle(Instant::now() + IDLE_LIMIT);
        assert_eq!(pool.cached(), 0);
        assert_eq!(target.join().unwrap(), 1);
    }

    #[test]
    fn a_refused_connection_is_a_write_error_as_in_redis() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port().to_string()
        };
        let pool = TargetPool::new();
        let batch = TargetBatch {
            auth: None,
            db: 0,
            restores: vec![restore("a")],
        };
        let outcome = pool.send("127.0.0.1", &port, Duration::from_secs(1), &batch);
        assert_eq!(outcome.error, Some(MigrateError::Write));
        assert_eq!(outcome.accepted, vec![false]);
    }
}
