//! DEBUG: the subcommands operators and test tools use (redis-cli's --cluster check asks
//! DIGEST-VALUE, test suites SLEEP, RELOAD, SET-ACTIVE-EXPIRE and DIGEST), behind
//! `enable-debug-command` exactly as in Redis 7.0: refused by default, `local` allows
//! loopback connections only.

use std::time::Duration;
use tessera_keyspace::{StrValue, Value, key_slot};

use super::cursor::ArgCursor;
use super::{Ctx, help_reply, is};
use crate::config::DebugCommand;
use crate::snapshots::{self, SaveError};

use crate::errors;
use crate::errors::DEBUG_NOT_ALLOWED as NOT_ALLOWED;

/// The DEBUG command: checks that it is allowed here, then runs the subcommand.
pub(super) fn debug(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let allowed = match ctx.settings.enable_debug_command {
        DebugCommand::Yes => true,
        DebugCommand::Local => ctx.session.local,
        DebugCommand::No => false,
    };
    if !allowed {
        ctx.reply.error(NOT_ALLOWED);
        return;
    }
    let Some(sub) = ctx.read(args.next_arg()) else {
        return;
    };
    // What follows the subcommand.
    let n = args.remaining();
    if is(sub, "SLEEP") && n == 1 {
        sleep(ctx, args.peek());
    } else if is(sub, "SET-ACTIVE-EXPIRE") && n == 1 {
        let on = args.peek() != b"0";
        ctx.node.set_active_expire(on);
        ctx.reply.ok();
    } else if is(sub, "DIGEST") && n == 0 {
        dataset_digest(ctx);
    } else if is(sub, "DIGEST-VALUE") {
        value_digests(ctx, args);
    } else if is(sub, "OBJECT") && n == 1 {
        object(ctx, args.peek());
    } else if is(sub, "RELOAD") {
        reload(ctx, args);
    } else if is(sub, "CHANGE-REPL-ID") && n == 0 {
        // A new history, and none kept: replicas must sync in full.
        ctx.node
            .replication()
            .change_replid(crate::node::random_hex_id());
        tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
        ctx.reply.ok();
    } else if is(sub, "DROP-CLUSTER-PACKET-FILTER") && n == 1 {
        let Some(message_type) = ctx.read(args.next_i64()) else {
            return;
        };
        // Redis keeps the value without cluster mode too; it matters only with a bus.
        if let Some(bus) = ctx.node.cluster() {
            bus.set_drop_filter(message_type);
        }
        ctx.reply.ok();
    } else if is(sub, "CLUSTERLINK") && n == 3 && is(args.peek(), "KILL") {
        let Some([_, kind, node]) = ctx.read(args.next_args()) else {
            return;
        };
        kill_cluster_links(ctx, kind, node);
    } else if is(sub, "POPULATE") && (1..=3).contains(&n) {
        populate(ctx, args);
    } else if is(sub, "HELP") {
        debug_help(ctx);
    } else {
        ctx.reply.error(&errors::subcommand_or_arity(sub, "DEBUG"));
    }
}

fn debug_help(ctx: &mut Ctx<'_>) {
    help_reply(
        ctx.reply,
        "DEBUG",
        &[
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "    Dangerous: should be used only for testing the replication subsystem.",
            "CLUSTERLINK KILL <to|from|all> <node-id>",
            "    Kills the link based on the direction to/from (both) with the provided node.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DROP-CLUSTER-PACKET-FILTER <packet-type>",
            "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
            "RELOAD [option ...]",
            "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
            "    * MERGE: conflicting keys will be loaded from RDB.",
            "    * NOFLUSH: the existing database will not be removed before load, but",
            "      conflicting keys will generate an exception and kill the server.",
            "    * NOSAVE: the database will be loaded from an existing RDB file.",
            "    Examples:",
            "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
            "      the database.",
            "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
            "      existing RDB file.",
            "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
            "      file to the database.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ],
    );
}

/// DEBUG CLUSTERLINK KILL to|from|all <node-id>: closes bus links as a network fault
/// would, with Redis's texts. (Redis 7.0 also answers OK after its unknown-direction
/// error, two replies to one command; Tessera answers the error only.)
fn kill_cluster_links(ctx: &mut Ctx<'_>, direction: &[u8], id: &[u8]) {
    let Some(bus) = ctx.node.cluster().cloned() else {
        ctx.reply
            .error("ERR Debug option only available for cluster mode enabled setup!");
        return;
    };
    let unknown_node = format!("ERR Unknown node {}", String::from_utf8_lossy(id));
    let Some(node) = tessera_cluster_bus::NodeId::parse(id) else {
        ctx.reply.error(&unknown_node);
        return;
    };
    // Redis looks the node up before it reads the direction.
    let sides = if is(direction, "TO") {
        Some((true, false))
    } else if is(direction, "FROM") {
        Some((false, true))
    } else if is(direction, "ALL") {
        Some((true, true))
    } else {
        None
    };
    let bad_direction = format!(
        "ERR Unknown direction {}",
        String::from_utf8_lossy(direction)
    );
    ctx.defer(async move {
        let (to, from) = sides.unwrap_or((false, false));
        let known = bus.kill_links(node, to, from).await;
        move |reply: &mut crate::protocol::reply::Reply| match (known, sides) {
            (false, _) => reply.error(&unknown_node),
            (true, None) => reply.error(&bad_direction),
            (true, Some(_)) => reply.ok(),
        }
    });
}

fn sleep(ctx: &mut Ctx<'_>, seconds: &[u8]) {
    // Like strtod: unparsable text sleeps for zero seconds.
    let secs: f64 = std::str::from_utf8(seconds)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .unwrap_or(0.0);
    let pause = Duration::from_secs_f64(secs.min(1e9));
    // DEBUG SLEEP freezes the whole server, as in Redis: every connection waits.
    ctx.node.pause().pause_for(pause);
    ctx.session.sleep = Some(pause);
    ctx.reply.ok();
}

/// Redis's type codes, the first thing mixed into a value's digest.
fn type_code(value: &Value) -> u32 {
    match value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    }
}

/// The digest of one value on its own (DIGEST-VALUE).
fn value_digest(value: &Value, volatile: bool) -> [u8; 20] {
    let mut digest = [0u8; 20];
    continue_digest(&mut digest, value, volatile);
    digest
}

fn hex(digest: &[u8; 20]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG DIGEST: Redis's digest of the whole dataset, all zeros when it is empty. Each
/// database that has keys mixes in its number (so the same data in another database
/// differs), then the SHA-1 of every key's digest (key mixed, then its value) is XORed
/// in, so the order keys are visited in does not matter. Logically expired keys count, as in Redis.
fn dataset_digest(ctx: &mut Ctx<'_>) {
    let mut total = [0u8; 20];
    let mut locks = ctx.node.keyspace().lock_all();
    for (index, tables) in locks.dbs() {
        let mut mixed_db = false;
        for (_, table) in tables.tables() {
            for entry in table.entries() {
                if !mixed_db {
                    mix_digest(&mut total, &(index as u32).to_be_bytes());
                    mixed_db = true;
                }
                let volatile = table.deadline(entry.key.as_bytes()).is_some();
                // The value is mixed on top of the key's digest, not XORed in
                // separately, so a value under another key counts differently.
                let mut digest = [0u8; 20];
                mix_digest(&mut digest, entry.key.as_bytes());
                continue_digest(&mut digest, &entry.value, volatile);
                // Redis's xorDigest: the SHA-1 of the key's digest goes in.
                xor_digest(&mut total, &digest);
            }
        }
    }
    drop(locks);
    ctx.reply.simple(&hex(&total));
}

/// Mixes a value into `digest` as Redis's xorObjectDigest does: the type code, then the
/// content; a key with a deadline has a fixed marker XORed in.
fn continue_digest(digest: &mut [u8; 20], value: &Value, volatile: bool) {
    mix_digest(digest, &type_code(value).to_be_bytes());
    match value {
        Value::Str(s) => s.with_bytes(|b| mix_digest(digest, b)),
        Value::List(l) => l.for_each_element(|e| mix_digest(digest, e)),
        Value::Set(s) => s.for_each_member(|m| xor_digest(digest, m)),
        // Pairs are digested on their own and XORed in (through SHA-1, as Redis's
        // xorDigest does), so their order does not count.
        Value::Hash(h) => h.for_each_pair(|field, value| {
            let mut pair = [0u8; 20];
            mix_digest(&mut pair, field);
            mix_digest(&mut pair, value);
            xor_digest(digest, &pair);
        }),
        // Each member's digest (member, then the score as %.17g, whatever the
        // encoding) goes in through xorDigest: its SHA-1, not the digest itself
        // (checked against redis-server 7.0.15).
        Value::ZSet(z) => z.for_each_scored(|member, score| {
            let mut pair = [0u8; 20];
            mix_digest(&mut pair, member);
            mix_digest(
                &mut pair,
                tessera_keyspace::number::format_g17(score).as_bytes(),
            );
            xor_digest(digest, &pair);
        }),
    }
    if volatile {
        xor_digest(digest, b"!!expire!!");
    }
}

/// DEBUG DIGEST-VALUE: Redis's per-key digest, so redis-cli can tell whether two nodes
/// hold the same value (it asks when a MIGRATE meets an existing key); all zeros for a
/// missing key. Logically expired keys still count, as in Redis.
fn value_digests(ctx: &mut Ctx<'_>, keys: ArgCursor<'_>) {
    let keys = keys.rest();
    ctx.reply.array(keys.len());
    for key in keys {
        let mut table = ctx.db().lock(key_slot(key));
        let volatile = table.deadline(key).is_some();
        let digest = table
            .get(key, i64::MIN)
            .map_or([0u8; 20], |value| value_digest(value, volatile));
        ctx.reply.simple(&hex(&digest));
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

/// DEBUG OBJECT: the low-level facts Redis shows about a value. `refcount` is
/// Redis's: shared small integers (0 to 9999) have the shared count. `lru` is the low
/// 24 bits of the key's access stamp, as Redis's field is 24 bits wide.
fn object(ctx: &mut Ctx<'_>, key: &[u8]) {
    let mut table = ctx.db().lock(key_slot(key));
    let clock = table.access_clock();
    let stamp = table.access_stamp(key, i64::MIN).unwrap_or(clock.now_s);
    let Some(value) = table.get(key, i64::MIN) else {
        ctx.reply.error("ERR no such key");
        return;
    };
    let encoding = value.encoding();
    let shared = match value {
        Value::Str(s) => {
            encoding == tessera_keyspace::Encoding::Int
                && s.with_bytes(|b| {
                    std::str::from_utf8(b)
                        .ok()
                        .and_then(|t| t.parse::<i64>().ok())
                        .is_some_and(|n| (0..10_000).contains(&n))
                })
        }
        _ => false,
    };
    let refcount = if shared { i32::MAX } else { 1 };
    // What the value takes in a snapshot, without its type byte (rdbSavedObjectLen).
    let mut serialized = Vec::new();
    tessera_keyspace::rdb::encode_value(&mut serialized, value, ctx.settings.rdbcompression);
    let serialized = serialized.len() - 1;
    let lru = stamp & ((1 << 24) - 1);
    let idle = clock.idle_seconds(stamp);
    let text = format!(
        "Value at:{:p} refcount:{refcount} encoding:{} serializedlength:{serialized} lru:{lru} lru_seconds_idle:{idle}",
        value as *const Value,
        encoding.name()
    );
    ctx.reply.simple(&text);
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the snapshot (unless NOSAVE), empties
/// the data (unless NOFLUSH) and loads the snapshot back. Where Redis would stop the
/// server on a key loaded twice (NOFLUSH without MERGE), the snapshot's value wins, as
/// with MERGE.
fn reload(ctx: &mut Ctx<'_>, options: ArgCursor<'_>) {
    let (mut flush, mut save) = (true, true);
    for option in options.rest() {
        if is(option, "MERGE") {
        } else if is(option, "NOFLUSH") {
            flush = false;
        } else if is(option, "NOSAVE") {
            save = false;
        } else {
            ctx.reply
                .error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    if save {
        match snapshots::save(ctx.node, false) {
            Ok(_) => {}
            Err(SaveError::InProgress) | Err(SaveError::Io(_)) => {
                ctx.reply.error("ERR");
                return;
            }
        }
    }
    if flush {
        ctx.node.keyspace().clear();
        // As Redis's emptyData: tracking clients hear that every key changed.
        ctx.node.tracking_flushed();
    }
    let path = snapshots::dump_path(ctx.settings);
    let loaded = tessera_persistence::dump::load(
        &path,
        ctx.node.keyspace(),
        crate::clock::unix_ms(),
        ctx.settings.read_limits(),
    );
    match loaded {
        Ok(stats) => {
            let libraries = stats.map(|s| s.libraries).unwrap_or_default();
            if let Err(e) = ctx.node.scripts().load_libraries(&libraries, true) {
                tracing::warn!(error = %e, "DEBUG RELOAD could not load the function libraries");
            }
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            ctx.reply.ok();
        }
        Err(e) => {
            tracing::warn!(error = %e, "DEBUG RELOAD could not load the snapshot");
            ctx.reply
                .error("ERR Error trying to load the RDB dump, check server logs.");
        }
    }
}

fn populate(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(count) = ctx.read(args.next_i64()) else {
        return;
    };
    let prefix = args.next_arg().unwrap_or(b"key");
    let size = if args.is_done() {
        None
    } else {
        match ctx.read(args.next_i64()) {
            Some(n) if n >= 0 => Some(n as usize),
            Some(_) => {
                ctx.reply.error("ERR size must be positive");
                return;
            }
            None => return,
        }
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
