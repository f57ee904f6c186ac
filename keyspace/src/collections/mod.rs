//! The collection types (hashes, lists, sets, sorted sets) with Redis 7.0's encodings.

pub mod hash;
pub mod list;
pub mod set;
mod table;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use zset::ZSetValue;
