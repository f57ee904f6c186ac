//! Live resharding.
//!
//! This crate will own the SETSLOT states (importing, migrating, stable, node), the
//! MIGRATE client and RESTORE semantics, the ASK/ASKING/TRYAGAIN redirection rules and
//! orchestrated slot moves. It knows nothing of the bus wire format. It arrives with the
//! resharding issue.
