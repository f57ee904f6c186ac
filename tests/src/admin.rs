//! Driving the admin plane from tests: a `tessera up` cluster, and `tessera admin`
//! runs with their output.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::process::{free_ports, tessera_bin};

/// A cluster started by `tessera up`, stopped (SIGTERM) when dropped.
pub struct UpCluster {
    child: Child,
    /// Client ports: masters first, then replicas (replica i follows master i % masters).
    pub ports: Vec<u16>,
    /// Admin ports, in the same order.
    pub admin_ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl UpCluster {
    /// Runs `tessera up` and waits until it reports the cluster ok.
    pub fn start(masters: usize, replicas: usize, node_timeout_ms: u64) -> UpCluster {
        let total = masters * (1 + replicas);
        let dir = tempfile::tempdir().expect("temp dir");
        let base = free_ports(total as u16);
        let admin = free_ports(total as u16);
        let mut child = Command::new(tessera_bin())
            .arg("up")
            .args(["--masters", &masters.to_string()])
            .args(["--replicas", &replicas.to_string()])
            .args(["--port", &base.to_string()])
            .args(["--admin-port", &admin.to_string()])
            .args(["--node-timeout", &node_timeout_ms.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting tessera up");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert!(
            first.contains("cluster_state:ok"),
            "tessera up said: {first}"
        );
        std::thread::spawn(move || for _ in lines {});
        UpCluster {
            child,
            ports: (0..total as u16).map(|i| base + i).collect(),
            admin_ports: (0..total as u16).map(|i| admin + i).collect(),
            _dir: dir,
        }
    }

    /// The masters' client ports.
    pub fn masters(&self, masters: usize) -> &[u16] {
        &self.ports[..masters]
    }
}

impl Drop for UpCluster {
    fn drop(&mut self) {
        // SAFETY: kill with a valid pid and signal has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tessera <args>`, run to its end.
pub fn tessera(args: &[&str]) -> Output {
    Command::new(tessera_bin())
        .args(args)
        .output()
        .expect("running tessera")
}

/// `tessera <args>`, which must succeed; its standard output.
pub fn tessera_ok(args: &[&str]) -> String {
    let out = tessera(args);
    assert!(
        out.status.success(),
        "tessera {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tessera admin -p <port> <args>`, run to its end.
pub fn admin(port: u16, args: &[&str]) -> Output {
    let port = port.to_string();
    tessera(&[&["admin", "-p", &port], args].concat())
}

/// `tessera admin -p <port> --json <args>`, which must succeed; its JSON output.
pub fn admin_json(port: u16, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = admin(port, &all);
    assert!(
        out.status.success(),
        "tessera admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tessera admin {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A running `tessera admin ... --json` whose output lines are read as they come.
pub struct AdminStream {
    child: Child,
    lines: std::sync::mpsc::Receiver<serde_json::Value>,
}

impl AdminStream {
    /// Starts `tessera admin -p <port> --json <args>`.
    pub fn start(port: u16, args: &[&str]) -> AdminStream {
        let mut child = Command::new(tessera_bin())
            .args(["admin", "-p", &port.to_string(), "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("running tessera admin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                    Err(e) => panic!("not JSON ({e}): {line}"),
                }
            }
        });
        AdminStream { child, lines }
    }

    /// The next line, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<serde_json::Value> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Lines until `done` says stop (that line included) or `timeout` passes.
    pub fn until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(v) = self.next(left) else { break };
            let stop = done(&v);
            seen.push(v);
            if stop {
                break;
            }
        }
        seen
    }

    /// Kills the process (as a Ctrl-C'd or crashed operator's tool would go).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end; whether it succeeded.
    pub fn wait(mut self) -> bool {
        self.child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for AdminStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
