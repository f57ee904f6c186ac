//! The replication backlog: the last `capacity` bytes of the replication stream, so a
//! replica that lost its link can continue from where it stopped instead of starting
//! over with a full sync.
//!
//! Offsets are Redis's: the offset of the stream is the number of bytes ever written to
//! it (`master_repl_offset`), and a replica asks to continue from the offset of the
//! first byte it lacks, which is its own offset plus one.

/// A ring buffer over the tail of the replication stream.
#[derive(Debug)]
pub struct Backlog {
    ring: Vec<u8>,
    capacity: usize,
    /// Where the next byte goes in `ring` once it is full.
    head: usize,
    /// Bytes ever written: the stream's offset.
    offset: u64,
}

impl Backlog {
    /// An empty backlog holding up to `capacity` bytes (at least 1), starting at stream
    /// offset `offset`.
    pub fn new(capacity: usize, offset: u64) -> Backlog {
        let capacity = capacity.max(1);
        Backlog {
            ring: Vec::new(),
            capacity,
            head: 0,
            offset,
        }
    }

    /// The stream offset: bytes ever written.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes are held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The configured size.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The offset of the first byte held (Redis's `repl_backlog_first_byte_offset`):
    /// one more than the offset just before it.
    pub fn first_byte_offset(&self) -> u64 {
        self.offset - self.ring.len() as u64 + 1
    }

    /// Appends stream bytes, dropping the oldest beyond the capacity.
    pub fn append(&mut self, mut bytes: &[u8]) {
        self.offset += bytes.len() as u64;
        if bytes.len() >= self.capacity {
            bytes = &bytes[bytes.len() - self.capacity..];
            self.ring.clear();
            self.ring.extend_from_slice(bytes);
            self.head = 0;
            return;
        }
        let room = self.capacity - self.ring.len();
        let (fill, wrap) = bytes.split_at(room.min(bytes.len()));
        self.ring.extend_from_slice(fill);
        // Full: overwrite the oldest bytes, starting at the head.
        let mut rest = wrap;
        while !rest.is_empty() {
            let n = rest.len().min(self.capacity - self.head);
            self.ring[self.head..self.head + n].copy_from_slice(&rest[..n]);
            self.head = (self.head + n) % self.capacity;
            rest = &rest[n..];
        }
    }

    /// True when a replica asking for the byte at `next` (its offset plus one) can be
    /// served from here.
    pub fn can_serve(&self, next: u64) -> bool {
        next >= self.first_byte_offset() && next <= self.offset + 1
    }

    /// The held bytes from stream position `next` (a first byte offset) on, as at most
    /// two slices in order; `None` when `next` is not held.
    pub fn read_from(&self, next: u64) -> Option<(&[u8], &[u8])> {
        if !self.can_serve(next) {
            return None;
        }
        let skip = (next - self.first_byte_offset()) as usize;
        if self.ring.len() < self.capacity {
            return Some((&self.ring[skip..], &[]));
        }
        // Oldest bytes start at the head.
        let (newer, older) = self.ring.split_at(self.head);
        if skip < older.len() {
            Some((&older[skip..], newer))
        } else {
            Some((&newer[skip - older.len()..], &[]))
        }
    }

    /// Resizes, keeping the newest bytes that still fit.
    pub fn resize(&mut self, capacity: usize) {
        let capacity = capacity.max(1);
        if capacity == self.capacity {
            return;
        }
        let mut held = Vec::with_capacity(self.ring.len());
        if let Some((a, b)) = self.read_from(self.first_byte_offset()) {
            held.extend_from_slice(a);
            held.extend_from_slice(b);
        }
        let keep = held.len().min(capacity);
        let offset = self.offset;
        *self = Backlog::new(capacity, offset - keep as u64);
        self.append(&held[held.len() - keep..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(b: &Backlog, next: u64) -> Option<Vec<u8>> {
        b.read_from(next).map(|(x, y)| [x, y].concat())
    }

    #[test]
    fn keeps_the_newest_bytes_and_counts_every_byte() {
        let mut b = Backlog::new(8, 0);
        assert_eq!(b.first_byte_offset(), 1);
        assert_eq!(held(&b, 1).unwrap(), b"");
        b.append(b"abcde");
        assert_eq!(b.offset(), 5);
        assert_eq!(held(&b, 1).unwrap(), b"abcde");
        assert_eq!(held(&b, 4).unwrap(), b"de");
        b.append(b"fghij");
        assert_eq!(b.offset(), 10);
        assert_eq!(b.first_byte_offset(), 3);
        assert_eq!(held(&b, 3).unwrap(), b"cdefghij");
        assert_eq!(held(&b, 9).unwrap(), b"ij");
        assert_eq!(held(&b, 11).unwrap(), b"", "caught up");
        assert!(held(&b, 2).is_none(), "already dropped");
        assert!(held(&b, 12).is_none(), "in the future");
        b.append(b"0123456789xyz");
        assert_eq!(held(&b, b.first_byte_offset()).unwrap(), b"56789xyz");
        assert_eq!(b.offset(), 23);
    }

    #[test]
    fn any_sequence_of_appends_and_resizes_matches_a_plain_tail() {
        let mut b = Backlog::new(13, 100);
        let mut model: Vec<u8> = Vec::new();
        let mut written = 0u64;
        for i in 0..300u32 {
            let chunk: Vec<u8> = (0..(i * 7 % 17)).map(|j| (i + j) as u8).collect();
            b.append(&chunk);
            written += chunk.len() as u64;
            model.extend_from_slice(&chunk);
            model.drain(..model.len().saturating_sub(b.capacity()));
            if i % 50 == 49 {
                b.resize(5 + (i as usize % 20));
                model.drain(..model.len().saturating_sub(b.capacity()));
            }
            assert_eq!(b.offset(), 100 + written);
            assert_eq!(held(&b, b.first_byte_offset()).unwrap(), model);
            assert_eq!(b.first_byte_offset(), b.offset() - model.len() as u64 + 1);
        }
    }
}
