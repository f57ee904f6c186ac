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
        self.0
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte != 0)
            .flat_map(|(i, &byte)| {
                (0..8u16)
                    .filter(move |bit| byte & (1 << bit) != 0)
                    .map(move |bit| i as u16 * 8 + bit)
            })
    }

    /// Contiguous ranges `(first, last)`, ascending. Works a byte at a time where the
    /// bitmap is all set or all clear, which is nearly everywhere: this runs for every
    /// node at every nodes.conf save.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        let mut open: Option<u16> = None;
        let mut visit = |slot: u16, set: bool| match (set, open) {
            (true, None) => open = Some(slot),
            (false, Some(start)) => {
                out.push((start, slot - 1));
                open = None;
            }
            _ => {}
        };
        for (i, &byte) in self.0.iter().enumerate() {
            let first = i as u16 * 8;
            match byte {
                0x00 | 0xff => visit(first, byte == 0xff),
                _ => (0..8).for_each(|bit| visit(first + bit, byte & (1 << bit) != 0)),
            }
        }
        if let Some(start) = open {
            out.push((start, SLOTS as u16 - 1));
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

    #[test]
    fn ranges_and_iter_agree_with_membership() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..200 {
            let mut b = SlotBitmap::new();
            // Runs of random lengths, set or clear, like real slot maps plus noise.
            let mut slot = 0usize;
            while slot < SLOTS {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = 1 + (seed % if round % 2 == 0 { 9 } else { 3000 }) as usize;
                if seed & (1 << 40) != 0 {
                    (slot..(slot + len).min(SLOTS)).for_each(|s| b.insert(s as u16));
                }
                slot += len;
            }
            let members: Vec<u16> = (0..SLOTS as u16).filter(|&s| b.contains(s)).collect();
            assert_eq!(b.iter().collect::<Vec<_>>(), members);
            let mut naive: Vec<(u16, u16)> = Vec::new();
            for &s in &members {
                match naive.last_mut() {
                    Some((_, last)) if *last + 1 == s => *last = s,
                    _ => naive.push((s, s)),
                }
            }
            assert_eq!(b.ranges(), naive);
        }
    }
}
