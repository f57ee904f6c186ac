//! CLUSTER subcommands that need only the keyspace: KEYSLOT, COUNTKEYSINSLOT,
//! GETKEYSINSLOT. The topology subcommands arrive with the cluster bus.

use tessera_keyspace::{SLOT_COUNT, key_slot};

use super::{Ctx, Handler, help};
use crate::protocol::request::Args;

pub(super) fn handler(name: &str) -> Option<Handler> {
    let run: Handler = match name {
        "cluster|keyslot" => |c, a| {
            if cluster_mode(c) {
                c.reply.int(i64::from(key_slot(a.get(2))));
            }
        },
        "cluster|countkeysinslot" => countkeysinslot,
        "cluster|getkeysinslot" => getkeysinslot,
        "cluster|help" => |c, _| {
            if !cluster_mode(c) {
                return;
            }
            help(
                c.reply,
                "CLUSTER",
                &[
                    "COUNTKEYSINSLOT <slot>",
                    "    Return the number of keys in <slot>.",
                    "GETKEYSINSLOT <slot> <count>",
                    "    Return key names stored by this node in a slot.",
                    "KEYSLOT <key>",
                    "    Return the hash slot for <key>.",
                ],
            )
        },
        _ => return None,
    };
    Some(run)
}

/// Every CLUSTER subcommand first checks that cluster mode is on.
fn cluster_mode(ctx: &mut Ctx<'_>) -> bool {
    if !ctx.settings.cluster_enabled {
        ctx.reply
            .error("ERR This instance has cluster support disabled");
    }
    ctx.settings.cluster_enabled
}

fn countkeysinslot(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if !cluster_mode(ctx) {
        return;
    }
    match ctx.int_arg(args.get(2)) {
        Some(slot) if (0..SLOT_COUNT as i64).contains(&slot) => {
            let n = ctx.db().lock(slot as u16).len();
            ctx.reply.int(n as i64);
        }
        Some(_) => ctx.reply.error("ERR Invalid slot"),
        None => {}
    }
}

fn getkeysinslot(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if !cluster_mode(ctx) {
        return;
    }
    let Some(slot) = ctx.int_arg(args.get(2)) else {
        return;
    };
    let Some(count) = ctx.int_arg(args.get(3)) else {
        return;
    };
    if !(0..SLOT_COUNT as i64).contains(&slot) || count < 0 {
        ctx.reply.error("ERR Invalid slot or number of keys");
        return;
    }
    let keys = ctx
        .db()
        .keys_in_slot(slot as u16, count as usize, ctx.now_ms);
    ctx.reply.bulk_array(keys.iter().map(Vec::as_slice));
}
