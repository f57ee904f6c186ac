//! INFO, CONFIG, DBSIZE, FLUSHALL, FLUSHDB, TIME, LASTSAVE, DEBUG, SHUTDOWN.

use std::sync::atomic::Ordering;
use std::time::Duration;
use tessera_keyspace::{StrValue, Value, key_slot};

use super::{Ctx, Handler, help, is};
use crate::config::DebugCommand;
use crate::errors;
use crate::protocol::request::Args;
use crate::snapshots::{self, SaveError, SaveOnExit};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "info" => info,
        "config|get" => config_get,
        "config|set" => config_set,
        "config|resetstat" => config_resetstat,
        "config|rewrite" => |c, _| match c.node.config.rewrite() {
            Ok(()) => c.reply.ok(),
            Err(e) => c.reply.error(&e),
        },
        "config|help" => |c, _| {
            help(
                c.reply,
                "CONFIG",
                &[
                    "GET <pattern>",
                    "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>",
                    "    Set the configuration <directive> to <value>.",
                    "RESETSTAT",
                    "    Reset statistics reported by the INFO command.",
                    "REWRITE",
                    "    Rewrite the configuration file.",
                ],
            )
        },
        "dbsize" => |c, _| c.reply.int(c.db().len() as i64),
        "flushall" => |c, a| flush(c, a, true),
        "flushdb" => |c, a| flush(c, a, false),
        "time" => time,
        "lastsave" => |c, _| c.reply.int(c.node.snapshots.last_save()),
        "save" => save,
        "bgsave" => bgsave,
        "debug" => debug,
        "shutdown" => shutdown,
        _ => return None,
    })
}

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let sections: Vec<String> = args
        .iter_from(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let text = crate::info::render(ctx.node, &sections);
    ctx.reply.verbatim(text.as_bytes());
}

fn config_get(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let patterns: Vec<&[u8]> = args.iter_from(2).collect();
    let pairs = ctx.node.config.get(&patterns);
    ctx.reply.map(pairs.len());
    for (name, value) in pairs {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.bulk(value.as_bytes());
    }
}

fn config_set(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() % 2 != 0 {
        ctx.reply.error(&errors::wrong_arity("config|set"));
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len())
        .step_by(2)
        .map(|i| (args.get(i), args.get(i + 1)))
        .collect();
    match ctx.node.config.set(&pairs, ctx.session.local) {
        Ok(()) => ctx.reply.ok(),
        Err(e) => ctx.reply.error(&e),
    }
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    ctx.node.stats.reset();
    ctx.node.clients.reset_counters();
    for (_, db) in ctx.node.keyspace.existing() {
        db.reset_stats();
    }
    ctx.reply.ok();
}

fn flush(ctx: &mut Ctx<'_>, args: Args<'_>, all: bool) {
    match args.len() {
        1 => {}
        2 if is(args.get(1), "ASYNC") || is(args.get(1), "SYNC") => {}
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    }
    // Every slot stays locked until the flush is recorded, so no write can land
    // between the flush and its place in the replication stream.
    let all_args: Vec<&[u8]> = args.iter_from(0).collect();
    if all {
        let mut locks = ctx.node.keyspace.lock_all();
        for (_, tables) in locks.dbs() {
            for (_, t) in tables.tables() {
                t.clear();
            }
        }
        ctx.propagate_all(&mut locks, &all_args);
    } else {
        let mut locks = ctx.db().lock_slots(0..tessera_keyspace::SLOT_COUNT as u16);
        for (_, t) in locks.tables() {
            t.clear();
        }
        ctx.propagate_locked(&mut locks, &all_args);
    }
    ctx.reply.ok();
}

fn time(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    let us = crate::clock::unix_us();
    ctx.reply.array(2);
    ctx.reply
        .bulk(itoa::Buffer::new().format(us / 1_000_000).as_bytes());
    ctx.reply
        .bulk(itoa::Buffer::new().format(us % 1_000_000).as_bytes());
}

fn debug(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let allowed = match ctx.settings.enable_debug_command {
        DebugCommand::Yes => true,
        DebugCommand::Local => ctx.session.local,
        DebugCommand::No => false,
    };
    if !allowed {
        ctx.reply.error(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
             you can run it from a local connection, otherwise you need to set this option in the \
             configuration file, and then restart the server.",
        );
        return;
    }
    let sub = args.get(1);
    if is(sub, "SLEEP") && args.len() == 3 {
        // Like strtod: unparsable text sleeps for zero seconds.
        let secs: f64 = std::str::from_utf8(args.get(2))
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .unwrap_or(0.0);
        let pause = Duration::from_secs_f64(secs.min(1e9));
        // DEBUG SLEEP freezes the whole server, as in Redis: every connection waits.
        ctx.node.pause.pause_for(pause);
        ctx.session.sleep = Some(pause);
        ctx.reply.ok();
    } else if is(sub, "SET-ACTIVE-EXPIRE") && args.len() == 3 {
        let on = args.get(2) != b"0";
        ctx.node.active_expire.store(on, Ordering::Relaxed);
        ctx.reply.ok();
    } else if is(sub, "DIGEST-VALUE") && args.len() >= 2 {
        digest_values(ctx, args);
    } else if is(sub, "POPULATE") && (3..=5).contains(&args.len()) {
        populate(ctx, args);
    } else if is(sub, "HELP") {
        help(
            ctx.reply,
            "DEBUG",
            &[
                "DIGEST-VALUE <key> [<key> ...]",
                "    Return a digest of the value of each key (all zeros for a missing key).",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>, or <prefix>:<num> if given.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Disable or enable the active expiry cycle.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>; decimals are allowed.",
            ],
        );
    } else {
        ctx.reply.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// DEBUG DIGEST-VALUE: Redis's per-key digest, so redis-cli can tell whether two nodes
/// hold the same value (it asks when a MIGRATE meets an existing key). The type code
/// and then the value are mixed into a zero digest; a key with a deadline has the
/// digest of a fixed marker XORed in. Logically expired keys still count, as in Redis.
fn digest_values(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ctx.reply.array(args.len() - 2);
    for key in args.iter_from(2) {
        let mut digest = [0u8; 20];
        let mut table = ctx.db().lock(tessera_keyspace::key_slot(key));
        let volatile = table.deadline(key).is_some();
        if let Some(tessera_keyspace::Value::Str(s)) = table.get(key, i64::MIN) {
            mix_digest(&mut digest, &0u32.to_be_bytes());
            s.with_bytes(|b| mix_digest(&mut digest, b));
            if volatile {
                xor_digest(&mut digest, b"!!expire!!");
            }
        }
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        ctx.reply.simple(&hex);
    }
}

/// XORs the SHA-1 of `data` into `digest` (order-free accumulation).
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1_smol::Sha1::from(data).digest().bytes();
    digest.iter_mut().zip(hash).for_each(|(d, h)| *d ^= h);
}

/// Adds `data` to `digest` in an order-dependent way: XOR, then hash the result.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

fn populate(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(count) = ctx.int_arg(args.get(2)) else {
        return;
    };
    let prefix = if args.len() > 3 { args.get(3) } else { b"key" };
    let size = if args.len() > 4 {
        match ctx.int_arg(args.get(4)) {
            Some(n) if n >= 0 => Some(n as usize),
            Some(_) => {
                ctx.reply.error("ERR size must be positive");
                return;
            }
            None => return,
        }
    } else {
        None
    };
    let db = ctx.db();
    for i in 0..count.max(0) {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{i}").as_bytes());
        let mut t = db.lock(key_slot(&key));
        if t.contains(&key, ctx.now_ms) {
            continue;
        }
        let mut value = format!("value:{i}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        t.insert(&key, Value::Str(StrValue::from_vec(value)));
    }
    ctx.reply.ok();
}

fn save(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    match snapshots::save(ctx.node, false) {
        Ok(_) => ctx.reply.ok(),
        Err(SaveError::InProgress) => ctx.reply.error("ERR Background save already in progress"),
        Err(SaveError::Io(_)) => ctx.reply.error("ERR"),
    }
}

fn bgsave(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let schedule = match args.len() {
        1 => false,
        2 if is(args.get(1), "SCHEDULE") => true,
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    };
    match snapshots::save_in_background(ctx.node) {
        Ok(()) => ctx.reply.simple("Background saving started"),
        Err(SaveError::InProgress) if schedule => {
            ctx.node.snapshots.schedule();
            ctx.reply.simple("Background saving scheduled");
        }
        Err(SaveError::InProgress) => ctx.reply.error("ERR Background save already in progress"),
        Err(SaveError::Io(e)) => ctx.reply.error(&format!("ERR {e}")),
    }
}

fn shutdown(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (mut save, mut nosave, mut force) = (false, false, false);
    for flag in args.iter_from(1) {
        if is(flag, "SAVE") {
            save = true;
        } else if is(flag, "NOSAVE") {
            nosave = true;
        } else if is(flag, "NOW") {
        } else if is(flag, "FORCE") {
            force = true;
        } else if is(flag, "ABORT") && args.len() == 2 {
            ctx.reply.error("ERR No shutdown in progress.");
            return;
        } else {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    }
    if save && nosave {
        ctx.reply.error(errors::SYNTAX);
        return;
    }
    let mode = match (save, nosave) {
        (true, _) => SaveOnExit::Always,
        (_, true) => SaveOnExit::Never,
        _ => SaveOnExit::IfConfigured,
    };
    if snapshots::save_before_exit(ctx.node, mode).is_err() && !force {
        ctx.reply
            .error("ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    tracing::warn!(client = %ctx.session.info.addr, "user requested shutdown");
    ctx.node.request_shutdown();
    ctx.session.close = true;
}
