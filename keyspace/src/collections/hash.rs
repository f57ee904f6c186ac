//! A hash value in Redis 7.0's two encodings.
//!
//! A new hash is a `listpack`: fields and values alternate in one buffer, in insertion
//! order (an updated value keeps its place). It becomes a `hashtable` when a field or
//! value longer than hash-max-listpack-value is written or when it holds more than
//! hash-max-listpack-entries fields, and never goes back, exactly as in Redis: OBJECT
//! ENCODING, HSCAN's one-call answer and RDB files show the choice.

use std::collections::HashSet;

use super::table::{Pair, Table};
use crate::compact_bytes::CompactBytes;
use crate::encoding::listpack::Listpack;
use crate::encoding::ziplist::ziplist_entries;
use crate::encoding::zipmap::zipmap_pairs;
use crate::encoding_limits::EncodingLimits;
use crate::rdb::encoding::{Source, put_length, put_string, read_plain_length, read_string};
use crate::rdb::{RdbError, ReadLimits, op};
use crate::value::Encoding;

/// A hash value.
#[derive(Clone)]
pub struct HashValue(Repr);

#[derive(Clone)]
enum Repr {
    Listpack(Listpack),
    // Boxed: most hashes are small, and the box keeps every hash as small as a listpack.
    Table(Box<Table<Pair>>),
}

/// A field and its value, owned.
pub type FieldValue = (Vec<u8>, Vec<u8>);

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

impl HashValue {
    /// Allocations freeing the hash costs (Redis's `lazyfreeGetFreeEffort`).
    pub fn free_effort(&self) -> usize {
        match &self.0 {
            Repr::Listpack(_) => 1,
            Repr::Table(t) => t.len(),
        }
    }

    /// Bytes the hash holds on the heap, sampling `samples` fields (MEMORY USAGE).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match &self.0 {
            Repr::Listpack(lp) => lp.capacity(),
            Repr::Table(t) => {
                std::mem::size_of::<Table<Pair>>()
                    + t.heap_bytes(samples, |p| p.field.heap_size() + p.value.heap_size())
            }
        }
    }

    /// An empty hash (a listpack, as Redis creates every hash).
    pub fn new() -> HashValue {
        HashValue(Repr::Listpack(Listpack::new()))
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        match self.0 {
            Repr::Listpack(_) => Encoding::Listpack,
            Repr::Table(_) => Encoding::Hashtable,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Listpack(lp) => lp.len() / 2,
            Repr::Table(t) => t.len(),
        }
    }

    /// True when the hash has no field (a stored hash never is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index in the listpack of `field`'s entry.
    fn lp_find(lp: &Listpack, field: &[u8]) -> Option<usize> {
        lp.find(field, 0, 2)
    }

    /// Calls `f` with the value of `field`, if present.
    pub fn with_value<R>(&self, field: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match &self.0 {
            Repr::Listpack(lp) => {
                let at = Self::lp_find(lp, field)?;
                Some(lp.get(at + 1).expect("a field has a value").with_bytes(f))
            }
            Repr::Table(t) => t.find(field).map(|at| f(t.get(at).value.as_bytes())),
        }
    }

    /// The value of `field`, owned.
    pub fn get(&self, field: &[u8]) -> Option<Vec<u8>> {
        self.with_value(field, <[u8]>::to_vec)
    }

    /// True when `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.0 {
            Repr::Listpack(lp) => Self::lp_find(lp, field).is_some(),
            Repr::Table(t) => t.find(field).is_some(),
        }
    }

    /// Converts a listpack to a hash table (Redis's hashTypeConvert).
    fn convert(&mut self) {
        if let Repr::Listpack(lp) = &self.0 {
            let mut table = Table::with_capacity(lp.len() / 2 + 1);
            let mut entries = lp.iter();
            while let (Some(f), Some(v)) = (entries.next(), entries.next()) {
                table.push_new(Pair {
                    field: f.with_bytes(CompactBytes::new),
                    value: v.with_bytes(CompactBytes::new),
                });
            }
            self.0 = Repr::Table(Box::new(table));
        }
    }

    /// Converts before a write whose arguments have these lengths, as Redis's
    /// hashTypeTryConversion does: any one longer than hash-max-listpack-value.
    pub fn convert_for_lengths(
        &mut self,
        mut lengths: impl Iterator<Item = usize>,
        limits: &EncodingLimits,
    ) {
        if matches!(self.0, Repr::Listpack(_))
            && lengths.any(|n| n > limits.hash_max_listpack_value)
        {
            self.convert();
        }
    }

    /// Sets `field` to `value`; true when the field is new. Converts as Redis's
    /// hashTypeSet does (a long field or value, or one field too many).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        self.convert_for_lengths([field.len(), value.len()].into_iter(), limits);
        match &mut self.0 {
            Repr::Listpack(lp) => {
                let added = match Self::lp_find(lp, field) {
                    Some(at) => {
                        lp.replace(at + 1, value);
                        false
                    }
                    None => {
                        lp.push_back(field);
                        lp.push_back(value);
                        true
                    }
                };
                // Checked after an update too (the limit may have been lowered since),
                // as Redis's hashTypeSet does.
                if lp.len() / 2 > limits.hash_max_listpack_entries {
                    self.convert();
                }
                added
            }
            Repr::Table(t) => match t.find(field) {
                Some(at) => {
                    t.get_mut(at).value = CompactBytes::new(value);
                    false
                }
                None => {
                    t.push_new(Pair {
                        field: CompactBytes::new(field),
                        value: CompactBytes::new(value),
                    });
                    true
                }
            },
        }
    }

    /// Removes `field`; false when it was absent.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Listpack(lp) => match Self::lp_find(lp, field) {
                Some(at) => {
                    lp.remove_range(at, 2);
                    true
                }
                None => false,
            },
            Repr::Table(t) => match t.find(field) {
                Some(at) => {
                    t.remove_at(at);
                    true
                }
                None => false,
            },
        }
    }

    /// The pair at position `at` of the hash's order (`at < len`).
    pub fn pair_at(&self, at: usize) -> FieldValue {
        match &self.0 {
            Repr::Listpack(lp) => (
                lp.get(2 * at).expect("in range").to_vec(),
                lp.get(2 * at + 1).expect("in range").to_vec(),
            ),
            Repr::Table(t) => {
                let p = t.get(at);
                (p.field.as_bytes().to_vec(), p.value.as_bytes().to_vec())
            }
        }
    }

    /// Calls `f` with every field and its value: insertion order for a listpack, table
    /// order otherwise.
    pub fn for_each_pair(&self, mut f: impl FnMut(&[u8], &[u8])) {
        match &self.0 {
            Repr::Listpack(lp) => {
                let mut entries = lp.iter();
                while let (Some(field), Some(value)) = (entries.next(), entries.next()) {
                    field.with_bytes(|fb| value.with_bytes(|vb| f(fb, vb)));
                }
            }
            Repr::Table(t) => t
                .iter()
                .for_each(|p| f(p.field.as_bytes(), p.value.as_bytes())),
        }
    }

    /// Every pair, in the order [`HashValue::for_each_pair`] gives.
    pub fn pairs(&self) -> Vec<FieldValue> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_pair(|f, v| out.push((f.to_vec(), v.to_vec())));
        out
    }

    /// One HSCAN step: a listpack answers whole with cursor 0, as Redis does; a hash
    /// table is walked by field hash.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<FieldValue>) {
        match &self.0 {
            Repr::Listpack(_) => (0, self.pairs()),
            Repr::Table(t) => {
                let (next, batch) = t.scan(cursor, count);
                let pairs = batch
                    .iter()
                    .map(|p| (p.field.as_bytes().to_vec(), p.value.as_bytes().to_vec()))
                    .collect();
                (next, pairs)
            }
        }
    }

    /// The RDB object type this value is written as.
    pub(crate) fn rdb_type(&self) -> u8 {
        match self.0 {
            Repr::Listpack(_) => op::TYPE_HASH_LISTPACK,
            Repr::Table(_) => op::TYPE_HASH,
        }
    }

    /// Appends the value's RDB encoding, without its type byte.
    pub(crate) fn write_rdb(&self, out: &mut Vec<u8>, compress: bool) {
        match &self.0 {
            Repr::Listpack(lp) => put_string(out, lp.as_bytes(), compress),
            Repr::Table(t) => {
                put_length(out, t.len() as u64);
                for p in t.iter() {
                    put_string(out, p.field.as_bytes(), compress);
                    put_string(out, p.value.as_bytes(), compress);
                }
            }
        }
    }

    /// Reads a value of RDB object type `kind`, encoded as Redis 7.0 encodes what it
    /// loads under `limits`. Corrupt bytes, an odd entry count, duplicate fields and
    /// empty hashes are errors.
    pub(crate) fn read_rdb(
        src: &mut impl Source,
        kind: u8,
        limits: ReadLimits,
    ) -> Result<Self, RdbError> {
        let enc = &limits.encoding;
        let hash = match kind {
            op::TYPE_HASH => Self::read_pairs(src, limits)?,
            op::TYPE_HASH_LISTPACK => {
                let blob = read_string(src, limits.max_len)?;
                let lp = Listpack::from_bytes(&blob)
                    .map_err(|_| RdbError::Corrupt("invalid hash listpack"))?;
                if lp.len() % 2 != 0 {
                    return Err(RdbError::Corrupt("hash listpack with an odd entry count"));
                }
                let mut fields = HashSet::with_capacity(lp.len() / 2);
                let mut entries = lp.iter();
                while let Some(field) = entries.next() {
                    entries.next();
                    if !fields.insert(field.to_vec()) {
                        return Err(RdbError::Corrupt("duplicate hash field"));
                    }
                }
                let mut hash = HashValue(Repr::Listpack(lp));
                if hash.len() > enc.hash_max_listpack_entries {
                    hash.convert();
                }
                hash
            }
            op::TYPE_HASH_ZIPLIST | op::TYPE_HASH_ZIPMAP => {
                let blob = read_string(src, limits.max_len)?;
                let pairs = if kind == op::TYPE_HASH_ZIPMAP {
                    zipmap_pairs(&blob).map_err(|_| RdbError::Corrupt("invalid zipmap"))?
                } else {
                    let entries = ziplist_entries(&blob)
                        .map_err(|_| RdbError::Corrupt("invalid hash ziplist"))?;
                    if entries.len() % 2 != 0 {
                        return Err(RdbError::Corrupt("hash ziplist with an odd entry count"));
                    }
                    entries
                        .chunks(2)
                        .map(|p| (p[0].as_entry().to_vec(), p[1].as_entry().to_vec()))
                        .collect()
                };
                Self::from_legacy_pairs(pairs, enc)?
            }
            other => return Err(RdbError::UnsupportedType(other)),
        };
        if hash.is_empty() {
            return Err(RdbError::Corrupt("empty hash"));
        }
        Ok(hash)
    }

    /// A hash from a ziplist or zipmap: a listpack, converted when it holds too many
    /// fields or too long a string, as Redis converts those on load.
    fn from_legacy_pairs(
        pairs: Vec<FieldValue>,
        enc: &EncodingLimits,
    ) -> Result<HashValue, RdbError> {
        let mut fields = HashSet::with_capacity(pairs.len());
        let mut lp = Listpack::new();
        let mut longest = 0;
        for (f, v) in &pairs {
            if !fields.insert(f.as_slice()) {
                return Err(RdbError::Corrupt("duplicate hash field"));
            }
            longest = longest.max(f.len()).max(v.len());
            lp.push_back(f);
            lp.push_back(v);
        }
        let mut hash = HashValue(Repr::Listpack(lp));
        if hash.len() > enc.hash_max_listpack_entries || longest > enc.hash_max_listpack_value {
            hash.convert();
        }
        Ok(hash)
    }

    /// RDB type 4: a count, then field and value strings. Like Redis, a listpack until
    /// a string is too long or the count too high.
    fn read_pairs(src: &mut impl Source, limits: ReadLimits) -> Result<HashValue, RdbError> {
        let enc = &limits.encoding;
        let len = read_plain_length(src)?;
        let mut hash = if len > enc.hash_max_listpack_entries as u64 {
            // The count is untrusted: reserve only what a sane file would need.
            HashValue(Repr::Table(Box::new(Table::with_capacity(
                len.min(1 << 16) as usize,
            ))))
        } else {
            HashValue::new()
        };
        for _ in 0..len {
            let field = read_string(src, limits.max_len)?;
            let value = read_string(src, limits.max_len)?;
            if hash.contains(&field) {
                return Err(RdbError::Corrupt("duplicate hash field"));
            }
            hash.set(&field, &value, enc);
        }
        Ok(hash)
    }
}

impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        let mut same = self.len() == other.len();
        if same {
            self.for_each_pair(|f, v| same &= other.with_value(f, |o| o == v).unwrap_or(false));
        }
        same
    }
}

impl Eq for HashValue {}

impl std::fmt::Debug for HashValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs: Vec<(String, String)> = self
            .pairs()
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        write!(f, "HashValue({}, {pairs:?})", self.encoding().name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    fn read(kind: u8, bytes: &[u8], l: EncodingLimits) -> Result<HashValue, RdbError> {
        let mut r = ReadLimits::new(1 << 20);
        r.encoding = l;
        let mut src = crate::rdb::Slice(bytes);
        let h = HashValue::read_rdb(&mut src, kind, r)?;
        assert!(src.0.is_empty());
        Ok(h)
    }

    #[test]
    fn listpack_keeps_insertion_order_and_converts_like_redis() {
        let l = limits(3, 8);
        let mut h = HashValue::new();
        assert!(h.set(b"b", b"1", &l));
        assert!(h.set(b"a", b"2", &l));
        assert!(!h.set(b"b", b"3", &l));
        assert_eq!(
            h.pairs(),
            [
                (b"b".to_vec(), b"3".to_vec()),
                (b"a".to_vec(), b"2".to_vec())
            ]
        );
        assert_eq!(h.encoding(), Encoding::Listpack);
        assert!(h.set(b"c", b"x", &l));
        assert_eq!(h.encoding(), Encoding::Listpack);
        assert!(h.set(b"d", b"x", &l));
        assert_eq!(
            h.encoding(),
            Encoding::Hashtable,
            "one field over the limit"
        );
        assert!(h.remove(b"d") && h.remove(b"c"));
        assert_eq!(h.encoding(), Encoding::Hashtable, "never converts back");
        let mut long = HashValue::new();
        long.set(b"f", b"123456789", &l);
        assert_eq!(long.encoding(), Encoding::Hashtable);
        assert_eq!(long.get(b"f"), Some(b"123456789".to_vec()));
        assert_eq!(long.get(b"g"), None);
    }

    #[test]
    fn rdb_round_trips() {
        let l = EncodingLimits::default();
        for n in [3, 600] {
            let mut h = HashValue::new();
            for i in 0..n {
                h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), &l);
            }
            let mut out = Vec::new();
            h.write_rdb(&mut out, true);
            let back = read(h.rdb_type(), &out, l).unwrap();
            assert_eq!(back, h);
            assert_eq!(back.encoding(), h.encoding());
            // A loading server with a lower limit converts.
            let back = read(h.rdb_type(), &out, limits(2, 64)).unwrap();
            assert_eq!(back.encoding(), Encoding::Hashtable);
        }
    }

    #[test]
    fn legacy_and_corrupt_forms() {
        let l = EncodingLimits::default();
        let zipmap = b"\x02\x03foo\x03\x01barX\x05hello\x05\x00world\xff";
        let mut blob = vec![zipmap.len() as u8];
        blob.extend_from_slice(zipmap);
        let h = read(op::TYPE_HASH_ZIPMAP, &blob, l).unwrap();
        assert_eq!(h.get(b"hello"), Some(b"world".to_vec()));
        assert_eq!(h.encoding(), Encoding::Listpack);
        // Duplicate fields, an empty hash, an odd listpack.
        assert!(read(op::TYPE_HASH, b"\x02\x01a\x01b\x01a\x01c", l).is_err());
        assert!(read(op::TYPE_HASH, b"\x00", l).is_err());
        let mut odd = Listpack::new();
        odd.push_back(b"a");
        let mut blob = vec![odd.as_bytes().len() as u8];
        blob.extend_from_slice(odd.as_bytes());
        assert!(read(op::TYPE_HASH_LISTPACK, &blob, l).is_err());
        // A ziplist {a: 1} as Redis before 7.0 wrote it: the string "a", the 4-bit
        // immediate integer 1.
        let ziplist = b"\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01a\x03\xf2\xff";
        let mut blob = vec![ziplist.len() as u8];
        blob.extend_from_slice(ziplist);
        let h = read(op::TYPE_HASH_ZIPLIST, &blob, l).unwrap();
        assert_eq!(h.pairs(), [(b"a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn damaged_payloads_never_panic() {
        let l = EncodingLimits::default();
        let mut h = HashValue::new();
        for i in 0..20 {
            h.set(
                format!("f{i}").as_bytes(),
                format!("{}", i * 7919).as_bytes(),
                &l,
            );
        }
        let mut big = h.clone();
        big.set(&[b'x'; 100], b"v", &l);
        let mut seed = 7u64;
        for value in [&h, &big] {
            let mut good = Vec::new();
            value.write_rdb(&mut good, false);
            for _ in 0..3000 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let mut bad = good.clone();
                let at = (seed >> 33) as usize % bad.len();
                bad[at] ^= 1 << ((seed >> 20) % 8);
                if seed % 5 == 0 {
                    bad.truncate(at);
                }
                let mut src = crate::rdb::Slice(&bad);
                let _ = HashValue::read_rdb(&mut src, value.rdb_type(), ReadLimits::new(1 << 20));
            }
        }
    }
}
