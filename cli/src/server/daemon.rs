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

/// Completes with the name of the first SIGTERM or SIGINT received.
pub async fn termination_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
