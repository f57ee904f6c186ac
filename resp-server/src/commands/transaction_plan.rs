//! What a queued transaction will touch, worked out before EXEC runs it: the keys it
//! routes by, the (database, slot) locks it must hold, the databases it needs.

use tessera_keyspace::{Footprint, key_slot};

use super::is;
use crate::catalog::{AclCategories, CommandId, CommandTable, find_keys};
use crate::watch::Watching;

/// A transaction's plan.
#[derive(Debug)]
pub struct TransactionPlan<'q> {
    /// Every key of every queued command, for cluster routing.
    pub keys: Vec<&'q [u8]>,
    /// Some queued command writes.
    pub writes: bool,
    /// The locks to hold while it runs.
    pub footprint: Footprint,
    /// The databases it uses, which must exist before every lock is taken.
    pub dbs: Vec<usize>,
    /// Some queued command uses the script engine (EVAL, FCALL, SCRIPT, FUNCTION):
    /// EXEC takes it before the locks.
    pub scripting: bool,
}

/// A database index argument, if it names one of `databases`.
fn db_index(arg: &[u8], databases: usize) -> Option<usize> {
    std::str::from_utf8(arg)
        .ok()?
        .parse::<usize>()
        .ok()
        .filter(|&d| d < databases)
}

/// Plans `queued` (each command's arguments, name first), starting in database `db`,
/// for a node with `databases` databases; `watching` adds the watched keys' slots, so
/// checking them and running the commands is one step.
pub fn plan<'q>(
    queued: &'q [Vec<Vec<u8>>],
    mut db: usize,
    watching: Option<&Watching>,
    databases: usize,
) -> TransactionPlan<'q> {
    let table = CommandTable::get();
    let mut plan = TransactionPlan {
        keys: Vec::new(),
        writes: false,
        footprint: Footprint::Slots(Vec::new()),
        dbs: vec![db],
        scripting: false,
    };
    let mut slots = Vec::new();
    let mut everything = false;
    if let Some(w) = watching {
        slots.extend(w.keys().map(|(d, k)| (d, key_slot(k))));
    }
    for args in queued {
        let arg = |i: usize| args[i].as_slice();
        let Some(command) = table.resolve(arg, args.len()) else {
            everything = true;
            continue;
        };
        let meta = command.meta;
        plan.writes |= meta.is_write();
        plan.scripting |= meta.acl.contains(AclCategories::SCRIPTING);
        let found = find_keys(meta, args.len(), arg);
        let before = plan.keys.len();
        plan.keys.extend(found.positions().map(arg));
        slots.extend(plan.keys[before..].iter().map(|k| (db, key_slot(k))));
        match meta.id {
            CommandId::Select => {
                if let Some(d) = args.get(1).and_then(|a| db_index(a, databases)) {
                    db = d;
                    plan.dbs.push(d);
                }
            }
            // The other database of MOVE key db and COPY src dst DB n.
            CommandId::Move if args.len() == 3 => {
                if let Some(d) = db_index(&args[2], databases) {
                    slots.push((d, key_slot(&args[1])));
                    plan.dbs.push(d);
                }
            }
            CommandId::Copy => {
                let at = args.iter().position(|a| is(a, "DB"));
                if let Some(d) = at
                    .and_then(|i| args.get(i + 1))
                    .and_then(|a| db_index(a, databases))
                {
                    slots.push((d, key_slot(&args[2])));
                    plan.dbs.push(d);
                }
            }
            // A script may touch keys it did not declare: it adds their slots to the
            // transaction's as it reaches them (`script_locks`).
            // BY and GET patterns name keys nobody can list up front.
            CommandId::Sort | CommandId::SortRo => {
                everything |= args[2..].iter().any(|a| is(a, "BY") || is(a, "GET"));
            }
            _ => {}
        }
        // A command without keys may still read or clear the whole keyspace (DBSIZE,
        // FLUSHALL, INFO, SAVE ...); only connection, transaction and scripting
        // commands surely do not (a script's keys are its own business, above).
        let keyless = plan.keys.len() == before;
        let harmless = meta.acl.contains(AclCategories::CONNECTION)
            || meta.acl.contains(AclCategories::TRANSACTION)
            || meta.acl.contains(AclCategories::SCRIPTING);
        everything |= keyless && !harmless;
    }
    plan.dbs.sort_unstable();
    plan.dbs.dedup();
    plan.footprint = if everything {
        Footprint::Everything
    } else {
        Footprint::Slots(slots)
    };
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(commands: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        commands
            .iter()
            .map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect())
            .collect()
    }

    #[test]
    fn keys_select_and_move_shape_the_footprint() {
        let q = queued(&[
            &["SET", "a", "1"],
            &["SELECT", "2"],
            &["GET", "b"],
            &["MOVE", "b", "3"],
            &["PING"],
        ]);
        let p = plan(&q, 0, None, 16);
        assert_eq!(p.keys, [&b"a"[..], b"b", b"b"]);
        assert!(p.writes);
        assert_eq!(p.dbs, [0, 2, 3]);
        let (a, b) = (key_slot(b"a"), key_slot(b"b"));
        match p.footprint {
            Footprint::Slots(mut s) => {
                s.sort_unstable();
                s.dedup();
                let mut want = vec![(0, a), (2, b), (3, b)];
                want.sort_unstable();
                assert_eq!(s, want);
            }
            Footprint::Everything => panic!("keys alone"),
        }
    }

    #[test]
    fn scripts_grow_the_footprint_instead_of_taking_everything() {
        let q = queued(&[
            &["INCR", "a"],
            &["EVAL", "return 1", "0"],
            &["SCRIPT", "LOAD", "return 2"],
        ]);
        let plan = plan(&q, 0, None, 16);
        assert_eq!(plan.footprint, Footprint::Slots(vec![(0, key_slot(b"a"))]));
        assert!(plan.scripting);
    }

    #[test]
    fn keyless_keyspace_commands_take_everything() {
        let q = queued(&[&["INCR", "a"], &["DBSIZE"]]);
        assert_eq!(plan(&q, 0, None, 16).footprint, Footprint::Everything);
        let q = queued(&[&["SORT", "l", "BY", "w_*"]]);
        assert_eq!(plan(&q, 0, None, 16).footprint, Footprint::Everything);
    }
}
