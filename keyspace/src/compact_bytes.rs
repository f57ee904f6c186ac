//! A byte string that stores short contents inline.
//!
//! Keys and small string values dominate a Redis workload, and most are a few dozen bytes
//! at most. Storing up to 22 bytes inside the 24-byte value itself saves an allocation
//! and a pointer chase per key; longer contents live in an exactly sized heap buffer.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest content stored inline.
pub const INLINE_CAPACITY: usize = 22;

/// An immutable byte string of any length, inline when short. Always 24 bytes.
#[derive(Clone)]
pub enum CompactBytes {
    /// Up to [`INLINE_CAPACITY`] bytes kept in place.
    #[doc(hidden)]
    Inline {
        /// Number of used bytes in `data`.
        len: u8,
        /// The content, zero padded.
        data: [u8; INLINE_CAPACITY],
    },
    /// Longer content on the heap.
    #[doc(hidden)]
    Heap(Box<[u8]>),
}

impl CompactBytes {
    /// Copies `bytes` into a new compact string.
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            let mut data = [0u8; INLINE_CAPACITY];
            data[..bytes.len()].copy_from_slice(bytes);
            CompactBytes::Inline {
                len: bytes.len() as u8,
                data,
            }
        } else {
            CompactBytes::Heap(bytes.into())
        }
    }

    /// The content.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => &data[..*len as usize],
            CompactBytes::Heap(b) => b,
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            CompactBytes::Inline { len, .. } => *len as usize,
            CompactBytes::Heap(b) => b.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated on the heap for this string (0 when inline).
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(bytes: &[u8]) -> Self {
        CompactBytes::new(bytes)
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            CompactBytes::new(&bytes)
        } else {
            CompactBytes::Heap(bytes.into_boxed_slice())
        }
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for CompactBytes {}

impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_24_bytes() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
    }

    #[test]
    fn round_trips_every_length_around_the_boundary() {
        for n in 0..40 {
            let v: Vec<u8> = (0..n as u8).collect();
            let c = CompactBytes::new(&v);
            assert_eq!(c.as_bytes(), &v[..]);
            assert_eq!(c.len(), n);
            assert_eq!(CompactBytes::from(v.clone()).as_bytes(), &v[..]);
            assert_eq!(c.heap_size() == 0, n <= INLINE_CAPACITY);
        }
    }
}
