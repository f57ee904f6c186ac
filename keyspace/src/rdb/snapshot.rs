//! A whole keyspace to and from an RDB stream.

use std::io::{Read, Write};

use super::writer::{AuxValue, RdbWriter, encode_entry};
use super::{RdbError, RdbItem, RdbReader, ReadLimits};
use crate::db::{AllLocks, Keyspace};
use crate::hash_slot::{SLOT_COUNT, key_slot};
use crate::slot_table::{SlotTable, is_past};

/// Writes every live key of `keyspace` to `out`, one slot at a time: each slot is
/// encoded under its lock and written after the lock is released, so disk speed never
/// holds up clients. The result is consistent per slot (what a cluster needs, since a
/// command touches one slot), not across slots. Returns the writer and the key count.
pub fn write_keyspace<W: Write>(
    keyspace: &Keyspace,
    out: W,
    aux: &[(&str, AuxValue<'_>)],
    now: i64,
    compress: bool,
) -> std::io::Result<(W, u64)> {
    let mut w = RdbWriter::new(out)?;
    for (key, value) in aux {
        w.aux(key, *value)?;
    }
    let mut written = 0u64;
    let mut buf = Vec::new();
    for (index, db) in keyspace.existing() {
        if db.is_empty() {
            continue;
        }
        w.start_db(index, db.len() as u64, db.volatile_len() as u64)?;
        for slot in 0..SLOT_COUNT {
            buf.clear();
            written += encode_table(&mut buf, &db.lock(slot as u16), now, compress);
            if !buf.is_empty() {
                w.raw(&buf)?;
            }
        }
    }
    Ok((w.finish()?, written))
}

/// Like [`write_keyspace`], from tables the caller holds locked: a snapshot of one
/// instant (what a replica's full sync needs), written into memory.
pub fn write_locked(
    locks: &mut AllLocks<'_>,
    aux: &[(&str, AuxValue<'_>)],
    now: i64,
    compress: bool,
) -> (Vec<u8>, u64) {
    let io = "writing to memory cannot fail";
    let mut w = RdbWriter::new(Vec::new()).expect(io);
    for (key, value) in aux {
        w.aux(key, *value).expect(io);
    }
    let mut written = 0u64;
    let mut buf = Vec::new();
    for (index, tables) in locks.dbs() {
        let (keys, volatile) = tables
            .tables()
            .fold((0, 0), |(k, v), (_, t)| (k + t.len(), v + t.volatile_len()));
        if keys == 0 {
            continue;
        }
        w.start_db(index, keys as u64, volatile as u64).expect(io);
        for (_, t) in tables.tables() {
            buf.clear();
            written += encode_table(&mut buf, t, now, compress);
            w.raw(&buf).expect(io);
        }
    }
    (w.finish().expect(io), written)
}

/// Appends the live entries of one table; returns how many.
fn encode_table(buf: &mut Vec<u8>, t: &SlotTable, now: i64, compress: bool) -> u64 {
    let mut written = 0;
    for e in t.entries() {
        let deadline = t.deadline(e.key.as_bytes());
        if deadline.is_some_and(|at| is_past(at, now)) {
            continue;
        }
        encode_entry(buf, e.key.as_bytes(), &e.value, deadline, compress);
        written += 1;
    }
    written
}

/// What loading a file found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadStats {
    /// Keys stored.
    pub loaded: u64,
    /// Keys skipped because their deadline had passed.
    pub expired: u64,
    /// The auxiliary fields.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// The function libraries' codes, in file order.
    pub libraries: Vec<Vec<u8>>,
}

/// Reads an RDB stream into `keyspace` (which should be empty). Keys whose deadline has
/// passed are skipped, as a Redis master does when loading.
pub fn load_keyspace<R: Read>(
    keyspace: &Keyspace,
    input: R,
    now: i64,
    limits: ReadLimits,
) -> Result<LoadStats, RdbError> {
    let mut reader = RdbReader::new(input, limits)?;
    let mut stats = LoadStats::default();
    let mut db = 0usize;
    loop {
        match reader.next_item()? {
            RdbItem::End => return Ok(stats),
            RdbItem::Aux(k, v) => stats.aux.push((k, v)),
            RdbItem::Library(code) => stats.libraries.push(code),
            RdbItem::SelectDb(index) => {
                if index >= keyspace.database_count() as u64 {
                    return Err(RdbError::DatabaseOutOfRange(
                        index,
                        keyspace.database_count(),
                    ));
                }
                db = index as usize;
            }
            RdbItem::ResizeDb { .. } => {}
            RdbItem::Entry(e) => {
                if e.deadline.is_some_and(|at| is_past(at, now)) {
                    stats.expired += 1;
                    continue;
                }
                let mut t = keyspace.db(db).lock(key_slot(&e.key));
                t.insert(&e.key, e.value);
                if let Some(at) = e.deadline {
                    t.set_deadline(&e.key, at);
                }
                // The saved hint applies if the policy in force reads that kind.
                let clock = t.access_clock();
                let stamp = match (e.idle_seconds, e.freq) {
                    (Some(idle), _) => clock.with_idle(idle),
                    (_, Some(freq)) => clock.with_frequency(freq),
                    _ => None,
                };
                if let Some(stamp) = stamp {
                    t.set_access_stamp(&e.key, stamp);
                }
                stats.loaded += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{StrValue, Value};

    /// A dump.rdb written by redis-server 7.0.15 (integers of every width, a 12-digit
    /// number, an LZF-compressed string, an expiry, an empty string, a second database).
    const REDIS_7_RDB: &[u8] = &[
        0x52, 0x45, 0x44, 0x49, 0x53, 0x30, 0x30, 0x31, 0x30, 0xfa, 0x09, 0x72, 0x65, 0x64, 0x69,
        0x73, 0x2d, 0x76, 0x65, 0x72, 0x06, 0x37, 0x2e, 0x30, 0x2e, 0x31, 0x35, 0xfa, 0x0a, 0x72,
        0x65, 0x64, 0x69, 0x73, 0x2d, 0x62, 0x69, 0x74, 0x73, 0xc0, 0x40, 0xfa, 0x05, 0x63, 0x74,
        0x69, 0x6d, 0x65, 0xc2, 0xc0, 0x72, 0x02, 0x6b, 0xfa, 0x08, 0x75, 0x73, 0x65, 0x64, 0x2d,
        0x6d, 0x65, 0x6d, 0xc2, 0xe8, 0xb8, 0x0e, 0x00, 0xfa, 0x08, 0x61, 0x6f, 0x66, 0x2d, 0x62,
        0x61, 0x73, 0x65, 0xc0, 0x00, 0xfe, 0x00, 0xfb, 0x09, 0x01, 0x00, 0x05, 0x65, 0x6d, 0x70,
        0x74, 0x79, 0x00, 0x00, 0x04, 0x6c, 0x6f, 0x6e, 0x67, 0xc3, 0x0b, 0x40, 0xb4, 0x03, 0x61,
        0x62, 0x63, 0x61, 0xe0, 0xa5, 0x02, 0x01, 0x62, 0x63, 0xfc, 0xff, 0x3f, 0x7a, 0x10, 0xf3,
        0x5a, 0x00, 0x00, 0x00, 0x03, 0x76, 0x6f, 0x6c, 0x01, 0x76, 0x00, 0x06, 0x62, 0x69, 0x67,
        0x69, 0x6e, 0x74, 0x0b, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x30, 0x31,
        0x00, 0x03, 0x6e, 0x65, 0x67, 0xc0, 0xfb, 0x00, 0x05, 0x69, 0x6e, 0x74, 0x33, 0x32, 0xc2,
        0x15, 0xcd, 0x5b, 0x07, 0x00, 0x04, 0x69, 0x6e, 0x74, 0x38, 0xc0, 0x0c, 0x00, 0x05, 0x73,
        0x68, 0x6f, 0x72, 0x74, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x05, 0x69, 0x6e, 0x74,
        0x31, 0x36, 0xc1, 0xd2, 0x04, 0xfe, 0x02, 0xfb, 0x01, 0x00, 0x00, 0x05, 0x69, 0x6e, 0x64,
        0x62, 0x32, 0x01, 0x78, 0xff, 0x70, 0xad, 0x81, 0x5f, 0x7e, 0xe5, 0x4c, 0x51,
    ];

    fn get(ks: &Keyspace, db: usize, key: &[u8]) -> Option<Vec<u8>> {
        ks.db(db).lock(key_slot(key)).get(key, 0).map(|v| match v {
            Value::Str(s) => s.to_vec(),
            other => panic!("expected a string, found {:?}", other.value_type()),
        })
    }

    #[test]
    fn loads_a_file_written_by_redis() {
        let ks = Keyspace::new(16, 1);
        let stats = load_keyspace(&ks, REDIS_7_RDB, 0, ReadLimits::new(u64::MAX)).unwrap();
        assert_eq!(stats.loaded, 10);
        assert!(
            stats
                .aux
                .contains(&(b"redis-ver".to_vec(), b"7.0.15".to_vec()))
        );
        for (key, want) in [
            (&b"int8"[..], &b"12"[..]),
            (b"int16", b"1234"),
            (b"int32", b"123456789"),
            (b"bigint", b"12345678901"),
            (b"neg", b"-5"),
            (b"short", b"hello"),
            (b"empty", b""),
            (b"vol", b"v"),
        ] {
            assert_eq!(get(&ks, 0, key).as_deref(), Some(want), "{key:?}");
        }
        assert_eq!(
            get(&ks, 0, b"long").unwrap(),
            "abcabcabc".repeat(20).as_bytes()
        );
        assert_eq!(get(&ks, 2, b"indb2").as_deref(), Some(&b"x"[..]));
        assert_eq!(
            ks.db(0).lock(key_slot(b"vol")).deadline(b"vol"),
            Some(99_999_999_999_999)
        );
    }

    #[test]
    fn corruption_is_detected() {
        let ks = Keyspace::new(16, 1);
        let mut bad = REDIS_7_RDB.to_vec();
        bad[100] ^= 1;
        assert!(load_keyspace(&ks, &bad[..], 0, ReadLimits::new(u64::MAX)).is_err());
        let truncated = &REDIS_7_RDB[..REDIS_7_RDB.len() - 20];
        assert!(matches!(
            load_keyspace(
                &Keyspace::new(16, 1),
                truncated,
                0,
                ReadLimits::new(u64::MAX)
            ),
            Err(RdbError::Io(_))
        ));
        assert!(matches!(
            load_keyspace(
                &Keyspace::new(16, 1),
                &b"NOTRDB0010"[..],
                0,
                ReadLimits::new(u64::MAX)
            ),
            Err(RdbError::BadMagic)
        ));
        assert!(matches!(
            load_keyspace(
                &Keyspace::new(1, 1),
                REDIS_7_RDB,
                0,
                ReadLimits::new(u64::MAX)
            ),
            Err(RdbError::DatabaseOutOfRange(2, 1))
        ));
    }

    #[test]
    fn round_trip_keeps_values_deadlines_and_skips_expired() {
        let ks = Keyspace::new(16, 3);
        for i in 0..2000u32 {
            let key = format!("k{i}");
            let mut t = ks.db((i % 3) as usize).lock(key_slot(key.as_bytes()));
            let value = match i % 4 {
                0 => i.to_string().into_bytes(),
                1 => vec![b'z'; i as usize % 300],
                2 => format!("text-{i}").repeat(5).into_bytes(),
                _ => (-(i as i64) * 1_000_000_007).to_string().into_bytes(),
            };
            t.insert(key.as_bytes(), Value::Str(StrValue::from_vec(value)));
            if i % 5 == 0 {
                t.set_deadline(key.as_bytes(), if i % 10 == 0 { 50 } else { 10_000 });
            }
        }
        let (bytes, written) = write_keyspace(
            &ks,
            Vec::new(),
            &[("redis-ver", AuxValue::Text(b"7.0.15"))],
            100,
            true,
        )
        .unwrap();
        assert_eq!(
            written,
            2000 - 200,
            "keys past their deadline are not saved"
        );
        let back = Keyspace::new(16, 9);
        let stats = load_keyspace(&back, &bytes[..], 100, ReadLimits::new(u64::MAX)).unwrap();
        assert_eq!(stats.loaded, 1800);
        for (i, db) in ks.existing() {
            for slot in 0..SLOT_COUNT {
                let t = db.lock(slot as u16);
                for e in t.entries() {
                    let deadline = t.deadline(e.key.as_bytes());
                    if deadline == Some(50) {
                        continue;
                    }
                    let mut other = back.db(i).lock(slot as u16);
                    assert_eq!(other.get(e.key.as_bytes(), 0), Some(&e.value));
                    assert_eq!(other.deadline(e.key.as_bytes()), deadline);
                }
            }
        }
    }
}
