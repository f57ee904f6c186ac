//! A set value in Redis 7.0's two encodings.
//!
//! A set whose members are all canonical integers starts as an `intset` (one sorted
//! buffer); it becomes a `hashtable` when a member is not an integer or when it holds
//! more than set-max-intset-entries members, and never goes back (Redis 7.0 has no
//! listpack sets). OBJECT ENCODING and RDB files show the choice, so we make the same.

use super::table::Table;
use crate::compact_bytes::CompactBytes;
use crate::encoding::intset::Intset;
use crate::encoding_limits::EncodingLimits;
use crate::number::parse_i64;
use crate::rdb::encoding::{Source, put_length, put_string, read_plain_length, read_string};
use crate::rdb::{RdbError, ReadLimits, op};
use crate::value::Encoding;

/// A set value.
#[derive(Clone)]
pub struct SetValue(Repr);

#[derive(Clone)]
enum Repr {
    Ints(Intset),
    // Boxed so a small set (an intset) costs no more than its buffer's handle.
    Table(Box<Table<CompactBytes>>),
}

/// Longest text of an i64 (`-9223372036854775808`).
const MAX_INT_TEXT: usize = 20;

/// The member as Redis's intset would hold it: a canonical i64.
fn as_int(member: &[u8]) -> Option<i64> {
    if member.len() > MAX_INT_TEXT {
        return None;
    }
    parse_i64(member)
}

impl SetValue {
    /// Allocations freeing the set costs (Redis's `lazyfreeGetFreeEffort`).
    pub fn free_effort(&self) -> usize {
        match &self.0 {
            Repr::Ints(_) => 1,
            Repr::Table(t) => t.len(),
        }
    }

    /// Bytes the set holds on the heap, sampling `samples` members (MEMORY USAGE).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match &self.0 {
            Repr::Ints(i) => i.capacity(),
            Repr::Table(t) => {
                std::mem::size_of::<Table<CompactBytes>>()
                    + t.heap_bytes(samples, CompactBytes::heap_size)
            }
        }
    }

    /// The empty set Redis creates to hold `first` (SADD, SMOVE into a new key): an
    /// intset when `first` is an integer.
    pub fn for_member(first: &[u8]) -> SetValue {
        if as_int(first).is_some() {
            SetValue::empty_intset()
        } else {
            SetValue(Repr::Table(Box::new(Table::with_capacity(0))))
        }
    }

    /// An empty intset: where S*STORE and SUNION/SDIFF build their results.
    pub fn empty_intset() -> SetValue {
        SetValue(Repr::Ints(Intset::new()))
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> Encoding {
        match self.0 {
            Repr::Ints(_) => Encoding::Intset,
            Repr::Table(_) => Encoding::Hashtable,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Ints(s) => s.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True when the set has no member (a stored set never is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `member` belongs to the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.0 {
            Repr::Ints(s) => as_int(member).is_some_and(|v| s.contains(v)),
            Repr::Table(t) => t.find(member).is_some(),
        }
    }

    /// Converts an intset to a hash table (Redis's setTypeConvert).
    fn convert(&mut self) {
        if let Repr::Ints(s) = &self.0 {
            let mut table = Table::with_capacity(s.len() + 1);
            for v in s.iter() {
                table.push_new(CompactBytes::new(itoa::Buffer::new().format(v).as_bytes()));
            }
            self.0 = Repr::Table(Box::new(table));
        }
    }

    /// Adds `member`; false when it was present. Converts as Redis's setTypeAdd does.
    pub fn add(&mut self, member: &[u8], limits: &EncodingLimits) -> bool {
        match &mut self.0 {
            Repr::Ints(s) => match as_int(member) {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > limits.set_max_intset_entries {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    self.add(member, limits)
                }
            },
            Repr::Table(t) => {
                if t.find(member).is_some() {
                    return false;
                }
                t.push_new(CompactBytes::new(member));
                true
            }
        }
    }

    /// Removes `member`; false when it was absent.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Ints(s) => as_int(member).is_some_and(|v| s.remove(v)),
            Repr::Table(t) => match t.find(member) {
                Some(at) => {
                    t.remove_at(at);
                    true
                }
                None => false,
            },
        }
    }

    /// The member at position `at` of the set's order (`at < len`).
    fn member_at(&self, at: usize) -> Vec<u8> {
        match &self.0 {
            Repr::Ints(s) => itoa::Buffer::new().format(s.get(at)).as_bytes().to_vec(),
            Repr::Table(t) => t.get(at).as_bytes().to_vec(),
        }
    }

    /// A uniformly random member of a non-empty set.
    pub fn random_member(&self, random: &mut dyn FnMut() -> u64) -> Vec<u8> {
        self.member_at((random() % self.len() as u64) as usize)
    }

    /// Removes and returns a uniformly random member of a non-empty set.
    pub fn pop_random(&mut self, random: &mut dyn FnMut() -> u64) -> Vec<u8> {
        let at = (random() % self.len() as u64) as usize;
        let member = self.member_at(at);
        match &mut self.0 {
            Repr::Ints(s) => s.remove_at(at),
            Repr::Table(t) => {
                t.remove_at(at);
            }
        }
        member
    }

    /// Calls `f` with every member: ascending for an intset, table order otherwise.
    pub fn for_each_member(&self, mut f: impl FnMut(&[u8])) {
        match &self.0 {
            Repr::Ints(s) => {
                let mut buf = itoa::Buffer::new();
                s.iter().for_each(|v| f(buf.format(v).as_bytes()));
            }
            Repr::Table(t) => t.iter().for_each(|m| f(m.as_bytes())),
        }
    }

    /// Every member, in the order [`SetValue::for_each_member`] gives.
    pub fn members(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_member(|m| out.push(m.to_vec()));
        out
    }

    /// One SSCAN step: an intset answers whole with cursor 0, as Redis does for its
    /// compact encodings; a hash table is walked by member hash.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Vec<u8>>) {
        match &self.0 {
            Repr::Ints(_) => (0, self.members()),
            Repr::Table(t) => {
                let (next, batch) = t.scan(cursor, count);
                (next, batch.iter().map(|m| m.as_bytes().to_vec()).collect())
            }
        }
    }

    /// The RDB object type this value is written as.
    pub(crate) fn rdb_type(&self) -> u8 {
        match self.0 {
            Repr::Ints(_) => op::TYPE_SET_INTSET,
            Repr::Table(_) => op::TYPE_SET,
        }
    }

    /// Appends the value's RDB encoding, without its type byte.
    pub(crate) fn write_rdb(&self, out: &mut Vec<u8>, compress: bool) {
        match &self.0 {
            Repr::Ints(s) => put_string(out, s.as_bytes(), compress),
            Repr::Table(t) => {
                put_length(out, t.len() as u64);
                for m in t.iter() {
                    put_string(out, m.as_bytes(), compress);
                }
            }
        }
    }

    /// Reads a value of RDB object type `kind`, encoded as Redis would encode it under
    /// `limits`; corrupt, duplicate or empty content is an error.
    pub(crate) fn read_rdb(
        src: &mut impl Source,
        kind: u8,
        limits: ReadLimits,
    ) -> Result<Self, RdbError> {
        let enc = &limits.encoding;
        let set = match kind {
            op::TYPE_SET => {
                let len = read_plain_length(src)?;
                // A set too big for an intset is a hash table from the start, as in Redis.
                let mut set = if len > enc.set_max_intset_entries as u64 {
                    // The length is untrusted: reserve only what a sane file would need.
                    SetValue(Repr::Table(Box::new(Table::with_capacity(
                        len.min(1 << 16) as usize,
                    ))))
                } else {
                    SetValue::empty_intset()
                };
                for _ in 0..len {
                    let member = read_string(src, limits.max_len)?;
                    if !set.add(&member, enc) {
                        return Err(RdbError::Corrupt("duplicate set member"));
                    }
                }
                set
            }
            op::TYPE_SET_INTSET => {
                let blob = read_string(src, limits.max_len)?;
                let ints =
                    Intset::from_bytes(&blob).map_err(|_| RdbError::Corrupt("invalid intset"))?;
                let mut set = SetValue(Repr::Ints(ints));
                if set.len() > enc.set_max_intset_entries {
                    set.convert();
                }
                set
            }
            other => return Err(RdbError::UnsupportedType(other)),
        };
        if set.is_empty() {
            return Err(RdbError::Corrupt("empty set"));
        }
        Ok(set)
    }
}

impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        let mut same = self.len() == other.len();
        if same {
            self.for_each_member(|m| same &= other.contains(m));
        }
        same
    }
}

impl Eq for SetValue {}

impl std::fmt::Debug for SetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members: Vec<String> = self
            .members()
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        write!(f, "SetValue({}, {members:?})", self.encoding().name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize) -> EncodingLimits {
        EncodingLimits {
            set_max_intset_entries: max,
            ..EncodingLimits::default()
        }
    }

    fn round_trip(s: &SetValue, max: usize) -> SetValue {
        let mut out = Vec::new();
        s.write_rdb(&mut out, true);
        let mut read = ReadLimits::new(1 << 20);
        read.encoding = limits(max);
        let mut src = crate::rdb::Slice(&out);
        let back = SetValue::read_rdb(&mut src, s.rdb_type(), read).unwrap();
        assert!(src.0.is_empty());
        back
    }

    #[test]
    fn conversions_follow_redis() {
        let l = limits(3);
        let mut s = SetValue::for_member(b"1");
        assert_eq!(s.encoding(), Encoding::Intset);
        for m in [&b"1"[..], b"2", b"3"] {
            assert!(s.add(m, &l));
        }
        assert!(!s.add(b"2", &l));
        assert_eq!(s.encoding(), Encoding::Intset);
        assert!(s.add(b"4", &l));
        assert_eq!(s.encoding(), Encoding::Hashtable);
        assert!(s.remove(b"4") && s.remove(b"3"));
        assert_eq!(s.encoding(), Encoding::Hashtable, "never converts back");
        let mut t = SetValue::for_member(b"01");
        assert_eq!(t.encoding(), Encoding::Hashtable);
        let mut u = SetValue::for_member(b"7");
        u.add(b"7", &l);
        u.add(b"-0", &l);
        assert_eq!(u.encoding(), Encoding::Hashtable);
        assert!(u.contains(b"7") && u.contains(b"-0") && !u.contains(b"0"));
        t.add(b"01", &l);
        t.add(b"x", &l);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn rdb_round_trips_and_reencodes() {
        let l = limits(512);
        let mut ints = SetValue::empty_intset();
        for i in 0..10 {
            ints.add(format!("{}", i * 1000).as_bytes(), &l);
        }
        assert_eq!(ints.rdb_type(), op::TYPE_SET_INTSET);
        let back = round_trip(&ints, 512);
        assert_eq!(back, ints);
        assert_eq!(back.encoding(), Encoding::Intset);
        // Over the limit of the loading server: converted on load.
        assert_eq!(round_trip(&ints, 5).encoding(), Encoding::Hashtable);
        let mut words = SetValue::for_member(b"a");
        for m in ["a", "b", "12"] {
            words.add(m.as_bytes(), &l);
        }
        let back = round_trip(&words, 512);
        assert_eq!(back, words);
        assert_eq!(back.encoding(), Encoding::Hashtable);
    }

    #[test]
    fn corrupt_payloads_are_errors() {
        let read = ReadLimits::new(1 << 20);
        // Duplicate members, an empty set, a huge claimed length with no data.
        for (kind, bytes) in [
            (op::TYPE_SET, &b"\x02\x01a\x01a"[..]),
            (op::TYPE_SET, b"\x00"),
            (op::TYPE_SET, b"\x80\xff\xff\xff\xff"),
            (op::TYPE_SET_INTSET, b"\x08\x02\x00\x00\x00\x00\x00\x00\x00"),
            (op::TYPE_SET_INTSET, b"\x08\x02\x00\x00\x00\x01\x00\x00\x00"),
        ] {
            assert!(SetValue::read_rdb(&mut crate::rdb::Slice(bytes), kind, read).is_err());
        }
        // Damaged copies of good payloads: errors or values, never a panic.
        let l = limits(512);
        let mut ints = SetValue::empty_intset();
        let mut words = SetValue::for_member(b"a");
        for i in 0..30 {
            ints.add(format!("{}", i * 7919).as_bytes(), &l);
            words.add(format!("w{i}").as_bytes(), &l);
        }
        let mut seed = 11u64;
        for value in [&ints, &words] {
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
                let _ = SetValue::read_rdb(&mut crate::rdb::Slice(&bad), value.rdb_type(), read);
            }
        }
    }
}
