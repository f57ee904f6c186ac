//! Which of the 16384 hash slots a key belongs to.
//!
//! Redis Cluster hashes keys with CRC16/XMODEM and keeps the low 14 bits. A key may pin
//! itself to the slot of another key with a hash tag: the bytes between the first `{`
//! and the first `}` after it, when that span is not empty. Clients compute the same
//! function, so it must match Redis bit for bit.

/// Number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: usize = 16384;

/// The part of `key` that is hashed: its hash tag when it has a non-empty one, else the
/// whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    let rest = &key[open + 1..];
    match rest.iter().position(|&b| b == b'}') {
        Some(0) | None => key,
        Some(close) => &rest[..close],
    }
}

/// The hash slot of `key`, in `0..16384`.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(hash_tag(key)) & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_vectors() {
        let vectors: &[(&[u8], u16)] = &[
            (b"foo", 12182),
            (b"bar", 5061),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"123456789", 12739),
            (b"", 0),
            (b"{}", 15257),
            (b"{}foo", 9500),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"{", 4092),
            (b"}", 12090),
            (b"a{b", 13340),
        ];
        for &(key, slot) in vectors {
            assert_eq!(
                key_slot(key),
                slot,
                "key {:?}",
                String::from_utf8_lossy(key)
            );
        }
    }

    #[test]
    fn crc16_check_value() {
        assert_eq!(
            crc16::State::<crc16::XMODEM>::calculate(b"123456789"),
            0x31C3
        );
    }

    #[test]
    fn tag_rules() {
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"x{a}y{b}"), b"a");
        assert_eq!(hash_tag(b"{}{a}"), b"{}{a}");
    }
}
