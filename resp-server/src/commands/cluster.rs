//! CLUSTER subcommands. KEYSLOT, COUNTKEYSINSLOT and GETKEYSINSLOT need only the
//! keyspace; the others go to the cluster bus engine and are answered once it applied
//! them.

use tessera_cluster_bus::engine::{Answer, ClusterCommand, CommandError, NodeEndpoint};
use tessera_keyspace::number::parse_i64;
use tessera_keyspace::{SLOT_COUNT, key_slot};

use super::cursor::ArgCursor;
use super::{Ctx, help_reply, is};
use crate::errors;
use crate::protocol::reply::Reply;

/// CLUSTER KEYSLOT.
pub(super) fn keyslot(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if cluster_mode(c)
        && let Some(key) = c.read(a.next_arg())
    {
        c.reply.int(i64::from(key_slot(key)));
    }
}

/// CLUSTER HELP.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    if !cluster_mode(c) {
        return;
    }
    help_reply(
        c.reply,
        "CLUSTER",
        &[
            "ADDSLOTS <slot> [<slot> ...]",
            "    Assign slots to this node.",
            "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Assign slot ranges to this node.",
            "BUMPEPOCH",
            "    Advance the config epoch of this node.",
            "COUNT-FAILURE-REPORTS <node-id>",
            "    Return the number of failure reports about a node.",
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "DELSLOTS <slot> [<slot> ...]",
            "    Unassign slots from this node.",
            "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Unassign slot ranges from this node.",
            "FAILOVER [FORCE|TAKEOVER]",
            "    Promote this replica, with its master's agreement, without it, or without an election.",
            "FLUSHSLOTS",
            "    Unassign every slot of this node.",
            "FORGET <node-id>",
            "    Remove a node from the cluster view.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by this node in a slot.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "LINKS",
            "    Return the bus links of this node.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect this node to another node.",
            "MYID",
            "    Return the ID of this node.",
            "NODES",
            "    Return the cluster view of this node.",
            "REPLICATE <node-id>",
            "    Make this node a replica of a master.",
            "REPLICAS <node-id>",
            "    Return the replicas of a master.",
            "RESET [HARD|SOFT]",
            "    Forget every other node and every slot.",
            "SAVECONFIG",
            "    Write the cluster configuration to disk.",
            "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
            "    Set the state of a slot during a migration, or hand it to a node.",
            "SET-CONFIG-EPOCH <epoch>",
            "    Set the config epoch of a node that knows no other node.",
            "SHARDS",
            "    Return the shards of the cluster.",
            "SLOTS",
            "    Return the slot ranges and the nodes serving them.",
        ],
    )
}

/// CLUSTER NODES.
pub(super) fn nodes(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::Nodes)
}

/// CLUSTER MYID.
pub(super) fn myid(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::MyId)
}

/// CLUSTER INFO.
pub(super) fn info(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::Info)
}

/// CLUSTER SLOTS.
pub(super) fn slots_command(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::Slots)
}

/// CLUSTER SHARDS.
pub(super) fn shards(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::Shards)
}

/// CLUSTER LINKS.
pub(super) fn links(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::Links)
}

/// CLUSTER ADDSLOTS.
pub(super) fn addslots(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    slots(c, a, false)
}

/// CLUSTER DELSLOTS.
pub(super) fn delslots(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    slots(c, a, true)
}

/// CLUSTER ADDSLOTSRANGE.
pub(super) fn addslotsrange(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    slot_ranges(c, a, false)
}

/// CLUSTER DELSLOTSRANGE.
pub(super) fn delslotsrange(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    slot_ranges(c, a, true)
}

/// CLUSTER FLUSHSLOTS.
pub(super) fn flushslots(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let db_empty = db_empty(c);
    engine(c, ClusterCommand::FlushSlots { db_empty })
}

/// CLUSTER FORGET.
pub(super) fn forget(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if let Some(id) = c.read(a.next_arg()) {
        engine(c, ClusterCommand::Forget(text(id)))
    }
}

/// CLUSTER SET-CONFIG-EPOCH.
pub(super) fn set_config_epoch(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if let Some(epoch) = c.read(a.next_i64()) {
        engine(c, ClusterCommand::SetConfigEpoch(epoch));
    }
}

/// CLUSTER BUMPEPOCH.
pub(super) fn bumpepoch(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::BumpEpoch)
}

/// CLUSTER COUNT-FAILURE-REPORTS.
pub(super) fn count_failure_reports(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if let Some(id) = c.read(a.next_arg()) {
        engine(c, ClusterCommand::CountFailureReports(text(id)))
    }
}

/// CLUSTER SAVECONFIG.
pub(super) fn saveconfig(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    engine(c, ClusterCommand::SaveConfig)
}

/// CLUSTER REPLICATE.
pub(super) fn replicate(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    let Some(master) = c.read(a.next_arg()) else {
        return;
    };
    let db_empty = db_empty(c);
    engine(
        c,
        ClusterCommand::Replicate {
            master: text(master),
            db_empty,
        },
    )
}

/// CLUSTER FAILOVER.
pub(super) fn failover(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    use tessera_cluster_bus::engine::FailoverKind;
    let kind = match (a.next_arg(), a.is_done()) {
        (Err(_), _) => FailoverKind::Default,
        (Ok(option), true) if is(option, "FORCE") => FailoverKind::Force,
        (Ok(option), true) if is(option, "TAKEOVER") => FailoverKind::Takeover,
        _ => return c.reply.error(errors::SYNTAX),
    };
    engine(c, ClusterCommand::Failover(kind))
}

/// CLUSTER REPLICAS, CLUSTER SLAVES.
pub(super) fn replicas(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if let Some(id) = c.read(a.next_arg()) {
        engine(c, ClusterCommand::Replicas(text(id)))
    }
}

/// READONLY.
pub(super) fn readonly(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    if cluster_mode(c) {
        c.session.readonly = true;
        c.reply.ok();
    }
}

/// READWRITE.
pub(super) fn readwrite(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    if cluster_mode(c) {
        c.session.readonly = false;
        c.reply.ok();
    }
}

fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// Every CLUSTER subcommand first checks that cluster mode is on.
pub(super) fn cluster_mode(ctx: &mut Ctx<'_>) -> bool {
    if !ctx.settings.cluster_enabled {
        ctx.reply.error(errors::CLUSTER_DISABLED);
    }
    ctx.settings.cluster_enabled
}

/// Whether this node holds no key (some topology changes require it).
fn db_empty(ctx: &Ctx<'_>) -> bool {
    ctx.node.keyspace().db(0).is_empty()
}

/// Sends `command` to the engine; the reply is written when it answers.
fn engine(ctx: &mut Ctx<'_>, command: ClusterCommand) {
    if !cluster_mode(ctx) {
        return;
    }
    if let Some(batch) = &mut ctx.session.engine_batch {
        // Inside EXEC: applied with the rest of the transaction, answered by it.
        batch.push(command);
        return;
    }
    let Some(cluster) = ctx.node.cluster().cloned() else {
        ctx.reply.error(errors::NO_BUS);
        return;
    };
    ctx.defer(async move {
        let answer = cluster.command(command).await;
        move |reply: &mut Reply| write_answer(reply, answer)
    });
}

fn write_endpoint(r: &mut Reply, n: &NodeEndpoint) {
    r.array(4);
    match &n.endpoint {
        Some(e) => r.bulk(e.as_bytes()),
        None => r.null(),
    }
    r.int(i64::from(n.port));
    r.bulk(n.id.as_str().as_bytes());
    r.map(n.extra.len());
    for (k, v) in &n.extra {
        r.bulk(k.as_bytes());
        r.bulk(v.as_bytes());
    }
}

/// Writes an engine answer as Redis would reply.
pub(super) fn write_answer(r: &mut Reply, answer: Result<Answer, CommandError>) {
    match answer {
        Ok(Answer::Batch(answers)) => {
            r.array(answers.len());
            for a in answers {
                write_answer(r, a);
            }
        }
        Err(CommandError::Refused(text)) => r.error(&text),
        Ok(Answer::Ok) => r.ok(),
        // Only the admin plane asks for it; no CLUSTER subcommand maps to it.
        Ok(Answer::Topology(_)) => r.error(errors::TOPOLOGY_NOT_RESP),
        Ok(Answer::Status(s)) => r.simple(&s),
        Ok(Answer::Text(t)) => r.verbatim(t.as_bytes()),
        Ok(Answer::Bulk(b)) => r.bulk(b.as_bytes()),
        Ok(Answer::Int(n)) => r.int(n),
        Ok(Answer::Lines(lines)) => r.bulk_array(lines.iter().map(|l| l.as_bytes())),
        Ok(Answer::Slots(ranges)) => {
            r.array(ranges.len());
            for range in ranges {
                r.array(2 + range.nodes.len());
                r.int(i64::from(range.start));
                r.int(i64::from(range.end));
                for n in &range.nodes {
                    write_endpoint(r, n);
                }
            }
        }
        Ok(Answer::Shards(shards)) => {
            r.array(shards.len());
            for shard in shards {
                r.map(2);
                r.bulk(b"slots");
                r.array(shard.slots.len() * 2);
                for (a, b) in &shard.slots {
                    r.int(i64::from(*a));
                    r.int(i64::from(*b));
                }
                r.bulk(b"nodes");
                r.array(shard.nodes.len());
                for n in &shard.nodes {
                    r.map(if n.hostname.is_empty() { 7 } else { 8 });
                    r.bulk(b"id");
                    r.bulk(n.id.as_str().as_bytes());
                    r.bulk(b"port");
                    r.int(i64::from(n.port));
                    r.bulk(b"ip");
                    r.bulk(n.ip.as_bytes());
                    r.bulk(b"endpoint");
                    r.bulk(n.endpoint.as_bytes());
                    if !n.hostname.is_empty() {
                        r.bulk(b"hostname");
                        r.bulk(n.hostname.as_bytes());
                    }
                    r.bulk(b"role");
                    r.bulk(if n.master { b"master" } else { b"replica" });
                    r.bulk(b"replication-offset");
                    r.int(n.replication_offset as i64);
                    r.bulk(b"health");
                    r.bulk(n.health.as_bytes());
                }
            }
        }
        Ok(Answer::Links(links)) => {
            r.array(links.len());
            for l in links {
                r.map(6);
                r.bulk(b"direction");
                r.bulk(if l.direction_to { b"to" } else { b"from" });
                r.bulk(b"node");
                r.bulk(l.node.as_str().as_bytes());
                r.bulk(b"create-time");
                r.int(l.created as i64);
                r.bulk(b"events");
                r.bulk(b"r");
                r.bulk(b"send-buffer-allocated");
                r.int(0);
                r.bulk(b"send-buffer-used");
                r.int(0);
            }
        }
    }
}

pub(super) fn meet(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if args.remaining() > 3 {
        ctx.reply
            .error(&errors::subcommand_or_arity(args.subcommand(), "CLUSTER"));
        return;
    }
    let Some([ip, base]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(port) = parse_i64(base) else {
        ctx.reply.error(&errors::invalid_port("base", base));
        return;
    };
    let cport = match args.next_arg() {
        Ok(bus) => match parse_i64(bus) {
            Some(c) => c,
            None => {
                ctx.reply.error(&errors::invalid_port("bus", bus));
                return;
            }
        },
        Err(_) => port + 10000,
    };
    engine(
        ctx,
        ClusterCommand::Meet {
            ip: text(ip),
            port,
            cport,
        },
    );
}

pub(super) fn setslot(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    use tessera_cluster_bus::engine::SetSlotAction;
    if !cluster_mode(ctx) {
        return;
    }
    if ctx.node.replication().is_replica() {
        return ctx.reply.error(errors::SETSLOT_ONLY_MASTERS);
    }
    let Some([slot, action]) = ctx.read(args.next_args()) else {
        return;
    };
    let Some(slot) = slot_arg(ctx, slot) else {
        return;
    };
    let action = match (args.next_arg(), args.is_done()) {
        (Ok(node), true) if is(action, "MIGRATING") => SetSlotAction::Migrating(text(node)),
        (Ok(node), true) if is(action, "IMPORTING") => SetSlotAction::Importing(text(node)),
        (Ok(node), true) if is(action, "NODE") => SetSlotAction::Node(text(node)),
        (Err(_), _) if is(action, "STABLE") => SetSlotAction::Stable,
        _ => {
            return ctx.reply.error(errors::SETSLOT_ACTION);
        }
    };
    let keys_in_slot = ctx.db().lock(slot).len();
    let migrating = matches!(action, SetSlotAction::Migrating(_));
    let command = ClusterCommand::SetSlot {
        slot,
        action,
        keys_in_slot,
    };
    if !migrating || ctx.session.engine_batch.is_some() {
        return engine(ctx, command);
    }
    let Some(cluster) = ctx.node.cluster().cloned() else {
        return ctx.reply.error(errors::NO_BUS);
    };
    let node = std::sync::Arc::clone(ctx.node);
    ctx.defer(async move {
        let answer = cluster.command(command).await;
        // Before MIGRATE can follow this reply, every command routed while the slot
        // looked stable must be done: from here on, commands on the slot see it
        // migrating and hold the migration gate, which MIGRATE waits for.
        node.quiesce_clients().await;
        move |reply: &mut Reply| write_answer(reply, answer)
    });
}

/// Parses a slot argument, replying with Redis's error if it is not one.
fn slot_arg(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<u16> {
    match parse_i64(arg) {
        Some(s) if (0..SLOT_COUNT as i64).contains(&s) => Some(s as u16),
        _ => {
            ctx.reply.error(errors::SLOT_OUT_OF_RANGE);
            None
        }
    }
}

fn slots(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, delete: bool) {
    let mut ranges = Vec::with_capacity(args.remaining());
    for arg in args.rest() {
        let Some(slot) = slot_arg(ctx, arg) else {
            return;
        };
        ranges.push((slot, slot));
    }
    engine(
        ctx,
        if delete {
            ClusterCommand::DelSlots(ranges)
        } else {
            ClusterCommand::AddSlots(ranges)
        },
    );
}

fn slot_ranges(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, delete: bool) {
    let Some(pairs) = args.rest_in_pairs() else {
        let name = if delete {
            "cluster|delslotsrange"
        } else {
            "cluster|addslotsrange"
        };
        ctx.reply.error(&errors::wrong_arity(name));
        return;
    };
    let mut ranges = Vec::new();
    for (start, end) in pairs {
        let Some(start) = slot_arg(ctx, start) else {
            return;
        };
        let Some(end) = slot_arg(ctx, end) else {
            return;
        };
        if start > end {
            ctx.reply.error(&errors::slot_range_reversed(start, end));
            return;
        }
        ranges.push((start, end));
    }
    engine(
        ctx,
        if delete {
            ClusterCommand::DelSlots(ranges)
        } else {
            ClusterCommand::AddSlots(ranges)
        },
    );
}

pub(super) fn reset(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let hard = match (args.next_arg(), args.is_done()) {
        (Err(_), _) => false,
        (Ok(mode), true) if is(mode, "HARD") => true,
        (Ok(mode), true) if is(mode, "SOFT") => false,
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    };
    let db_empty = db_empty(ctx);
    engine(ctx, ClusterCommand::Reset { hard, db_empty });
}

pub(super) fn countkeysinslot(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if !cluster_mode(ctx) {
        return;
    }
    match ctx.read(args.next_i64()) {
        Some(slot) if (0..SLOT_COUNT as i64).contains(&slot) => {
            let n = ctx.db().lock(slot as u16).len();
            ctx.reply.int(n as i64);
        }
        Some(_) => ctx.reply.error(errors::INVALID_SLOT),
        None => {}
    }
}

pub(super) fn getkeysinslot(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if !cluster_mode(ctx) {
        return;
    }
    let Some(slot) = ctx.read(args.next_i64()) else {
        return;
    };
    let Some(count) = ctx.read(args.next_i64()) else {
        return;
    };
    if !(0..SLOT_COUNT as i64).contains(&slot) || count < 0 {
        ctx.reply.error(errors::SLOT_OR_COUNT);
        return;
    }
    let keys = ctx
        .db()
        .keys_in_slot(slot as u16, count as usize, ctx.now_ms);
    ctx.reply.bulk_array(keys.iter().map(Vec::as_slice));
}
