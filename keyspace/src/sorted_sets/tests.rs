use super::*;
use crate::collections::zset::{LexRange, ScoreRange};
use foldhash::fast::FixedState;

fn table() -> SlotTable {
    SlotTable::new(FixedState::with_seed(1))
}

fn members(items: &[Scored]) -> Vec<&str> {
    items
        .iter()
        .map(|(m, _)| std::str::from_utf8(m).unwrap())
        .collect()
}

fn filled(t: &mut SlotTable) {
    let pairs: Vec<(f64, &[u8])> = vec![
        (1.0, b"a"),
        (2.0, b"b"),
        (2.0, b"c"),
        (3.0, b"d"),
        (f64::INFINITY, b"e"),
    ];
    zadd(
        t,
        b"z",
        &pairs,
        AddFlags::default(),
        &EncodingLimits::default(),
        0,
    )
    .unwrap();
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let mut t = table();
    filled(&mut t);
    let z = get(&mut t, b"z", 0).unwrap().unwrap().clone();
    let spec = |by, rev, offset, limit| RangeSpec {
        by,
        rev,
        offset,
        limit,
    };
    let pick = |s: RangeSpec| members(&select(&z, &s)).join(",");
    assert_eq!(pick(spec(RangeBy::Rank(0, -1), false, 0, -1)), "a,b,c,d,e");
    assert_eq!(pick(spec(RangeBy::Rank(0, 1), true, 0, -1)), "e,d");
    assert_eq!(pick(spec(RangeBy::Rank(-2, 100), false, 0, -1)), "d,e");
    assert_eq!(pick(spec(RangeBy::Rank(3, 2), false, 0, -1)), "");
    let score =
        |a: &str, b: &str| RangeBy::Score(ScoreRange::parse(a.as_bytes(), b.as_bytes()).unwrap());
    assert_eq!(pick(spec(score("(1", "3"), false, 0, -1)), "b,c,d");
    assert_eq!(pick(spec(score("(1", "3"), true, 1, 1)), "c");
    assert_eq!(pick(spec(score("-inf", "+inf"), false, 1, 2)), "b,c");
    assert_eq!(pick(spec(score("-inf", "+inf"), false, -1, 2)), "");
    assert_eq!(pick(spec(score("3", "1"), false, 0, -1)), "");
    let lex = |a: &str, b: &str| RangeBy::Lex(LexRange::parse(a.as_bytes(), b.as_bytes()).unwrap());
    let mut t2 = table();
    let pairs: Vec<(f64, &[u8])> = vec![(0.0, b"a"), (0.0, b"b"), (0.0, b"c")];
    zadd(
        &mut t2,
        b"l",
        &pairs,
        AddFlags::default(),
        &EncodingLimits::default(),
        0,
    )
    .unwrap();
    let l = get(&mut t2, b"l", 0).unwrap().unwrap().clone();
    let pick_l = |s: RangeSpec| members(&select(&l, &s)).join(",");
    assert_eq!(pick_l(spec(lex("(a", "+"), false, 0, -1)), "b,c");
    assert_eq!(pick_l(spec(lex("-", "[b"), true, 0, -1)), "b,a");
}

#[test]
fn pops_and_removals_delete_emptied_keys() {
    let mut t = table();
    filled(&mut t);
    let top = pop(&mut t, b"z", 2, true, 0).unwrap().unwrap();
    assert_eq!(members(&top), ["e", "d"]);
    assert_eq!(
        remove_range(&mut t, b"z", &RangeBy::Rank(0, 0), 0).unwrap(),
        1
    );
    assert_eq!(zrem(&mut t, b"z", &[b"b", b"x"], 0).unwrap(), 1);
    assert_eq!(pop(&mut t, b"z", 5, false, 0).unwrap().unwrap().len(), 1);
    assert!(t.get(b"z", 0).is_none());
    assert_eq!(pop(&mut t, b"z", 1, false, 0).unwrap(), None);
}

#[test]
fn set_operations_follow_redis() {
    let a: Vec<Scored> = vec![(b"x".to_vec(), 1.0), (b"y".to_vec(), f64::INFINITY)];
    let b: Vec<Scored> = vec![(b"y".to_vec(), f64::NEG_INFINITY), (b"z".to_vec(), 3.0)];
    let u = combine(
        SetOp::Union,
        vec![a.clone(), b.clone()],
        &[1.0, 1.0],
        Aggregate::Sum,
    );
    assert_eq!(
        u,
        vec![
            (b"y".to_vec(), 0.0),
            (b"x".to_vec(), 1.0),
            (b"z".to_vec(), 3.0)
        ]
    );
    let i = combine(
        SetOp::Inter,
        vec![a.clone(), b.clone()],
        &[2.0, 1.0],
        Aggregate::Max,
    );
    assert_eq!(i, vec![(b"y".to_vec(), f64::INFINITY)]);
    let d = combine(SetOp::Diff, vec![a.clone(), b.clone()], &[], Aggregate::Sum);
    assert_eq!(d, vec![(b"x".to_vec(), 1.0)]);
    assert_eq!(intercard(vec![a, b], 0), 1);
}
