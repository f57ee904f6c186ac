use super::*;
use foldhash::fast::FixedState;

fn table() -> SlotTable {
    SlotTable::new(FixedState::with_seed(1))
}

fn all(t: &mut SlotTable, key: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(l) = read(t, key, 0).expect("a list") {
        l.for_each_element(|e| out.push(e.to_vec()));
    }
    out
}

fn strs(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn push_pop_and_delete_when_empty() {
    let mut t = table();
    let limits = EncodingLimits::default();
    let vals = [&b"a"[..], b"b", b"c"];
    assert_eq!(push(&mut t, b"k", vals, End::Head, true, &limits, 0), Ok(3));
    assert_eq!(all(&mut t, b"k"), strs(&["c", "b", "a"]));
    assert_eq!(
        push(&mut t, b"x", vals, End::Tail, false, &limits, 0),
        Ok(0)
    );
    assert!(!t.contains(b"x", 0));
    assert_eq!(
        pop(&mut t, b"k", End::Tail, 2, 0),
        Ok(Some(strs(&["a", "b"])))
    );
    assert_eq!(pop(&mut t, b"k", End::Head, 5, 0), Ok(Some(strs(&["c"]))));
    assert!(!t.contains(b"k", 0));
    assert_eq!(pop(&mut t, b"k", End::Head, 1, 0), Ok(None));
}

#[test]
fn ranges_clamp_as_redis() {
    assert_eq!(resolve_range(0, -1, 3), Some((0, 3)));
    assert_eq!(resolve_range(-100, 100, 3), Some((0, 3)));
    assert_eq!(resolve_range(2, 1, 3), None);
    assert_eq!(resolve_range(3, 5, 3), None);
    assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 3)));
    assert_eq!(resolve_range(0, 0, 0), None);
    assert_eq!(resolve_index(-1, 3), Some(2));
    assert_eq!(resolve_index(-4, 3), None);
    assert_eq!(resolve_index(i64::MIN, 3), None);
}

#[test]
fn set_insert_rem_trim() {
    let mut t = table();
    let limits = EncodingLimits::default();
    let vals = ["a", "b", "a", "c", "a"];
    push(
        &mut t,
        b"k",
        vals.iter().map(|s| s.as_bytes()),
        End::Tail,
        true,
        &limits,
        0,
    )
    .expect("push");
    assert_eq!(set(&mut t, b"k", -1, b"z", 0), Ok(true));
    assert_eq!(set(&mut t, b"k", 5, b"z", 0), Ok(false));
    assert_eq!(set(&mut t, b"n", 0, b"z", 0), Err(KeyspaceError::NoSuchKey));
    assert_eq!(insert(&mut t, b"k", true, b"a", b"x", 0), Ok(6));
    assert_eq!(insert(&mut t, b"k", false, b"q", b"x", 0), Ok(-1));
    assert_eq!(insert(&mut t, b"n", false, b"q", b"x", 0), Ok(0));
    assert_eq!(all(&mut t, b"k"), strs(&["a", "x", "b", "a", "c", "z"]));
    assert_eq!(rem(&mut t, b"k", -1, b"a", 0), Ok(1));
    assert_eq!(all(&mut t, b"k"), strs(&["a", "x", "b", "c", "z"]));
    assert_eq!(trim(&mut t, b"k", 1, -2, 0), Ok(2));
    assert_eq!(all(&mut t, b"k"), strs(&["x", "b", "c"]));
    assert_eq!(trim(&mut t, b"k", 5, 1, 0), Ok(3));
    assert!(!t.contains(b"k", 0));
}

#[test]
fn lpos_ranks_counts_and_maxlen() {
    let mut t = table();
    let vals = ["a", "b", "c", "a", "b", "a"];
    push(
        &mut t,
        b"k",
        vals.iter().map(|s| s.as_bytes()),
        End::Tail,
        true,
        &EncodingLimits::default(),
        0,
    )
    .expect("push");
    let l = read(&mut t, b"k", 0).expect("list").expect("exists");
    let pos = |rank, count, max_len| {
        positions(
            l,
            b"a",
            PosOptions {
                rank,
                count,
                max_len,
            },
        )
    };
    assert_eq!(pos(1, None, 0), [0]);
    assert_eq!(pos(2, Some(0), 4), [3]);
    assert_eq!(pos(-2, Some(2), 0), [3, 0]);
    assert_eq!(pos(i64::MIN, Some(2), 0), [5, 3, 0]);
    assert_eq!(pos(4, None, 0), Vec::<usize>::new());
}
