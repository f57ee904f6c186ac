//! BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BZMPOP.
//!
//! Each first acts as its non-blocking form. When every key is empty it registers a
//! waiter (`crate::blocking`) with its keys' slots still locked, and its reply comes
//! later: the command that makes a key non-empty serves the waiters of that key in
//! arrival order as it releases the slot's lock (`serve_ready`), popping on their
//! behalf, replicating what Redis replicates for a served client (LPOP key, ZPOPMIN key
//! count, LMOVE ...) and handing each its encoded reply. Inside MULTI, and on the
//! master's link, nothing blocks: an empty key answers the timeout reply at once.

use std::sync::Arc;
use std::time::Duration;

use tessera_keyspace::lists::{self, End};
use tessera_keyspace::sorted_sets::{self, Scored};
use tessera_keyspace::{Db, EncodingLimits, KeyspaceError, SlotTable, Value, key_slot};
use tessera_replication::ReplicationStream;

use super::cursor::ArgCursor;
use super::zset::{reply_score, reply_scored};
use super::{Ctx, is};
use crate::blocking::{Outcome, Registry, Verdict, Waiter};
use crate::errors;
use crate::node::Node;
use crate::protocol::reply::Reply;

/// What a blocked client asked for, and how to answer it.
#[derive(Debug)]
pub struct Blocked {
    /// The pop to run once a key is ready.
    pub op: Op,
    /// The client speaks RESP3.
    pub resp3: bool,
}

/// The pop a waiter runs.
#[derive(Debug)]
pub enum Op {
    /// BLPOP / BRPOP (`count` None) or BLMPOP.
    List {
        /// The end popped.
        end: End,
        /// BLMPOP's COUNT.
        count: Option<usize>,
    },
    /// BLMOVE / BRPOPLPUSH.
    Move {
        /// Popped from.
        from: End,
        /// Pushed to.
        to: End,
        /// The destination key.
        dest: Vec<u8>,
        /// BRPOPLPUSH: replicated as RPOPLPUSH, not LMOVE.
        rpoplpush: bool,
        /// Encoding thresholds for a new destination list.
        limits: EncodingLimits,
    },
    /// BZPOPMIN / BZPOPMAX (`count` None) or BZMPOP.
    ZSet {
        /// Highest first.
        max: bool,
        /// BZMPOP's COUNT.
        count: Option<usize>,
    },
}

/// The node's waiters.
pub type Waiters = Registry<Blocked>;

fn end_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LEFT",
        End::Tail => b"RIGHT",
    }
}

fn pop_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

fn zpop_name(max: bool) -> &'static [u8] {
    if max { b"ZPOPMAX" } else { b"ZPOPMIN" }
}

/// A list pop's reply: `[key, value]` or BLMPOP's `[key, [values]]`.
fn reply_list(reply: &mut Reply, key: &[u8], values: &[Vec<u8>], mpop: bool) {
    reply.array(2);
    reply.bulk(key);
    if mpop {
        reply.array(values.len());
        values.iter().for_each(|v| reply.bulk(v));
    } else {
        reply.bulk(&values[0]);
    }
}

/// A sorted-set pop's reply: `[key, member, score]` or BZMPOP's `[key, [[m, s] ...]]`.
fn reply_zset(reply: &mut Reply, key: &[u8], popped: &[Scored], mpop: bool) {
    if mpop {
        reply.array(2);
        reply.bulk(key);
        reply_scored(reply, popped, true, true);
    } else {
        reply.array(3);
        reply.bulk(key);
        reply.bulk(&popped[0].0);
        reply_score(reply, popped[0].1);
    }
}

/// What serving `op` from `key` did: the outcome and the command to replicate.
type Served = (Outcome, Vec<Vec<u8>>);

/// Raises, through `notify(class, event, key)`, the events of `op` served from `key`
/// with `outcome`, in Redis's order: a move raises its push before its pop. Then the
/// `del` of a `key` the pop left empty (`emptied`). A move whose destination is in
/// another slot raises its pop here and its push when the waiter finishes it.
fn raise_served(
    op: &Op,
    key: &[u8],
    outcome: &Outcome,
    emptied: bool,
    mut notify: impl FnMut(crate::notify::Class, &str, &[u8]),
) {
    use super::lists::{pop_event, push_event};
    use crate::notify::{GENERIC, LIST, ZSET};
    match (op, outcome) {
        (_, Outcome::Error(_) | Outcome::Timeout) => return,
        (Op::List { end, .. }, _) => notify(LIST, pop_event(*end), key),
        (Op::ZSet { max, .. }, _) => notify(ZSET, super::zset::pop_event(*max), key),
        (Op::Move { from, to, dest, .. }, outcome) => {
            if !matches!(outcome, Outcome::Moved(_)) {
                notify(LIST, push_event(*to), dest);
            }
            notify(LIST, pop_event(*from), key);
        }
    }
    if emptied {
        notify(GENERIC, "del", key);
    }
}

/// Runs `op` on `key` of the locked `slot` of `db` for a waiter, if the key can serve
/// it.
fn serve_one(
    op: &Op,
    resp3: bool,
    (db, key, slot): (&Db, &[u8], u16),
    t: &mut SlotTable,
    now: i64,
) -> Option<Served> {
    let mut reply = Reply::new();
    reply.set_resp3(resp3);
    let count_arg = |n: usize| itoa::Buffer::new().format(n).as_bytes().to_vec();
    match op {
        Op::List { end, count } => {
            let values = lists::pop(t, key, *end, count.unwrap_or(1), now).ok()??;
            if values.is_empty() {
                return None;
            }
            reply_list(&mut reply, key, &values, count.is_some());
            let mut prop = vec![pop_name(*end).to_vec(), key.to_vec()];
            prop.extend(count.map(count_arg));
            Some((Outcome::Reply(reply.as_bytes().to_vec()), prop))
        }
        Op::ZSet { max, count } => {
            let popped = sorted_sets::pop(t, key, count.unwrap_or(1), *max, now).ok()??;
            if popped.is_empty() {
                return None;
            }
            reply_zset(&mut reply, key, &popped, count.is_some());
            let mut prop = vec![zpop_name(*max).to_vec(), key.to_vec()];
            prop.extend(count.map(count_arg));
            Some((Outcome::Reply(reply.as_bytes().to_vec()), prop))
        }
        Op::Move {
            from,
            to,
            dest,
            rpoplpush,
            limits,
        } => {
            if !matches!(lists::peek(t, key, now), Ok(Some(l)) if !l.is_empty()) {
                return None;
            }
            let dest_slot = key_slot(dest);
            if dest_slot != slot {
                // The destination's slot can't be waited for from here (this thread
                // holds the source's lock and the registry's), so the waiter pushes.
                // A look while that lock happens to be free catches a destination of
                // another type before anything is popped, as in Redis; when no look
                // can be had, or the type changes before the push, the waiter puts
                // the element back (`Wait::finish_move`).
                let not_list = |d: &SlotTable| {
                    d.peek_live(dest, now)
                        .is_some_and(|v| !matches!(v, Value::List(_)))
                };
                if db.try_inspect(dest_slot, not_list) == Some(true) {
                    let text = errors::keyspace(KeyspaceError::WrongType).to_string();
                    return Some((Outcome::Error(text), Vec::new()));
                }
                let value = lists::pop(t, key, *from, 1, now).ok()??.pop()?;
                let prop = vec![pop_name(*from).to_vec(), key.to_vec()];
                return Some((Outcome::Moved(value), prop));
            }
            // Redis answers WRONGTYPE and leaves the element where it was.
            if lists::peek(t, dest, now).is_err() {
                let text = errors::keyspace(KeyspaceError::WrongType).to_string();
                return Some((Outcome::Error(text), Vec::new()));
            }
            let value = if dest.as_slice() == key {
                lists::rotate(t, key, *from, *to, now).ok()??
            } else {
                let value = lists::pop(t, key, *from, 1, now).ok()??.pop()?;
                lists::push(t, dest, [value.as_slice()], *to, true, limits, now).ok()?;
                value
            };
            reply.bulk(&value);
            let prop = if *rpoplpush {
                vec![b"RPOPLPUSH".to_vec(), key.to_vec(), dest.clone()]
            } else {
                let (f, w) = (end_name(*from).to_vec(), end_name(*to).to_vec());
                vec![b"LMOVE".to_vec(), key.to_vec(), dest.clone(), f, w]
            };
            Some((Outcome::Reply(reply.as_bytes().to_vec()), prop))
        }
    }
}

/// What [`serve_ready`] works with: the waiters, the replication stream, the WATCHes
/// and the tracking table (with the clients it tells), and the notifier with the
/// subscribers it publishes to.
pub(crate) type ReadyParts<'a> = (
    &'a Waiters,
    &'a ReplicationStream,
    (
        &'a crate::watch::Watches,
        &'a crate::tracking::Tracking,
        &'a crate::client::ClientRegistry,
    ),
    (&'a crate::notify::Notifier, &'a crate::pubsub::Registry),
);

/// The keyspace's ready hook: serves the waiters on keys of `(db, slot)` from its
/// still-locked table, replicating each pop after the write that made it possible.
pub(crate) fn serve_ready(
    (waiters, stream, (watches, tracking, clients), events): ReadyParts,
    db: &Db,
    slot: u16,
    t: &mut SlotTable,
) {
    let now = crate::clock::unix_ms();
    waiters.serve(db.index(), slot, |w, key| {
        match serve_one(&w.op.op, w.op.resp3, (db, key, slot), t, now) {
            None => Verdict::Skip,
            Some((outcome, prop)) => {
                let args: Vec<&[u8]> = prop.iter().map(Vec::as_slice).collect();
                if watches.any() || tracking.any() {
                    for key in crate::catalog::keys_of(&args) {
                        watches.touch(db.index(), key);
                        tracking.invalidate(clients, key);
                    }
                }
                if !args.is_empty() && stream.is_active() {
                    stream.feed(db.index(), &args);
                }
                let (notifier, subscribers) = events;
                let emptied = t.peek_live(key, now).is_none();
                raise_served(&w.op.op, key, &outcome, emptied, |class, event, key| {
                    if notifier.wants(class) {
                        notifier.notify(subscribers, db.index(), class, event, key, now);
                    }
                });
                Verdict::Serve(outcome)
            }
        }
    });
}

/// Parses a timeout in seconds as Redis 7.0 does: `Ok(None)` for 0 (forever), else the
/// milliseconds to wait.
fn timeout_arg(arg: &[u8]) -> Result<Option<u64>, &'static str> {
    if !tessera_keyspace::long_double::is_valid(arg) {
        return Err(errors::TIMEOUT_NOT_FLOAT);
    }
    let text = std::str::from_utf8(arg).map_err(|_| errors::TIMEOUT_NOT_FLOAT)?;
    let secs: f64 = match text.parse() {
        Ok(s) => s,
        // strtold also reads hexadecimal, which Rust's parser does not.
        Err(_) => parse_hex(text).ok_or(errors::TIMEOUT_NOT_FLOAT)?,
    };
    let ms = (secs * 1000.0).ceil();
    // Redis casts to a long long: anything out of its range comes out negative.
    if !(0.0..9_223_372_036_854_775_808.0).contains(&ms) {
        return Err(errors::TIMEOUT_NEGATIVE);
    }
    Ok((ms >= 1.0).then_some(ms as u64))
}

/// A hexadecimal integer (`0x10`, `-0x1`), as strtold reads it.
fn parse_hex(text: &str) -> Option<f64> {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let v = u64::from_str_radix(digits, 16).ok()? as f64;
    Some(if neg { -v } else { v })
}

/// Nothing may block here: in a transaction (EXEC runs it) or from our master.
fn must_not_block(ctx: &Ctx<'_>) -> bool {
    ctx.session.engine_batch.is_some() || ctx.session.master_link
}

/// The common path: try `keys` in order; pop from the first non-empty one, or block.
fn pop_or_block(
    ctx: &mut Ctx<'_>,
    keys: Vec<&[u8]>,
    op: Op,
    timeout: Option<u64>,
    verbatim: Option<ArgCursor<'_>>,
) {
    let db = ctx.db();
    let dest = match &op {
        Op::Move { dest, .. } => Some(dest.as_slice()),
        _ => None,
    };
    let mut locks = db.lock_keys(keys.iter().copied().chain(dest));
    let resp3 = ctx.reply.is_resp3();
    if let (
        Op::Move {
            from,
            to,
            dest,
            limits,
            ..
        },
        Some(args),
    ) = (&op, verbatim)
    {
        // Both slots are locked here, whichever they are.
        let moved = lists::lmove(&mut locks, keys[0], dest, *from, *to, limits, ctx.now_ms);
        match moved {
            Err(e) => return ctx.reply.error(errors::keyspace(e)),
            Ok(Some(value)) => {
                // BLMOVE and BRPOPLPUSH go out as sent, as in Redis.
                ctx.propagate_locked_verbatim(&mut locks, args);
                let emptied = locks
                    .for_key(keys[0])
                    .peek_live(keys[0], ctx.now_ms)
                    .is_none();
                let done = Outcome::Reply(Vec::new());
                raise_served(&op, keys[0], &done, emptied, |c, e, k| ctx.notify(c, e, k));
                drop(locks);
                return ctx.reply.bulk(&value);
            }
            Ok(None) => {}
        }
    }
    for &key in keys.iter().filter(|_| dest.is_none()) {
        let slot = key_slot(key);
        let t = locks.table(slot);
        // A key of another type is an error even when a later key could serve.
        let ready = match &op {
            // A write lookup, as Redis's: no keyspace miss is counted or announced.
            Op::ZSet { .. } => sorted_sets::peek(t, key, ctx.now_ms).map(|z| z.is_some()),
            _ => lists::peek(t, key, ctx.now_ms).map(|l| l.is_some()),
        };
        match ready {
            Err(e) => return ctx.reply.error(errors::keyspace(e)),
            Ok(false) => continue,
            Ok(true) => {}
        }
        let Some((outcome, prop)) = serve_one(&op, resp3, (db, key, slot), t, ctx.now_ms) else {
            continue;
        };
        if !prop.is_empty() {
            let args: Vec<&[u8]> = prop.iter().map(Vec::as_slice).collect();
            ctx.propagate_locked(&mut locks, &args);
        }
        let emptied = locks.for_key(key).peek_live(key, ctx.now_ms).is_none();
        raise_served(&op, key, &outcome, emptied, |c, e, k| ctx.notify(c, e, k));
        drop(locks);
        return write_outcome(ctx.reply, outcome);
    }
    if must_not_block(ctx) {
        drop(locks);
        return match op {
            Op::Move { .. } => ctx.reply.null(),
            _ => ctx.reply.null_array(),
        };
    }
    let move_to = match &op {
        Op::Move { from, dest, to, .. } => Some(PendingMove {
            source: keys[0].to_vec(),
            from: *from,
            dest: dest.clone(),
            to: *to,
        }),
        _ => None,
    };
    let waiter = Waiter {
        client: ctx.session.info.id,
        db: ctx.session.db,
        keys: keys.iter().map(|k| (key_slot(k), k.to_vec())).collect(),
        op: Blocked { op, resp3 },
    };
    let slots: Vec<u16> = waiter.keys.iter().map(|(s, _)| *s).collect();
    let (token, rx) = ctx.node.blocked().register(waiter);
    drop(locks);
    ctx.session.info.set_blocked(true);
    ctx.session.blocked = true;
    let wait = Wait {
        node: Arc::clone(ctx.node),
        info: ctx.session.info.clone(),
        token,
        db: ctx.session.db,
        slots,
        deadline: timeout.map(|ms| crate::clock::unix_ms().saturating_add(ms as i64)),
    };
    ctx.defer(async move {
        let outcome = wait.run(rx).await;
        let outcome = match (outcome, move_to) {
            (Outcome::Moved(value), Some(m)) => wait.finish_move(&m, value),
            (o, _) => o,
        };
        move |reply: &mut Reply| write_outcome(reply, outcome)
    });
}

/// A blocked BLMOVE's keys and ends, for the waiter to finish a move across slots.
struct PendingMove {
    source: Vec<u8>,
    from: End,
    dest: Vec<u8>,
    to: End,
}

/// LPUSH or RPUSH: the push that adds at `end`.
fn push_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPUSH",
        End::Tail => b"RPUSH",
    }
}

/// Writes how a wait ended.
fn write_outcome(reply: &mut Reply, outcome: Outcome) {
    match outcome {
        Outcome::Reply(bytes) => reply.append_raw(&bytes),
        Outcome::Moved(value) => reply.bulk(&value),
        Outcome::Timeout => reply.null_array(),
        Outcome::Error(text) => reply.error(&text),
    }
}

/// A blocked client's side of the wait. Dropping it (the connection closed) ends the
/// wait, so a push never serves a client that is gone.
struct Wait {
    node: Arc<Node>,
    info: Arc<crate::client::ClientInfo>,
    token: u64,
    db: usize,
    slots: Vec<u16>,
    deadline: Option<i64>,
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.node.blocked().cancel(self.token);
        self.info.set_blocked(false);
    }
}

/// How often a waiter checks that its slots are still served here (Redis checks in
/// its clients cron, about as often).
const SLOT_CHECK: Duration = Duration::from_millis(100);

impl Wait {
    async fn run(&self, mut rx: tokio::sync::oneshot::Receiver<Outcome>) -> Outcome {
        loop {
            let now = crate::clock::unix_ms();
            let mut nap = SLOT_CHECK;
            if let Some(d) = self.deadline {
                if now >= d {
                    if self.node.blocked().cancel(self.token) {
                        return Outcome::Timeout;
                    }
                    // Served (or unblocked) meanwhile: its outcome is on the way.
                    return rx.await.unwrap_or(Outcome::Timeout);
                }
                nap = nap.min(Duration::from_millis((d - now) as u64));
            }
            tokio::select! {
                got = &mut rx => return got.unwrap_or(Outcome::Timeout),
                _ = tokio::time::sleep(nap) => {}
            }
            if let Some(text) = self.slot_gone() {
                self.node.blocked().finish(self.token, Outcome::Error(text));
            }
        }
    }

    /// The redirection Redis 7.0 sends a client blocked on a slot no longer served
    /// here (clusterRedirectBlockedClientIfNeeded), if that happened.
    fn slot_gone(&self) -> Option<String> {
        use tessera_cluster_bus::engine::SlotMove;
        let cluster = self.node.cluster()?;
        let routing = cluster.routing();
        if !routing.state_ok {
            return Some(errors::CLUSTER_DOWN.to_string());
        }
        for &slot in &self.slots {
            if routing.is_mine(slot) || matches!(routing.slot_move(slot), SlotMove::Importing) {
                continue;
            }
            return Some(match routing.owner(slot) {
                None => errors::SLOT_NOT_SERVED.to_string(),
                Some(o) => errors::moved(slot, &o.endpoint, o.port),
            });
        }
        None
    }

    /// Pushes a BLMOVE's element into a destination in another slot; on a destination
    /// of another type, puts it back and answers WRONGTYPE, as Redis does.
    fn finish_move(&self, m: &PendingMove, value: Vec<u8>) -> Outcome {
        let db = self.node.keyspace().db(self.db);
        let limits = self.node.config().settings_guard().encoding;
        let now = crate::clock::unix_ms();
        let stream = self.node.replication();
        let mut t = db.lock(key_slot(&m.dest));
        let pushed = lists::push(
            &mut t,
            &m.dest,
            [value.as_slice()],
            m.to,
            true,
            &limits,
            now,
        );
        let err = match pushed {
            Ok(_) => {
                self.node.key_changed(self.db, &m.dest);
                // After the pop's event (raised when it popped), unlike Redis, which
                // holds both keys and raises the push first.
                let event = super::lists::push_event(m.to);
                self.node
                    .notify(self.db, crate::notify::LIST, event, &m.dest);
                if stream.is_active() {
                    stream.feed(self.db, &[push_name(m.to), &m.dest, &value]);
                }
                let mut r = Reply::new();
                r.bulk(&value);
                return Outcome::Reply(r.as_bytes().to_vec());
            }
            Err(e) => e,
        };
        drop(t);
        // Redis checks the destination before it pops, so its client gets WRONGTYPE
        // with the source untouched. Here the pop happened (and went to the replicas)
        // under the source's lock alone: the element goes back to the end it left
        // from, and the replicas get the same push, so both end where Redis ends.
        let mut s = db.lock(key_slot(&m.source));
        match lists::push(
            &mut s,
            &m.source,
            [value.as_slice()],
            m.from,
            true,
            &limits,
            now,
        ) {
            Ok(_) => {
                self.node.key_changed(self.db, &m.source);
                if stream.is_active() {
                    stream.feed(self.db, &[push_name(m.from), &m.source, &value]);
                }
            }
            // The source changed type in between: no list left to return it to.
            Err(_) => tracing::warn!(
                key = %String::from_utf8_lossy(&m.source),
                "a BLMOVE element could go neither to its destination nor back to its source"
            ),
        }
        Outcome::Error(errors::keyspace(err).to_string())
    }
}

/// BLPOP / BRPOP key [key ...] timeout.
fn bpop(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, end: End) {
    let Some((keys, timeout)) = keys_then_timeout(ctx, args) else {
        return;
    };
    pop_or_block(ctx, keys, Op::List { end, count: None }, timeout, None);
}

/// The keys and the timeout that ends BLPOP, BRPOP, BZPOPMIN and BZPOPMAX, or `None`
/// after the error reply.
fn keys_then_timeout<'a>(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'a>,
) -> Option<(Vec<&'a [u8]>, Option<u64>)> {
    let mut keys: Vec<&[u8]> = args.rest().collect();
    let Some(timeout) = keys.pop() else {
        ctx.reply.error(errors::SYNTAX);
        return None;
    };
    match timeout_arg(timeout) {
        Ok(t) => Some((keys, t)),
        Err(e) => {
            ctx.reply.error(e);
            None
        }
    }
}

/// BLPOP.
pub(super) fn blpop(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    bpop(c, a, End::Head)
}

/// BRPOP.
pub(super) fn brpop(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    bpop(c, a, End::Tail)
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout.
fn bzpop(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, max: bool) {
    let Some((keys, timeout)) = keys_then_timeout(ctx, args) else {
        return;
    };
    pop_or_block(ctx, keys, Op::ZSet { max, count: None }, timeout, None);
}

/// BZPOPMIN.
pub(super) fn bzpopmin(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    bzpop(c, a, false)
}

/// BZPOPMAX.
pub(super) fn bzpopmax(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    bzpop(c, a, true)
}

/// LEFT or RIGHT.
fn end_arg(arg: &[u8]) -> Option<End> {
    if is(arg, "LEFT") {
        Some(End::Head)
    } else if is(arg, "RIGHT") {
        Some(End::Tail)
    } else {
        None
    }
}

/// BLMOVE / BRPOPLPUSH from `source` to `destination`, as `[source, destination,
/// timeout]` name them.
fn bmove(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'_>,
    [source, destination, timeout]: [&[u8]; 3],
    from: End,
    to: End,
    rpoplpush: bool,
) {
    let timeout = match timeout_arg(timeout) {
        Ok(t) => t,
        Err(e) => return ctx.reply.error(e),
    };
    let op = Op::Move {
        from,
        to,
        dest: destination.to_vec(),
        rpoplpush,
        limits: ctx.settings.encoding,
    };
    pop_or_block(ctx, vec![source], op, timeout, Some(args));
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
pub(super) fn blmove(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    let Some([source, destination, from, to, timeout]) = ctx.read(read.next_args()) else {
        return;
    };
    match (end_arg(from), end_arg(to)) {
        (Some(from), Some(to)) => bmove(ctx, args, [source, destination, timeout], from, to, false),
        _ => ctx.reply.error(errors::SYNTAX),
    }
}

/// BRPOPLPUSH source destination timeout.
pub(super) fn brpoplpush(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut read = args;
    if let Some(named) = ctx.read(read.next_args()) {
        bmove(ctx, args, named, End::Tail, End::Head, true)
    }
}

/// BLMPOP / BZMPOP timeout numkeys key [key ...] <where> [COUNT count]: numkeys,
/// the direction and COUNT are checked before the timeout, as in Redis.
fn bmpop(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>, zset: bool) {
    let Some(timeout) = ctx.read(args.next_arg()) else {
        return;
    };
    let numkeys = match args.next_i64() {
        Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return ctx.reply.error(errors::NUMKEYS_POSITIVE),
    };
    let (Ok(keys), Ok(w)) = (args.next_many(numkeys), args.next_arg()) else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let keys: Vec<&[u8]> = keys.collect();
    let side = if zset {
        match () {
            _ if is(w, "MIN") => Some(End::Head),
            _ if is(w, "MAX") => Some(End::Tail),
            _ => None,
        }
    } else {
        end_arg(w)
    };
    let Some(side) = side else {
        return ctx.reply.error(errors::SYNTAX);
    };
    let count = match super::mpop_count(args) {
        Ok(count) => count,
        Err(e) => return ctx.reply.error(e),
    };
    let timeout = match timeout_arg(timeout) {
        Ok(t) => t,
        Err(e) => return ctx.reply.error(e),
    };
    let count = Some(count.unwrap_or(1));
    let op = if zset {
        Op::ZSet {
            max: side == End::Tail,
            count,
        }
    } else {
        Op::List { end: side, count }
    };
    pop_or_block(ctx, keys, op, timeout, None);
}

/// BLMPOP.
pub(super) fn blmpop(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    bmpop(c, a, false)
}

/// BZMPOP.
pub(super) fn bzmpop(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    bmpop(c, a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_redis_reads_them() {
        assert_eq!(timeout_arg(b"0"), Ok(None));
        assert_eq!(timeout_arg(b"-0"), Ok(None));
        assert_eq!(timeout_arg(b"0.01"), Ok(Some(10)));
        assert_eq!(timeout_arg(b"1e-5"), Ok(Some(1)));
        assert_eq!(timeout_arg(b"0x10"), Ok(Some(16000)));
        assert_eq!(timeout_arg(b"-1"), Err(errors::TIMEOUT_NEGATIVE));
        assert_eq!(timeout_arg(b"inf"), Err(errors::TIMEOUT_NEGATIVE));
        assert_eq!(timeout_arg(b"1e17"), Err(errors::TIMEOUT_NEGATIVE));
        assert_eq!(timeout_arg(b"abc"), Err(errors::TIMEOUT_NOT_FLOAT));
        assert_eq!(timeout_arg(b"nan"), Err(errors::TIMEOUT_NOT_FLOAT));
        assert_eq!(timeout_arg(b" 1"), Err(errors::TIMEOUT_NOT_FLOAT));
    }
}
