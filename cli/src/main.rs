//! `tessera`: run a node (`tessera server`), and more as the project grows.

mod admin;
mod admin_service;
mod logging;
mod memory;
mod ops;
mod resp_client;
mod server;
mod up;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Tessera: a Redis Cluster compatible key-value store.
#[derive(Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one node, as redis-server does: `tessera server [FILE] [--directive value ...]`.
    ///
    /// FILE is a redis.conf-style file or, if it ends in `.toml`, a TOML file of the same
    /// directives. Directives on the command line override the file.
    Server {
        /// Config file, then directives as `--name value ...`.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "[FILE] [--directive value ...]"
        )]
        args: Vec<String>,
    },
    /// Start a local cluster: masters, replicas, cluster created and ok; Ctrl-C stops it.
    Up(up::UpArgs),
    /// Operate a cluster through a node's gRPC admin plane.
    Admin(admin::AdminArgs),
    /// Make a cluster of fresh nodes (as redis-cli --cluster create, over gRPC).
    Create(ops::CreateArgs),
    /// Check a cluster: agreement, coverage, open slots, failing nodes.
    Check(ops::CheckArgs),
    /// Even out the masters' slots with orchestrated moves.
    Rebalance(ops::RebalanceArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Server { args } => server::main(args),
        Command::Up(args) => up::main(args),
        Command::Admin(args) => admin::main(args),
        Command::Create(args) => ops::create_main(args),
        Command::Check(args) => ops::check_main(args),
        Command::Rebalance(args) => ops::rebalance_main(args),
    };
    std::process::exit(code);
}
