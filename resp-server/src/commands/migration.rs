//! Moving keys between nodes: DUMP, RESTORE, RESTORE-ASKING, MIGRATE and ASKING.
//!
//! MIGRATE holds the slots of its keys, and the migration gate, from reading the
//! values until the target has answered and the moved keys are deleted: no write can
//! land on a key between its copy and its deletion, and no command that found a key
//! here runs after it left. Like Redis, it blocks those slots for one batch; unlike
//! Redis, the rest of the node keeps serving.

use crate::errors;
use std::sync::Arc;
use std::time::Duration;

use tessera_keyspace::key_slot;
use tessera_keyspace::rdb;
use tessera_migration::{MigrateRequest, RestoreOptions, TargetBatch, restore_deadline};

use super::Ctx;
use super::cursor::ArgCursor;
use crate::node::Node;

const BUSYKEY: &str = "BUSYKEY Target key name already exists.";

/// ASKING.
pub(super) fn asking(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    if super::cluster::cluster_mode(c) {
        c.session.asking = true;
        c.reply.ok();
    }
}

pub(super) fn dump(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(key) = ctx.read(args.next_arg()) else {
        return;
    };
    let mut table = ctx.db().lock(key_slot(key));
    match table.read(key, ctx.now_ms) {
        Some(value) => ctx.reply.bulk(&rdb::dump(value)),
        None => ctx.reply.null(),
    }
}

pub(super) fn restore(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    // The options' rules live with the migration code, which reads the whole command.
    let all: Vec<&[u8]> = args.verbatim().collect();
    let options = match RestoreOptions::parse(&all) {
        Ok(options) => options,
        Err(e) => return ctx.reply.error(&e.to_string()),
    };
    let Some([key, ttl, payload]) = ctx.read(args.next_args()) else {
        return;
    };
    let now = ctx.now_ms;
    let mut table = ctx.db().lock(key_slot(key));
    if !options.replace && table.contains(key, now) {
        return ctx.reply.error(BUSYKEY);
    }
    let deadline = match restore_deadline(ttl, options.absttl, now) {
        Ok(deadline) => deadline,
        Err(e) => return ctx.reply.error(&e),
    };
    let value = match rdb::restore(payload, ctx.settings.read_limits()) {
        Ok(value) => value,
        Err(e) => return ctx.reply.error(&errors::err(e)),
    };
    let deleted = options.replace && table.remove(key).is_some();
    // A deadline already past leaves no key, but a replaced one is still gone.
    // Replicas apply with `now` at the dawn of time, so they never take this path.
    if let Some(at) = deadline
        && at <= now
    {
        if deleted {
            ctx.propagate(&mut table, &[b"DEL", key]);
            ctx.notify(crate::notify::GENERIC, "del", key);
        }
        return ctx.reply.ok();
    }
    table.insert(key, value);
    if let Some(at) = deadline {
        table.set_deadline(key, at);
    }
    // As Redis's objectSetLRUOrLFU: each option applies only under the policy that
    // reads that kind of clock.
    let clock = table.access_clock();
    let stamp = match (options.idle_seconds, options.freq) {
        (Some(idle), _) => clock.with_idle(idle.max(0) as u64),
        (_, Some(freq)) => clock.with_frequency(freq),
        _ => None,
    };
    if let Some(stamp) = stamp {
        table.set_access_stamp(key, stamp);
    }
    if ctx.records_changes() {
        let at = deadline.unwrap_or(0).to_string();
        let (idle, freq) = (
            options.idle_seconds.map(|i| i.to_string()),
            options.freq.map(|f| f.to_string()),
        );
        let mut command: Vec<&[u8]> = vec![
            b"RESTORE",
            key,
            at.as_bytes(),
            payload,
            b"ABSTTL",
            b"REPLACE",
        ];
        if let Some(idle) = &idle {
            command.extend([b"IDLETIME".as_slice(), idle.as_bytes()]);
        }
        if let Some(freq) = &freq {
            command.extend([b"FREQ".as_slice(), freq.as_bytes()]);
        }
        ctx.propagate(&mut table, &command);
    }
    ctx.notify(crate::notify::GENERIC, "restore", key);
    ctx.reply.ok();
}

pub(super) fn migrate(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    // MIGRATE's grammar lives with the migration code, which reads the whole command.
    let all: Vec<&[u8]> = args.verbatim().collect();
    let request = match MigrateRequest::parse(&all) {
        Ok(request) => request,
        Err(e) => return ctx.reply.error(&e.to_string()),
    };
    let keys: Vec<Vec<u8>> = request
        .key_positions
        .clone()
        .filter_map(|p| all.get(p).map(|key| key.to_vec()))
        .collect();
    let node = Arc::clone(ctx.node);
    let db = ctx.session.db;
    let asking = ctx.settings.cluster_enabled;
    ctx.defer_with_session(async move {
        let (result, offset) =
            tokio::task::spawn_blocking(move || move_keys(&node, db, asking, &request, &keys))
                .await
                .unwrap_or_else(|e| (Err(format!("ERR MIGRATE failed: {e}")), None));
        move |reply: &mut crate::protocol::reply::Reply, session: &mut crate::session::Session| {
            // WAIT after MIGRATE waits for the deletions it sent to replicas.
            if let Some(offset) = offset {
                session.write_offset = offset;
            }
            match result {
                Ok(status) => reply.simple(status),
                Err(e) => reply.error(&e),
            }
        }
    });
}

/// One MIGRATE: copies the live keys among `keys` to the target, then deletes those it
/// confirmed (unless COPY) and records their deletion for replicas. Also returns the
/// replication offset of that record, when there is one.
fn move_keys(
    node: &Node,
    db: usize,
    asking: bool,
    request: &MigrateRequest,
    keys: &[Vec<u8>],
) -> (Result<&'static str, String>, Option<u64>) {
    let _gates = node
        .migration_gates()
        .close(keys.iter().map(|k| tessera_keyspace::key_slot(k)));
    let now = crate::clock::unix_ms();
    let mut locks = node
        .keyspace()
        .db(db)
        .lock_keys(keys.iter().map(Vec::as_slice));
    let command: &[u8] = if asking {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    let mut moving: Vec<&[u8]> = Vec::new();
    let mut restores = Vec::new();
    for key in keys {
        let table = locks.for_key(key);
        let Some(value) = table.get(key, now) else {
            continue;
        };
        let payload = rdb::dump(value);
        let ttl = table.deadline(key).map_or(0, |at| (at - now).max(1));
        let ttl = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![command, key, ttl.as_bytes(), &payload];
        if request.replace {
            parts.push(b"REPLACE");
        }
        let mut encoded = Vec::with_capacity(payload.len() + key.len() + 64);
        tessera_replication::wire::encode_command(&mut encoded, &parts);
        restores.push(encoded);
        moving.push(key);
    }
    if moving.is_empty() {
        return (Ok("NOKEY"), None);
    }
    let batch = TargetBatch {
        auth: request.auth.as_ref(),
        db: request.db,
        restores,
    };
    let timeout = Duration::from_millis(request.timeout_ms);
    let outcome = node
        .migrate_targets()
        .send(&request.host, &request.port, timeout, &batch);
    let mut offset = None;
    if !request.copy {
        let moved: Vec<&[u8]> = moving
            .iter()
            .zip(&outcome.accepted)
            .filter_map(|(key, &ok)| ok.then_some(*key))
            .collect();
        for key in &moved {
            locks.for_key(key).remove(key);
            node.key_changed(db, key);
            node.notify(db, crate::notify::GENERIC, "del", key);
        }
        if !moved.is_empty() && node.replication().is_active() {
            locks.flush_expired();
            let mut del: Vec<&[u8]> = vec![b"DEL"];
            del.extend(&moved);
            offset = Some(node.replication().feed(db, &del));
        }
    }
    let result = match outcome.error {
        None => Ok("OK"),
        Some(e) => Err(e.to_string()),
    };
    (result, offset)
}
