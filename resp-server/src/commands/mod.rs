//! Command handlers: parse arguments, call the keyspace or server, encode the reply.
//!
//! Each file holds one family of commands. Handlers never see RESP framing or sockets;
//! they get a [`cursor::ArgCursor`] over the arguments and a [`Ctx`] and write into its
//! reply buffer.

mod bitmaps;
pub(crate) mod blocking;
mod client;
mod cluster;
mod connection;
pub mod cursor;
mod debug;
mod expiry;
mod function;
mod hashes;
mod introspection;
mod keys;
mod lists;
mod migration;
mod pubsub;
mod replication;
mod script_locks;
mod scripting;
mod server;
mod sets;
mod sort;
mod strings;
mod tracking;
pub(crate) mod transaction;
mod transaction_plan;
mod waitaof;
mod zset;
mod zset_multi;
mod zset_range;

use std::sync::Arc;
use tessera_keyspace::number::parse_i64;
use tessera_keyspace::{AllLocks, Db, SlotGuard, SlotLocks};

use crate::catalog::CommandId;
use crate::config::Settings;
pub(crate) use crate::errors;
use crate::node::Node;
use crate::protocol::reply::Reply;
use crate::session::Session;
use cursor::{ArgCursor, ArgError};
pub(crate) use scripting::declared_flags as declared_script_flags;

/// Everything a handler may use.
pub struct Ctx<'a> {
    /// The node.
    pub node: &'a Arc<Node>,
    /// This connection's state.
    pub session: &'a mut Session,
    /// Where the reply goes.
    pub reply: &'a mut Reply,
    /// Settings in force for this batch.
    pub settings: &'a Settings,
    /// Unix time in ms, read once per command so a command sees one instant.
    pub now_ms: i64,
}

impl<'a> Ctx<'a> {
    /// The selected database.
    #[inline]
    pub fn db(&self) -> &'a Db {
        let node: &'a Node = self.node;
        node.keyspace().db(self.session.db)
    }

    /// Answers later: `reply` is awaited by the connection, which then writes what it
    /// returns, in order with the other replies.
    pub fn defer<F, W>(&mut self, reply: F)
    where
        F: std::future::Future<Output = W> + Send + 'static,
        W: FnOnce(&mut Reply) + Send + 'static,
    {
        self.defer_with_session(async move {
            let write = reply.await;
            move |r: &mut Reply, _: &mut Session| write(r)
        });
    }

    /// [`Ctx::defer`] for a reply that also updates this connection's state.
    pub fn defer_with_session<F, W>(&mut self, reply: F)
    where
        F: std::future::Future<Output = W> + Send + 'static,
        W: FnOnce(&mut Reply, &mut Session) + Send + 'static,
    {
        self.session.deferred = Some(Box::pin(async move {
            let write = reply.await;
            Box::new(write) as crate::session::DeferredWrite
        }));
    }

    /// Records a change for the replicas as the command that replays it. Call after
    /// making the change, with its slot still locked: that is what keeps the stream in
    /// the order of the changes to each slot. Keys found expired on the way are
    /// recorded (as DEL) first.
    pub fn propagate(&mut self, guard: &mut SlotGuard<'_>, args: &[&[u8]]) {
        self.touch_watched(args);
        let record = self.records_changes();
        if record || self.expired_events() {
            guard.flush_expired();
        }
        if record {
            self.record(args);
        }
    }

    /// Whether `expired` events are raised: keys found expired are then handed to the
    /// hook before the change is recorded, so their events come before the command's,
    /// as in Redis.
    pub(crate) fn expired_events(&self) -> bool {
        self.node.notifier().wants(crate::notify::EXPIRED)
    }

    /// [`Ctx::propagate`] for a change that holds several slots.
    pub fn propagate_locked(&mut self, locks: &mut SlotLocks<'_>, args: &[&[u8]]) {
        self.touch_watched(args);
        let record = self.records_changes();
        if record || self.expired_events() {
            locks.flush_expired();
        }
        if record {
            self.record(args);
        }
    }

    /// [`Ctx::propagate`] for a change to every slot of every database.
    pub fn propagate_all(&mut self, locks: &mut AllLocks<'_>, args: &[&[u8]]) {
        if self.records_changes() {
            for (_, tables) in locks.dbs() {
                tables.flush_expired();
            }
            self.record(args);
        }
    }

    /// [`Ctx::propagate`] of the command exactly as the client sent it.
    pub fn propagate_verbatim(&mut self, guard: &mut SlotGuard<'_>, args: ArgCursor<'_>) {
        if self.records_changes()
            || self.node.watches().any()
            || self.node.tracking().any()
            || self.expired_events()
        {
            let all: Vec<&[u8]> = args.verbatim().collect();
            self.propagate(guard, &all);
        }
    }

    /// Records a change to no slot (the function libraries) for replicas and the AOF,
    /// as the command that replays it.
    pub fn propagate_node_wide(&mut self, args: &[&[u8]]) {
        if self.records_changes() {
            self.record(args);
        }
    }

    /// [`Ctx::propagate_locked`] of the command exactly as the client sent it.
    pub fn propagate_locked_verbatim(&mut self, locks: &mut SlotLocks<'_>, args: ArgCursor<'_>) {
        if self.records_changes()
            || self.node.watches().any()
            || self.node.tracking().any()
            || self.expired_events()
        {
            let all: Vec<&[u8]> = args.verbatim().collect();
            self.propagate_locked(locks, &all);
        }
    }

    /// True when changes are being recorded for replicas: a handler that must build
    /// the replayed form of its command (an absolute deadline) asks first.
    pub fn records_changes(&self) -> bool {
        !self.session.master_link && self.node.replication().is_active()
    }

    fn record(&mut self, args: &[&[u8]]) {
        let db = self.session.db;
        match self.session.tx_stream.as_mut() {
            Some(block) => block.push((db, args.iter().map(|a| a.to_vec()).collect())),
            None => self.session.write_offset = self.node.replication().feed(db, args),
        }
    }

    /// Spoils the WATCHes of the keys a change touched (its replayed form names them).
    /// Invalidates them for the clients tracking them too.
    fn touch_watched(&self, args: &[&[u8]]) {
        if self.node.watches().any() || self.node.tracking().any() {
            for key in crate::catalog::keys_of(args) {
                self.node.key_changed(self.session.db, key);
            }
        }
    }

    /// Publishes keyspace notification `event` of `class` on `key` of the selected
    /// database; nothing but one relaxed load when the class is off.
    #[inline]
    pub fn notify(&self, class: crate::notify::Class, event: &str, key: &[u8]) {
        self.node.notify(self.session.db, class, event, key);
    }

    /// Parses an integer argument, replying with Redis's error if it is not one.
    pub fn int_arg(&mut self, arg: &[u8]) -> Option<i64> {
        let parsed = parse_i64(arg);
        if parsed.is_none() {
            self.reply.error(errors::NOT_INTEGER);
        }
        parsed
    }

    /// What a cursor read, or `None` after replying with Redis's error for why it
    /// could not be read: `let Some([key, field]) = ctx.read(a.next_args()) else { return };`
    pub fn read<T>(&mut self, read: Result<T, ArgError>) -> Option<T> {
        match read {
            Ok(value) => Some(value),
            Err(e) => {
                self.reply.error(e.text());
                None
            }
        }
    }
}

/// A command implementation: it reads its arguments through the cursor, which
/// starts after the name (after the subcommand for a subcommand), and has no way to
/// index past them.
pub type Handler = fn(&mut Ctx<'_>, ArgCursor<'_>);

/// The handler table: what runs each command. Exhaustive on purpose: a new row in
/// the catalog's `tessera.txt` does not compile until it is decided here.
pub fn handler(id: CommandId) -> Handler {
    use CommandId as C;
    match id {
        C::Append => strings::append,
        C::Asking => migration::asking,
        C::Auth => connection::auth,
        C::Bgrewriteaof => server::bgrewriteaof,
        C::Bgsave => server::bgsave,
        C::Bitcount => bitmaps::bitcount,
        C::Bitfield => bitmaps::bitfield,
        C::BitfieldRo => bitmaps::bitfield_ro,
        C::Bitop => bitmaps::bitop,
        C::Bitpos => bitmaps::bitpos,
        C::Blmove => blocking::blmove,
        C::Blmpop => blocking::blmpop,
        C::Blpop => blocking::blpop,
        C::Brpop => blocking::brpop,
        C::Brpoplpush => blocking::brpoplpush,
        C::Bzmpop => blocking::bzmpop,
        C::Bzpopmax => blocking::bzpopmax,
        C::Bzpopmin => blocking::bzpopmin,
        C::ClientCaching => tracking::caching,
        C::ClientGetname => client::getname,
        C::ClientGetredir => tracking::getredir,
        C::ClientHelp => client::help,
        C::ClientId => client::id,
        C::ClientInfo => client::info,
        C::ClientKill => client::kill,
        C::ClientList => client::list,
        C::ClientNoEvict => client::no_evict,
        C::ClientReply => client::reply,
        C::ClientSetinfo => client::setinfo,
        C::ClientSetname => client::setname,
        C::ClientTracking => tracking::tracking,
        C::ClientTrackinginfo => tracking::trackinginfo,
        C::ClientUnblock => client::unblock,
        C::ClusterAddslots => cluster::addslots,
        C::ClusterAddslotsrange => cluster::addslotsrange,
        C::ClusterBumpepoch => cluster::bumpepoch,
        C::ClusterCountFailureReports => cluster::count_failure_reports,
        C::ClusterCountkeysinslot => cluster::countkeysinslot,
        C::ClusterDelslots => cluster::delslots,
        C::ClusterDelslotsrange => cluster::delslotsrange,
        C::ClusterFailover => cluster::failover,
        C::ClusterFlushslots => cluster::flushslots,
        C::ClusterForget => cluster::forget,
        C::ClusterGetkeysinslot => cluster::getkeysinslot,
        C::ClusterHelp => cluster::help,
        C::ClusterInfo => cluster::info,
        C::ClusterKeyslot => cluster::keyslot,
        C::ClusterLinks => cluster::links,
        C::ClusterMeet => cluster::meet,
        C::ClusterMyid => cluster::myid,
        C::ClusterNodes => cluster::nodes,
        C::ClusterReplicas => cluster::replicas,
        C::ClusterReplicate => cluster::replicate,
        C::ClusterReset => cluster::reset,
        C::ClusterSaveconfig => cluster::saveconfig,
        C::ClusterSetConfigEpoch => cluster::set_config_epoch,
        C::ClusterSetslot => cluster::setslot,
        C::ClusterShards => cluster::shards,
        C::ClusterSlaves => cluster::replicas,
        C::ClusterSlots => cluster::slots_command,
        C::Command => introspection::all,
        C::CommandCount => introspection::count,
        C::CommandDocs => introspection::docs,
        C::CommandGetkeys => introspection::getkeys,
        C::CommandHelp => introspection::help,
        C::CommandInfo => introspection::info,
        C::CommandList => introspection::list,
        C::ConfigGet => server::config_get,
        C::ConfigHelp => server::help,
        C::ConfigResetstat => server::config_resetstat,
        C::ConfigRewrite => server::config_rewrite,
        C::ConfigSet => server::config_set,
        C::Dbsize => server::dbsize,
        C::Debug => debug::debug,
        C::Decr => strings::decr,
        C::Decrby => strings::decrby,
        C::Del => keys::del,
        C::Discard => transaction::discard,
        C::Dump => migration::dump,
        C::Echo => connection::echo,
        C::Exec => transaction::exec,
        C::Exists => keys::exists,
        C::Expire => expiry::expire_command,
        C::Expireat => expiry::expireat,
        C::Expiretime => expiry::expiretime,
        C::Fcall => scripting::fcall,
        C::FcallRo => scripting::fcall_ro,
        C::Flushall => server::flushall,
        C::Flushdb => server::flushdb,
        C::FunctionDelete => function::delete,
        C::FunctionDump => function::dump,
        C::FunctionFlush => function::flush,
        C::FunctionHelp => function::help,
        C::FunctionKill => function::kill,
        C::FunctionList => function::list,
        C::FunctionLoad => function::load,
        C::FunctionRestore => function::restore,
        C::FunctionStats => function::stats,
        C::Get => strings::get,
        C::Getdel => strings::getdel,
        C::Getex => strings::getex,
        C::Getbit => bitmaps::getbit,
        C::Getrange => strings::getrange,
        C::Getset => strings::getset,
        C::Hdel => hashes::hdel,
        C::Hello => connection::hello,
        C::Hexists => hashes::hexists,
        C::Hget => hashes::hget,
        C::Hgetall => hashes::hgetall,
        C::Hincrby => hashes::hincrby,
        C::Hincrbyfloat => hashes::hincrbyfloat,
        C::Hkeys => hashes::hkeys,
        C::Hlen => hashes::hlen,
        C::Hmget => hashes::hmget,
        C::Hmset => hashes::hmset,
        C::Hrandfield => hashes::hrandfield,
        C::Hscan => hashes::hscan,
        C::Hset => hashes::hset,
        C::Hsetnx => hashes::hsetnx,
        C::Hstrlen => hashes::hstrlen,
        C::Hvals => hashes::hvals,
        C::Incr => strings::incr,
        C::Incrby => strings::incrby,
        C::Incrbyfloat => strings::incrbyfloat,
        C::Info => server::info,
        C::Keys => keys::keys,
        C::Lastsave => server::lastsave,
        C::Lcs => bitmaps::lcs,
        C::Lindex => lists::lindex,
        C::Linsert => lists::linsert,
        C::Llen => lists::llen,
        C::Lmove => lists::lmove,
        C::Lmpop => lists::lmpop,
        C::Lpop => lists::lpop,
        C::Lpos => lists::lpos,
        C::Lpush => lists::lpush,
        C::Lpushx => lists::lpushx,
        C::Lrange => lists::lrange,
        C::Lrem => lists::lrem,
        C::Lset => lists::lset,
        C::Ltrim => lists::ltrim,
        C::MemoryHelp => keys::memory_help,
        C::MemoryUsage => keys::memory_usage,
        C::Mget => strings::mget,
        C::Migrate => migration::migrate,
        C::Mset => strings::mset,
        C::Msetnx => strings::msetnx,
        C::Multi => transaction::multi,
        C::ObjectEncoding => keys::object_encoding,
        C::ObjectFreq => keys::object_freq,
        C::ObjectIdletime => keys::object_idletime,
        C::ObjectHelp => keys::object_help,
        C::ObjectRefcount => keys::object_refcount,
        C::Persist => expiry::persist,
        C::Pexpire => expiry::pexpire,
        C::Pexpireat => expiry::pexpireat,
        C::Pexpiretime => expiry::pexpiretime,
        C::Ping => connection::ping,
        C::Psubscribe => pubsub::psubscribe,
        C::Publish => pubsub::publish,
        C::PubsubChannels => pubsub::pubsub_channels,
        C::PubsubHelp => pubsub::pubsub_help,
        C::PubsubNumpat => pubsub::pubsub_numpat,
        C::PubsubNumsub => pubsub::pubsub_numsub,
        C::PubsubShardchannels => pubsub::pubsub_shardchannels,
        C::PubsubShardnumsub => pubsub::pubsub_shardnumsub,
        C::Punsubscribe => pubsub::punsubscribe,
        C::Spublish => pubsub::spublish,
        C::Ssubscribe => pubsub::ssubscribe,
        C::Subscribe => pubsub::subscribe,
        C::Sunsubscribe => pubsub::sunsubscribe,
        C::Unsubscribe => pubsub::unsubscribe,
        C::Psetex => strings::psetex,
        C::Psync => replication::psync,
        C::Pttl => expiry::pttl,
        C::Quit => connection::quit,
        C::Randomkey => keys::randomkey,
        C::Readonly => cluster::readonly,
        C::Readwrite => cluster::readwrite,
        C::Copy => keys::copy,
        C::Move => keys::move_,
        C::Rename => keys::rename_command,
        C::Renamenx => keys::renamenx,
        C::Replconf => replication::replconf,
        C::Replicaof => replication::replicaof,
        C::Reset => connection::reset,
        C::Restore => migration::restore,
        C::RestoreAsking => migration::restore,
        C::Role => replication::role,
        C::Rpop => lists::rpop,
        C::Rpoplpush => lists::rpoplpush,
        C::Rpush => lists::rpush,
        C::Rpushx => lists::rpushx,
        C::Sadd => sets::sadd,
        C::Save => server::save,
        C::Scan => keys::scan,
        C::Scard => sets::scard,
        C::Sdiff => sets::sdiff,
        C::Sdiffstore => sets::sdiffstore,
        C::Select => connection::select,
        C::Set => strings::set,
        C::Setex => strings::setex,
        C::Setnx => strings::setnx,
        C::Setbit => bitmaps::setbit,
        C::Setrange => strings::setrange,
        C::Shutdown => server::shutdown,
        C::Sinter => sets::sinter,
        C::Sintercard => sets::sintercard,
        C::Sinterstore => sets::sinterstore,
        C::Sismember => sets::sismember,
        C::Slaveof => replication::replicaof,
        C::Smembers => sets::smembers,
        C::Smismember => sets::smismember,
        C::Smove => sets::smove,
        C::Sort => sort::sort_command,
        C::SortRo => sort::sort_ro,
        C::Spop => sets::spop,
        C::Srandmember => sets::srandmember,
        C::Srem => sets::srem,
        C::Sscan => sets::sscan,
        C::Strlen => strings::strlen,
        C::Substr => strings::getrange,
        C::Sunion => sets::sunion,
        C::Sunionstore => sets::sunionstore,
        C::Sync => replication::sync_command,
        C::Time => server::time,
        C::Touch => keys::touch,
        C::Ttl => expiry::ttl_command,
        C::Type => keys::type_,
        C::Unlink => keys::del,
        C::Unwatch => transaction::unwatch,
        C::Wait => replication::wait,
        C::Waitaof => waitaof::waitaof,
        C::Watch => transaction::watch,
        C::Zadd => zset::zadd,
        C::Zcard => zset::zcard,
        C::Zcount => zset::zcount,
        C::Zdiff => zset_multi::zdiff,
        C::Zdiffstore => zset_multi::zdiffstore,
        C::Zincrby => zset::zincrby,
        C::Zinter => zset_multi::zinter,
        C::Zintercard => zset_multi::zintercard,
        C::Zinterstore => zset_multi::zinterstore,
        C::Zlexcount => zset::zlexcount,
        C::Zmpop => zset_multi::zmpop,
        C::Zmscore => zset::zmscore,
        C::Zpopmax => zset::zpopmax,
        C::Zpopmin => zset::zpopmin,
        C::Zrandmember => zset::zrandmember,
        C::Zrange => zset_range::zrange,
        C::Zrangebylex => zset_range::zrangebylex,
        C::Zrangebyscore => zset_range::zrangebyscore,
        C::Zrangestore => zset_range::zrangestore,
        C::Zrank => zset::zrank,
        C::Zrem => zset::zrem,
        C::Zremrangebylex => zset::zremrangebylex,
        C::Zremrangebyrank => zset::zremrangebyrank,
        C::Zremrangebyscore => zset::zremrangebyscore,
        C::Zrevrange => zset_range::zrevrange,
        C::Eval => scripting::eval,
        C::EvalRo => scripting::eval_ro,
        C::Evalsha => scripting::evalsha,
        C::EvalshaRo => scripting::evalsha_ro,
        C::ScriptDebug => scripting::debug,
        C::ScriptExists => scripting::exists,
        C::ScriptFlush => scripting::flush,
        C::ScriptHelp => scripting::help,
        C::ScriptKill => scripting::kill,
        C::ScriptLoad => scripting::load,
        C::Zrevrangebylex => zset_range::zrevrangebylex,
        C::Zrevrangebyscore => zset_range::zrevrangebyscore,
        C::Zrevrank => zset::zrevrank,
        C::Zscan => zset::zscan,
        C::Zscore => zset::zscore,
        C::Zunion => zset_multi::zunion,
        C::Zunionstore => zset_multi::zunionstore,
        // Containers run a subcommand; alone they fail the arity check first.
        C::Client
        | C::Cluster
        | C::Config
        | C::Function
        | C::Memory
        | C::Object
        | C::Pubsub
        | C::Script => subcommand_required,
    }
}

/// A container named without a subcommand (unreachable past the arity check, and
/// answered as Redis would if it were reached).
fn subcommand_required(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let name = String::from_utf8_lossy(args.name()).to_ascii_lowercase();
    ctx.reply.error(&errors::wrong_arity(&name));
}

/// Replies with a HELP text: the usage line, then each line as a status reply.
fn help_reply(reply: &mut Reply, command: &str, lines: &[&str]) {
    reply.array(lines.len() + 3);
    reply.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}

/// The `[COUNT n]` that ends LMPOP, ZMPOP and their blocking forms, read from the
/// cursor on: `None` when absent; Redis's errors for anything else.
fn mpop_count(mut cursor: ArgCursor<'_>) -> Result<Option<usize>, &'static str> {
    let mut count = None;
    while !cursor.is_done() {
        let option = cursor.next_arg().unwrap_or_default();
        if count.is_some() || !is(option, "COUNT") || cursor.is_done() {
            return Err(errors::SYNTAX);
        }
        match cursor.next_i64() {
            Ok(n) if n >= 1 => count = Some(n as usize),
            _ => return Err(errors::MPOP_COUNT_POSITIVE),
        }
    }
    Ok(count)
}

/// A write of one key answered with how many things it changed, propagated as the
/// client sent it when it changed any (HDEL, SREM, LREM, ZREM ...). A change raises
/// the event of `class` named as the command (Redis's names for these), then `del`
/// when it left the key empty, hence gone.
fn count_write(
    ctx: &mut Ctx<'_>,
    args: ArgCursor<'_>,
    key: &[u8],
    class: crate::notify::Class,
    write: impl FnOnce(&mut tessera_keyspace::SlotTable, i64) -> tessera_keyspace::Result<usize>,
) {
    let db = ctx.db();
    let mut t = db.lock(tessera_keyspace::key_slot(key));
    match write(&mut t, ctx.now_ms) {
        Ok(n) => {
            if n > 0 {
                ctx.propagate_verbatim(&mut t, args);
                let event = String::from_utf8_lossy(args.name()).to_ascii_lowercase();
                ctx.notify(class, &event, key);
                if t.peek_live(key, ctx.now_ms).is_none() {
                    ctx.notify(crate::notify::GENERIC, "del", key);
                }
            }
            drop(t);
            ctx.reply.int(n as i64);
        }
        Err(e) => ctx.reply.error(errors::keyspace(e)),
    }
}

/// True when `arg` equals `word`, ignoring ASCII case.
#[inline]
fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}
