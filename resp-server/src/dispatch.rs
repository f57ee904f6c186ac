//! Running one request: lookup, checks in Redis's order, then the handler.
//!
//! Redis checks, in order: the command exists, the subcommand exists, the argument
//! count, authentication, and (in cluster mode) that the keys share a slot. Clients see
//! which check failed first, so the order is part of the behaviour.

use tessera_keyspace::key_slot;

use crate::command::{Command, CommandTable};
use crate::commands::Ctx;
use crate::errors;
use crate::protocol::request::Args;

/// Runs one request.
pub fn execute(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let table = CommandTable::get();
    let name = args.get(0);
    let Some(command) = table.lookup(name) else {
        ctx.reply
            .error(&errors::unknown_command(name, args.iter_from(1)));
        return;
    };
    let Some(command) = resolve_subcommand(ctx, command, args) else {
        return;
    };
    let meta = command.meta;
    if !meta.arity_ok(args.len()) {
        ctx.reply.error(&errors::wrong_arity(meta.name));
        return;
    }
    if !ctx.session.authenticated && !command.no_auth {
        ctx.reply.error(errors::NOAUTH);
        return;
    }
    // The master's stream applies unconditionally: it was checked where it ran.
    if !ctx.session.master_link {
        if ctx.settings.cluster_enabled && !route(ctx, command, args) {
            return;
        }
        if command.is_write
            && ctx.settings.replication.read_only
            && ctx.node.replication.is_replica()
        {
            ctx.reply
                .error("READONLY You can't write against a read only replica.");
            return;
        }
        if ctx.node.loading.load(std::sync::atomic::Ordering::Relaxed) && !meta.has_flag("loading")
        {
            ctx.reply
                .error("LOADING Redis is loading the dataset in memory");
            return;
        }
    }
    ctx.session.info.set_last_command(&meta.name);
    let handler = command.handler.expect("resolved commands have handlers");
    if command.is_write {
        ctx.session.writes += 1;
    }
    handler(ctx, args);
}

/// Picks the subcommand of a container command, replying with Redis's error if the
/// subcommand is missing or unknown.
fn resolve_subcommand<'t>(
    ctx: &mut Ctx<'_>,
    command: &'t Command,
    args: Args<'_>,
) -> Option<&'t Command> {
    if command.meta.subcommands.is_empty() || (args.len() == 1 && command.handler.is_some()) {
        return Some(command);
    }
    if args.len() < 2 {
        ctx.reply.error(&errors::wrong_arity(command.meta.name));
        return None;
    }
    match command.subcommand(args.get(1)) {
        Some(sub) => Some(sub),
        None => {
            ctx.reply
                .error(&errors::unknown_subcommand(args.get(1), command.meta.name));
            None
        }
    }
}

/// Decides whether this node serves a keyed command in cluster mode, replying with
/// the redirection or error otherwise (Redis's getNodeByQuery). True: run it here.
fn route(ctx: &mut Ctx<'_>, command: &Command, args: Args<'_>) -> bool {
    let mut positions = command.meta.key_positions(args.len());
    let Some(first) = positions.next() else {
        return true;
    };
    let slot = key_slot(args.get(first));
    let Some(cluster) = ctx.node.cluster.get() else {
        // No bus (never in a running cluster node): only the slot rule applies.
        if positions.all(|p| key_slot(args.get(p)) == slot) {
            return true;
        }
        ctx.reply.error(errors::CROSSSLOT);
        return false;
    };
    let routing = cluster.routing();
    let Some(owner) = routing.owner(slot) else {
        ctx.reply.error("CLUSTERDOWN Hash slot not served");
        return false;
    };
    if !positions.all(|p| key_slot(args.get(p)) == slot) {
        ctx.reply.error(errors::CROSSSLOT);
        return false;
    }
    if !routing.state_ok {
        if !ctx.settings.cluster.allow_reads_when_down {
            ctx.reply.error("CLUSTERDOWN The cluster is down");
            return false;
        }
        if command.is_write {
            ctx.reply
                .error("CLUSTERDOWN The cluster is down and only accepts read commands");
            return false;
        }
    }
    if routing.is_mine(slot)
        || (ctx.session.readonly && !command.is_write && routing.is_my_masters(slot))
    {
        return true;
    }
    let moved = format!("MOVED {slot} {}:{}", owner.endpoint, owner.port);
    ctx.reply.error(&moved);
    false
}
