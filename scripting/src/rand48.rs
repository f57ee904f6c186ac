//! The rand48 generator Redis gives `math.random`, so scripts see the same sequence on
//! every node and every platform (reseeded to 0 before each EVAL).

/// The largest value [`Rand48::next`] reduces modulo, as Redis's `REDIS_LRAND48_MAX`.
pub const MAX: i64 = i32::MAX as i64;

/// A rand48 state.
#[derive(Debug, Clone, Copy)]
pub struct Rand48 {
    x: u64,
}

impl Rand48 {
    /// Seeded as `srand48(seed)`.
    pub fn new(seed: i32) -> Rand48 {
        Rand48 {
            x: ((seed as u32 as u64) << 16) | 0x330E,
        }
    }

    /// The next `lrand48()` value: 31 random bits.
    pub fn next(&mut self) -> i64 {
        self.x = (self.x.wrapping_mul(0x5DEE_CE66D).wrapping_add(0xB)) & ((1 << 48) - 1);
        (self.x >> 17) as i64
    }
}
