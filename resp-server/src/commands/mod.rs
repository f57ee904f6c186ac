//! Command handlers: parse arguments, call the keyspace or server, encode the reply.
//!
//! Each file holds one family of commands. Handlers never see RESP framing or sockets;
//! they get the arguments and a [`Ctx`] and write into its reply buffer.

mod client;
mod cluster;
mod connection;
mod debug;
mod expiry;
mod function;
mod introspection;
mod keys;
mod migration;
mod replication;
mod server;
mod strings;
pub(crate) mod transaction;

use std::sync::Arc;
use tessera_keyspace::number::parse_i64;
use tessera_keyspace::{AllLocks, Db, SlotGuard, SlotLocks};

use crate::config::Settings;
pub(crate) use crate::errors;
use crate::node::Node;
use crate::protocol::reply::Reply;
use crate::protocol::request::Args;
use crate::session::Session;

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
        node.keyspace.db(self.session.db)
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
        if self.records_changes() {
            guard.flush_expired();
            self.record(args);
        }
    }

    /// [`Ctx::propagate`] for a change that holds several slots.
    pub fn propagate_locked(&mut self, locks: &mut SlotLocks<'_>, args: &[&[u8]]) {
        if self.records_changes() {
            locks.flush_expired();
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
    pub fn propagate_verbatim(&mut self, guard: &mut SlotGuard<'_>, args: Args<'_>) {
        if self.records_changes() {
            let all: Vec<&[u8]> = args.iter_from(0).collect();
            self.propagate(guard, &all);
        }
    }

    /// [`Ctx::propagate_locked`] of the command exactly as the client sent it.
    pub fn propagate_locked_verbatim(&mut self, locks: &mut SlotLocks<'_>, args: Args<'_>) {
        if self.records_changes() {
            let all: Vec<&[u8]> = args.iter_from(0).collect();
            self.propagate_locked(locks, &all);
        }
    }

    /// True when changes are being recorded for replicas: a handler that must build
    /// the replayed form of its command (an absolute deadline) asks first.
    pub fn records_changes(&self) -> bool {
        !self.session.master_link && self.node.replication.is_active()
    }

    fn record(&mut self, args: &[&[u8]]) {
        self.session.write_offset = self.node.replication.feed(self.session.db, args);
    }

    /// Parses an integer argument, replying with Redis's error if it is not one.
    pub fn int_arg(&mut self, arg: &[u8]) -> Option<i64> {
        let parsed = parse_i64(arg);
        if parsed.is_none() {
            self.reply.error(errors::NOT_INTEGER);
        }
        parsed
    }
}

/// A command implementation.
pub type Handler = fn(&mut Ctx<'_>, Args<'_>);

/// The handler of a command by its full lowercase name, if Tessera implements it.
pub fn handler_for(name: &str) -> Option<Handler> {
    connection::handler(name)
        .or_else(|| client::handler(name))
        .or_else(|| introspection::handler(name))
        .or_else(|| server::handler(name))
        .or_else(|| strings::handler(name))
        .or_else(|| keys::handler(name))
        .or_else(|| expiry::handler(name))
        .or_else(|| cluster::handler(name))
        .or_else(|| replication::handler(name))
        .or_else(|| migration::handler(name))
        .or_else(|| function::handler(name))
        .or_else(|| transaction::handler(name))
}

/// Replies with a HELP text: the usage line, then each line as a status reply.
fn help(reply: &mut Reply, command: &str, lines: &[&str]) {
    reply.array(lines.len() + 3);
    reply.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Print this help.");
}

/// True when `arg` equals `word`, ignoring ASCII case.
#[inline]
fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}
