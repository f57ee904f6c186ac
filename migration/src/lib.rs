//! Live resharding: what happens to keys while a slot moves between masters.
//!
//! It owns Redis 7.0's rules for commands on open (migrating or importing) slots, the
//! options of MIGRATE and RESTORE, and the MIGRATE client with its cached connections
//! to targets, and the plan of an orchestrated slot move ([`plan`]) with the rule for
//! closing its batches ([`close`]). The SETSLOT states themselves are topology, kept
//! by the bus engine; the keys and their payload format belong to `keyspace`.

mod args;
pub mod close;
mod gate;
pub mod plan;
pub mod rebalance;
mod redirect;
mod target;

pub use args::{ArgError, MigrateRequest, RestoreOptions, TargetAuth, restore_deadline};
pub use gate::SlotGates;
pub use redirect::{Asker, KeyPresence, OpenSlot, OpenSlotRoute, TRYAGAIN, route_open_slot};
pub use target::{BatchOutcome, MigrateError, TargetBatch, TargetPool};
