//! `tessera create`, `tessera check` and `tessera rebalance`: what `redis-cli --cluster`
//! does of the same names, done through the nodes' admin planes.

mod check;
mod create;
mod rebalance;

pub use create::create;

use clap::Args;
use std::net::ToSocketAddrs;

use crate::admin::Endpoint;
use crate::subcommand::run_blocking;

/// A node's address as `host:port` (its client port).
fn endpoint(address: &str, password: &Option<String>) -> anyhow::Result<Endpoint> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("'{address}' is not host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow::anyhow!("bad port in '{address}'"))?;
    // CLUSTER MEET wants an IP: resolve names here.
    let ip = (host, port)
        .to_socket_addrs()
        .map_err(|e| anyhow::anyhow!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} has no address"))?
        .ip()
        .to_string();
    Ok(Endpoint {
        host: ip,
        port,
        admin_port: None,
        password: password.clone(),
    })
}

/// Options of `tessera create`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The nodes, as host:port (client ports): masters first, then replicas.
    #[arg(required = true, num_args = 1..)]
    pub nodes: Vec<String>,
    /// Replicas per master.
    #[arg(long, default_value_t = 0)]
    pub replicas: usize,
    /// The nodes' password.
    #[arg(short = 'a', long, env = "TESSERA_PASSWORD")]
    pub password: Option<String>,
}

/// Options of `tessera check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Any node of the cluster, as host:port.
    pub node: String,
    /// The nodes' password.
    #[arg(short = 'a', long, env = "TESSERA_PASSWORD")]
    pub password: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `tessera rebalance`.
#[derive(Debug, Clone, Args)]
pub struct RebalanceArgs {
    /// Any node of the cluster, as host:port.
    pub node: String,
    /// Give slots to masters that have none too.
    #[arg(long)]
    pub use_empty_masters: bool,
    /// Move nothing unless some master is this many percent off its share.
    #[arg(long, default_value_t = 2.0)]
    pub threshold: f64,
    /// Show what would move, and move nothing.
    #[arg(long)]
    pub simulate: bool,
    /// The nodes' password.
    #[arg(short = 'a', long, env = "TESSERA_PASSWORD")]
    pub password: Option<String>,
}

/// `tessera create`.
pub fn create_main(args: CreateArgs) -> i32 {
    run_blocking("create", async move {
        let endpoints: Vec<Endpoint> = args
            .nodes
            .iter()
            .map(|a| endpoint(a, &args.password))
            .collect::<anyhow::Result<_>>()?;
        anyhow::ensure!(
            endpoints.len() % (1 + args.replicas) == 0,
            "{} nodes can't make masters with {} replicas each",
            endpoints.len(),
            args.replicas
        );
        let masters = endpoints.len() / (1 + args.replicas);
        anyhow::ensure!(masters >= 1, "no node given");
        let started = std::time::Instant::now();
        create(&endpoints, masters).await?;
        create::wait_ok(&endpoints).await?;
        println!(
            "[OK] cluster of {masters} masters and {} replicas created in {:.2}s; all 16384 slots covered",
            endpoints.len() - masters,
            started.elapsed().as_secs_f64()
        );
        Ok(0)
    })
}

/// `tessera check`.
pub fn check_main(args: CheckArgs) -> i32 {
    run_blocking("check", async move {
        let entry = endpoint(&args.node, &args.password)?;
        let report = check::check(&entry).await?;
        report.print(args.json);
        Ok(if report.clean() { 0 } else { 1 })
    })
}

/// `tessera rebalance`.
pub fn rebalance_main(args: RebalanceArgs) -> i32 {
    run_blocking("rebalance", async move {
        let entry = endpoint(&args.node, &args.password)?;
        rebalance::rebalance(&entry, &args).await?;
        Ok(0)
    })
}
