//! Process plumbing: detaching from the terminal, the pid file, termination signals.

use std::path::Path;

/// Forks into the background as redis-server's `daemonize yes` does: the parent exits
/// at once, the child starts a new session. Must run before any thread is started.
pub fn detach(silence_output: bool) -> std::io::Result<()> {
    // SAFETY: called before the async runtime or any other thread exists, so fork only
    // has to duplicate this single thread.
    match unsafe { libc::fork() } {
        -1 => return Err(std::io::Error::last_os_error()),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: setsid has no preconditions; the child is not a process group leader.
    unsafe { libc::setsid() };
    if silence_output {
        // With no log file, a daemon's output has nowhere to go.
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        use std::os::fd::AsRawFd;
        for fd in 0..=2 {
            // SAFETY: both descriptors are valid; dup2 atomically replaces fd.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    Ok(())
}

/// Writes our pid; failure is logged, not fatal (redis-server behaves the same).
pub fn write_pidfile(path: &Path) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        tracing::warn!(path = %path.display(), error = %e, "failed to write the pid file");
    }
}

/// SIGTERM and SIGINT, caught from the moment they are registered: registered before
/// the first client is accepted, so a signal sent as soon as the node answers stops it
/// cleanly instead of killing it with the default disposition.
pub struct TerminationSignals {
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl TerminationSignals {
    /// Installs the handlers; call inside the runtime that will wait for them.
    pub fn register() -> TerminationSignals {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Some((term, int)),
            _ => None,
        };
        TerminationSignals { streams }
    }

    /// Completes with the name of the next SIGTERM or SIGINT received.
    pub async fn next(&mut self) -> &'static str {
        let Some((term, int)) = &mut self.streams else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
}

/// Descriptors needed besides those of clients (listeners, files, the bus later).
const RESERVED_FDS: u64 = 64;

/// Raises the open-file limit so `maxclients` clients fit, as redis-server does.
/// Returns the number of clients the limit allows, lower than asked when the hard
/// limit is too low.
pub fn raise_fd_limit(maxclients: u64) -> u64 {
    let wanted = maxclients.saturating_add(RESERVED_FDS);
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return maxclients;
        }
        if limit.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
        if limit.rlim_cur >= wanted {
            maxclients
        } else {
            limit.rlim_cur.saturating_sub(RESERVED_FDS).max(1)
        }
    }
}
