//! The RDB format (version 10, as Redis 7.0 writes it): the files of SAVE/BGSAVE, the
//! payload of a full resync, and the object encoding DUMP/RESTORE use.
//!
//! A file is `REDIS0010`, auxiliary fields, function libraries (opcode 245 and the
//! library's code), then per database a SELECTDB and a RESIZEDB
//! followed by its keys (each optionally preceded by an expiry), an EOF opcode and the
//! CRC64 of everything before it, little-endian. Pure encoding over bytes: no files, no
//! sockets.

mod crc64;
pub mod encoding;
pub(crate) mod lzf;
mod payload;
mod reader;
mod snapshot;
mod writer;

pub use crc64::{checksum as crc64, update as crc64_update};
#[cfg(test)]
pub(crate) use payload::Slice;
pub use payload::{
    DumpError, dump, dump_libraries, open as open_payload, restore, restore_libraries,
    seal as seal_payload,
};
pub use reader::{RdbEntry, RdbItem, RdbReader, decode_value};
pub use snapshot::{LoadStats, load_keyspace, write_keyspace, write_locked};
pub use writer::{AuxValue, RdbWriter, encode_entry, encode_value};

/// The RDB version written, and the newest one read.
pub const RDB_VERSION: u32 = 10;

/// Opcodes and object types.
pub(crate) mod op {
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
    pub const TYPE_STRING: u8 = 0;
    pub const TYPE_LIST: u8 = 1;
    pub const TYPE_SET: u8 = 2;
    pub const TYPE_ZSET: u8 = 3;
    pub const TYPE_HASH: u8 = 4;
    pub const TYPE_ZSET_2: u8 = 5;
    pub const TYPE_HASH_ZIPMAP: u8 = 9;
    pub const TYPE_LIST_ZIPLIST: u8 = 10;
    pub const TYPE_SET_INTSET: u8 = 11;
    pub const TYPE_ZSET_ZIPLIST: u8 = 12;
    pub const TYPE_HASH_ZIPLIST: u8 = 13;
    pub const TYPE_LIST_QUICKLIST: u8 = 14;
    pub const TYPE_HASH_LISTPACK: u8 = 16;
    pub const TYPE_ZSET_LISTPACK: u8 = 17;
    pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
}

/// What a reader accepts and how it encodes what it loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Longest string accepted: a longer length is treated as corruption, so a
    /// damaged length cannot make the reader allocate without bound.
    pub max_len: u64,
    /// The thresholds that choose a loaded collection's encoding, as Redis converts a
    /// listpack that is over them when it loads one.
    pub encoding: crate::EncodingLimits,
}

impl ReadLimits {
    /// Strings up to `max_len`, encodings at Redis's default thresholds.
    pub fn new(max_len: u64) -> ReadLimits {
        ReadLimits {
            max_len,
            encoding: crate::EncodingLimits::default(),
        }
    }
}

/// Why RDB bytes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    /// Reading failed, or the data ended early.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// The data does not start with `REDIS`.
    #[error("wrong signature: not an RDB file")]
    BadMagic,
    /// A newer format than this server reads.
    #[error("can't handle RDB format version {0}")]
    UnsupportedVersion(u32),
    /// Malformed content.
    #[error("corrupt RDB data: {0}")]
    Corrupt(&'static str),
    /// The CRC64 does not match.
    #[error("wrong RDB checksum")]
    ChecksumMismatch,
    /// A value type this server does not store yet.
    #[error("unsupported value type {0}")]
    UnsupportedType(u8),
    /// An opcode this server does not handle (modules, functions).
    #[error("unsupported RDB opcode {0:#04x}")]
    UnsupportedOpcode(u8),
    /// A database index beyond the configured number of databases.
    #[error("data for database {0}, but only {1} databases are configured")]
    DatabaseOutOfRange(u64, usize),
}
