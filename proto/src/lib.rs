//! The gRPC admin API of a Tessera node.
//!
//! This crate will own the `.proto` files that define the admin service (inspection,
//! `WatchEvents`, cluster actions and orchestrated slot moves) and the Rust code that
//! tonic and prost generate from them, compiled with a pure-Rust protobuf compiler so a
//! fresh machine needs no system `protoc`. It arrives with the admin-plane issue.
