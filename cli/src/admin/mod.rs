//! `tessera admin`: operate a cluster through a node's gRPC admin plane.
//!
//! It takes the node's client address, as redis-cli does, and finds the admin port
//! itself (INFO's `admin_port:`), so an operator never has to know it.

mod connect;
mod render;
mod stream;

use anyhow::Context;
use clap::{Args, Subcommand};
use tessera_proto as pb;

pub use connect::{AdminClient, Endpoint, connect};
pub use render::{ranges_text, short};
pub use stream::move_slots as move_slots_with_progress;

/// Where the global options are listed in a command's help: after its own.
const GLOBAL_ORDER: usize = 100;

/// Options of `tessera admin`. Like redis-cli's they may come before the command, and
/// they may come after it too (`tessera admin nodes --json`), as people type them.
///
/// `-h` is the host, as in redis-cli, so help is `--help` only, on every command.
#[derive(Debug, Clone, Args)]
#[command(disable_help_flag = true)]
pub struct AdminArgs {
    /// Print help.
    #[arg(long, global = true, display_order = GLOBAL_ORDER, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// The node's host (its client address).
    #[arg(
        short = 'h',
        long,
        global = true,
        display_order = GLOBAL_ORDER,
        default_value = "127.0.0.1",
    )]
    pub host: String,
    /// The node's client port (the admin port is found from it).
    #[arg(short = 'p', long, global = true, display_order = GLOBAL_ORDER, default_value_t = 6379)]
    pub port: u16,
    /// The admin port itself, skipping the lookup.
    #[arg(long, global = true, display_order = GLOBAL_ORDER)]
    pub admin_port: Option<u16>,
    /// The node's password (requirepass). Also read from TESSERA_PASSWORD.
    #[arg(short = 'a', long, global = true, display_order = GLOBAL_ORDER, env = "TESSERA_PASSWORD")]
    pub password: Option<String>,
    /// Print JSON instead of tables (one object per line for streams).
    #[arg(long, global = true, display_order = GLOBAL_ORDER)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The commands of `tessera admin`.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Every node this node knows: id, address, role, flags, epoch, link, slots.
    Nodes,
    /// Slot ranges and who serves them.
    Slots,
    /// This node and the cluster's figures (CLUSTER INFO).
    Info,
    /// This node's bus links with their traffic.
    Links,
    /// Keys this node holds, per slot range (all slots when none is given).
    Keys {
        /// Slot ranges: 0-99,500,1000-1999.
        ranges: Option<String>,
    },
    /// The running configuration.
    Config {
        /// A CONFIG GET glob.
        #[arg(default_value = "*")]
        pattern: String,
    },
    /// Follow the cluster's events as this node sees them.
    Events {
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Introduce a node (CLUSTER MEET).
    Meet {
        /// Its IP.
        #[arg(value_name = "IP")]
        peer_ip: String,
        /// Its client port.
        // Not named `port`: that id is the global `-p`'s, which reaches every
        // command, and two arguments of one id break parsing.
        #[arg(value_name = "PORT")]
        peer_port: u16,
        /// Its bus port (default: port + 10000).
        #[arg(value_name = "BUS_PORT")]
        bus_port: Option<u16>,
    },
    /// Forget a node (CLUSTER FORGET).
    Forget {
        /// Its id.
        node: String,
    },
    /// Assign slots to this node (CLUSTER ADDSLOTSRANGE).
    AddSlots {
        /// Slot ranges: 0-99,500.
        ranges: String,
    },
    /// Unassign slots from this node (CLUSTER DELSLOTSRANGE).
    DelSlots {
        /// Slot ranges.
        ranges: String,
    },
    /// Make this node a replica of a master (CLUSTER REPLICATE).
    Replicate {
        /// The master: id, unique id prefix, or ip:port.
        master: String,
    },
    /// Fail this replica's master over to it (CLUSTER FAILOVER).
    Failover {
        /// Without the master's agreement (it is down).
        #[arg(long, conflicts_with = "takeover")]
        force: bool,
        /// Without any agreement.
        #[arg(long)]
        takeover: bool,
    },
    /// Move slots to a node, each from its current owner, with a progress bar.
    MoveSlots {
        /// Slot ranges: 0-3999,5000.
        #[arg(long)]
        slots: String,
        /// The node that will own them: id, unique id prefix, or ip:port.
        #[arg(long)]
        to: String,
        /// Slots per batch (one epoch bump each).
        #[arg(long, default_value_t = 0)]
        batch: u32,
        /// Keys per MIGRATE.
        #[arg(long, default_value_t = 0)]
        keys_per_migrate: u32,
    },
}

/// Runs `tessera admin`; returns the exit code.
pub fn main(args: AdminArgs) -> i32 {
    crate::subcommand::run_blocking("admin", async move { run(args).await.map(|()| 0) })
}

/// Parses `0-99,500,1000-1999` into ranges.
pub fn parse_ranges(text: &str) -> anyhow::Result<Vec<pb::SlotRange>> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let a: u32 = a
                .trim()
                .parse()
                .with_context(|| format!("bad slot in '{part}'"))?;
            let b: u32 = b
                .trim()
                .parse()
                .with_context(|| format!("bad slot in '{part}'"))?;
            anyhow::ensure!(
                a <= b && b <= 16383,
                "bad slot range '{part}' (slots are 0-16383)"
            );
            Ok(pb::SlotRange { first: a, last: b })
        })
        .collect()
}

/// Finds a node by id, unique id prefix, or ip:port in a topology.
pub fn resolve_node<'a>(
    topology: &'a pb::Topology,
    name: &str,
) -> anyhow::Result<&'a pb::ClusterNode> {
    if let Some((ip, port)) = name.rsplit_once(':') {
        return topology
            .nodes
            .iter()
            .find(|n| n.ip == ip && n.port.to_string() == port)
            .with_context(|| format!("no node at {name}"));
    }
    let matches: Vec<&pb::ClusterNode> = topology
        .nodes
        .iter()
        .filter(|n| n.id.starts_with(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => anyhow::bail!("no node with id {name}"),
        _ => anyhow::bail!("{name} is the start of several node ids; give more of it"),
    }
}

async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let mut client = connect(&Endpoint::from(&args)).await?;
    let json = args.json;
    match args.command {
        AdminCommand::Nodes => {
            let t = client
                .get_topology(pb::GetTopologyRequest {})
                .await?
                .into_inner();
            render::nodes(&t, json);
        }
        AdminCommand::Slots => {
            let t = client
                .get_topology(pb::GetTopologyRequest {})
                .await?
                .into_inner();
            render::slots(&t, json);
        }
        AdminCommand::Info => {
            let node = client.get_node(pb::GetNodeRequest {}).await?.into_inner();
            let cluster = if node.cluster_enabled {
                Some(
                    client
                        .get_cluster_info(pb::GetClusterInfoRequest {})
                        .await?
                        .into_inner(),
                )
            } else {
                None
            };
            render::info(&node, cluster.as_ref(), json);
        }
        AdminCommand::Links => {
            let links = client.get_links(pb::GetLinksRequest {}).await?.into_inner();
            render::links(&links, json);
        }
        AdminCommand::Keys { ranges } => {
            let ranges = parse_ranges(ranges.as_deref().unwrap_or(""))?;
            let counts = client
                .count_keys(pb::CountKeysRequest { ranges })
                .await?
                .into_inner();
            render::key_counts(&counts, json);
        }
        AdminCommand::Config { pattern } => {
            let config = client
                .get_config(pb::GetConfigRequest { pattern })
                .await?
                .into_inner();
            render::config(&config, json);
        }
        AdminCommand::Events { count } => stream::events(&mut client, count, json).await?,
        AdminCommand::Meet {
            peer_ip,
            peer_port,
            bus_port,
        } => {
            let r = pb::MeetRequest {
                ip: peer_ip,
                port: u32::from(peer_port),
                bus_port: bus_port.map_or(0, u32::from),
            };
            render::action(&client.meet(r).await?.into_inner(), json);
        }
        AdminCommand::Forget { node } => {
            let r = pb::ForgetRequest { node_id: node };
            render::action(&client.forget(r).await?.into_inner(), json);
        }
        AdminCommand::AddSlots { ranges } => {
            let r = pb::SlotsRequest {
                ranges: parse_ranges(&ranges)?,
            };
            render::action(&client.add_slots(r).await?.into_inner(), json);
        }
        AdminCommand::DelSlots { ranges } => {
            let r = pb::SlotsRequest {
                ranges: parse_ranges(&ranges)?,
            };
            render::action(&client.remove_slots(r).await?.into_inner(), json);
        }
        AdminCommand::Replicate { master } => {
            let t = client
                .get_topology(pb::GetTopologyRequest {})
                .await?
                .into_inner();
            let master_id = resolve_node(&t, &master)?.id.clone();
            let r = pb::ReplicateRequest { master_id };
            render::action(&client.replicate(r).await?.into_inner(), json);
        }
        AdminCommand::Failover { force, takeover } => {
            use pb::failover_request::Mode;
            let mode = match (force, takeover) {
                (true, _) => Mode::Force,
                (_, true) => Mode::Takeover,
                _ => Mode::Default,
            };
            let r = pb::FailoverRequest { mode: mode as i32 };
            render::action(&client.failover(r).await?.into_inner(), json);
        }
        AdminCommand::MoveSlots {
            slots,
            to,
            batch,
            keys_per_migrate,
        } => {
            let t = client
                .get_topology(pb::GetTopologyRequest {})
                .await?
                .into_inner();
            let request = pb::MoveSlotsRequest {
                ranges: parse_ranges(&slots)?,
                target_id: resolve_node(&t, &to)?.id.clone(),
                batch_slots: batch,
                keys_per_migrate,
                timeout_ms: 0,
            };
            stream::move_slots(&mut client, request, json).await?;
        }
    }
    Ok(())
}
