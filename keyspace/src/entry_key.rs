//! A slot table entry's key together with the key's access clock, in 24 bytes.
//!
//! Every key carries a 24-bit access clock (`crate::access`), as Redis's objects carry
//! `lru:24`. A separate field would push an entry (key and value, 48 bytes) into the
//! allocator's next size class, 64 bytes: 16 more bytes per key. Here the clock takes
//! three bytes the key would otherwise spend on inline contents (19 instead of
//! [`crate::compact_bytes::INLINE_CAPACITY`]) or leave as padding (beside a heap pointer).

use crate::compact_bytes::CompactBytes;

/// Longest key stored inline beside its clock.
pub const INLINE_KEY: usize = 19;

/// The clock's width: Redis's LRU_BITS.
pub const CLOCK_BITS: u32 = 24;

/// A key and its access clock. Always 24 bytes.
pub enum EntryKey {
    /// Up to [`INLINE_KEY`] bytes kept in place.
    #[doc(hidden)]
    Inline {
        /// Number of used bytes in `data`.
        len: u8,
        /// The content, zero padded.
        data: [u8; INLINE_KEY],
        /// The access clock, little-endian.
        clock: [u8; 3],
    },
    /// Longer content on the heap.
    #[doc(hidden)]
    Heap {
        /// The access clock, little-endian.
        clock: [u8; 3],
        /// The content.
        bytes: Box<[u8]>,
    },
}

const _: () = assert!(std::mem::size_of::<EntryKey>() == 24);

fn clock_bytes(stamp: u32) -> [u8; 3] {
    debug_assert!(stamp >> CLOCK_BITS == 0, "a stamp fits the clock's 24 bits");
    let b = stamp.to_le_bytes();
    [b[0], b[1], b[2]]
}

impl EntryKey {
    /// `bytes` with the access clock at `stamp` (24 bits).
    pub fn new(bytes: &[u8], stamp: u32) -> EntryKey {
        let clock = clock_bytes(stamp);
        if bytes.len() <= INLINE_KEY {
            let mut data = [0u8; INLINE_KEY];
            data[..bytes.len()].copy_from_slice(bytes);
            EntryKey::Inline {
                len: bytes.len() as u8,
                data,
                clock,
            }
        } else {
            EntryKey::Heap {
                clock,
                bytes: bytes.into(),
            }
        }
    }

    /// The key's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            EntryKey::Inline { len, data, .. } => &data[..*len as usize],
            EntryKey::Heap { bytes, .. } => bytes,
        }
    }

    /// The key as a free-standing compact string.
    pub fn to_compact(&self) -> CompactBytes {
        CompactBytes::new(self.as_bytes())
    }

    /// Bytes allocated on the heap for the key (0 when inline).
    pub fn heap_size(&self) -> usize {
        match self {
            EntryKey::Inline { .. } => 0,
            EntryKey::Heap { bytes, .. } => bytes.len(),
        }
    }

    /// The access clock.
    #[inline]
    pub fn stamp(&self) -> u32 {
        let c = match self {
            EntryKey::Inline { clock, .. } | EntryKey::Heap { clock, .. } => clock,
        };
        u32::from_le_bytes([c[0], c[1], c[2], 0])
    }

    /// Sets the access clock (24 bits).
    #[inline]
    pub fn set_stamp(&mut self, stamp: u32) {
        let c = match self {
            EntryKey::Inline { clock, .. } | EntryKey::Heap { clock, .. } => clock,
        };
        *c = clock_bytes(stamp);
    }
}

impl std::fmt::Debug for EntryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryKey")
            .field("key", &String::from_utf8_lossy(self.as_bytes()))
            .field("stamp", &self.stamp())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_length_keep_their_bytes_and_clock() {
        for len in [0, 1, INLINE_KEY, INLINE_KEY + 1, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut key = EntryKey::new(&bytes, 0xAB_CDEF);
            assert_eq!(key.as_bytes(), &bytes[..]);
            assert_eq!(key.stamp(), 0xAB_CDEF);
            key.set_stamp(7);
            assert_eq!((key.as_bytes(), key.stamp()), (&bytes[..], 7));
            assert_eq!(key.heap_size(), if len > INLINE_KEY { len } else { 0 });
        }
    }
}
