//! Redis 7.0's listpack: a sequence of strings and integers in one contiguous buffer.
//!
//! Layout (all multi-byte integers little-endian unless noted):
//! `total bytes: u32 | entry count: u16 (65535 = unknown) | entries... | 0xFF`.
//! An entry is `encoding+data | back-length`, where the back-length stores the size of
//! `encoding+data` in 1 to 5 bytes readable from right to left, so the list can be walked
//! backwards. Encodings, chosen by the first byte:
//!
//! | first byte | meaning                               | size          |
//! |------------|---------------------------------------|---------------|
//! | `0xxxxxxx` | unsigned 7-bit integer                | 1             |
//! | `10xxxxxx` | string, 6-bit length                  | 1 + len       |
//! | `110xxxxx` | signed 13-bit integer (with next byte)| 2             |
//! | `1110xxxx` | string, 12-bit length (with next byte)| 2 + len       |
//! | `0xF0`     | string, 32-bit length                 | 5 + len       |
//! | `0xF1..F4` | signed 16, 24, 32, 64-bit integer     | 3, 4, 5, 9    |
//!
//! A string that is a canonical decimal `i64` is stored as an integer, as Redis does, so
//! the bytes (and hence DUMP payloads and RDB files) match redis-server's exactly.

use std::fmt;

use crate::number::parse_i64;

/// Bytes before the first entry: total length and entry count.
const HEADER_SIZE: usize = 6;
/// The terminator byte.
const EOF: u8 = 0xFF;
/// The entry count value meaning "count them".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// One entry of a listpack, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpEntry<'a> {
    /// An entry stored with an integer encoding.
    Int(i64),
    /// An entry stored as a string.
    Str(&'a [u8]),
}

impl LpEntry<'_> {
    /// Calls `f` with the entry's bytes (an integer formatted in decimal on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            LpEntry::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            LpEntry::Str(s) => f(s),
        }
    }

    /// The entry's bytes, owned.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }

    /// Whether the entry's bytes equal `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        match *self {
            LpEntry::Str(s) => s == other,
            // Cheap rejection before formatting: an i64 is at most 20 characters.
            LpEntry::Int(n) => other.len() <= 20 && parse_i64(other) == Some(n),
        }
    }

    /// The entry as an integer: an integer entry, or a string that is a canonical `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            LpEntry::Int(n) => Some(n),
            LpEntry::Str(s) => parse_i64(s),
        }
    }

    /// An owned copy of the entry.
    pub fn to_owned_entry(&self) -> LpEntryOwned {
        match *self {
            LpEntry::Int(n) => LpEntryOwned::Int(n),
            LpEntry::Str(s) => LpEntryOwned::Str(s.to_vec()),
        }
    }
}

/// An owned listpack or ziplist entry (what the legacy ziplist reader returns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LpEntryOwned {
    /// An integer-encoded entry.
    Int(i64),
    /// A string entry.
    Str(Vec<u8>),
}

impl LpEntryOwned {
    /// The entry borrowed as an [`LpEntry`].
    pub fn as_entry(&self) -> LpEntry<'_> {
        match self {
            LpEntryOwned::Int(n) => LpEntry::Int(*n),
            LpEntryOwned::Str(s) => LpEntry::Str(s),
        }
    }
}

/// The bytes given as a listpack are not a well-formed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListpackError;

impl fmt::Display for ListpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("corrupt listpack")
    }
}

impl std::error::Error for ListpackError {}

/// A listpack in Redis 7.0's byte layout.
#[derive(Clone, PartialEq, Eq)]
pub struct Listpack {
    /// Always a complete, valid listpack (header, entries, terminator).
    buf: Vec<u8>,
}

impl Default for Listpack {
    fn default() -> Self {
        Listpack::new()
    }
}

impl fmt::Debug for Listpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An entry's encoding and data, ready to be written: header bytes on the stack, then
/// the string's bytes (empty for integers).
struct Encoded<'a> {
    head: [u8; 9],
    head_len: usize,
    data: &'a [u8],
}

impl<'a> Encoded<'a> {
    /// Encodes `value`, as an integer when it is a canonical `i64` (as Redis does).
    fn bytes(value: &'a [u8]) -> Encoded<'a> {
        if value.len() <= 20
            && let Some(n) = parse_i64(value)
        {
            return Encoded::int(n);
        }
        let len = value.len();
        let mut head = [0u8; 9];
        let head_len = if len < 64 {
            head[0] = 0x80 | len as u8;
            1
        } else if len < 4096 {
            head[0] = 0xE0 | (len >> 8) as u8;
            head[1] = (len & 0xFF) as u8;
            2
        } else {
            head[0] = 0xF0;
            // Callers cannot reach 4 GiB: a listpack's own length is a u32.
            head[1..5].copy_from_slice(&(len as u32).to_le_bytes());
            5
        };
        Encoded {
            head,
            head_len,
            data: value,
        }
    }

    /// Encodes an integer in the smallest of the integer encodings.
    fn int(n: i64) -> Encoded<'static> {
        let mut head = [0u8; 9];
        let head_len = if (0..=127).contains(&n) {
            head[0] = n as u8;
            1
        } else if (-4096..=4095).contains(&n) {
            let u = (n as u16) & 0x1FFF;
            head[0] = 0xC0 | (u >> 8) as u8;
            head[1] = (u & 0xFF) as u8;
            2
        } else if i16::try_from(n).is_ok() {
            head[0] = 0xF1;
            head[1..3].copy_from_slice(&(n as i16).to_le_bytes());
            3
        } else if (-(1 << 23)..(1 << 23)).contains(&n) {
            head[0] = 0xF2;
            head[1..4].copy_from_slice(&(n as i32).to_le_bytes()[..3]);
            4
        } else if i32::try_from(n).is_ok() {
            head[0] = 0xF3;
            head[1..5].copy_from_slice(&(n as i32).to_le_bytes());
            5
        } else {
            head[0] = 0xF4;
            head[1..9].copy_from_slice(&n.to_le_bytes());
            9
        };
        Encoded {
            head,
            head_len,
            data: &[],
        }
    }

    /// Size of encoding plus data (what the back-length records).
    fn len(&self) -> usize {
        self.head_len + self.data.len()
    }

    /// Size of the whole entry, back-length included.
    fn total_len(&self) -> usize {
        self.len() + backlen_size(self.len())
    }

    /// Writes the whole entry into `out`, which is exactly `total_len` bytes.
    fn write(&self, out: &mut [u8]) {
        let (head, rest) = out.split_at_mut(self.head_len);
        head.copy_from_slice(&self.head[..self.head_len]);
        let (data, back) = rest.split_at_mut(self.data.len());
        data.copy_from_slice(self.data);
        write_backlen(self.len(), back);
    }
}

/// Bytes the back-length of an entry of `len` bytes takes (Redis's thresholds, which
/// are one short of the 7-bit group boundaries above the first).
fn backlen_size(len: usize) -> usize {
    if len <= 127 {
        1
    } else if len < 16383 {
        2
    } else if len < 2_097_151 {
        3
    } else if len < 268_435_455 {
        4
    } else {
        5
    }
}

/// Writes the back-length of `len` into `out` (its size is `backlen_size(len)`): the
/// most significant 7-bit group first, every byte after the first flagged with 0x80 so a
/// reader going right to left knows to continue.
fn write_backlen(len: usize, out: &mut [u8]) {
    let n = out.len();
    for (i, byte) in out.iter_mut().enumerate() {
        let shift = 7 * (n - 1 - i);
        let group = ((len >> shift) & 0x7F) as u8;
        *byte = if i == 0 { group } else { group | 0x80 };
    }
}

/// Reads a back-length ending at `buf[end - 1]`, going left: `(value, bytes used)`, or
/// `None` when it runs off `buf[..end]` or is longer than 5 bytes.
fn read_backlen(buf: &[u8], end: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for used in 1..=5 {
        let byte = *buf.get(end.checked_sub(used)?)?;
        value |= usize::from(byte & 0x7F) << (7 * (used - 1));
        if byte & 0x80 == 0 {
            return Some((value, used));
        }
    }
    None
}

/// Decodes the entry whose encoding starts at `buf[pos]`: the entry and the size of its
/// encoding plus data. `None` when the bytes run past `limit` or the encoding is unknown
/// (the terminator included).
fn decode(buf: &[u8], pos: usize, limit: usize) -> Option<(LpEntry<'_>, usize)> {
    let buf = buf.get(..limit)?;
    let b = *buf.get(pos)?;
    let byte = |i: usize| buf.get(pos + i).copied();
    let le = |n: usize| -> Option<u64> {
        let bytes = buf.get(pos + 1..pos + 1 + n)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
        )
    };
    let string = |start: usize, len: usize| -> Option<(LpEntry<'_>, usize)> {
        let end = pos.checked_add(start)?.checked_add(len)?;
        Some((LpEntry::Str(buf.get(pos + start..end)?), start + len))
    };
    match b {
        0x00..=0x7F => Some((LpEntry::Int(i64::from(b)), 1)),
        0x80..=0xBF => string(1, usize::from(b & 0x3F)),
        0xC0..=0xDF => {
            let u = (i64::from(b & 0x1F) << 8) | i64::from(byte(1)?);
            Some((LpEntry::Int(if u >= 4096 { u - 8192 } else { u }), 2))
        }
        0xE0..=0xEF => string(2, (usize::from(b & 0x0F) << 8) | usize::from(byte(1)?)),
        0xF0 => string(5, usize::try_from(le(4)?).ok()?),
        0xF1 => Some((LpEntry::Int(i64::from(le(2)? as u16 as i16)), 3)),
        0xF2 => {
            // Sign-extend 24 bits.
            let v = ((le(3)? as i64) << 40) >> 40;
            Some((LpEntry::Int(v), 4))
        }
        0xF3 => Some((LpEntry::Int(i64::from(le(4)? as u32 as i32)), 5)),
        0xF4 => Some((LpEntry::Int(le(8)? as i64), 9)),
        _ => None,
    }
}

impl Listpack {
    /// An empty listpack (7 bytes, as Redis's `lpNew`).
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(HEADER_SIZE + 1);
        buf.extend_from_slice(&7u32.to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.push(EOF);
        Listpack { buf }
    }

    /// Parses and fully validates `bytes` (header length, every entry's encoding and
    /// back-length, the count, the terminator). Safe on arbitrary input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ListpackError> {
        validate(bytes)?;
        Ok(Listpack {
            buf: bytes.to_vec(),
        })
    }

    /// Builds a listpack holding `values` in order.
    pub fn from_values<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Self {
        let mut lp = Listpack::new();
        for v in values {
            lp.push_back(v);
        }
        lp
    }

    /// The listpack's bytes, exactly as Redis stores them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        match self.header_count() {
            COUNT_UNKNOWN => self.iter_positions().count(),
            n => usize::from(n),
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.buf[HEADER_SIZE] == EOF
    }

    /// The size in bytes (header and terminator included).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The entry at `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<LpEntry<'_>> {
        let pos = self.position(index)?;
        Some(self.entry_at(pos).0)
    }

    /// Iterates over the entries, front to back (or back to front with `.rev()`).
    pub fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            front: HEADER_SIZE,
            back: self.buf.len() - 1,
            remaining: self.len(),
        }
    }

    /// Appends `value` (as an integer when it is a canonical `i64`).
    pub fn push_back(&mut self, value: &[u8]) {
        let end = self.buf.len() - 1;
        self.insert_encoded(end, &Encoded::bytes(value));
    }

    /// Prepends `value`.
    pub fn push_front(&mut self, value: &[u8]) {
        self.insert_encoded(HEADER_SIZE, &Encoded::bytes(value));
    }

    /// Appends an integer.
    pub fn push_back_int(&mut self, value: i64) {
        let end = self.buf.len() - 1;
        self.insert_encoded(end, &Encoded::int(value));
    }

    /// Inserts `value` before the entry at `index`; `index == len` appends.
    ///
    /// # Panics
    /// When `index > len`.
    pub fn insert(&mut self, index: usize, value: &[u8]) {
        let pos = self.position_or_end(index);
        self.insert_encoded(pos, &Encoded::bytes(value));
    }

    /// Replaces the entry at `index` with `value`.
    ///
    /// # Panics
    /// When `index >= len`.
    pub fn replace(&mut self, index: usize, value: &[u8]) {
        let pos = self.position(index).expect("replace: index in range");
        let old = self.entry_total_len(pos);
        let enc = Encoded::bytes(value);
        self.splice_room(pos, old, enc.total_len());
        enc.write(&mut self.buf[pos..pos + enc.total_len()]);
        self.set_total_bytes();
    }

    /// Removes the entry at `index`.
    ///
    /// # Panics
    /// When `index >= len`.
    pub fn remove(&mut self, index: usize) {
        self.remove_range(index, 1);
    }

    /// Removes `count` entries starting at `index` (fewer when the end comes first).
    pub fn remove_range(&mut self, index: usize, count: usize) {
        let Some(start) = self.position(index) else {
            return;
        };
        let mut end = start;
        let mut removed = 0;
        while removed < count && self.buf[end] != EOF {
            end += self.entry_total_len(end);
            removed += 1;
        }
        self.buf.drain(start..end);
        self.adjust_count(-(removed as i64));
        self.set_total_bytes();
    }

    /// The first index at or after `start`, stepping by `step` (2 for field/value pairs),
    /// whose entry equals `value`.
    pub fn find(&self, value: &[u8], start: usize, step: usize) -> Option<usize> {
        let step = step.max(1);
        // Compare integers as integers, strings as bytes, as Redis's lpFind does.
        let as_int = if value.len() <= 20 {
            parse_i64(value)
        } else {
            None
        };
        let mut pos = self.position(start)?;
        let mut index = start;
        loop {
            let (entry, _) = self.entry_at(pos);
            let hit = match (entry, as_int) {
                (LpEntry::Int(n), Some(v)) => n == v,
                (LpEntry::Int(_), None) => false,
                (LpEntry::Str(s), _) => s == value,
            };
            if hit {
                return Some(index);
            }
            for _ in 0..step {
                pos += self.entry_total_len(pos);
                if self.buf[pos] == EOF {
                    return None;
                }
            }
            index += step;
        }
    }

    /// Consumes the listpack, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Frees spare capacity (after building a listpack in one go).
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Bytes allocated for the listpack (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn header_count(&self) -> u16 {
        u16::from_le_bytes([self.buf[4], self.buf[5]])
    }

    /// Decodes the entry at byte offset `pos` of our (valid) buffer.
    fn entry_at(&self, pos: usize) -> (LpEntry<'_>, usize) {
        decode(&self.buf, pos, self.buf.len()).expect("a valid listpack decodes")
    }

    /// Size of the entry at `pos` including its back-length.
    fn entry_total_len(&self, pos: usize) -> usize {
        let len = self.entry_at(pos).1;
        len + backlen_size(len)
    }

    /// Byte offsets of the entries, front to back.
    fn iter_positions(&self) -> impl Iterator<Item = usize> + '_ {
        let mut pos = HEADER_SIZE;
        std::iter::from_fn(move || {
            if self.buf[pos] == EOF {
                return None;
            }
            let at = pos;
            pos += self.entry_total_len(pos);
            Some(at)
        })
    }

    /// Byte offset of entry `index`, walking from the nearer end.
    fn position(&self, index: usize) -> Option<usize> {
        let count = self.header_count();
        if count != COUNT_UNKNOWN && index >= usize::from(count) {
            return None;
        }
        if count != COUNT_UNKNOWN && index > usize::from(count) / 2 {
            let mut pos = self.buf.len() - 1;
            for _ in index..usize::from(count) {
                let (len, used) = read_backlen(&self.buf, pos).expect("valid back-length");
                pos -= len + used;
            }
            return Some(pos);
        }
        self.iter_positions().nth(index)
    }

    fn position_or_end(&self, index: usize) -> usize {
        match self.position(index) {
            Some(pos) => pos,
            None => {
                assert_eq!(index, self.len(), "insert: index in range");
                self.buf.len() - 1
            }
        }
    }

    /// Resizes the `old`-byte region at `pos` to `new` bytes, moving the tail.
    fn splice_room(&mut self, pos: usize, old: usize, new: usize) {
        let len = self.buf.len();
        if new > old {
            // Grow exactly: listpacks are sized tightly, as Redis's realloc-per-insert does.
            self.buf.reserve_exact(new - old);
            self.buf.resize(len + new - old, 0);
            self.buf.copy_within(pos + old..len, pos + new);
        } else if new < old {
            self.buf.copy_within(pos + old..len, pos + new);
            self.buf.truncate(len - (old - new));
        }
    }

    fn insert_encoded(&mut self, pos: usize, enc: &Encoded<'_>) {
        let total = enc.total_len();
        self.splice_room(pos, 0, total);
        enc.write(&mut self.buf[pos..pos + total]);
        self.adjust_count(1);
        self.set_total_bytes();
    }

    /// Updates the header count as Redis does: once it reaches 65535 it stays "unknown"
    /// until a count shows it fits again.
    fn adjust_count(&mut self, delta: i64) {
        let count = self.header_count();
        let new = if count == COUNT_UNKNOWN {
            if delta >= 0 {
                return;
            }
            // Redis recounts lazily (lpLength); recounting here keeps len() cheap.
            self.iter_positions().count()
        } else {
            (i64::from(count) + delta) as usize
        };
        let stored = u16::try_from(new).unwrap_or(COUNT_UNKNOWN);
        self.buf[4..6].copy_from_slice(&stored.to_le_bytes());
    }

    fn set_total_bytes(&mut self) {
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
    }
}

/// Checks every structural rule of a listpack; never panics, never loops past the input.
fn validate(bytes: &[u8]) -> Result<(), ListpackError> {
    if bytes.len() < HEADER_SIZE + 1 {
        return Err(ListpackError);
    }
    let total = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if total != bytes.len() || bytes[total - 1] != EOF {
        return Err(ListpackError);
    }
    let declared = u16::from_le_bytes([bytes[4], bytes[5]]);
    let end = total - 1;
    let mut pos = HEADER_SIZE;
    let mut count = 0usize;
    while pos < end {
        let (_, len) = decode(bytes, pos, end).ok_or(ListpackError)?;
        let back_end = pos
            .checked_add(len)
            .and_then(|p| p.checked_add(backlen_size(len)))
            .filter(|&p| p <= end)
            .ok_or(ListpackError)?;
        let (back, used) = read_backlen(bytes, back_end).ok_or(ListpackError)?;
        if back != len || used != backlen_size(len) {
            return Err(ListpackError);
        }
        pos = back_end;
        count += 1;
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != count {
        return Err(ListpackError);
    }
    Ok(())
}

/// Iterator over a listpack's entries, from either end.
#[derive(Clone, Debug)]
pub struct ListpackIter<'a> {
    buf: &'a [u8],
    /// Offset of the next entry from the front.
    front: usize,
    /// Offset just past the next entry from the back (its back-length's end).
    back: usize,
    remaining: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let (entry, len) = decode(self.buf, self.front, self.buf.len()).expect("valid listpack");
        self.front += len + backlen_size(len);
        self.remaining -= 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for ListpackIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (len, used) = read_backlen(self.buf, self.back).expect("valid back-length");
        self.back -= len + used;
        self.remaining -= 1;
        Some(
            decode(self.buf, self.back, self.buf.len())
                .expect("valid listpack")
                .0,
        )
    }
}

impl ExactSizeIterator for ListpackIter<'_> {}

impl<'a> IntoIterator for &'a Listpack {
    type Item = LpEntry<'a>;
    type IntoIter = ListpackIter<'a>;

    fn into_iter(self) -> ListpackIter<'a> {
        self.iter()
    }
}

#[cfg(test)]
#[path = "listpack_tests.rs"]
mod tests;
