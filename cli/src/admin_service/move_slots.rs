//! MoveSlots: runs a [`MovePlan`] against the nodes on their client ports, batch by
//! batch, streaming progress to the caller and to WatchEvents.
//!
//! The plan and its commands are `tessera_migration::plan`'s; this is the IO. It runs
//! on a blocking thread with one connection per node involved. Each batch is a few
//! pipelined round trips: open on both sides, then per round one GETKEYSINSLOT
//! pipeline and one pipeline of STRLENs (for the byte count) and MIGRATEs, then close
//! on both sides, the target first (a source emptied by the batch may then refuse as
//! the target's new replica, which `tessera_migration::close` reads as closed). A
//! closed stream (the caller cancelled) stops the move between batches, so every slot
//! is left with one owner and all its keys.

use anyhow::Context;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tessera_migration::close;
use tessera_migration::plan::{self, MigrateTarget, MovePlan};
use tessera_proto as pb;
use tessera_proto::cluster_event::Kind;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::Status;

use super::inspect::{slot_ranges, topology_view};
use super::move_io::{Refusal, key_list, migrate_in_lanes, own_view, transaction};
use super::{AdminService, EventHub};
use crate::resp_client::Client;

type ProgressStream = Pin<Box<dyn Stream<Item = Result<pb::MoveProgress, Status>> + Send>>;

/// Clears the service's "a move is running" flag when the move ends, however it ends.
struct MoveGuard(Arc<AtomicBool>);

impl Drop for MoveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// A node's client address.
#[derive(Debug, Clone)]
struct Address {
    ip: String,
    port: u16,
}

/// Everything a running move needs.
struct Move {
    plan: MovePlan<String>,
    target_id: String,
    addresses: HashMap<String, Address>,
    password: Option<String>,
    keys_per_migrate: usize,
    timeout_ms: u64,
    events: Arc<EventHub>,
    myself: String,
}

/// The connections of one move: one per node for SETSLOTs and listings, and each
/// source's MIGRATE lanes.
#[derive(Default)]
struct Connections {
    control: HashMap<String, Client>,
    lanes: HashMap<String, Vec<Client>>,
}

/// Connections to a source that carry MIGRATEs at once. Four keep both cores of a
/// small machine busy; more only queue.
const LANES: usize = 4;

/// Checks the request against this node's view, plans it and starts it.
pub async fn start(
    service: &AdminService,
    r: pb::MoveSlotsRequest,
) -> Result<ProgressStream, Status> {
    let ranges = slot_ranges(&r.ranges)?;
    if ranges.is_empty() {
        return Err(Status::invalid_argument("no slot range given"));
    }
    let view = topology_view(service).await?;
    let target = view
        .nodes
        .iter()
        .find(|n| n.line.id == r.target_id)
        .ok_or_else(|| Status::not_found(format!("unknown node {}", r.target_id)))?;
    let flags: Vec<&str> = target.line.flags.split(',').collect();
    if !flags.contains(&"master") || flags.contains(&"fail") || flags.contains(&"fail?") {
        return Err(Status::failed_precondition(format!(
            "node {} is not a reachable master ({})",
            r.target_id, target.line.flags
        )));
    }
    let mut owners: HashMap<u16, String> = HashMap::new();
    let mut addresses = HashMap::new();
    for n in &view.nodes {
        for &(first, last) in &n.line.slots {
            for slot in first..=last {
                owners.insert(slot, n.line.id.clone());
            }
        }
        addresses.insert(
            n.line.id.clone(),
            Address {
                ip: n.line.ip.clone(),
                port: n.line.port,
            },
        );
    }
    // This node sees its own open slots: one moving elsewhere is busy.
    if let Some(me) = view
        .nodes
        .iter()
        .find(|n| n.line.id == view.myself.as_str())
    {
        for (slot, other) in me.line.migrating.iter().chain(&me.line.importing) {
            let requested = ranges.iter().any(|&(a, b)| (a..=b).contains(slot));
            if requested && *other != r.target_id && owners.get(slot) != Some(other) {
                return Err(Status::failed_precondition(format!(
                    "slot {slot} is busy: it is being moved between this node and {other}"
                )));
            }
        }
    }
    let mut slots: Vec<u16> = ranges.iter().flat_map(|&(a, b)| a..=b).collect();
    slots.sort_unstable();
    slots.dedup();
    let batch_slots = match r.batch_slots {
        0 => plan::DEFAULT_BATCH_SLOTS,
        n => n as usize,
    };
    let plan = MovePlan::new(
        slots.into_iter().map(|s| (s, owners.get(&s).cloned())),
        &r.target_id,
        batch_slots,
    )
    .map_err(|e| Status::failed_precondition(e.to_string()))?;
    for batch in &plan.batches {
        let source = view.nodes.iter().find(|n| n.line.id == batch.source);
        if source.is_some_and(|n| n.line.flags.contains("fail")) {
            return Err(Status::failed_precondition(format!(
                "node {} owns slot {} but is failing",
                batch.source, batch.slots[0]
            )));
        }
    }
    if service.moving.swap(true, Ordering::SeqCst) {
        return Err(Status::failed_precondition(
            "a slot move is already running on this node",
        ));
    }
    let guard = MoveGuard(service.moving.clone());
    let settings = service.node.config().settings();
    let password = settings
        .requirepass
        .clone()
        .or_else(|| settings.replication.masterauth.clone())
        .map(|p| String::from_utf8_lossy(&p).into_owned());
    let job = Move {
        plan,
        target_id: r.target_id,
        addresses,
        password,
        keys_per_migrate: match r.keys_per_migrate {
            0 => plan::DEFAULT_KEYS_PER_MIGRATE,
            n => n as usize,
        },
        timeout_ms: match r.timeout_ms {
            0 => 10_000,
            n => u64::from(n),
        },
        events: service.events.clone(),
        myself: view.myself.to_string(),
    };
    let (tx, rx) = mpsc::channel(64);
    tokio::task::spawn_blocking(move || {
        let _guard = guard;
        job.run(&tx);
    });
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

type Sender = mpsc::Sender<Result<pb::MoveProgress, Status>>;

impl Move {
    fn run(&self, tx: &Sender) {
        let started = Instant::now();
        let mut progress = pb::MoveProgress {
            slots_total: self.plan.total as u32,
            slots_done: self.plan.skipped as u32,
            slots_skipped: self.plan.skipped as u32,
            target_id: self.target_id.clone(),
            ..Default::default()
        };
        tracing::info!(
            target = %self.target_id,
            slots = self.plan.total,
            skipped = self.plan.skipped,
            batches = self.plan.batches.len(),
            "slot move started"
        );
        self.report(tx, &progress);
        let mut connections = Connections::default();
        if !self.plan.batches.is_empty()
            && let Err(status) = self.target_ready(&mut connections)
        {
            let _ = tx.blocking_send(Err(status));
            return;
        }
        for batch in &self.plan.batches {
            if tx.is_closed() {
                tracing::warn!(done = progress.slots_done, "slot move cancelled");
                break;
            }
            if let Err(e) = self.move_batch(
                &mut connections,
                &batch.source,
                &batch.slots,
                &mut progress,
                tx,
                started,
            ) {
                tracing::error!(error = %e, "slot move stopped");
                let _ = tx.blocking_send(Err(Status::aborted(format!(
                    "moving slots {}-{} from {}: {e:#}. Slots of this batch may be left open; \
                     run the same move again to finish it",
                    batch.slots[0],
                    batch.slots[batch.slots.len() - 1],
                    batch.source
                ))));
                return;
            }
            progress.slots_done += batch.slots.len() as u32;
            progress.elapsed_ms = started.elapsed().as_millis() as u64;
            self.report(tx, &progress);
        }
        progress.finished = true;
        progress.elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            done = progress.slots_done,
            keys = progress.keys_moved,
            ms = progress.elapsed_ms,
            "slot move ended"
        );
        self.report(tx, &progress);
    }

    /// A target whose cluster state is not ok refuses the keys (CLUSTERDOWN): say so
    /// before any slot is opened.
    fn target_ready(&self, connections: &mut Connections) -> Result<(), Status> {
        let info = self
            .connection(connections, &self.target_id)
            .and_then(|c| c.text(&["CLUSTER", "INFO"]))
            .map_err(|e| Status::unavailable(format!("reaching the target: {e:#}")))?;
        if info.lines().any(|l| l.trim_end() == "cluster_state:ok") {
            Ok(())
        } else {
            Err(Status::failed_precondition(format!(
                "the target {} does not report cluster_state:ok yet (a node that just \
                 joined needs a moment); try again",
                self.target_id
            )))
        }
    }

    fn report(&self, tx: &Sender, progress: &pb::MoveProgress) {
        // A caller gone is a cancel, noticed before the next batch.
        let _ = tx.blocking_send(Ok(progress.clone()));
        self.events.publish(
            self.myself.clone(),
            Kind::MigrationProgress(progress.clone()),
        );
    }

    /// A new connection to node `id`.
    fn open(&self, id: &str) -> anyhow::Result<Client> {
        let a = self
            .addresses
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("no address known for node {id}"))?;
        Client::open(&a.ip, a.port, self.password.as_deref())
    }

    /// The connection to node `id` for SETSLOTs and listings.
    fn connection<'a>(
        &self,
        connections: &'a mut Connections,
        id: &str,
    ) -> anyhow::Result<&'a mut Client> {
        if !connections.control.contains_key(id) {
            let client = self.open(id)?;
            connections.control.insert(id.to_string(), client);
        }
        Ok(connections.control.get_mut(id).expect("inserted"))
    }

    /// The source's lanes: [`LANES`] connections for MIGRATEs.
    fn lanes<'a>(
        &self,
        connections: &'a mut Connections,
        id: &str,
    ) -> anyhow::Result<&'a mut [Client]> {
        if !connections.lanes.contains_key(id) {
            let opened = (0..LANES)
                .map(|_| self.open(id))
                .collect::<anyhow::Result<_>>()?;
            connections.lanes.insert(id.to_string(), opened);
        }
        Ok(connections.lanes.get_mut(id).expect("inserted"))
    }

    /// Closes the batch on the source, after the target closed it. A source this
    /// batch emptied may have turned into the target's replica already and refuse:
    /// `tessera_migration::close` says when that refusal means the batch is closed.
    fn close_on_source(
        &self,
        connections: &mut Connections,
        source_id: &str,
        slots: &[u16],
    ) -> anyhow::Result<()> {
        let source = self.connection(connections, source_id)?;
        let commands = plan::setslot_transaction(slots, "NODE", &self.target_id);
        let Err(failure) = transaction(source, &commands) else {
            return Ok(());
        };
        let Some(refusal) = failure
            .downcast_ref::<Refusal>()
            .filter(|r| close::refused_as_replica(&r.error))
        else {
            return Err(failure);
        };
        let now = own_view(source).with_context(|| format!("after {refusal}"))?;
        close::demoted_source_closed(&now, slots, &self.target_id)
            .with_context(|| refusal.to_string())?;
        tracing::info!(
            source = source_id,
            target = %self.target_id,
            "the source gave its last slot and follows the target: its side is closed"
        );
        Ok(())
    }

    fn move_batch(
        &self,
        connections: &mut Connections,
        source_id: &str,
        slots: &[u16],
        progress: &mut pb::MoveProgress,
        tx: &Sender,
        started: Instant,
    ) -> anyhow::Result<()> {
        let target_address = self.addresses[&self.target_id].clone();
        let target = MigrateTarget {
            host: &target_address.ip,
            port: target_address.port,
            timeout_ms: self.timeout_ms,
            password: self.password.as_deref(),
        };
        let t0 = Instant::now();
        transaction(
            self.connection(connections, &self.target_id)?,
            &plan::setslot_transaction(slots, "IMPORTING", source_id),
        )?;
        let t1 = Instant::now();
        transaction(
            self.connection(connections, source_id)?,
            &plan::setslot_transaction(slots, "MIGRATING", &self.target_id),
        )?;
        let t2 = Instant::now();
        let mut pending: Vec<u16> = slots.to_vec();
        while !pending.is_empty() {
            let listing: Vec<plan::Command> = pending
                .iter()
                .map(|&s| plan::keys_in_slot(s, self.keys_per_migrate))
                .collect();
            let replies = self
                .connection(connections, source_id)?
                .pipeline(&listing)?;
            let mut groups = Vec::new();
            let mut next = Vec::new();
            for (&slot, reply) in pending.iter().zip(replies) {
                let keys = key_list(reply)?;
                if keys.is_empty() {
                    continue;
                }
                if keys.len() >= self.keys_per_migrate {
                    next.push(slot);
                }
                groups.push(keys);
            }
            let moved = migrate_in_lanes(self.lanes(connections, source_id)?, &target, groups)?;
            progress.keys_moved += moved.keys;
            progress.bytes_moved += moved.bytes;
            if !next.is_empty() {
                // A big batch reports between rounds, so the caller sees keys move.
                progress.elapsed_ms = started.elapsed().as_millis() as u64;
                self.report(tx, progress);
            }
            pending = next;
        }
        let t3 = Instant::now();
        transaction(
            self.connection(connections, &self.target_id)?,
            &plan::setslot_transaction(slots, "NODE", &self.target_id),
        )?;
        let t4 = Instant::now();
        self.close_on_source(connections, source_id, slots)?;
        tracing::debug!(
            slots = slots.len(),
            importing_us = (t1 - t0).as_micros() as u64,
            migrating_us = (t2 - t1).as_micros() as u64,
            keys_us = (t3 - t2).as_micros() as u64,
            node_target_us = (t4 - t3).as_micros() as u64,
            node_source_us = t4.elapsed().as_micros() as u64,
            "slot batch moved"
        );
        Ok(())
    }
}
