//! Running one request: lookup, checks in Redis's order, then the handler.
//!
//! Redis checks, in order: the command exists, the subcommand exists, the argument
//! count, authentication, and (in cluster mode) that the keys share a slot. Clients see
//! which check failed first, so the order is part of the behaviour.

use tessera_cluster_bus::engine::SlotMove;
use tessera_keyspace::key_slot;
use tessera_migration::{Asker, KeyPresence, OpenSlot, OpenSlotRoute, TRYAGAIN, route_open_slot};

use crate::catalog::{Command, CommandFlags, CommandId, CommandTable, find_keys};
use crate::commands::cursor::ArgCursor;
use crate::commands::{Ctx, transaction};
use crate::errors;
use crate::node::Node;
use crate::protocol::request::Args;

/// Runs one request.
pub fn execute(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if !ctx.node.tracking().any() {
        run(ctx, args);
        return;
    }
    let top = !transaction::running(ctx.session);
    crate::tracking::with_current(ctx.session.info.id, || {
        let id = run(ctx, args);
        if top {
            // Redis checks the table's size and broadcasts before it writes replies:
            // the pushes follow this command's reply.
            ctx.node
                .tracking_limit(ctx.settings.tracking_table_max_keys);
            ctx.node.tracking_broadcast();
            // CLIENT CACHING lasts for the next command (for a whole transaction:
            // until EXEC); any CLIENT subcommand keeps it, as in Redis.
            let keep =
                ctx.session.multi.is_some() || id.is_some_and(crate::catalog::is_client_subcommand);
            if ctx.session.tracking && !keep {
                ctx.session.info.tracking.lock().caching = false;
            }
        }
    });
}

/// [`execute`] without tracking's bookkeeping: the command that was looked up (the
/// subcommand of a container), if one was.
fn run(ctx: &mut Ctx<'_>, args: Args<'_>) -> Option<CommandId> {
    // ASKING lasts for the one command after it, whatever that command is.
    let asking = std::mem::take(&mut ctx.session.asking);
    let table = CommandTable::get();
    let name = args.get(0);
    let Some(command) = table.lookup(name) else {
        ctx.reply
            .error(&errors::unknown_command(name, args.iter_from(1)));
        fail_transaction(ctx);
        return None;
    };
    let Some(command) = resolve_subcommand(ctx, command, args) else {
        fail_transaction(ctx);
        return None;
    };
    let id = Some(command.meta.id);
    let meta = command.meta;
    if !meta.arity_ok(args.len()) {
        ctx.reply.error(&errors::wrong_arity(meta.name));
        return failed(ctx, id);
    }
    if !ctx.session.authenticated && !meta.has(CommandFlags::NO_AUTH) {
        ctx.reply.error(errors::NOAUTH);
        return failed(ctx, id);
    }
    // A script past busy-reply-threshold holds slot locks this command may wait on:
    // refuse before routing takes any. The script's own commands, an EXEC's, and the
    // master's stream are not refused.
    if !meta.has(CommandFlags::ALLOW_BUSY)
        && !ctx.session.master_link
        && !transaction::running(ctx.session)
        && ctx
            .node
            .scripts()
            .busy(ctx.now_ms, ctx.settings.busy_reply_threshold_ms)
    {
        let text = if ctx.node.scripts().running_function().is_some() {
            errors::BUSY_FUNCTION
        } else {
            errors::BUSY
        };
        ctx.reply.error(text);
        return failed(ctx, id);
    }
    let queuing = ctx.session.multi.is_some() && !transaction::controls_transaction(meta.id);
    if queuing {
        if let Some(refusal) = transaction::refuse_queuing(command) {
            ctx.reply.error(refusal);
            return failed(ctx, id);
        }
    }
    let mut _gate = None;
    // The master's stream applies unconditionally: it was checked where it ran. A
    // transaction's commands were checked together when EXEC began.
    if !ctx.session.master_link && !transaction::running(ctx.session) {
        if ctx.settings.cluster_enabled {
            match route(ctx, command, args, asking) {
                Routed::Here(gate) => _gate = gate,
                Routed::Answered => return failed(ctx, id),
            }
        }
        if let Some(refusal) = crate::refusals::refusal(ctx, command, args) {
            if meta.id == CommandId::Exec && ctx.session.multi.is_some() {
                // As Redis's rejectCommand of EXEC: the transaction is discarded.
                ctx.session.multi = None;
                ctx.session.watching = None;
                ctx.reply.error(&errors::exec_abort_because(&refusal));
                return id;
            }
            ctx.reply.error(&refusal);
            return failed(ctx, id);
        }
    }
    if queuing {
        if let Some(tx) = ctx.session.multi.as_mut() {
            tx.queued
                .push(args.iter_from(0).map(<[u8]>::to_vec).collect());
            tx.denyoom |= meta.has(CommandFlags::DENYOOM);
        }
        ctx.reply.simple("QUEUED");
        return id;
    }
    if meta.id == CommandId::Exec {
        // EXEC routes the whole transaction, ASKING included.
        ctx.session.asking = asking;
    }
    ctx.session.info.set_last_command(&meta.name);
    if meta.is_write() {
        ctx.session.writes += 1;
    }
    if ctx.session.tracking && meta.has(CommandFlags::READONLY) {
        remember_reads(ctx, command, args);
    }
    (command.handler)(ctx, ArgCursor::new(args, command.first_arg));
    id
}

/// Remembers the keys a read-only command of a tracking client reads, before it reads
/// them (see `crate::tracking`); in a script, the script's declared keys. Scripts'
/// read-only forms are not reads themselves, and sharded pub/sub's channels are not
/// keys.
fn remember_reads(ctx: &mut Ctx<'_>, command: &Command, args: Args<'_>) {
    let meta = command.meta;
    if matches!(
        meta.id,
        CommandId::EvalRo | CommandId::EvalshaRo | CommandId::FcallRo
    ) || meta.has(CommandFlags::PUBSUB)
    {
        return;
    }
    if !ctx.session.info.tracking.lock().remembers_reads() {
        return;
    }
    let id = ctx.session.info.id;
    match &ctx.session.script_keys {
        Some(keys) => ctx
            .node
            .tracking()
            .remember(id, keys.iter().map(Vec::as_slice)),
        None => {
            let found = find_keys(meta, args.len(), |i| args.get(i));
            let keys = found.positions().map(|p| args.get(p));
            ctx.node.tracking().remember(id, keys);
        }
    }
}

/// Marks an open MULTI block as failed: its EXEC will be refused, as in Redis.
/// [`fail_transaction`], answering the command that failed, for `run`.
fn failed(ctx: &mut Ctx<'_>, id: Option<CommandId>) -> Option<CommandId> {
    fail_transaction(ctx);
    id
}

fn fail_transaction(ctx: &mut Ctx<'_>) {
    if let Some(tx) = ctx.session.multi.as_mut() {
        tx.failed = true;
    }
}

/// Picks the subcommand of a container command, replying with Redis's error if the
/// subcommand is missing or unknown.
fn resolve_subcommand<'t>(
    ctx: &mut Ctx<'_>,
    command: &'t Command,
    args: Args<'_>,
) -> Option<&'t Command> {
    // COMMAND alone is a command of its own; CONFIG alone fails the arity check.
    if !command.meta.is_container() || (args.len() == 1 && command.meta.id == CommandId::Command) {
        return Some(command);
    }
    if args.len() < 2 {
        ctx.reply.error(&errors::wrong_arity(command.meta.name));
        return None;
    }
    match CommandTable::get().subcommand(command, args.get(1)) {
        Some(sub) => Some(sub),
        None => {
            ctx.reply
                .error(&errors::unknown_subcommand(args.get(1), command.meta.name));
            None
        }
    }
}

/// The routing verdict: run here (holding the migration gate when the slot is being
/// migrated away), or the reply was already written.
pub(crate) enum Routed<'a> {
    Here(Option<parking_lot::RwLockReadGuard<'a, ()>>),
    Answered,
}

/// What routing needs to know of a request besides its keys.
#[derive(Clone, Copy)]
pub(crate) struct Request {
    /// It writes (a replica in READONLY mode cannot serve it).
    pub is_write: bool,
    /// ASKING preceded it, or it acts as if (RESTORE-ASKING).
    pub asking: bool,
    /// It is MIGRATE, which may run on a migrating slot's missing keys.
    pub is_migrate: bool,
    /// It is sharded pub/sub: its channels route as keys, replicas of the shard serve
    /// it, and an open slot is served by its owner until the move ends.
    pub shard_pubsub: bool,
}

/// Decides whether this node serves a keyed command in cluster mode, replying with
/// the redirection or error otherwise (Redis's getNodeByQuery).
fn route<'a>(ctx: &mut Ctx<'a>, command: &Command, args: Args<'_>, asking: bool) -> Routed<'a> {
    let id = command.meta.id;
    let request = Request {
        is_write: command.meta.is_write(),
        asking: asking || command.meta.has(CommandFlags::ASKING),
        is_migrate: id == CommandId::Migrate,
        shard_pubsub: matches!(
            id,
            CommandId::Ssubscribe | CommandId::Sunsubscribe | CommandId::Spublish
        ),
    };
    if request.shard_pubsub {
        // Their key specs say "not a key", yet Redis routes their channels as keys.
        let end = if id == CommandId::Spublish {
            2
        } else {
            args.len()
        };
        return route_keys(ctx, request, (1..end).map(|i| args.get(i)));
    }
    let found = find_keys(command.meta, args.len(), |i| args.get(i));
    let keys = found.positions().map(|p| args.get(p));
    route_keys(ctx, request, keys)
}

/// [`route`] for the keys of a whole request (a transaction's, at EXEC).
pub(crate) fn route_keys<'a, 'k>(
    ctx: &mut Ctx<'a>,
    request: Request,
    keys: impl Iterator<Item = &'k [u8]> + Clone,
) -> Routed<'a> {
    let Some(first) = keys.clone().next() else {
        return Routed::Here(None);
    };
    let slot = key_slot(first);
    let node: &'a Node = ctx.node;
    let Some(cluster) = node.cluster() else {
        // No bus (never in a running cluster node): only the slot rule applies.
        if keys.clone().all(|k| key_slot(k) == slot) {
            return Routed::Here(None);
        }
        ctx.reply.error(errors::CROSSSLOT);
        return Routed::Answered;
    };
    let routing = cluster.routing();
    let Some(owner) = routing.owner(slot) else {
        ctx.reply.error(errors::SLOT_NOT_SERVED);
        return Routed::Answered;
    };
    if !keys.clone().all(|k| key_slot(k) == slot) {
        ctx.reply.error(errors::CROSSSLOT);
        return Routed::Answered;
    }
    // A master without its write lease is treated as a node whose cluster is down:
    // it may be cut off from the majority that is promoting its replica.
    if !routing.state_ok || !cluster.lease_holds(ctx.now_ms as u64) {
        if request.shard_pubsub {
            if !ctx.settings.cluster.allow_pubsubshard_when_down {
                ctx.reply.error(errors::CLUSTER_DOWN);
                return Routed::Answered;
            }
        } else if !ctx.settings.cluster.allow_reads_when_down {
            ctx.reply.error(errors::CLUSTER_DOWN);
            return Routed::Answered;
        }
        if request.is_write {
            ctx.reply.error(errors::CLUSTER_DOWN_READS_ONLY);
            return Routed::Answered;
        }
    }
    let open = match routing.slot_move(slot) {
        // The owner serves shard channels until the move ends (Redis 7.0).
        _ if request.shard_pubsub => None,
        SlotMove::Migrating(target) if routing.is_mine(slot) => {
            Some((OpenSlot::Migrating, Some(target)))
        }
        SlotMove::Importing => Some((OpenSlot::Importing, None)),
        _ => None,
    };
    let mut gate = None;
    if let Some((state, target)) = open {
        if state == OpenSlot::Migrating {
            gate = Some(node.migration_gates().enter(slot));
        }
        let presence = presence(ctx, slot, keys.clone());
        let asker = Asker {
            asking: request.asking,
            is_migrate: request.is_migrate,
        };
        match route_open_slot(state, presence, asker) {
            OpenSlotRoute::Serve => return Routed::Here(gate),
            OpenSlotRoute::Ask => {
                let target = target.unwrap_or(owner);
                ctx.reply
                    .error(&errors::ask(slot, &target.endpoint, target.port));
                return Routed::Answered;
            }
            OpenSlotRoute::TryAgain => {
                ctx.reply.error(TRYAGAIN);
                return Routed::Answered;
            }
            OpenSlotRoute::Owner => {}
        }
    }
    if routing.is_mine(slot)
        || ((ctx.session.readonly || request.shard_pubsub)
            && !request.is_write
            && routing.is_my_masters(slot))
    {
        return Routed::Here(gate);
    }
    ctx.reply
        .error(&errors::moved(slot, &owner.endpoint, owner.port));
    Routed::Answered
}

/// Which of the request's keys (all in `slot`) this node holds.
fn presence<'k>(
    ctx: &Ctx<'_>,
    slot: u16,
    keys: impl Iterator<Item = &'k [u8]> + Clone,
) -> KeyPresence {
    let mut presence = KeyPresence::default();
    let mut table = ctx.node.keyspace().db(0).lock(slot);
    let first = keys.clone().next();
    for key in keys {
        if Some(key) != first {
            presence.multiple_keys = true;
        }
        if table.contains(key, ctx.now_ms) {
            presence.existing += 1;
        } else {
            presence.missing += 1;
        }
    }
    presence
}
