//! Redis's compact byte encodings, laid out byte for byte as Redis 7.0 lays them out, so
//! that RDB files and DUMP payloads carry them unchanged.

pub mod listpack;
pub mod ziplist;
