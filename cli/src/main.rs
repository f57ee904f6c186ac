//! `tessera`: run a node (`tessera server`), and more as the project grows.

mod admin;
mod admin_service;
mod logging;
mod memory;
mod ops;
mod resp_client;
mod server;
mod subcommand;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // Clap's own consistency checks (no flag twice, sound defaults). A command's
        // argument sharing an id with a global of `tessera admin` slips past them and
        // breaks parsing instead: the `meet` case below catches that.
        Cli::command().debug_assert();
    }

    fn admin_args(line: &[&str]) -> admin::AdminArgs {
        match Cli::try_parse_from(line).expect("parses").command {
            Command::Admin(args) => args,
            _ => panic!("not an admin command"),
        }
    }

    #[test]
    fn admin_options_go_before_or_after_the_command() {
        let before = admin_args(&[
            "tessera", "admin", "-h", "10.0.0.1", "-p", "7000", "--json", "nodes",
        ]);
        let after = admin_args(&[
            "tessera", "admin", "nodes", "-h", "10.0.0.1", "-p", "7000", "--json",
        ]);
        for args in [before, after] {
            assert_eq!(
                (args.host.as_str(), args.port, args.json),
                ("10.0.0.1", 7000, true)
            );
            assert!(matches!(args.command, admin::AdminCommand::Nodes));
        }
        let meet = admin_args(&[
            "tessera", "admin", "meet", "10.0.0.2", "7001", "-p", "7000", "-a", "pw",
        ]);
        assert_eq!((meet.port, meet.password.as_deref()), (7000, Some("pw")));
        assert!(matches!(
            meet.command,
            admin::AdminCommand::Meet {
                peer_port: 7001,
                bus_port: None,
                ..
            }
        ));
    }

    #[test]
    fn every_admin_command_has_long_help() {
        for command in ["nodes", "move-slots", "meet", "failover"] {
            let e = Cli::try_parse_from(["tessera", "admin", command, "--help"])
                .err()
                .expect("--help stops parsing");
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{command}");
        }
    }
}
