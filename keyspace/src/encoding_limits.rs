//! The thresholds at which a collection leaves its compact encoding.
//!
//! Redis keeps small collections in one contiguous buffer (listpack, intset) and converts
//! them to a hash table or skiplist when they grow past a directive's limit. OBJECT
//! ENCODING shows the choice, and RDB files record it, so Tessera converts at the same
//! points. The directives are read from the settings in force for each command.

/// Limits from the `*-max-*` encoding directives, with Redis 7.0's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    /// hash-max-listpack-entries: most fields a listpack hash holds.
    pub hash_max_listpack_entries: usize,
    /// hash-max-listpack-value: longest field or value a listpack hash holds.
    pub hash_max_listpack_value: usize,
    /// set-max-intset-entries: most members an intset holds.
    pub set_max_intset_entries: usize,
    /// zset-max-listpack-entries: most members a listpack sorted set holds.
    pub zset_max_listpack_entries: usize,
    /// zset-max-listpack-value: longest member a listpack sorted set holds.
    pub zset_max_listpack_value: usize,
    /// list-max-listpack-size: a quicklist node's limit; positive is a count of
    /// entries, -1 to -5 a size of 4, 8, 16, 32 or 64 KiB.
    pub list_max_listpack_size: i64,
    /// list-compress-depth: nodes at each end of a quicklist left uncompressed
    /// (0: none compressed).
    pub list_compress_depth: usize,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        // Read off redis-server 7.0.15's CONFIG GET.
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
        }
    }
}
