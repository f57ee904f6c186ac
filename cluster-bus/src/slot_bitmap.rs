//! A set of hash slots in the bus's bitmap layout: slot `s` is bit `s & 7` (LSB first)
//! of byte `s >> 3`.

/// Bytes in a slot bitmap.
pub const SLOT_BITMAP_LEN: usize = 2048;
/// Number of hash slots.
pub const SLOTS: usize = 16384;

/// A set of slots, 2048 bytes as on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBitmap(Box<[u8; SLOT_BITMAP_LEN]>);

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap::new()
    }
}

impl SlotBitmap {
    /// The empty set.
    pub fn new() -> SlotBitmap {
        SlotBitmap(Box::new([0u8; SLOT_BITMAP_LEN]))
    }

    /// From the wire bytes.
    pub fn from_bytes(bytes: &[u8; SLOT_BITMAP_LEN]) -> SlotBitmap {
        SlotBitmap(Box::new(*bytes))
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8; SLOT_BITMAP_LEN] {
        &self.0
    }

    /// Whether `slot` is in the set.
    #[inline]
    pub fn contains(&self, slot: u16) -> bool {
        self.0[slot as usize >> 3] & (1 << (slot & 7)) != 0
    }

    /// Adds `slot`.
    #[inline]
    pub fn insert(&mut self, slot: u16) {
        self.0[slot as usize >> 3] |= 1 << (slot & 7);
    }

    /// Removes `slot`.
    #[inline]
    pub fn remove(&mut self, slot: u16) {
        self.0[slot as usize >> 3] &= !(1 << (slot & 7));
    }

    /// Number of slots in the set.
    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The slots in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..SLOTS as u16).filter(|&s| self.contains(s))
    }

    /// Contiguous ranges `(first, last)`, ascending.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for s in self.iter() {
            match out.last_mut() {
                Some((_, last)) if *last + 1 == s => *last = s,
                _ => out.push((s, s)),
            }
        }
        out
    }
}

impl std::fmt::Debug for SlotBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ranges()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_redis() {
        // Slots 0-5460 give bytes 0..681 = 0xFF and byte 682 = 0x1F (observed on 7.0.15).
        let mut b = SlotBitmap::new();
        for s in 0..=5460 {
            b.insert(s);
        }
        assert!(b.as_bytes()[..682].iter().all(|&x| x == 0xFF));
        assert_eq!(b.as_bytes()[682], 0x1F);
        assert_eq!(b.count(), 5461);
        assert_eq!(b.ranges(), vec![(0, 5460)]);
        b.remove(100);
        assert_eq!(b.ranges(), vec![(0, 99), (101, 5460)]);
    }
}
