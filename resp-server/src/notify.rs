//! Keyspace notifications (`notify-keyspace-events`): the class flags of Redis's
//! notify.c and the [`Notifier`] that turns a change into Pub/Sub messages.
//!
//! Notifications are local, as in Redis Cluster: they go to this node's subscribers
//! only, never over the bus, since every node reports the changes to its own keys.

use std::sync::atomic::{AtomicU32, Ordering};

/// One class of notification (or one of the two channel families), as a flag bit.
pub type Class = u32;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: Class = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: Class = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME...).
pub const GENERIC: Class = 1 << 2;
/// `$`: string commands.
pub const STRING: Class = 1 << 3;
/// `l`: list commands.
pub const LIST: Class = 1 << 4;
/// `s`: set commands.
pub const SET: Class = 1 << 5;
/// `h`: hash commands.
pub const HASH: Class = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: Class = 1 << 7;
/// `x`: keys that expired.
pub const EXPIRED: Class = 1 << 8;
/// `e`: keys evicted by maxmemory.
pub const EVICTED: Class = 1 << 9;
/// `t`: stream commands (Tessera has none).
pub const STREAM: Class = 1 << 10;
/// `m`: key misses.
pub const KEY_MISS: Class = 1 << 11;
/// `d`: module events (Tessera has no modules).
pub const MODULE: Class = 1 << 12;
/// `n`: new keys.
pub const NEW: Class = 1 << 13;
/// `A`: what Redis calls every class; `m` and `n` are left out on purpose there
/// (they are noisy), so they are here too.
pub const ALL: Class =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The classes whose events Tessera raises: all of them now. A class left out here
/// is refused by the configuration, so no setting is accepted and then ignored.
pub const SUPPORTED: Class = KEYSPACE | KEYEVENT | ALL | NEW | KEY_MISS;

/// The letters of the classes, in the order Redis writes them back (before K E m).
const LETTERS: [(char, Class); 11] = [
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
];

/// Redis's text for a character that names no class.
pub const INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// The flags a `notify-keyspace-events` value names, or Redis's error text.
pub fn parse_classes(value: &str) -> Result<Class, String> {
    value.chars().try_fold(0, |flags, c| {
        let class = match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            _ => match LETTERS.iter().find(|(l, _)| *l == c) {
                Some((_, class)) => *class,
                None => return Err(INVALID_CLASS.to_string()),
            },
        };
        Ok(flags | class)
    })
}

/// The canonical text of `flags`, as CONFIG GET shows it: `A` when every class of it
/// is on, else the class letters, then K, E and m. Redis writes no other letter beside
/// A, n included (CONFIG GET of `AnE` shows `AE`, while n stays in force), so this
/// text can lose n: [`stored_classes`] is what keeps it.
pub fn format_classes(flags: Class) -> String {
    let mut out = String::new();
    if flags & ALL == ALL {
        out.push('A');
    } else {
        out.extend(
            LETTERS
                .iter()
                .filter(|(_, c)| flags & c != 0)
                .map(|(l, _)| l),
        );
    }
    for (letter, class) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & class != 0 {
            out.push(letter);
        }
    }
    out
}

/// The text the configuration stores for `flags`: [`format_classes`], with the `n`
/// that text drops beside A put back at its end, so the flag survives.
pub fn stored_classes(flags: Class) -> String {
    let mut out = format_classes(flags);
    if flags & ALL == ALL && flags & NEW != 0 {
        out.push('n');
    }
    out
}

/// What CONFIG GET and CONFIG REWRITE show for a stored value: Redis's text.
pub fn shown_classes(stored: &str) -> String {
    parse_classes(stored).map_or_else(|_| stored.to_string(), format_classes)
}

/// The refusal of a value naming a class Tessera does not raise yet.
pub fn unsupported(value: &str) -> Option<String> {
    let flags = parse_classes(value).ok()?;
    let missing = flags & !SUPPORTED;
    if missing == 0 {
        return None;
    }
    let mut letters: Vec<char> = LETTERS
        .iter()
        .chain(&[('m', KEY_MISS)])
        .filter(|(_, c)| missing & c != 0)
        .map(|(l, _)| *l)
        .collect();
    letters.dedup();
    let names: String = letters.into_iter().collect();
    Some(format!(
        "Tessera does not support keyspace notification classes '{names}' yet (planned); \
         the supported classes are {}",
        format_classes(SUPPORTED)
    ))
}

/// Whether `flags` publish the events of `class`: the class is on, and one of the
/// channel families.
#[inline]
pub fn publishes(flags: Class, class: Class) -> bool {
    flags & class != 0 && flags & (KEYSPACE | KEYEVENT) != 0
}

/// The flags in force and the publishing of events.
#[derive(Default)]
pub struct Notifier {
    flags: AtomicU32,
}

impl Notifier {
    /// Puts `flags` in force (at start and after a CONFIG SET).
    pub fn set(&self, flags: Class) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Whether an event of `class` would be published: one relaxed load, so a node
    /// with notifications off pays nothing more per write.
    #[inline]
    pub fn wants(&self, class: Class) -> bool {
        publishes(self.flags.load(Ordering::Relaxed), class)
    }

    /// Publishes `event` on `key` of database `db` to this node's subscribers, if
    /// `class` is on: the keyspace channel carries the event, the keyevent channel the
    /// key, in that order (as Redis).
    pub fn notify(
        &self,
        pubsub: &crate::pubsub::Registry,
        db: usize,
        class: Class,
        event: &str,
        key: &[u8],
        now_ms: i64,
    ) {
        let flags = self.flags.load(Ordering::Relaxed);
        if flags & class == 0 {
            return;
        }
        if flags & KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{db}__:").into_bytes();
            channel.extend_from_slice(key);
            pubsub.publish(&channel, event.as_bytes(), now_ms);
        }
        if flags & KEYEVENT != 0 {
            let channel = format!("__keyevent@{db}__:{event}");
            pubsub.publish(channel.as_bytes(), key, now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(value: &str) -> String {
        format_classes(parse_classes(value).expect("valid"))
    }

    #[test]
    fn canonical_forms_match_redis() {
        assert_eq!(canonical("KEA"), "AKE");
        assert_eq!(canonical("Ex"), "xE");
        assert_eq!(canonical("AKEm"), "AKEm");
        assert_eq!(canonical(""), "");
        assert_eq!(canonical("A$"), "A");
        assert_eq!(canonical("gggE"), "gE");
        assert_eq!(canonical("nE"), "nE");
        assert_eq!(canonical("Kg$lshzxetd"), "AK");
        assert_eq!(parse_classes("Q").unwrap_err(), INVALID_CLASS);
    }

    #[test]
    fn n_beside_a_is_kept_but_not_shown() {
        let flags = parse_classes("KEAnm").expect("valid");
        assert_eq!(format_classes(flags), "AKEm");
        assert_eq!(stored_classes(flags), "AKEmn");
        assert_eq!(parse_classes(&stored_classes(flags)), Ok(flags));
        assert_eq!(shown_classes("AKEmn"), "AKEm");
        assert_eq!(stored_classes(parse_classes("nK").expect("valid")), "nK");
        assert_eq!(canonical("AnmKE"), "AKEm");
        assert_eq!(canonical("KEAn"), "AKE");
        assert_eq!(canonical("g$nmE"), "g$nEm");
    }

    #[test]
    fn every_class_is_supported() {
        for value in ["Kg$E", "Etd", "KEA", "KEAnm", "Kl", "Ez", "Kn", "Em"] {
            assert_eq!(unsupported(value), None, "{value}");
        }
    }

    #[test]
    fn no_flags_no_wants() {
        let n = Notifier::default();
        assert!(!n.wants(GENERIC));
        n.set(GENERIC);
        assert!(!n.wants(GENERIC), "without K or E nothing is published");
        n.set(GENERIC | KEYEVENT);
        assert!(n.wants(GENERIC) && !n.wants(STRING));
    }
}
