//! Logging through tracing, with Redis's log levels and log file.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

/// Changes the log level of a running node.
pub type LevelHandle = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// The tracing filter for a Redis loglevel. `RUST_LOG`, when set, takes precedence.
fn filter_for(loglevel: &str) -> EnvFilter {
    if let Ok(env) = std::env::var("RUST_LOG") {
        return EnvFilter::new(env);
    }
    EnvFilter::new(match loglevel {
        "debug" | "verbose" => "debug",
        "warning" => "warn",
        _ => "info",
    })
}

/// Installs the global subscriber, writing to `logfile` (standard output when empty).
pub fn init(loglevel: &str, logfile: &str) -> anyhow::Result<LevelHandle> {
    let (filter, handle) = reload::Layer::new(filter_for(loglevel));
    let registry = tracing_subscriber::registry().with(filter);
    if logfile.is_empty() {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stdout().is_terminal()),
            )
            .try_init()?;
    } else {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| anyhow::anyhow!("can't open the log file {logfile}: {e}"))?;
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(false)
                    .with_writer(Mutex::new(file)),
            )
            .try_init()?;
    }
    Ok(handle)
}

/// Applies a new loglevel (CONFIG SET loglevel).
pub fn set_level(handle: &LevelHandle, loglevel: &str) {
    let _ = handle.reload(filter_for(loglevel));
}
