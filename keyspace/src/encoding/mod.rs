//! Redis's compact encodings, byte for byte: what RDB files and DUMP payloads carry.

pub mod intset;
