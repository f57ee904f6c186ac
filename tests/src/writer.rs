//! A cluster client that writes one key at a time to the master owning it, follows
//! redirections, and confirms each write with `WAIT 1`: what "an acknowledged write"
//! means in the failover tests. It keeps a record of every write WAIT acknowledged, and
//! of every error it saw, so a test can check that none was lost and that clients saw
//! nothing worse than a redirection.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tessera_resp::frame::Frame;

use crate::RawConnection;

/// What a run of writes produced.
#[derive(Debug, Default, Clone)]
pub struct WriteLog {
    /// Key → value of every write that WAIT confirmed on at least one replica.
    pub acked: BTreeMap<String, String>,
    /// Writes attempted.
    pub attempted: u64,
    /// Error replies and connection failures, in order.
    pub errors: Vec<String>,
}

/// Writes to a cluster, following its slot map.
pub struct AckedWriter {
    ports: Vec<u16>,
    owners: Vec<u16>,
    conns: HashMap<u16, RawConnection>,
    /// The record.
    pub log: WriteLog,
}

fn slot_of(key: &str) -> u16 {
    tessera_keyspace::key_slot(key.as_bytes())
}

impl AckedWriter {
    /// A writer for the cluster reachable at any of `ports`.
    pub fn new(ports: &[u16]) -> AckedWriter {
        let mut w = AckedWriter {
            ports: ports.to_vec(),
            owners: vec![0; 16384],
            conns: HashMap::new(),
            log: WriteLog::default(),
        };
        w.refresh();
        w
    }

    /// Reloads the slot map from the first node that answers CLUSTER SLOTS.
    pub fn refresh(&mut self) {
        for &p in &self.ports {
            let Ok(mut c) = RawConnection::connect(p) else {
                continue;
            };
            let Ok(Frame::Array(ranges)) = c.command(&["CLUSTER", "SLOTS"]) else {
                continue;
            };
            for r in ranges {
                let Frame::Array(r) = r else { continue };
                let (Some(Frame::Integer(a)), Some(Frame::Integer(b)), Some(Frame::Array(m))) =
                    (r.first(), r.get(1), r.get(2))
                else {
                    continue;
                };
                if let Some(Frame::Integer(port)) = m.get(1) {
                    for s in *a..=*b {
                        self.owners[s as usize] = *port as u16;
                    }
                }
            }
            return;
        }
    }

    fn conn(&mut self, port: u16) -> Option<&mut RawConnection> {
        match self.conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(o) => Some(o.into_mut()),
            std::collections::hash_map::Entry::Vacant(v) => {
                Some(v.insert(RawConnection::connect(port).ok()?))
            }
        }
    }

    /// One write: SET on the owner, then WAIT 1 with `wait_ms`. Returns whether it was
    /// acknowledged; errors are recorded, and a redirection reloads the slot map.
    pub fn write(&mut self, key: &str, value: &str, wait_ms: u64) -> bool {
        self.log.attempted += 1;
        let port = self.owners[slot_of(key) as usize];
        let wait = wait_ms.to_string();
        let result = self.conn(port).map(|c| {
            let set = c.command(&["SET", key, value]);
            match set {
                Ok(Frame::Simple(ok)) if ok == b"OK" => c.command(&["WAIT", "1", &wait]).map(Some),
                other => other.map(|reply| {
                    if let Frame::Error(e) = reply {
                        Some(Frame::Error(e))
                    } else {
                        None
                    }
                }),
            }
        });
        match result {
            Some(Ok(Some(Frame::Integer(n)))) if n >= 1 => {
                self.log.acked.insert(key.to_string(), value.to_string());
                true
            }
            Some(Ok(Some(Frame::Integer(_)))) => false,
            Some(Ok(Some(Frame::Error(e)))) => {
                self.log
                    .errors
                    .push(String::from_utf8_lossy(&e).into_owned());
                self.refresh();
                false
            }
            Some(Ok(other)) => {
                self.log.errors.push(format!("unexpected reply {other:?}"));
                false
            }
            Some(Err(e)) => {
                self.log.errors.push(format!("connection to {port}: {e}"));
                self.conns.remove(&port);
                self.refresh();
                false
            }
            None => {
                self.log.errors.push(format!("cannot connect to {port}"));
                self.refresh();
                false
            }
        }
    }

    /// The value of `key` read from its owner (after refreshing the slot map).
    pub fn read(&mut self, key: &str) -> Option<String> {
        let port = self.owners[slot_of(key) as usize];
        match self.conn(port)?.command(&["GET", key]).ok()? {
            Frame::Bulk(v) => Some(String::from_utf8_lossy(&v).into_owned()),
            _ => None,
        }
    }

    /// Keys of `log.acked` whose value is no longer there.
    pub fn lost(&mut self) -> Vec<String> {
        self.refresh();
        self.conns.clear();
        let acked = self.log.acked.clone();
        acked
            .into_iter()
            .filter(|(k, v)| self.read(k).as_deref() != Some(v.as_str()))
            .map(|(k, _)| k)
            .collect()
    }
}

/// A writer running on its own thread until stopped.
pub struct BackgroundWriter {
    stop: Arc<AtomicBool>,
    acked: Arc<std::sync::atomic::AtomicU64>,
    thread: JoinHandle<AckedWriter>,
}

impl BackgroundWriter {
    /// Starts writing `key:<n>` = `<n>` for n = 0, 1, 2... as fast as acknowledgements
    /// allow, pausing 20 ms after a failed write.
    pub fn start(ports: &[u16], prefix: &str) -> BackgroundWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (flag, count) = (stop.clone(), acked.clone());
        let ports = ports.to_vec();
        let prefix = prefix.to_string();
        let thread = std::thread::spawn(move || {
            let mut w = AckedWriter::new(&ports);
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let key = format!("{prefix}:{n}");
                if w.write(&key, &n.to_string(), 200) {
                    count.fetch_add(1, Ordering::Relaxed);
                } else {
                    std::thread::sleep(Duration::from_millis(20));
                }
                n += 1;
            }
            w
        });
        BackgroundWriter {
            stop,
            acked,
            thread,
        }
    }

    /// How many writes were acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits until `more` further writes are acknowledged; false on timeout.
    pub fn wait_for_more(&self, more: u64, timeout: Duration) -> bool {
        let target = self.acked() + more;
        crate::wait_until(timeout, || self.acked() >= target)
    }

    /// Like [`BackgroundWriter::wait_for_more`], but a timeout stops the writer and
    /// fails the test with what it saw.
    pub fn expect_more(self, more: u64, timeout: Duration, what: &str) -> BackgroundWriter {
        if self.wait_for_more(more, timeout) {
            return self;
        }
        let w = self.finish();
        let errors = &w.log.errors;
        panic!(
            "{what}: only {} of {} writes acknowledged; {} errors, the last: {:?}",
            w.log.acked.len(),
            w.log.attempted,
            errors.len(),
            &errors[errors.len().saturating_sub(5)..]
        );
    }

    /// Stops the writer and hands back its record.
    pub fn finish(self) -> AckedWriter {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("writer thread")
    }
}
