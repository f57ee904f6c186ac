//! The Redis 7.0 cluster bus.
//!
//! - [`wire`]: the `clusterMsg` codec, byte for byte as Redis 7.0 writes it.
//! - [`topology`]: the cluster as one node sees it.
//! - [`engine`]: the sans-IO protocol state machine.
//!
//! This crate knows nothing of keys and values, and holds no sockets and no tokio: the
//! shell that drives the engine (sockets, timers, nodes.conf saves, the handle the node
//! uses) is `tessera-cluster-bus-runtime`.

pub mod engine;
pub mod node_id;
pub mod slot_bitmap;
pub mod topology;
pub mod wire;

pub use node_id::NodeId;
pub use slot_bitmap::SlotBitmap;
