//! A base file of commands (`aof-use-rdb-preamble no`): the data as the commands that
//! rebuild it, as Redis 7.0's `rewriteAppendOnlyFileRio` writes them. Per database a
//! `SELECT`, then per key `SET`, `RPUSH`, `SADD`, `ZADD` or `HMSET` with at most
//! [`AOF_REWRITE_ITEMS_PER_CMD`] elements each, then `PEXPIREAT` for a key with a
//! deadline. Pure: the caller hands in the tables it holds locked and writes the bytes.

use tessera_keyspace::number::format_g17;
use tessera_keyspace::{AllLocks, Value, is_past};

/// Most elements (or field-value / score-member pairs) one rewritten command carries,
/// so no single command of a big collection is huge to read back.
pub const AOF_REWRITE_ITEMS_PER_CMD: usize = 64;

/// Every live key of the locked databases as commands, each database after a `SELECT`
/// of its number; keys past their deadline at `now` (Unix ms) are left out.
pub fn write_locked(locks: &mut AllLocks<'_>, now: i64) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, tables) in locks.dbs() {
        let mut selected = false;
        for (_, table) in tables.tables() {
            for entry in table.entries() {
                let key = entry.key.as_bytes();
                let deadline = table.deadline(key);
                if deadline.is_some_and(|at| is_past(at, now)) {
                    continue;
                }
                if !selected {
                    write_command(&mut out, &[b"SELECT", index.to_string().as_bytes()]);
                    selected = true;
                }
                key_commands(&mut out, key, &entry.value, deadline);
            }
        }
    }
    out
}

/// Appends the commands that rebuild `key` holding `value`, and its deadline (Unix ms).
pub fn key_commands(out: &mut Vec<u8>, key: &[u8], value: &Value, deadline: Option<i64>) {
    match value {
        Value::Str(s) => s.with_bytes(|v| write_command(out, &[b"SET", key, v])),
        Value::List(l) => {
            let mut batch = Batch::new(out, b"RPUSH", key, l.len(), 1);
            l.for_each_element(|e| batch.item(&[e]));
        }
        Value::Set(s) => {
            let mut batch = Batch::new(out, b"SADD", key, s.len(), 1);
            s.for_each_member(|m| batch.item(&[m]));
        }
        Value::ZSet(z) => {
            let mut batch = Batch::new(out, b"ZADD", key, z.len(), 2);
            z.for_each_scored(|m, score| batch.item(&[format_g17(score).as_bytes(), m]));
        }
        Value::Hash(h) => {
            let mut batch = Batch::new(out, b"HMSET", key, h.len(), 2);
            h.for_each_pair(|f, v| batch.item(&[f, v]));
        }
    }
    if let Some(at) = deadline {
        write_command(out, &[b"PEXPIREAT", key, at.to_string().as_bytes()]);
    }
}

/// Appends one command as a RESP array of bulk strings.
fn write_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    write_header(out, args.len());
    for arg in args {
        write_bulk(out, arg);
    }
}

fn write_header(out: &mut Vec<u8>, count: usize) {
    out.push(b'*');
    out.extend_from_slice(count.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn write_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// A collection's elements cut into commands of at most [`AOF_REWRITE_ITEMS_PER_CMD`]
/// items: each command's header counts the items still to come, so the element count
/// must be known up front (a collection's length).
struct Batch<'a> {
    out: &'a mut Vec<u8>,
    command: &'static [u8],
    key: &'a [u8],
    remaining: usize,
    in_command: usize,
    parts_per_item: usize,
}

impl<'a> Batch<'a> {
    fn new(
        out: &'a mut Vec<u8>,
        command: &'static [u8],
        key: &'a [u8],
        items: usize,
        parts_per_item: usize,
    ) -> Batch<'a> {
        Batch {
            out,
            command,
            key,
            remaining: items,
            in_command: 0,
            parts_per_item,
        }
    }

    fn item(&mut self, parts: &[&[u8]]) {
        if self.in_command == 0 {
            // Never below one item: a header must not promise fewer items than follow.
            let items = self.remaining.clamp(1, AOF_REWRITE_ITEMS_PER_CMD);
            write_header(self.out, 2 + items * self.parts_per_item);
            write_bulk(self.out, self.command);
            write_bulk(self.out, self.key);
        }
        for part in parts {
            write_bulk(self.out, part);
        }
        self.in_command = (self.in_command + 1) % AOF_REWRITE_ITEMS_PER_CMD;
        self.remaining = self.remaining.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::commands::next_command;
    use tessera_keyspace::collections::list::End;
    use tessera_keyspace::collections::{HashValue, ListValue, SetValue, ZSetValue};
    use tessera_keyspace::{EncodingLimits, Keyspace, StrValue};

    /// The commands in `bytes`, each as its arguments.
    fn commands(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((args, used)) = next_command(&bytes[at..]).expect("valid") {
            out.push(
                args.iter()
                    .map(|r| bytes[at + r.start..at + r.end].to_vec())
                    .collect(),
            );
            at += used;
        }
        assert_eq!(at, bytes.len(), "nothing left over");
        out
    }

    fn text(args: &[Vec<u8>]) -> Vec<String> {
        args.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn a_string_is_a_set_then_its_deadline() {
        let mut out = Vec::new();
        let value = Value::Str(StrValue::from_i64(12345));
        key_commands(&mut out, b"k", &value, Some(1_796_143_192_447));
        // Byte for byte what redis-server 7.0.15 writes for the same key.
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n12345\r\n\
              *3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$13\r\n1796143192447\r\n"
        );
    }

    #[test]
    fn big_collections_are_cut_into_commands_of_64_items() {
        let limits = EncodingLimits::default();
        let mut list = ListValue::new(&limits);
        for i in 0..130 {
            list.push(i.to_string().as_bytes(), End::Tail);
        }
        let mut out = Vec::new();
        key_commands(&mut out, b"l", &Value::List(Box::new(list)), None);
        let cmds = commands(&out);
        let lens: Vec<usize> = cmds.iter().map(Vec::len).collect();
        assert_eq!(lens, [66, 66, 4]);
        let elements: Vec<String> = cmds.iter().flat_map(|c| text(&c[2..])).collect();
        let expected: Vec<String> = (0..130).map(|i| i.to_string()).collect();
        assert_eq!(elements, expected, "list order is kept");

        let mut hash = HashValue::new();
        for i in 0..65 {
            hash.set(format!("f{i}").as_bytes(), b"v", &limits);
        }
        let mut out = Vec::new();
        key_commands(&mut out, b"h", &Value::Hash(Box::new(hash)), None);
        let cmds = commands(&out);
        assert_eq!(text(&cmds[0][..2]), ["HMSET", "h"]);
        assert_eq!(cmds.iter().map(Vec::len).collect::<Vec<_>>(), [130, 4]);
    }

    #[test]
    fn sets_and_sorted_sets_as_redis_writes_them() {
        let limits = EncodingLimits::default();
        let mut set = SetValue::for_member(b"1");
        for m in [&b"1"[..], b"2", b"abc"] {
            set.add(m, &limits);
        }
        let mut out = Vec::new();
        key_commands(&mut out, b"s", &Value::Set(Box::new(set)), None);
        let cmds = commands(&out);
        assert_eq!(cmds.len(), 1);
        let mut members = text(&cmds[0][2..]);
        members.sort();
        assert_eq!(text(&cmds[0][..2]), ["SADD", "s"]);
        assert_eq!(members, ["1", "2", "abc"]);

        let zset = ZSetValue::from_members(
            vec![
                (b"a".to_vec(), 1.1),
                (b"b".to_vec(), 2.0),
                (b"c".to_vec(), f64::INFINITY),
                (b"d".to_vec(), f64::NEG_INFINITY),
                (b"f".to_vec(), 1e300),
            ],
            &limits,
        );
        let mut out = Vec::new();
        key_commands(&mut out, b"z", &Value::ZSet(Box::new(zset)), None);
        let cmds = commands(&out);
        // Scores as `%.17g`, the texts redis-server 7.0.15 wrote for these.
        assert_eq!(
            text(&cmds[0]),
            [
                "ZADD",
                "z",
                "-inf",
                "d",
                "1.1000000000000001",
                "a",
                "2",
                "b",
                "1.0000000000000001e+300",
                "f",
                "inf",
                "c"
            ]
        );
    }

    #[test]
    fn each_database_is_selected_and_expired_keys_are_left_out() {
        let keyspace = Keyspace::new(4, 7);
        let now = 1_000_000;
        {
            let mut locks = keyspace.db(0).lock_keys([&b"a"[..]]);
            let t = locks.for_key(b"a");
            t.insert(b"a", Value::Str(StrValue::new(b"1")));
        }
        for (key, deadline) in [(&b"live"[..], now + 10), (b"gone", now - 10)] {
            let mut locks = keyspace.db(3).lock_keys([key]);
            let t = locks.for_key(key);
            t.insert(key, Value::Str(StrValue::new(b"x")));
            t.set_deadline(key, deadline);
        }
        let out = write_locked(&mut keyspace.lock_all(), now);
        let cmds: Vec<Vec<String>> = commands(&out).iter().map(|c| text(c)).collect();
        assert_eq!(
            cmds,
            [
                vec!["SELECT", "0"],
                vec!["SET", "a", "1"],
                vec!["SELECT", "3"],
                vec!["SET", "live", "x"],
                vec!["PEXPIREAT", "live", "1000010"],
            ]
        );
    }
}
