//! Starting the cluster bus of a `cluster-enabled yes` node.

use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tessera_cluster_bus::NodeId;
use tessera_cluster_bus::engine::{EndpointType, Engine, EngineConfig, Event};
use tessera_cluster_bus::topology::Topology;
use tessera_cluster_bus_runtime::{self as runtime, Hooks, now_ms};
use tessera_persistence::cluster_file::ClusterFile;
use tessera_resp_server::config::Settings;
use tessera_resp_server::{Node, server};

use crate::admin_service::EventHub;

/// The bus port: cluster-port, or the client port + 10000.
fn bus_port(settings: &Settings, client_port: u16) -> anyhow::Result<u16> {
    if settings.cluster.port != 0 {
        return Ok(settings.cluster.port);
    }
    client_port
        .checked_add(10000)
        .context("the cluster bus port (port + 10000) would be above 65535; set cluster-port")
}

/// The engine settings from the node's configuration.
pub fn engine_config(settings: &Settings, client_port: u16, bus_port: u16) -> EngineConfig {
    let c = &settings.cluster;
    EngineConfig {
        node_timeout: c.node_timeout,
        port: if c.announce_port != 0 {
            c.announce_port
        } else {
            client_port
        },
        cport: if c.announce_bus_port != 0 {
            c.announce_bus_port
        } else {
            bus_port
        },
        pport: 0,
        announce_ip: Some(c.announce_ip.clone()).filter(|ip| !ip.is_empty()),
        hostname: c.announce_hostname.clone(),
        require_full_coverage: c.require_full_coverage,
        endpoint_type: match c.preferred_endpoint_type.as_str() {
            "hostname" => EndpointType::Hostname,
            "unknown-endpoint" => EndpointType::Unknown,
            _ => EndpointType::Ip,
        },
        allow_replica_migration: c.allow_replica_migration,
        replica_no_failover: c.replica_no_failover,
        replica_validity_factor: c.replica_validity_factor,
        repl_ping_period_ms: settings.replication.ping_period_secs * 1000,
        migration_barrier: c.migration_barrier,
        bind_source_addr: settings.replication.bind_source_addr,
    }
}

/// Locks and loads nodes.conf, binds the bus port and starts the bus thread.
pub fn start(
    node: &Arc<Node>,
    settings: &Settings,
    client_port: u16,
    events: Arc<EventHub>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let file = ClusterFile::lock(Path::new(&settings.cluster.config_file))?;
    let now = now_ms();
    let topology = match file.load()? {
        Some(conf) => {
            let t = Topology::from_nodes_conf(&conf, now)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.path().display()))?;
            tracing::info!(id = %t.myself(), "node configuration loaded");
            t
        }
        None => {
            let id = NodeId::random(&mut rand::rng());
            tracing::info!(%id, "no cluster configuration found");
            Topology::new(id, now)
        }
    };
    // A replica in nodes.conf follows its master's data from the start.
    let me = topology.me();
    let initial_master = me
        .master
        .filter(|_| me.is_replica())
        .and_then(|m| topology.node(&m))
        .filter(|m| !m.ip.is_empty())
        .map(|m| (m.ip.clone(), m.port));
    let cport = bus_port(settings, client_port)?;
    let listeners = server::bind(&settings.bind, cport, settings.tcp_backlog, 1)
        .map_err(|e| super::listen_failure(cport, "cluster", &e))?
        .remove(0);
    let engine = Engine::new(
        topology,
        engine_config(settings, client_port, cport),
        rand::random(),
    );
    if let Some((ip, port)) = initial_master {
        tessera_resp_server::replication::replicate(node, ip, port);
    }
    let keyspace_node = node.clone();
    let event_node = node.clone();
    let offset_node = node.clone();
    let publish_node = node.clone();
    let hooks = Hooks {
        on_publish: Box::new(move |p| {
            if p.shard {
                publish_node.spublish_local(&p.channel, &p.message);
            } else {
                publish_node.publish_local(&p.channel, &p.message);
            }
        }),
        delete_slots: Box::new(move |slots| {
            let db = keyspace_node.keyspace().db(0);
            let replication = keyspace_node.replication();
            for &slot in slots {
                let mut t = db.lock(slot);
                if t.is_empty() {
                    continue;
                }
                tracing::warn!(
                    slot,
                    keys = t.len(),
                    "deleting keys of a slot this node lost"
                );
                // Replicas drop them too, as Redis 7.0 tells them: DELs recorded under
                // the slot's lock, in order with every other change to the slot. Their
                // watchers' transactions fail and their readers are invalidated, as
                // after any deletion.
                let watches = keyspace_node.watches();
                let tracking = keyspace_node.tracking().any();
                let keys: Vec<Vec<u8>> = if replication.is_active() || watches.any() || tracking {
                    t.entries().map(|e| e.key.as_bytes().to_vec()).collect()
                } else {
                    Vec::new()
                };
                t.clear();
                t.flush_expired();
                for key in &keys {
                    watches.touch(0, key);
                    keyspace_node.invalidate_tracked(key);
                }
                if !replication.is_active() {
                    continue;
                }
                for batch in keys.chunks(1024) {
                    let mut del: Vec<&[u8]> = vec![b"DEL"];
                    del.extend(batch.iter().map(Vec::as_slice));
                    replication.feed(0, &del);
                }
            }
        }),
        replication: Box::new(move || {
            (
                offset_node.replication().offset(),
                tessera_resp_server::replication::link_down_since(&offset_node),
            )
        }),
        on_event: Box::new(move |event| {
            let routing = event_node.cluster().map(|c| c.routing());
            events.publish_engine_event(event, routing.as_deref().map(|r| &**r));
            log_and_apply(&event_node, event);
        }),
    };
    let (handle, thread) =
        runtime::start(engine, listeners, file, hooks).context("starting the cluster bus")?;
    let bus = handle.clone();
    node.config()
        .on_change(move |s| bus.reconfigure(engine_config(s, client_port, cport)));
    node.attach_cluster(handle);
    tracing::info!(port = cport, "cluster bus listening");
    Ok(thread)
}

/// What the rest of the node does about an engine event.
fn log_and_apply(event_node: &Arc<Node>, event: &Event) {
    match event {
        Event::Failing(id) => tracing::warn!(node = %id, "node marked as failing"),
        Event::Recovered(id) => tracing::info!(node = %id, "node is reachable again"),
        Event::StateChanged(ok) => tracing::warn!(ok, "cluster state changed"),
        Event::Promoted {
            previous_master,
            epoch,
        } => {
            tracing::warn!(%previous_master, epoch, "this replica is now the master of its shard");
            tessera_resp_server::replication::promote(event_node);
        }
        Event::PauseWrites { until } => {
            event_node.replication().set_paused(true);
            event_node.write_pause().pause_until(*until);
        }
        Event::ResumeWrites => {
            event_node.replication().set_paused(false);
            event_node.write_pause().resume();
        }
        Event::BecameReplicaOf { master, ip, port } => {
            tracing::warn!(%master, "this node is now a replica");
            if !ip.is_empty() {
                tessera_resp_server::replication::replicate(event_node, ip.clone(), *port);
            }
        }
        Event::ReplicaReset => {
            tracing::warn!("cluster reset: this replica is now an empty master");
            tessera_resp_server::replication::promote(event_node);
            event_node.keyspace().clear();
        }
        Event::SlotsOwnerChanged(_) => {
            // Shard channels of slots this shard no longer serves are dropped, their
            // subscribers told, as Redis 7.0 does when a slot leaves.
            if let Some(cluster) = event_node.cluster() {
                let routing = cluster.routing();
                event_node.pubsub().drop_shard_channels(
                    |slot| routing.is_mine(slot) || routing.is_my_masters(slot),
                    tessera_resp_server::clock::unix_ms(),
                );
            }
        }
        other => tracing::debug!(?other, "cluster event"),
    }
}
