//! The node's subscriptions: channel → subscribers, pattern → subscribers, shard
//! channel → subscribers; and delivery of a published message to them.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use tessera_keyspace::glob::glob_match;

use super::frames::Lazy;
use super::mailbox::{Mailbox, Subscriptions};
use crate::protocol::output_limit::OutputLimit;

/// Which kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE.
    Shard,
}

impl Kind {
    /// The confirmation push of a subscription of this kind.
    pub fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    /// The confirmation push of an unsubscription of this kind.
    pub fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }

    /// The count a confirmation of this kind carries: shard subscriptions count apart.
    pub fn count(self, subs: &Subscriptions) -> usize {
        match self {
            Kind::Channel | Kind::Pattern => subs.count(),
            Kind::Shard => subs.shard.len(),
        }
    }

    fn list(self, subs: &mut Subscriptions) -> &mut Vec<Vec<u8>> {
        match self {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard,
        }
    }
}

type Subscribers = Vec<Arc<Mailbox>>;

#[derive(Default)]
struct State {
    channels: HashMap<Vec<u8>, Subscribers>,
    /// In first-subscription order: publishing matches each in turn.
    patterns: Vec<(Vec<u8>, Subscribers)>,
    shard: HashMap<Vec<u8>, Subscribers>,
}

impl State {
    fn subscribers(&mut self, kind: Kind, name: &[u8]) -> Option<&mut Subscribers> {
        match kind {
            Kind::Channel => self.channels.get_mut(name),
            Kind::Shard => self.shard.get_mut(name),
            Kind::Pattern => self
                .patterns
                .iter_mut()
                .find(|(p, _)| p == name)
                .map(|(_, s)| s),
        }
    }

    fn add(&mut self, kind: Kind, name: &[u8], mailbox: &Arc<Mailbox>) {
        if let Some(subs) = self.subscribers(kind, name) {
            subs.push(mailbox.clone());
            return;
        }
        let subs = vec![mailbox.clone()];
        match kind {
            Kind::Channel => drop(self.channels.insert(name.to_vec(), subs)),
            Kind::Shard => drop(self.shard.insert(name.to_vec(), subs)),
            Kind::Pattern => self.patterns.push((name.to_vec(), subs)),
        }
    }

    /// Removes one subscriber; the entry goes with its last one, so abandoned channels
    /// cost nothing.
    fn remove(&mut self, kind: Kind, name: &[u8], id: u64) {
        let Some(subs) = self.subscribers(kind, name) else {
            return;
        };
        subs.retain(|m| m.id() != id);
        if !subs.is_empty() {
            return;
        }
        match kind {
            Kind::Channel => drop(self.channels.remove(name)),
            Kind::Shard => drop(self.shard.remove(name)),
            Kind::Pattern => self.patterns.retain(|(p, _)| p != name),
        }
    }
}

/// Every subscription on the node.
#[derive(Default)]
pub struct Registry {
    state: RwLock<State>,
    limit: RwLock<OutputLimit>,
}

impl Registry {
    /// Sets the pubsub class of client-output-buffer-limit.
    pub fn set_output_limit(&self, limit: OutputLimit) {
        *self.limit.write() = limit;
    }

    /// Subscribes `mailbox` to `name` (a no-op when it already is); returns the count
    /// the confirmation carries.
    pub fn subscribe(&self, mailbox: &Arc<Mailbox>, kind: Kind, name: &[u8]) -> usize {
        let mut state = self.state.write();
        let mut subs = mailbox.subscriptions.lock();
        let list = kind.list(&mut subs);
        if !list.iter().any(|c| c == name) {
            list.push(name.to_vec());
            state.add(kind, name, mailbox);
            mailbox.info.set_subscriptions(&subs);
        }
        kind.count(&subs)
    }

    /// Unsubscribes `mailbox` from `name` (a no-op when it is not); returns the count
    /// the confirmation carries.
    pub fn unsubscribe(&self, mailbox: &Mailbox, kind: Kind, name: &[u8]) -> usize {
        let mut state = self.state.write();
        let mut subs = mailbox.subscriptions.lock();
        let list = kind.list(&mut subs);
        if let Some(at) = list.iter().position(|c| c == name) {
            list.remove(at);
            state.remove(kind, name, mailbox.id());
            mailbox.info.set_subscriptions(&subs);
        }
        kind.count(&subs)
    }

    /// Unsubscribes `mailbox` from everything of `kind`: each name with the count
    /// after its removal, for the confirmations.
    pub fn unsubscribe_all(&self, mailbox: &Mailbox, kind: Kind) -> Vec<(Vec<u8>, usize)> {
        let mut state = self.state.write();
        let mut subs = mailbox.subscriptions.lock();
        let names = std::mem::take(kind.list(&mut subs));
        let mut left = names.len();
        let mut done = Vec::with_capacity(names.len());
        for name in names {
            state.remove(kind, &name, mailbox.id());
            left -= 1;
            // The count as it stands after this one: the others of this kind are
            // still counted, as Redis removes them one at a time.
            let count = kind.count(&subs) + left;
            done.push((name, count));
        }
        mailbox.info.set_subscriptions(&subs);
        done
    }

    /// Removes every subscription of a connection that closed or was RESET.
    pub fn remove_client(&self, mailbox: &Mailbox) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            self.unsubscribe_all(mailbox, kind);
        }
    }

    /// Delivers a PUBLISH to the channel's subscribers, then to the matching patterns'
    /// (Redis's order); returns how many received it.
    pub fn publish(&self, channel: &[u8], message: &[u8], now_ms: i64) -> usize {
        let limit = *self.limit.read();
        let state = self.state.read();
        let mut receivers = 0;
        if let Some(subs) = state.channels.get(channel) {
            let parts: [&[u8]; 3] = [b"message", channel, message];
            let mut frame = Lazy::new(&parts);
            for m in subs {
                m.deliver(frame.get(m.resp3()), limit, now_ms);
            }
            receivers += subs.len();
        }
        for (pattern, subs) in &state.patterns {
            if !glob_match(pattern, channel, false) {
                continue;
            }
            let parts: [&[u8]; 4] = [b"pmessage", pattern, channel, message];
            let mut frame = Lazy::new(&parts);
            for m in subs {
                m.deliver(frame.get(m.resp3()), limit, now_ms);
            }
            receivers += subs.len();
        }
        receivers
    }

    /// Delivers an SPUBLISH to the shard channel's subscribers; returns how many.
    pub fn spublish(&self, channel: &[u8], message: &[u8], now_ms: i64) -> usize {
        let limit = *self.limit.read();
        let state = self.state.read();
        let Some(subs) = state.shard.get(channel) else {
            return 0;
        };
        let parts: [&[u8]; 3] = [b"smessage", channel, message];
        let mut frame = Lazy::new(&parts);
        for m in subs {
            m.deliver(frame.get(m.resp3()), limit, now_ms);
        }
        subs.len()
    }

    /// Active channels of `kind` (Channel or Shard) matching `pattern`.
    pub fn channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let state = self.state.read();
        let map = if kind == Kind::Shard {
            &state.shard
        } else {
            &state.channels
        };
        map.keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel of `kind` (Channel or Shard), patterns excluded.
    pub fn numsub(&self, kind: Kind, channel: &[u8]) -> usize {
        let state = self.state.read();
        let map = if kind == Kind::Shard {
            &state.shard
        } else {
            &state.channels
        };
        map.get(channel).map_or(0, Vec::len)
    }

    /// (channels, patterns, shard channels) with at least one subscriber.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let state = self.state.read();
        (
            state.channels.len(),
            state.patterns.len(),
            state.shard.len(),
        )
    }

    /// Drops the shard channels whose slot `keep` rejects (the slot left this node's
    /// shard), telling each subscriber with an `sunsubscribe` push, as Redis 7.0's
    /// removeChannelsInSlot does.
    pub fn drop_shard_channels(&self, keep: impl Fn(u16) -> bool, now_ms: i64) {
        let limit = *self.limit.read();
        let mut state = self.state.write();
        let gone: Vec<Vec<u8>> = state
            .shard
            .keys()
            .filter(|c| !keep(tessera_keyspace::key_slot(c)))
            .cloned()
            .collect();
        for channel in gone {
            let Some(subs) = state.shard.remove(&channel) else {
                continue;
            };
            for m in subs {
                let count = {
                    let mut s = m.subscriptions.lock();
                    s.shard.retain(|c| c != &channel);
                    m.info.set_subscriptions(&s);
                    s.shard.len()
                };
                let mut r = crate::protocol::reply::Reply::new();
                r.set_resp3(m.resp3());
                super::frames::confirmation(&mut r, "sunsubscribe", Some(&channel), count);
                m.deliver(bytes::Bytes::copy_from_slice(r.as_bytes()), limit, now_ms);
            }
        }
    }
}
