//! `tessera server`: one node, configured and started as redis-server would be.

mod cluster;
mod daemon;
mod sources;

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_resp_server::config::{Config, ConfigValues, DirectiveError, Id, Settings};
use tessera_resp_server::snapshots::{self, SaveOnExit};
use tessera_resp_server::{Node, NodeOrigin, cron, server};

use sources::{DirectiveLine, SourceError};

/// Runs the server subcommand; returns the process exit code.
pub fn main(args: Vec<String>) -> i32 {
    let (values, config_file) = match load_config(&args) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("{message}");
            return 1;
        }
    };
    match run(values, config_file) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("tessera: {e:#}");
            1
        }
    }
}

/// Prints a config error the way redis-server does, so operators recognise it.
fn fatal(origin: Option<&sources::Origin>, reason: &str) -> String {
    let mut out = format!(
        "\n*** FATAL CONFIG FILE ERROR (Tessera {}) ***\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(o) = origin {
        if o.line > 0 {
            out += &format!(
                "Reading the configuration file {}, at line {}\n",
                o.source, o.line
            );
        } else {
            out += &format!("Reading the {}\n", o.source);
        }
        out += &format!(">>> '{}'\n", o.text);
    }
    out += reason;
    out
}

/// Reads the file (if any) and command-line directives into config values.
fn load_config(args: &[String]) -> Result<(ConfigValues, Option<String>), String> {
    let (file, rest) = match args.first() {
        Some(first) if !first.starts_with("--") => (Some(PathBuf::from(first)), &args[1..]),
        _ => (None, args),
    };
    let source_error = |e: SourceError| fatal(e.origin.as_ref(), &e.reason);
    let mut lines: Vec<DirectiveLine> = Vec::new();
    if let Some(path) = &file {
        let from_file = if path.extension().is_some_and(|e| e == "toml") {
            sources::read_toml_file(path)
        } else {
            sources::read_conf_file(path)
        };
        lines.extend(from_file.map_err(source_error)?);
    }
    lines.extend(sources::read_command_line(rest).map_err(source_error)?);
    let mut values = ConfigValues::defaults();
    for line in &lines {
        values.apply(&line.name, &line.args).map_err(|e| {
            let reason = match e {
                DirectiveError::Unknown => "Bad directive or wrong number of arguments".to_string(),
                DirectiveError::Invalid(why) | DirectiveError::Unsupported(why) => why,
            };
            fatal(Some(&line.origin), &reason)
        })?;
    }
    let absolute = file.map(|f| absolute(&f).display().to_string());
    Ok((values, absolute))
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn run(mut values: ConfigValues, config_file: Option<String>) -> anyhow::Result<()> {
    let settings = Settings::from_values(&values);
    // `port 0` means no TCP listener, as in Redis; with TLS and unix sockets refused
    // (not supported yet), a node configured so could not be reached at all. Checked
    // before daemonizing, so the operator sees the refusal and a failed exit.
    if settings.port == 0 {
        anyhow::bail!("Configured to not listen anywhere, exiting.");
    }
    if !settings.dir.is_empty() {
        std::env::set_current_dir(&settings.dir)
            .with_context(|| format!("can't chdir to '{}'", settings.dir))?;
    }
    let cwd = std::env::current_dir().context("reading the working directory")?;
    values.set_internal(Id::Dir, cwd.display().to_string());
    if settings.daemonize {
        daemon::detach(settings.logfile.is_empty()).context("daemonizing")?;
    }
    let log_handle = crate::logging::init(&settings.loglevel, &settings.logfile)?;
    announce_start();
    let inert: Vec<String> = values
        .inert_changes()
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if !inert.is_empty() {
        tracing::warn!(
            directives = inert.join(" "),
            "these directives have no effect in Tessera (see the README's list of inert directives)"
        );
    }
    let pidfile = match (&settings.pidfile, settings.daemonize) {
        (p, _) if !p.is_empty() => Some(PathBuf::from(p)),
        (_, true) => Some(PathBuf::from("/var/run/tessera.pid")),
        _ => None,
    };
    if let Some(p) = &pidfile {
        daemon::write_pidfile(p);
    }
    let allowed = daemon::raise_fd_limit(settings.maxclients as u64);
    if allowed < settings.maxclients as u64 {
        tracing::warn!(
            requested = settings.maxclients,
            allowed,
            "the open file limit is too low for maxclients; maxclients has been reduced"
        );
        values.set_internal(Id::Maxclients, allowed.to_string());
    }
    let config = Config::new(values, config_file);
    config.on_change(move |s| crate::logging::set_level(&log_handle, &s.loglevel));
    let origin = NodeOrigin {
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        memory_probe: Some(crate::memory::probe),
        allocator: crate::memory::allocator_name(),
    };
    let node = Arc::new(Node::new(config, origin));
    // As redis-server: with the AOF on, it alone holds the data; dump.rdb is not read.
    if !settings.aof.enabled {
        load_snapshot(&node, &settings)?;
    }
    node.start_aof().map_err(|e| anyhow::anyhow!(e))?;
    let result = serve(node.clone(), &settings);
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    result?;
    tracing::info!("Tessera is now ready to exit, bye bye...");
    Ok(())
}

/// The start-up notice, with the phrases of redis-server's that tools and scripts wait
/// for or grep (`pid=<pid>, just started`, `Configuration loaded`).
fn announce_start() {
    tracing::info!("oO0OoO0OoO0Oo Tessera is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "Tessera version={}, Redis version={}, bits={}, commit=00000000, modified=0, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        tessera_resp_server::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    tracing::info!("Configuration loaded");
}

/// Logs a port that cannot be listened on with redis-server's two lines, and returns the
/// error that ends the start (the process then exits with status 1): scripts that
/// start nodes read these lines to retry on another port. `what` is `TCP` for the
/// client port, `cluster` for the bus port.
pub(super) fn listen_failure(port: u16, what: &str, e: &std::io::Error) -> anyhow::Error {
    let warning = format!("Warning: {e}");
    let failed = format!("Failed listening on port {port} ({what}), aborting.");
    tracing::warn!("{warning}");
    tracing::warn!("{failed}");
    anyhow::anyhow!("{warning}\n{failed}")
}

/// Loads `dump.rdb` if there is one; a file that cannot be read stops the start, as it
/// does for redis-server, rather than starting empty and overwriting it later.
fn load_snapshot(node: &Node, settings: &Settings) -> anyhow::Result<()> {
    let started = Instant::now();
    let path = snapshots::dump_path(settings);
    let now = tessera_resp_server::clock::unix_ms();
    match tessera_persistence::dump::load(&path, node.keyspace(), now, settings.read_limits())? {
        Some(stats) => {
            tracing::info!(
                keys = stats.loaded,
                expired = stats.expired,
                ms = started.elapsed().as_millis() as u64,
                "DB loaded from disk"
            );
            *node.snapshots().last_load.lock() = (stats.loaded, stats.expired);
            node.scripts()
                .load_libraries(&stats.libraries, false)
                .map_err(|e| anyhow::anyhow!("loading the function libraries failed: {e}"))?;
        }
        None => tracing::debug!(file = %path.display(), "no snapshot to load"),
    }
    Ok(())
}

/// Runs the node: one accepting thread per core, each with its own single-threaded
/// async runtime and its own listeners, so a connection lives on one thread from
/// accept to close and no thread has to wake another to serve it. The main thread
/// watches for signals and coordinates the shutdown.
fn serve(node: Arc<Node>, settings: &Settings) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sets = server::bind(&settings.bind, settings.port, settings.tcp_backlog, threads)
        .map_err(|e| listen_failure(settings.port, "TCP", &e))?;
    let port = sets[0][0].local_addr()?.port();
    let mode = if settings.cluster_enabled {
        "cluster"
    } else {
        "standalone"
    };
    tracing::info!("Running mode={mode}, port={port}.");
    node.set_bound_port(port);
    node.config().set_internal(Id::Port, port.to_string());
    let events = Arc::new(crate::admin_service::EventHub::default());
    let bus = if settings.cluster_enabled {
        Some(cluster::start(&node, settings, port, events.clone())?)
    } else {
        if let Some((host, master_port)) = settings.replication.replicaof.clone() {
            tessera_resp_server::replication::replicate(&node, host, master_port);
        }
        None
    };
    let weak = Arc::downgrade(&node);
    node.config().on_change(move |s| {
        if let Some(node) = weak.upgrade() {
            node.replication()
                .set_backlog_size(s.replication.backlog_size);
        }
    });
    let admin = crate::admin_service::start(&node, settings, port, events)?;
    tracing::info!("Server initialized");
    let expiry = cron::spawn_active_expiry(node.clone());
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the control runtime")?;
    let signals = {
        let _inside = control.enter();
        daemon::TerminationSignals::register()
    };
    let mut workers = Vec::new();
    for (i, listeners) in sets.into_iter().enumerate() {
        let node = node.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting an async runtime")?;
        node.add_io_runtime(runtime.handle().clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("tessera-io-{i}"))
                .spawn(move || {
                    runtime.block_on(async {
                        if i == 0 {
                            tokio::spawn(cron::run(node.clone()));
                        }
                        server::accept_loop(node.clone(), listeners).await;
                        close_clients(&node).await;
                    });
                })
                .context("starting an accepting thread")?,
        );
    }
    tracing::info!(
        port,
        pid = std::process::id(),
        threads,
        mode,
        version = env!("CARGO_PKG_VERSION"),
        "Ready to accept connections"
    );
    control.block_on(watch_signals(node.clone(), signals));
    for worker in workers {
        let _ = worker.join();
    }
    if let (Some(thread), Some(handle)) = (bus, node.cluster()) {
        handle.stop();
        let _ = thread.join();
    }
    let _ = expiry.join();
    if let Some(admin) = admin {
        let _ = admin.join();
    }
    Ok(())
}

/// Waits for SHUTDOWN or a termination signal; on a signal, saves first when `save`
/// points are set, and keeps serving if that save fails (as redis-server does).
async fn watch_signals(node: Arc<Node>, mut signals: daemon::TerminationSignals) {
    loop {
        tokio::select! {
            _ = node.shutdown_requested() => return,
            signal = signals.next() => {
                tracing::warn!(signal, "received signal, scheduling shutdown");
                let saving = node.clone();
                let saved = tokio::task::spawn_blocking(move || {
                    snapshots::save_before_exit(&saving, SaveOnExit::IfConfigured)
                })
                .await;
                if matches!(saved, Ok(Ok(()))) {
                    node.request_shutdown();
                    return;
                }
                tracing::warn!("errors trying to shut down the server; still running, check the logs");
            }
        }
    }
}

/// Asks every client to close and waits, briefly, for them to go.
async fn close_clients(node: &Node) {
    for client in node.clients().all() {
        client.kill();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while !node.clients().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
