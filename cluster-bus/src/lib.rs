//! The Redis 7.0 cluster bus.
//!
//! - [`wire`]: the `clusterMsg` codec, byte for byte as Redis 7.0 writes it.
//! - [`topology`]: the cluster as one node sees it.
//! - [`engine`]: the sans-IO protocol state machine.
//! - [`runtime`]: the tokio shell: sockets, timers, nodes.conf, the handle.
//!
//! This crate knows nothing of keys and values.

pub mod engine;
pub mod node_id;
pub mod runtime;
pub mod slot_bitmap;
pub mod topology;
pub mod wire;

pub use node_id::NodeId;
pub use slot_bitmap::SlotBitmap;
