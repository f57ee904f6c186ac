//! The directive table: every directive Redis 7.0 accepts, with its default, how it may
//! change and whether Tessera acts on it.
//!
//! The table is data: `directives.txt` beside this file, one line per directive, turned
//! into the static below by the crate's build script (which also checks it is sorted
//! and well formed).

use super::registry::{Access, Applier, Directive, Kind, State};

include!(concat!(env!("OUT_DIR"), "/directives.rs"));
