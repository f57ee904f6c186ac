//! The catalog against redis-server 7.0.15's own answers.

use super::keys::keys_by;
use super::{CATALOG, CommandId, KEY_FACTS};

/// Splits a call as a shell would (single quotes only: `''` is an empty argument).
fn words(call: &str) -> Vec<Vec<u8>> {
    call.split(' ')
        .map(|w| {
            if w == "''" {
                Vec::new()
            } else {
                w.as_bytes().to_vec()
            }
        })
        .collect()
}

/// The keys COMMAND GETKEYS reported, or `None` for an error.
fn expected(answer: &str) -> Option<Vec<Vec<u8>>> {
    if answer.starts_with("error:") {
        return None;
    }
    let inner = answer.trim_start_matches('[').trim_end_matches(']');
    Some(if inner.is_empty() {
        Vec::new()
    } else {
        inner
            .split(',')
            .map(|k| k.trim_matches('"').as_bytes().to_vec())
            .collect()
    })
}

#[test]
fn keys_are_found_as_redis_finds_them() {
    let fixture = include_str!("getkeys-7.0.15.txt");
    let mut checked = 0;
    for line in fixture.lines() {
        let (call, answer) = line.split_once(" => ").expect("call => answer");
        let args = words(call);
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let sub = args
            .get(1)
            .map(|s| format!("{name}|{}", String::from_utf8_lossy(s).to_ascii_lowercase()));
        let fact = KEY_FACTS
            .iter()
            .find(|f| Some(f.0) == sub.as_deref())
            .or_else(|| KEY_FACTS.iter().find(|f| f.0 == name))
            .unwrap_or_else(|| panic!("{name} is a Redis command"));
        let (_, arity, specs, rule) = *fact;
        let arity_ok = if arity >= 0 {
            args.len() == arity as usize
        } else {
            args.len() >= arity.unsigned_abs() as usize
        };
        if !arity_ok || answer.contains("no key arguments") {
            continue;
        }
        let found: Vec<Vec<u8>> = keys_by(specs, rule, args.len(), |i| &args[i])
            .positions()
            .map(|p| args[p].clone())
            .collect();
        let want = expected(answer).unwrap_or_default();
        assert_eq!(found, want, "{call}");
        checked += 1;
    }
    assert!(checked > 40, "only {checked} calls checked");
}

#[test]
fn the_catalog_is_indexed_by_id_and_containers_list_their_subcommands() {
    for (index, meta) in CATALOG.iter().enumerate() {
        assert_eq!(meta.id as usize, index);
        assert_eq!(CommandId::ALL[index], meta.id);
        for sub in meta.subcommands {
            let sub = sub.meta();
            assert_eq!(sub.name.split_once('|').map(|(c, _)| c), Some(meta.name));
        }
    }
}

#[test]
fn flag_names_come_back_in_redis_order() {
    let set = CommandId::Set.meta();
    assert_eq!(set.flags.names().collect::<Vec<_>>(), ["write", "denyoom"]);
    let auth = CommandId::Auth.meta();
    assert_eq!(
        auth.flags.names().collect::<Vec<_>>(),
        [
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy"
        ]
    );
}
