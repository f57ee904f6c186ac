//! `tessera up`: a local cluster in one command.
//!
//! Starts the nodes as child processes, creates the cluster the way `redis-cli
//! --cluster create` does (same slot split, distinct config epochs, MEET, then
//! REPLICATE once everyone knows everyone), waits until every node reports
//! `cluster_state:ok`, and stops them all cleanly on Ctrl-C or SIGTERM. Run again in the
//! same directory, it restarts the same cluster from the nodes' nodes.conf files.

use anyhow::{Context, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::admin::Endpoint;
use crate::resp_client::Client;

/// Options of `tessera up`.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Number of masters.
    #[arg(long, default_value_t = 3)]
    pub masters: usize,
    /// Replicas per master.
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Client port of the first node; the others follow.
    #[arg(long, default_value_t = 7000)]
    pub port: u16,
    /// Where the nodes keep their data, nodes.conf and logs.
    #[arg(long, default_value = "tessera-up")]
    pub dir: PathBuf,
    /// cluster-node-timeout, ms.
    #[arg(long, default_value_t = 5000)]
    pub node_timeout: u64,
    /// Admin (gRPC) port of the first node; the others follow. Default: each node's
    /// client port + 21000. The cluster is created through it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub admin_port: Option<u16>,
}

/// Set by SIGINT or SIGTERM: stop waiting, stop the nodes, exit.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    // Only an atomic store: nothing else is safe in a signal handler.
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Routes SIGINT and SIGTERM to [`STOP_REQUESTED`]. Installed before the first node
/// starts, so a signal at any moment stops the nodes instead of orphaning them.
fn catch_stop_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(signal, request_stop as *const () as libc::sighandler_t) };
    }
}

fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// Polls `done` every 50 ms for up to `timeout`, or until a stop is requested.
fn wait_for(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if stop_requested() {
            bail!("interrupted while waiting for {what}");
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

struct Cluster {
    children: Vec<(u16, Child)>,
}

impl Cluster {
    fn stop(&mut self) {
        for (_, child) in &self.children {
            // SAFETY: kill with a valid pid and signal has no memory effects.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for (port, child) in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    _ if Instant::now() > deadline => {
                        eprintln!("node {port} did not stop in time; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_node(
    exe: &Path,
    dir: &Path,
    port: u16,
    admin_port: i64,
    node_timeout: u64,
) -> anyhow::Result<Child> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = Command::new(exe);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent. A node
    // whose `tessera up` dies (even by SIGKILL) gets SIGTERM and stops cleanly.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    command
        .args([
            "server",
            "--port",
            &port.to_string(),
            "--cluster-enabled",
            "yes",
        ])
        .args(["--cluster-node-timeout", &node_timeout.to_string()])
        .args(["--admin-port", &admin_port.to_string()])
        .arg("--dir")
        .arg(dir)
        .args(["--logfile", "tessera.log", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting the node on port {port}"))
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Runs `tessera up`; returns the process exit code.
pub fn main(args: UpArgs) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("tessera up: {e:#}");
            1
        }
    }
}

fn run(args: UpArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.masters >= 1, "--masters must be at least 1");
    let total = args.masters * (1 + args.replicas);
    let last_port = u32::from(args.port) + total as u32 - 1;
    anyhow::ensure!(
        last_port + 10000 <= 65535,
        "ports {}..={last_port} leave no room for bus ports (+10000)",
        args.port
    );
    let ports: Vec<u16> = (0..total).map(|i| args.port + i as u16).collect();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let base = args.dir.canonicalize()?;
    let node_dir = |port: u16| base.join(port.to_string());
    let existing = ports
        .iter()
        .filter(|p| node_dir(**p).join("nodes.conf").exists())
        .count();
    if existing != 0 && existing != total {
        bail!(
            "{} holds {existing} of {total} nodes of an earlier cluster; remove it or use another --dir",
            base.display()
        );
    }
    catch_stop_signals();
    let started = Instant::now();
    let exe = std::env::current_exe().context("finding the tessera binary")?;
    let mut cluster = Cluster {
        children: Vec::new(),
    };
    for &port in &ports {
        let admin_port = match args.admin_port {
            None => -1,
            Some(first) => i64::from(first) + i64::from(port - args.port),
        };
        let child = spawn_node(&exe, &node_dir(port), port, admin_port, args.node_timeout)?;
        cluster.children.push((port, child));
    }
    for (port, child) in &mut cluster.children {
        let port = *port;
        let log = node_dir(port).join("tessera.log");
        let mut exited = None;
        wait_for(
            Duration::from_secs(30),
            &format!("node {port} to start"),
            || {
                // A node that cannot start (a port taken, a bad nodes.conf) says why on
                // stderr and exits: stop waiting for it.
                if let Ok(Some(status)) = child.try_wait() {
                    exited = Some(status);
                    return true;
                }
                Client::connect(port)
                    .and_then(|mut c| c.call(&["PING"]))
                    .is_ok()
            },
        )
        .with_context(|| format!("see {}", log.display()))?;
        if let Some(status) = exited {
            bail!(
                "node {port} exited at start ({status}); see its message above and {}",
                log.display()
            );
        }
    }
    if existing == 0 {
        let endpoints: Vec<Endpoint> = ports
            .iter()
            .enumerate()
            .map(|(i, &port)| Endpoint {
                host: "127.0.0.1".into(),
                port,
                admin_port: args.admin_port.map(|first| first + i as u16),
                password: None,
            })
            .collect();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(crate::ops::create(&endpoints, args.masters))
            .context("creating the cluster")?;
    }
    let replicas = total - args.masters;
    wait_for(
        Duration::from_secs(60),
        "every node to report cluster_state:ok and see every replica",
        || {
            ports.iter().all(|&p| {
                let Ok(mut c) = Client::connect(p) else {
                    return false;
                };
                let ok = c
                    .text(&["CLUSTER", "INFO"])
                    .is_ok_and(|info| field(&info, "cluster_state") == Some("ok"));
                let seen = c
                    .text(&["CLUSTER", "NODES"])
                    .map(|nodes| {
                        nodes
                            .lines()
                            .filter(|l| {
                                l.split_whitespace()
                                    .nth(2)
                                    .is_some_and(|f| f.contains("slave"))
                            })
                            .count()
                    })
                    .unwrap_or(0);
                ok && seen == replicas
            })
        },
    )?;
    let elapsed = started.elapsed();
    print_summary(&ports, &base, elapsed, existing != 0)?;
    wait_for_signal(&mut cluster);
    println!("stopping {} nodes...", cluster.children.len());
    cluster.stop();
    cluster.children.clear();
    println!("stopped");
    Ok(())
}

/// Creates the cluster: slots to the masters, epochs, meet, replicas.
fn print_summary(
    ports: &[u16],
    base: &Path,
    elapsed: Duration,
    reused: bool,
) -> anyhow::Result<()> {
    println!(
        "Tessera cluster of {} nodes {} in {:.1}s, cluster_state:ok",
        ports.len(),
        if reused { "restarted" } else { "created" },
        elapsed.as_secs_f64()
    );
    for &port in ports {
        // Each node describes itself: the line flagged myself in its own view.
        let nodes = Client::connect(port)?.text(&["CLUSTER", "NODES"])?;
        let Some(me) = nodes.lines().find(|l| l.contains("myself")) else {
            continue;
        };
        let f: Vec<&str> = me.split_whitespace().collect();
        let (id, flags, master) = (
            f.first().copied().unwrap_or("?"),
            f.get(2).copied().unwrap_or(""),
            f.get(3).copied().unwrap_or("-"),
        );
        let role = if flags.contains("master") {
            format!(
                "master   slots {}",
                f.get(8..).map(|s| s.join(" ")).unwrap_or_default()
            )
        } else {
            format!("replica  of {master}")
        };
        println!("  127.0.0.1:{port}  {id}  {role}");
    }
    println!("Data and logs: {}", base.display());
    println!("Connect:       redis-cli -c -p {}", ports[0]);
    println!("Operate:       tessera admin -p {} nodes", ports[0]);
    println!("Stop:          Ctrl-C");
    Ok(())
}

/// Blocks until SIGINT or SIGTERM, reporting any node that exits meanwhile.
fn wait_for_signal(cluster: &mut Cluster) {
    while !stop_requested() {
        cluster
            .children
            .retain_mut(|(port, child)| match child.try_wait() {
                Ok(Some(status)) => {
                    eprintln!("node {port} exited ({status}); the others keep running");
                    false
                }
                _ => true,
            });
        std::thread::sleep(Duration::from_millis(100));
    }
}
