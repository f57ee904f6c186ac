//! Tessera's keyspace: values, expiry and the key store, partitioned by hash slot.
//!
//! Every key lives in the table of its Redis Cluster hash slot ([`key_slot`]). A command
//! locks only the slots of its keys, so unrelated commands run in parallel, and the
//! per-slot tables make COUNTKEYSINSLOT, GETKEYSINSLOT and dropping a slot cost
//! O(keys in the slot). Command semantics (what SET NX or EXPIRE GT do) are plain
//! functions over a locked [`SlotTable`] that take the current time as an argument;
//! this crate knows nothing of sockets, RESP or cluster topology.

pub mod access;
pub mod active_expire;
mod announce;
pub mod bitfield;
pub mod bitmaps;
pub mod bits;
pub mod collections;
mod compact_bytes;
mod db;
pub mod encoding;
mod encoding_limits;
pub mod entry_key;
mod error;
pub mod evict;
pub mod generic;
pub mod glob;
mod hash_slot;
pub mod hashes;
pub mod lazyfree;
pub mod lcs;
pub mod lists;
pub mod long_double;
pub mod number;
pub mod rdb;
mod scan;
pub mod sets;
mod slot_table;
pub mod sort;
pub mod sorted_sets;
pub mod strings;
mod tx_locks;
mod value;

pub use announce::{Announce, AnnounceHook, ExpiredHook};
pub use compact_bytes::CompactBytes;
pub use db::{AllLocks, Db, Keyspace, ReadyHook, SlotGuard, SlotLocks};
pub use encoding_limits::EncodingLimits;
pub use error::{KeyspaceError, Result};
pub use hash_slot::{SLOT_COUNT, hash_tag, key_slot};
pub use scan::ScanFilter;
pub use slot_table::{Entry, ExpiryMode, SlotStats, SlotTable, is_past};
pub use tx_locks::{
    Footprint, TxLocks, running_extend, running_holds, running_holds_everything, running_in_order,
    running_try_extend,
};
pub use value::{Encoding, StrValue, Value, ValueType};
