//! The gRPC admin API of a Tessera node.
//!
//! The contract lives in `proto/tessera/admin/v1/admin.proto`; this crate is the Rust
//! code tonic and prost generate from it (messages, [`admin_client`], [`admin_server`])
//! and the encoded descriptor set that server reflection hands to tools.

#![allow(missing_docs)] // The generated code carries the .proto comments, not all items have one.
#![allow(clippy::all)]

tonic::include_proto!("tessera.admin.v1");

/// The encoded `FileDescriptorSet` of the admin API, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/admin_descriptor.bin"));
