//! Starting and stopping server processes.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it
/// held. Tests use this instead of sleeping and hoping.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `tessera` binary under test: `TESSERA_BIN`, or the one built next to this test
/// binary (same cargo profile).
pub fn tessera_bin() -> PathBuf {
    if let Ok(path) = std::env::var("TESSERA_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // Test binaries live in target/<profile>/deps, tools like the benchmark in
    // target/<profile>; the node binary is in target/<profile>.
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("tessera"))
        .collect();
    candidates
        .iter()
        .find(|bin| bin.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} not found: build it first (cargo build -p tessera-cli, same profile as the tests) or set TESSERA_BIN",
                candidates[0].display()
            )
        })
}

/// A port nobody listens on right now, whose bus port (+10000) is free too.
pub fn free_port() -> u16 {
    free_ports(1)
}

/// The first of `n` consecutive free ports whose bus ports (+10000) are free too.
///
/// They are drawn below the kernel's ephemeral range (32768 and up), so an outgoing
/// connection can never take a node's port between this check and the node's bind, and
/// no port is handed out twice in one test process.
pub fn free_ports(n: u16) -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    const FIRST: u16 = 10_000;
    const LAST: u16 = 22_767;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    let free = |p: u16| {
        !given.contains(&p)
            && TcpListener::bind(("0.0.0.0", p)).is_ok()
            && TcpListener::bind(("0.0.0.0", p + 10_000)).is_ok()
    };
    // A per-process start spreads concurrent test processes over the range.
    let mut base = FIRST + (std::process::id() % 1000) as u16 * 12;
    loop {
        base = if base + n > LAST { FIRST } else { base + 1 };
        if (base..base + n).all(free) {
            given.extend(base..base + n);
            return base;
        }
    }
}

/// True when a server answers PING on `port` (PONG, or NOAUTH when it wants a password).
fn answers_ping(port: u16) -> bool {
    crate::wire::RawConnection::connect(port)
        .and_then(|mut c| c.command(&["PING"]))
        .is_ok_and(|reply| {
            reply == crate::wire::simple("PONG")
                || reply == crate::wire::error("NOAUTH Authentication required.")
        })
}

fn stop_child(child: &mut Child) {
    // SIGTERM first, so the node shuts down as an operator would stop it.
    // SAFETY: kill with a valid pid and signal number has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let stopped = wait_until(Duration::from_secs(5), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !stopped {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Resident set size of process `pid`, in bytes (0 if unknown).
pub fn resident_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// A running `tessera server`, stopped when dropped.
pub struct TesseraNode {
    child: Option<Child>,
    /// Client port.
    pub port: u16,
    /// Working directory (removed on drop).
    pub dir: tempfile::TempDir,
    args: Vec<String>,
}

impl TesseraNode {
    /// Starts a node on a free port with extra `--directive value` arguments and waits
    /// until it answers PING.
    pub fn start(extra: &[&str]) -> TesseraNode {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, extra)
    }

    /// Like [`TesseraNode::start`], with a config file (written into the node's
    /// directory) before the extra arguments.
    pub fn start_with_file(file_name: &str, contents: &str, extra: &[&str]) -> TesseraNode {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(file_name);
        std::fs::write(&path, contents).expect("writing the config file");
        let mut args = vec![path.to_str().expect("utf-8 path").to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start_in(dir, &refs)
    }

    /// Starts a node in an existing directory (to find what an earlier node saved).
    pub fn start_in_dir(dir: tempfile::TempDir, extra: &[&str]) -> TesseraNode {
        Self::start_in(dir, extra)
    }

    /// Starts a node on a given port in an existing directory: what replacing another
    /// server in place looks like.
    pub fn start_at(dir: tempfile::TempDir, port: u16, extra: &[&str]) -> TesseraNode {
        Self::spawn(dir, port, extra.iter().map(|s| s.to_string()).collect())
    }

    /// Stops the node (SIGTERM, as an operator would) and hands back its directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
        let empty = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, empty)
    }

    fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> TesseraNode {
        Self::spawn(
            dir,
            free_port(),
            extra.iter().map(|s| s.to_string()).collect(),
        )
    }

    /// Stops the node (SIGTERM) and starts it again on the same port, in the same
    /// directory, with the same arguments: what an operator's restart does.
    pub fn restart(mut self) -> TesseraNode {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
        let empty = tempfile::tempdir().expect("temp dir");
        let dir = std::mem::replace(&mut self.dir, empty);
        let args = std::mem::take(&mut self.args);
        Self::spawn(dir, self.port, args)
    }

    /// Freezes (SIGSTOP) or resumes (SIGCONT) the process.
    pub fn freeze(&self, frozen: bool) {
        self.signal(if frozen { libc::SIGSTOP } else { libc::SIGCONT });
    }

    fn spawn(dir: tempfile::TempDir, port: u16, extra: Vec<String>) -> TesseraNode {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("tessera.log"))
            .expect("log file");
        let mut args: Vec<String> = Vec::new();
        // A config file, if any, must come first.
        let mut rest = &extra[..];
        if let Some(first) = extra.first().filter(|a| !a.starts_with("--")) {
            args.push(first.to_string());
            rest = &extra[1..];
        }
        // The admin plane stays off unless a test asks for it (`--admin-port P`, which
        // comes later and wins): its default port (port + 21000) was never checked free.
        args.extend(
            [
                "--port",
                &port.to_string(),
                "--dir",
                dir.path().to_str().expect("utf-8"),
                "--admin-port",
                "0",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        args.extend(rest.iter().map(|s| s.to_string()));
        let child = Command::new(tessera_bin())
            .arg("server")
            .args(&args)
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("starting tessera");
        let mut node = TesseraNode {
            child: Some(child),
            port,
            dir,
            args: extra,
        };
        let up = wait_until(Duration::from_secs(10), || {
            node.exited().is_none() && answers_ping(port)
        });
        assert!(
            up,
            "tessera did not start on port {port}; log:\n{}",
            node.log()
        );
        node
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tessera.log")).unwrap_or_default()
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits for the process to end by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.exited();
            status.is_some()
        });
        status
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill with a valid pid has no memory effects.
            unsafe { libc::kill(c.id() as i32, signal) };
        }
    }

    /// A raw connection, returned once the node counts it as its only client (the
    /// start-up probe's connection may take a moment to be reaped).
    pub fn sole_client(&self) -> crate::wire::RawConnection {
        let mut c = self.raw();
        let alone = wait_until(Duration::from_secs(10), || {
            c.command(&["INFO", "clients"])
                .is_ok_and(|r| crate::wire::text(&r).contains("connected_clients:1\r"))
        });
        assert!(alone, "other clients stayed connected");
        c
    }

    /// A client of the `redis` crate.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("client")
            .get_connection()
            .expect("connecting")
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> crate::wire::RawConnection {
        crate::wire::RawConnection::connect(self.port).expect("connecting")
    }
}

impl Drop for TesseraNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
    }
}

/// A running real `redis-server`, to compare Tessera with. Stopped when dropped.
pub struct RedisServer {
    child: Option<Child>,
    /// Client port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free port with extra arguments.
    pub fn start(extra: &[&str]) -> RedisServer {
        Self::start_in(tempfile::tempdir().expect("temp dir"), extra)
    }

    /// Starts `redis-server` in `dir` (where it looks for dump.rdb).
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> RedisServer {
        Self::start_at(dir, free_port(), extra)
    }

    /// Starts `redis-server` in `dir` on `port`.
    pub fn start_at(dir: tempfile::TempDir, port: u16, extra: &[&str]) -> RedisServer {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--dir", dir.path().to_str().expect("utf-8")])
            .args([
                "--logfile",
                dir.path().join("redis.log").to_str().expect("utf-8"),
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server (the test command installs it)");
        let server = RedisServer {
            child: Some(child),
            port,
            _dir: dir,
        };
        assert!(
            wait_until(Duration::from_secs(10), || answers_ping(port)),
            "redis-server did not start"
        );
        server
    }
}

impl RedisServer {
    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("redis.log")).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The server's directory.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Freezes (SIGSTOP) or resumes (SIGCONT) the process.
    pub fn freeze(&self, frozen: bool) {
        if let Some(c) = &self.child {
            // SAFETY: kill with a valid pid has no memory effects.
            unsafe {
                libc::kill(
                    c.id() as i32,
                    if frozen { libc::SIGSTOP } else { libc::SIGCONT },
                )
            };
        }
    }

    /// Stops the server (SIGTERM) and hands back its directory and port.
    pub fn stop(mut self) -> (tempfile::TempDir, u16) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c);
        }
        let empty = tempfile::tempdir().expect("temp dir");
        let dir = std::mem::replace(&mut self._dir, empty);
        (dir, self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c);
        }
    }
}

/// Runs `redis-cli -p <port> <args>` and returns its output.
pub fn redis_cli(port: u16, args: &[&str]) -> Output {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("running redis-cli (the test command installs it)")
}
