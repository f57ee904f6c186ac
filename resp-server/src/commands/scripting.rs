//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, and FCALL and FCALL_RO, which run a
//! library's function the same way.
//!
//! A script runs as one step for every other client, as EXEC does: it holds the lock
//! of every slot it touches from the moment it reaches it to its end
//! (`script_locks`), its `redis.call`s run the ordinary handlers under those locks,
//! and what it changes reaches replicas and the AOF as one MULTI ... EXEC block
//! (effects replication, as Redis 7.0), never the EVAL itself. Inside EXEC, the
//! transaction's locks and block are used.
//!
//! In cluster mode, as Redis 7.2 (beyond 7.0), a script that declares keys may reach
//! only their slot: a key it did not declare in another slot is refused.

use std::sync::Arc;

use tessera_keyspace::key_slot;
use tessera_scripting::{CommandRunner, Frame, Outcome, ScriptFlags};

use super::cursor::ArgCursor;
use super::script_locks::{Reach, ScriptLocks};
use super::{Ctx, is, transaction};
use crate::catalog::{AclCategories, CommandFlags, CommandTable, find_keys};
use crate::dispatch;
use crate::errors;
use crate::protocol::reply::Reply;
use crate::protocol::request::Args;
use crate::scripts::{KillVerdict, RunningFunction};

/// EVAL script numkeys [key ...] [arg ...].
pub(super) fn eval(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    run(c, a, false, false)
}

/// EVAL_RO script numkeys [key ...] [arg ...].
pub(super) fn eval_ro(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    run(c, a, false, true)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...].
pub(super) fn evalsha(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    run(c, a, true, false)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...].
pub(super) fn evalsha_ro(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    run(c, a, true, true)
}

/// SCRIPT LOAD script.
pub(super) fn load(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    let Some(script) = c.read(a.next_arg()) else {
        return;
    };
    let node = Arc::clone(c.node);
    let guard = node.scripts().engine();
    let mut engine = guard.borrow_mut();
    let engine = engine.as_mut().expect("engine() builds the engine");
    let loaded = engine.load(script);
    node.scripts().record(engine);
    if let Ok(sha) = &loaded {
        if let Some(script) = engine.get(sha) {
            node.scripts().note_script_flags(sha, script.flags);
        }
    }
    match loaded {
        Ok(sha) => c.reply.bulk(sha.as_bytes()),
        Err(text) => c.reply.error(&text),
    }
}

/// SCRIPT EXISTS sha1 [sha1 ...].
pub(super) fn exists(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    let node = Arc::clone(c.node);
    let guard = node.scripts().engine();
    let engine = guard.borrow();
    let engine = engine.as_ref().expect("engine() builds the engine");
    let shas = a.rest();
    c.reply.array(shas.len());
    for sha in shas {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        c.reply.int(i64::from(engine.get(&sha).is_some()));
    }
}

/// SCRIPT FLUSH [ASYNC|SYNC].
pub(super) fn flush(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    if a.remaining() > 1 || (a.remaining() == 1 && !is(a.peek(), "ASYNC") && !is(a.peek(), "SYNC"))
    {
        return c.reply.error(errors::SCRIPT_FLUSH_MODE);
    }
    let node = Arc::clone(c.node);
    if let Some(engine) = node.scripts().engine_if_built().borrow_mut().as_mut() {
        engine.flush();
        node.scripts().forget_script_flags();
        node.scripts().record(engine);
    }
    c.reply.ok()
}

/// SCRIPT KILL.
pub(super) fn kill(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    match c.node.scripts().kill(false) {
        KillVerdict::NotBusy => c.reply.error(errors::NOTBUSY),
        KillVerdict::OtherKind => c.reply.error(errors::BUSY_FUNCTION),
        KillVerdict::Unkillable => c.reply.error(errors::UNKILLABLE),
        KillVerdict::Killed => c.reply.ok(),
    }
}

/// SCRIPT DEBUG YES|SYNC|NO: only NO, as Tessera has no Lua debugger.
pub(super) fn debug(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    if is(a.peek(), "NO") {
        c.reply.ok()
    } else if is(a.peek(), "YES") || is(a.peek(), "SYNC") {
        c.reply.error(errors::SCRIPT_DEBUG_UNSUPPORTED)
    } else {
        c.reply.error(errors::SCRIPT_DEBUG_USAGE)
    }
}

/// SCRIPT HELP, with Redis's text.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let lines = [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    c.reply.array(lines.len());
    for line in lines {
        c.reply.simple(line);
    }
}

fn run(c: &mut Ctx<'_>, mut a: ArgCursor<'_>, by_sha: bool, read_only: bool) {
    let Some([script_or_sha, numkeys]) = c.read(a.next_args()) else {
        return;
    };
    let Some(numkeys) = c.int_arg(numkeys) else {
        return;
    };
    let Some(numkeys) = check_numkeys(c, numkeys, a.remaining()) else {
        return;
    };
    let node = Arc::clone(c.node);
    let scripts = node.scripts();
    let (sha, flags, body) = {
        let guard = scripts.engine();
        let mut engine = guard.borrow_mut();
        let engine = engine.as_mut().expect("engine() builds the engine");
        let sha = if by_sha {
            String::from_utf8_lossy(script_or_sha).to_ascii_lowercase()
        } else {
            match engine.load(script_or_sha) {
                Ok(sha) => sha,
                Err(text) => return c.reply.error(&text),
            }
        };
        let Some(script) = engine.get(&sha) else {
            return c.reply.error(errors::NOSCRIPT);
        };
        if !by_sha {
            scripts.note_script_flags(&sha, script.flags);
        }
        (sha, script.flags, Arc::clone(&script.body))
    };
    execute(
        c,
        a,
        numkeys,
        flags,
        read_only,
        Target::Script { sha, body },
    )
}

/// FCALL function numkeys [key ...] [arg ...].
pub(super) fn fcall(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    call_function(c, a, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...].
pub(super) fn fcall_ro(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    call_function(c, a, true)
}

fn call_function(c: &mut Ctx<'_>, mut a: ArgCursor<'_>, read_only: bool) {
    let Some([name, numkeys]) = c.read(a.next_args()) else {
        return;
    };
    // From the flags' copy: the libraries' lock may be held by a running function.
    let Some(flags) = c.node.scripts().function_flags(name) else {
        return c.reply.error(errors::FUNCTION_NOT_FOUND);
    };
    let Some(numkeys) = tessera_keyspace::number::parse_i64(numkeys) else {
        return c.reply.error(errors::FCALL_BAD_NUMKEYS);
    };
    let Some(numkeys) = check_numkeys(c, numkeys, a.remaining()) else {
        return;
    };
    let name = name.to_vec();
    execute(c, a, numkeys, flags, read_only, Target::Function { name })
}

/// numkeys checked against the `left` arguments that follow it, as EVAL and FCALL
/// check it.
fn check_numkeys(c: &mut Ctx<'_>, numkeys: i64, left: usize) -> Option<usize> {
    if numkeys > left as i64 {
        c.reply.error(errors::NUMKEYS_TOO_MANY);
        return None;
    }
    if numkeys < 0 {
        c.reply.error(errors::NUMKEYS_NEGATIVE);
        return None;
    }
    Some(numkeys as usize)
}

/// The flags a script or function declares, which replace its command's flags in
/// dispatch's checks: a function's, an EVAL body's shebang, or the shebang of the
/// cached script EVALSHA names. `None` for other commands and scripts without one.
pub(crate) fn declared_flags(
    ctx: &Ctx<'_>,
    id: crate::catalog::CommandId,
    args: Args<'_>,
) -> Option<ScriptFlags> {
    use crate::catalog::CommandId as C;
    match id {
        C::Fcall | C::FcallRo if args.len() > 1 => ctx.node.scripts().function_flags(args.get(1)),
        C::Eval | C::EvalRo if args.len() > 1 => tessera_scripting::parse_shebang(args.get(1))
            .ok()
            .filter(|f| f.shebang),
        C::Evalsha | C::EvalshaRo if args.len() > 1 => ctx.node.scripts().script_flags(args.get(1)),
        _ => None,
    }
}

/// What runs: a cached EVAL script or a library's function.
enum Target {
    Script { sha: String, body: Arc<[u8]> },
    Function { name: Vec<u8> },
}

/// Redis's scriptPrepareForRun checks of a script with a shebang or a function, in
/// its order; the refusal text if one applies.
fn prepare_refusal(c: &Ctx<'_>, flags: ScriptFlags, read_only: bool) -> Option<&'static str> {
    let stale = !c.session.master_link
        && c.node.replication().is_replica()
        && !c.settings.replication.serve_stale_data
        && crate::replication::link_down_since(c.node).is_some();
    if !flags.shebang {
        // A script without a shebang passed dispatch's stale check as EVAL (flagged
        // stale) does; Redis refuses it here.
        return stale.then_some(crate::refusals::MASTERDOWN);
    }
    if flags.no_cluster && c.settings.cluster_enabled {
        return Some(errors::SCRIPT_NO_CLUSTER);
    }
    if !flags.no_writes {
        let replica = c.node.replication().is_replica();
        if replica && c.settings.replication.read_only && !c.session.master_link {
            return Some(crate::refusals::READONLY);
        }
        if read_only {
            return Some(errors::SCRIPT_WRITE_FLAG_RO);
        }
    }
    None
}

fn execute(
    c: &mut Ctx<'_>,
    a: ArgCursor<'_>,
    numkeys: usize,
    flags: ScriptFlags,
    read_only: bool,
    target: Target,
) {
    let node = Arc::clone(c.node);
    let scripts = node.scripts();
    let cluster = c.settings.cluster_enabled && !c.session.master_link;
    if let Some(text) = prepare_refusal(c, flags, read_only) {
        return c.reply.error(text);
    }
    let keys: Vec<&[u8]> = a.rest().take(numkeys).collect();
    let argv: Vec<&[u8]> = a.rest().skip(numkeys).collect();
    let in_tx = transaction::running(c.session);
    let db = c.session.db;
    let declared: Vec<(usize, u16)> = keys.iter().map(|k| (db, key_slot(k))).collect();
    // In cluster mode a script that declared keys stays in their slot (see
    // `check_slots`); elsewhere it reaches what Redis lets it reach.
    let growing = in_tx || !cluster || keys.is_empty() || flags.allow_cross_slot;
    let slot = (!in_tx && cluster && !flags.allow_cross_slot)
        .then(|| declared.first().map(|p| p.1))
        .flatten();
    // The engine first, then slots: see `crate::scripts`.
    let engine = scripts.engine();
    let may_wait = matches!(target, Target::Script { .. });
    let mut locks = ScriptLocks::take(node.keyspace(), declared, growing, may_wait, in_tx);
    let made_batch = c.session.engine_batch.is_none();
    if made_batch {
        c.session.engine_batch = Some(Vec::new());
    }
    let made_stream = c.session.tx_stream.is_none() && c.records_changes();
    if made_stream {
        c.session.tx_stream = Some(Vec::new());
    }
    let command: Vec<Vec<u8>> = match &target {
        Target::Function { .. } => a.verbatim().map(<[u8]>::to_vec).collect(),
        Target::Script { .. } => Vec::new(),
    };
    if c.session.tracking {
        c.session.script_keys = Some(keys.iter().map(|k| k.to_vec()).collect());
    }
    let outcome = loop {
        let mut runner = Runner {
            ctx: c,
            read_only: read_only || flags.no_writes,
            allow_oom: flags.shebang && flags.allow_oom,
            cluster,
            allow_cross_slot: flags.allow_cross_slot,
            slot,
            locks: &mut locks,
            wrote: false,
            effects: false,
            restart: false,
        };
        let mut engine = engine.borrow_mut();
        let engine = engine.as_mut().expect("engine() builds the engine");
        let outcome = match &target {
            Target::Script { sha, body } => {
                // SCRIPT FLUSH may have run since the script was found.
                if engine.get(sha).is_none() {
                    let _ = engine.load(body);
                }
                scripts.start(runner.ctx.now_ms, None);
                let outcome = engine.run(sha, &keys, &argv, &mut runner);
                scripts.end();
                scripts.record(engine);
                outcome.or_else(|| Some(Outcome::Reply(refusal(errors::NOSCRIPT))))
            }
            Target::Function { name } => {
                let mut functions = scripts.functions();
                let functions = functions.as_mut().expect("functions() builds the engine");
                let running = functions.function(name).map(|f| RunningFunction {
                    name: f.name.clone(),
                    command: command.clone(),
                });
                scripts.start(runner.ctx.now_ms, running);
                let outcome = functions.call(name, &keys, &argv, &mut runner);
                scripts.end();
                scripts.record_function_vm(functions);
                outcome.or_else(|| Some(Outcome::Reply(refusal(errors::FUNCTION_NOT_FOUND))))
            }
        };
        let killed = matches!(outcome, Some(Outcome::Killed(_)));
        if !runner.restart || killed {
            break outcome;
        }
        // Nothing of this run was seen: run again holding what it reached.
        if c.session.db != db {
            c.session.select(db);
        }
        locks.acquire();
    };
    if c.session.db != db {
        c.session.select(db);
    }
    if made_stream {
        if let Some(block) = c.session.tx_stream.take() {
            if !block.is_empty() && !scripts.abandoned() {
                c.session.write_offset = node.replication().feed_block(&block);
            }
        }
    }
    c.session.script_keys = None;
    if made_batch {
        c.session.engine_batch = None;
    }
    drop(locks);
    drop(engine);
    match outcome {
        Some(Outcome::Reply(frame) | Outcome::Killed(frame)) => write_frame(c.reply, &frame),
        None => c.reply.error(errors::NOSCRIPT),
    }
}

/// Runs a script's `redis.call`s on its caller's connection.
struct Runner<'c, 'a, 'n> {
    ctx: &'c mut Ctx<'a>,
    read_only: bool,
    /// The script declared `allow-oom`: no call is refused for memory.
    allow_oom: bool,
    cluster: bool,
    allow_cross_slot: bool,
    /// In cluster mode, the slot of the script's declared keys.
    slot: Option<u16>,
    locks: &'c mut ScriptLocks<'n>,
    /// A write command was called (Redis's SCRIPT_WRITE_DIRTY).
    wrote: bool,
    /// A command that others can see ran (a write or a publish): the script can no
    /// longer restart.
    effects: bool,
    /// The script must run again with more locks; every call is refused meanwhile.
    restart: bool,
}

fn refusal(text: &str) -> Frame {
    Frame::Error(text.as_bytes().to_vec())
}

impl Runner<'_, '_, '_> {
    /// Redis's checks of a command called from a script, in Redis's order.
    fn check(&mut self, args: &[Vec<u8>]) -> Result<(), Frame> {
        let table = CommandTable::get();
        let mut command = table
            .lookup(&args[0])
            .ok_or_else(|| refusal(errors::SCRIPT_UNKNOWN_COMMAND))?;
        if command.meta.is_container() && args.len() >= 2 {
            command = table
                .subcommand(command, &args[1])
                .ok_or_else(|| refusal(errors::SCRIPT_UNKNOWN_COMMAND))?;
        }
        let meta = command.meta;
        if !meta.arity_ok(args.len()) {
            return Err(refusal(errors::SCRIPT_WRONG_ARITY));
        }
        if meta.has(CommandFlags::NOSCRIPT) {
            return Err(refusal(errors::SCRIPT_NOT_ALLOWED));
        }
        if meta.is_write() {
            if self.read_only {
                return Err(refusal(errors::SCRIPT_READ_ONLY));
            }
            if self.over_memory(meta) {
                return Err(refusal(crate::eviction::OOM));
            }
            self.wrote = true;
            if !self.ctx.node.scripts().note_write() {
                return Err(refusal(errors::SCRIPT_KILLED));
            }
        }
        if self.cluster {
            self.check_slots(meta, args)?;
        }
        self.reach(meta, args)?;
        if meta.is_write() || meta.has(CommandFlags::PUBSUB) {
            self.effects = true;
        }
        Ok(())
    }
}

impl Runner<'_, '_, '_> {
    /// Redis 7.0's cluster rule for a command from a script: its keys share one slot
    /// served here. Beyond Redis 7.0, a script that declared keys may not reach another
    /// slot than theirs: it holds only that slot's lock (Redis 7.2 refuses it too).
    fn check_slots(
        &mut self,
        meta: &crate::catalog::CommandMeta,
        args: &[Vec<u8>],
    ) -> Result<(), Frame> {
        let node: &crate::node::Node = self.ctx.node;
        let routing = node.cluster().map(|c| c.routing());
        let found = find_keys(meta, args.len(), |i| args[i].as_slice());
        let mut slot = None;
        for p in found.positions() {
            let s = key_slot(&args[p]);
            if slot.is_some_and(|first| first != s)
                || routing.as_ref().is_some_and(|r| !r.is_mine(s))
            {
                return Err(refusal(errors::SCRIPT_NON_LOCAL_KEY));
            }
            slot = Some(s);
        }
        match (slot, self.slot) {
            (Some(s), Some(declared)) if s != declared && !self.allow_cross_slot => {
                Err(refusal(errors::SCRIPT_CROSS_SLOT))
            }
            _ => Ok(()),
        }
    }
}

impl Runner<'_, '_, '_> {
    /// Redis's scriptVerifyOOM: a node over `maxmemory` when the script started
    /// refuses its deny-oom commands until it wrote (it cannot stop halfway), unless
    /// it declared allow-oom; a replica and the AOF apply everything.
    fn over_memory(&self, meta: &crate::catalog::CommandMeta) -> bool {
        let c = &self.ctx;
        !self.allow_oom
            && !self.wrote
            && meta.has(CommandFlags::DENYOOM)
            && c.settings.memory.maxmemory > 0
            && !c.session.master_link
            && !c.node.replication().is_replica()
            && c.node.scripts().oom_at_start()
    }

    /// Makes sure the script holds the slots the command reaches (`ScriptLocks`).
    fn reach(&mut self, meta: &crate::catalog::CommandMeta, args: &[Vec<u8>]) -> Result<(), Frame> {
        let db = self.ctx.session.db;
        let found = find_keys(meta, args.len(), |i| args[i].as_slice());
        let mut keyed = false;
        for p in found.positions() {
            keyed = true;
            let reach = self.locks.reach(db, key_slot(&args[p]), self.effects);
            self.settle(reach, errors::SCRIPT_UNDECLARED_KEY)?;
        }
        let harmless = meta.acl.contains(AclCategories::CONNECTION)
            || meta.acl.contains(AclCategories::TRANSACTION);
        if !keyed && !harmless {
            let reach = self.locks.reach_everything(self.effects);
            self.settle(reach, errors::SCRIPT_NEEDS_EVERY_SLOT)?;
        }
        Ok(())
    }

    fn settle(&mut self, reach: Reach, undeclared: &str) -> Result<(), Frame> {
        match reach {
            Reach::Held => Ok(()),
            Reach::Restart => {
                self.restart = true;
                Err(refusal(errors::SCRIPT_RESTARTING))
            }
            Reach::Undeclared => Err(refusal(undeclared)),
            Reach::Busy => Err(refusal(errors::SCRIPT_SLOT_BUSY)),
        }
    }
}

impl CommandRunner for Runner<'_, '_, '_> {
    fn call(&mut self, args: &[Vec<u8>], resp3: bool) -> Frame {
        if self.restart {
            return refusal(errors::SCRIPT_RESTARTING);
        }
        if let Err(refused) = self.check(args) {
            return refused;
        }
        let mut reply = Reply::new();
        reply.set_resp3(resp3);
        let caller_resp3 = self.ctx.session.resp3;
        self.ctx.session.resp3 = resp3;
        {
            let mut sub = Ctx {
                node: self.ctx.node,
                session: &mut *self.ctx.session,
                reply: &mut reply,
                settings: self.ctx.settings,
                now_ms: self.ctx.now_ms,
            };
            dispatch::execute(&mut sub, Args::Owned(args));
        }
        self.ctx.session.resp3 = caller_resp3;
        if self.ctx.session.deferred.take().is_some() {
            return refusal(errors::SCRIPT_NOT_ALLOWED);
        }
        match tessera_resp::frame::decode(reply.as_bytes(), usize::MAX) {
            Ok(Some((frame, _))) => frame,
            _ => Frame::Null,
        }
    }
}

/// Writes a script's result in the caller's protocol.
fn write_frame(reply: &mut Reply, frame: &Frame) {
    match frame {
        Frame::Simple(s) => reply.simple(&String::from_utf8_lossy(s)),
        Frame::Error(e) | Frame::BulkError(e) => reply.error(&String::from_utf8_lossy(e)),
        Frame::Integer(n) => reply.int(*n),
        Frame::Bulk(b) => reply.bulk(b),
        Frame::Null => reply.null(),
        Frame::Boolean(b) => reply.boolean(*b),
        Frame::Double(d) => reply.double(*d),
        Frame::BigNumber(n) => {
            if reply.is_resp3() {
                reply.append_raw(b"(");
                reply.append_raw(n);
                reply.append_raw(b"\r\n");
            } else {
                reply.bulk(n);
            }
        }
        Frame::Verbatim(format, text) => {
            if reply.is_resp3() {
                let mut framed = format.clone();
                framed.push(b':');
                framed.extend_from_slice(text);
                reply.append_raw(format!("={}\r\n", framed.len()).as_bytes());
                reply.append_raw(&framed);
                reply.append_raw(b"\r\n");
            } else {
                reply.bulk(text);
            }
        }
        Frame::Array(items) | Frame::Push(items) => {
            reply.array(items.len());
            for item in items {
                write_frame(reply, item);
            }
        }
        Frame::Set(items) => {
            reply.set(items.len());
            for item in items {
                write_frame(reply, item);
            }
        }
        Frame::Map(pairs) => {
            reply.map(pairs.len());
            for (k, v) in pairs {
                write_frame(reply, k);
                write_frame(reply, v);
            }
        }
        Frame::Attribute(_, inner) => write_frame(reply, inner),
    }
}
