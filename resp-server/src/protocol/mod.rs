//! The RESP wire protocol: pure functions over bytes, no IO.

pub mod frame;
pub mod reply;
pub mod request;
pub mod split_args;
