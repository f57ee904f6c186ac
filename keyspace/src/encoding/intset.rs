//! Redis's intset: a sorted array of distinct integers in one buffer.
//!
//! The layout is Redis's byte for byte, so an RDB `SET_INTSET` payload is the buffer as
//! it is: a 4-byte little-endian width (2, 4 or 8 bytes per value), a 4-byte
//! little-endian count, then the values ascending, little-endian, all of that width.
//! Inserting a value that does not fit widens every value (Redis's "upgrade"); the width
//! never narrows again, which is also what Redis does, so DUMP payloads stay identical.

/// Bytes before the first value: width and count.
const HEADER: usize = 8;

/// A sorted set of distinct `i64`s in Redis's intset layout.
#[derive(Clone, PartialEq, Eq)]
pub struct Intset {
    bytes: Vec<u8>,
}

/// Why intset bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntsetError(pub &'static str);

impl std::fmt::Display for IntsetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "corrupt intset: {}", self.0)
    }
}

impl std::fmt::Debug for Intset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Intset {
    fn default() -> Self {
        Intset::new()
    }
}

/// The narrowest width (2, 4 or 8) that holds `v`.
fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

impl Intset {
    /// Bytes allocated for the buffer (MEMORY USAGE).
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// An empty intset of the narrowest width.
    pub fn new() -> Intset {
        let mut bytes = Vec::with_capacity(HEADER);
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        Intset { bytes }
    }

    /// Checks bytes from an RDB file or a RESTORE payload: a known width, a count that
    /// matches the size, values strictly ascending. Anything else is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Intset, IntsetError> {
        if bytes.len() < HEADER {
            return Err(IntsetError("shorter than its header"));
        }
        let width = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
        if !matches!(width, 2 | 4 | 8) {
            return Err(IntsetError("unknown width"));
        }
        let count = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
        if count.checked_mul(width).and_then(|n| n.checked_add(HEADER)) != Some(bytes.len()) {
            return Err(IntsetError("count does not match the size"));
        }
        let set = Intset {
            bytes: bytes.to_vec(),
        };
        let mut previous = None;
        for v in set.iter() {
            if previous.is_some_and(|p| p >= v) {
                return Err(IntsetError("values not strictly ascending"));
            }
            previous = Some(v);
        }
        Ok(set)
    }

    /// The buffer in Redis's layout.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn width(&self) -> usize {
        u32::from_le_bytes(self.bytes[0..4].try_into().expect("header")) as usize
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        u32::from_le_bytes(self.bytes[4..8].try_into().expect("header")) as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_len(&mut self, n: usize) {
        self.bytes[4..8].copy_from_slice(&(n as u32).to_le_bytes());
    }

    /// The value at `index` (ascending order). Panics past the end.
    pub fn get(&self, index: usize) -> i64 {
        let w = self.width();
        let at = HEADER + index * w;
        let b = &self.bytes[at..at + w];
        match w {
            2 => i64::from(i16::from_le_bytes(b.try_into().expect("2 bytes"))),
            4 => i64::from(i32::from_le_bytes(b.try_into().expect("4 bytes"))),
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    }

    fn put(&mut self, index: usize, v: i64) {
        let w = self.width();
        let at = HEADER + index * w;
        self.bytes[at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
    }

    /// Where `v` is, or where it would go.
    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// True when `v` is present.
    pub fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.width() && self.search(v).is_ok()
    }

    /// Adds `v`; false when it was already present.
    pub fn insert(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            self.upgrade(width_for(v));
        }
        let at = match self.search(v) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let w = self.width();
        let len = self.len();
        let start = HEADER + at * w;
        self.bytes.splice(start..start, std::iter::repeat_n(0u8, w));
        self.set_len(len + 1);
        self.put(at, v);
        true
    }

    /// Rewrites every value at `width` bytes.
    fn upgrade(&mut self, width: usize) {
        let values: Vec<i64> = self.iter().collect();
        let mut bytes = Vec::with_capacity(HEADER + (values.len() + 1) * width);
        bytes.extend_from_slice(&(width as u32).to_le_bytes());
        bytes.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        self.bytes = bytes;
    }

    /// Removes `v`; false when it was absent.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            return false;
        }
        match self.search(v) {
            Ok(at) => {
                self.remove_at(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes the value at `index`.
    pub fn remove_at(&mut self, index: usize) {
        let w = self.width();
        let start = HEADER + index * w;
        self.bytes.drain(start..start + w);
        let len = self.len();
        self.set_len(len - 1);
        if self.bytes.capacity() > 2 * self.bytes.len() + 64 {
            self.bytes.shrink_to_fit();
        }
    }

    /// The values, ascending.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_redis() {
        // SADD s 1 2 3 then DUMP on redis-server 7.0.15: 02000000 03000000 0100 0200 0300.
        let mut s = Intset::new();
        for v in [3, 1, 2, 2] {
            s.insert(v);
        }
        assert_eq!(s.as_bytes(), [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
        s.insert(-70000);
        assert_eq!(s.as_bytes()[0], 4);
        assert_eq!(s.iter().collect::<Vec<_>>(), [-70000, 1, 2, 3]);
        s.insert(i64::MAX);
        assert_eq!(s.as_bytes()[0], 8);
        assert!(s.remove(i64::MAX));
        assert_eq!(s.as_bytes()[0], 8, "the width never narrows");
        assert!(s.contains(-70000) && !s.contains(5) && !s.remove(5));
        assert_eq!(Intset::from_bytes(s.as_bytes()).unwrap(), s);
    }

    #[test]
    fn corrupt_bytes_are_refused() {
        for bad in [
            &[][..],
            &[3, 0, 0, 0, 0, 0, 0, 0],
            &[2, 0, 0, 0, 1, 0, 0, 0],
            &[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0],
            &[2, 0, 0, 0, 255, 255, 255, 255],
        ] {
            assert!(Intset::from_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
