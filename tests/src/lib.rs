//! Process-level tests: real `tessera` processes on loopback, driven by real clients.
//!
//! This library starts nodes (and real `redis-server` processes to compare with), finds
//! free ports, and waits for conditions with deadlines. The tests live in `tests/`.

pub mod admin;
pub mod bench;
pub mod bus;
pub mod cluster;
pub mod load;
pub mod memory;
pub mod network;
pub mod process;
pub mod replication;
pub mod wire;
pub mod writer;

pub use process::{RedisServer, TesseraNode, redis_cli, tessera_bin, wait_until};
pub use wire::{RawConnection, show, text};
