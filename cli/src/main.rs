//! `tessera`: run a node (`tessera server`), and more as the project grows.

mod logging;
mod memory;
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
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Server { args } => server::main(args),
        Command::Up(args) => up::main(args),
    };
    std::process::exit(code);
}
