use super::*;
use crate::rdb::encoding::put_string;
use proptest::prelude::*;

fn limits(fill: i64, depth: usize) -> EncodingLimits {
    EncodingLimits {
        list_max_listpack_size: fill,
        list_compress_depth: depth,
        ..EncodingLimits::default()
    }
}

fn filled(fill: i64, depth: usize, size: usize, n: usize) -> ListValue {
    let mut l = ListValue::new(&limits(fill, depth));
    for _ in 0..n {
        l.push(&vec![b'x'; size], End::Tail);
    }
    l
}

fn counts(l: &ListValue) -> Vec<usize> {
    l.nodes.iter().map(Node::count).collect()
}

fn elements(l: &ListValue) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    l.for_each_element(|e| out.push(e.to_vec()));
    out
}

/// Node sizes read off redis-server 7.0.15's DUMP after RPUSHing these elements.
#[test]
fn nodes_fill_as_redis_fills_them() {
    assert_eq!(counts(&filled(-2, 0, 10, 2000)), [681, 681, 638]);
    assert_eq!(filled(-2, 0, 10, 2000).nodes[0].byte_len(), 8179);
    assert_eq!(counts(&filled(-2, 0, 100, 2000))[..3], [79, 79, 79]);
    assert_eq!(filled(-2, 0, 100, 2000).node_count(), 26);
    assert_eq!(counts(&filled(-2, 0, 300, 2000))[..2], [26, 26]);
    assert_eq!(filled(-2, 0, 300, 2000).node_count(), 77);
    assert_eq!(counts(&filled(5, 0, 10, 12)), [5, 5, 2]);
    assert_eq!(counts(&filled(1000, 0, 100, 300)), [79, 79, 79, 63]);
    assert_eq!(counts(&filled(0, 0, 10, 3)), [1, 1, 1]);
    assert_eq!(counts(&filled(-1, 0, 3000, 3)), [1, 1, 1]);
    assert_eq!(counts(&filled(-1, 0, 5000, 3)), [1, 1, 1]);
}

#[test]
fn inner_nodes_are_compressed_and_the_ends_are_not() {
    let l = filled(-2, 1, 10, 5000);
    let n = l.node_count();
    assert!(n > 4);
    for (i, node) in l.nodes.iter().enumerate() {
        let compressed = matches!(node, Node::Lzf(_));
        assert_eq!(compressed, i != 0 && i != n - 1, "node {i}");
    }
    assert_eq!(elements(&l).len(), 5000);
    // Small nodes are not compressed.
    let small = filled(1, 1, 5, 5);
    assert!(small.nodes.iter().all(|n| matches!(n, Node::Raw(_))));
}

#[test]
fn rdb_round_trip_keeps_nodes_and_reads_legacy_forms() {
    for depth in [0, 1, 3] {
        let l = filled(-2, depth, 10, 3000);
        for compress in [false, true] {
            let mut out = Vec::new();
            l.write_rdb(&mut out, compress);
            let mut src = crate::rdb::Slice(&out);
            let back = ListValue::read_rdb(
                &mut src,
                crate::rdb::op::TYPE_LIST_QUICKLIST_2,
                ReadLimits {
                    max_len: 1 << 30,
                    encoding: limits(-2, depth),
                },
            )
            .expect("reads back");
            assert_eq!(back, l);
            assert_eq!(counts(&back), counts(&l));
        }
    }
    // Type 1: a count then strings, pushed with the fill rules.
    let mut out = Vec::new();
    put_length(&mut out, 3);
    for v in [&b"a"[..], b"12", b"ccc"] {
        put_string(&mut out, v, false);
    }
    let mut src = crate::rdb::Slice(&out);
    let l = ListValue::read_rdb(&mut src, crate::rdb::op::TYPE_LIST, ReadLimits::new(100))
        .expect("reads");
    assert_eq!(
        elements(&l),
        [b"a".to_vec(), b"12".to_vec(), b"ccc".to_vec()]
    );
    // An empty list is corrupt.
    let mut src = crate::rdb::Slice(&[0]);
    assert!(ListValue::read_rdb(&mut src, crate::rdb::op::TYPE_LIST, ReadLimits::new(9)).is_err());
}

use crate::rdb::encoding::put_length;

#[derive(Debug, Clone)]
enum Op {
    Push(Vec<u8>, bool),
    Pop(bool),
    Set(usize, Vec<u8>),
    Insert(usize, Vec<u8>, bool),
    RemoveRange(usize, usize),
    RemoveMatching(Vec<u8>, usize, bool),
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u8..4).prop_map(|n| vec![b'a' + n]),
        (0i64..300).prop_map(|n| n.to_string().into_bytes()),
        (0usize..3000).prop_map(|n| vec![b'p'; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (value(), any::<bool>()).prop_map(|(v, h)| Op::Push(v, h)),
        1 => any::<bool>().prop_map(Op::Pop),
        1 => (any::<usize>(), value()).prop_map(|(i, v)| Op::Set(i, v)),
        2 => (any::<usize>(), value(), any::<bool>()).prop_map(|(i, v, a)| Op::Insert(i, v, a)),
        1 => (any::<usize>(), 0usize..40).prop_map(|(i, n)| Op::RemoveRange(i, n)),
        1 => (value(), 0usize..3, any::<bool>()).prop_map(|(v, n, t)| Op::RemoveMatching(v, n, t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn behaves_like_a_deque(
        fill in prop_oneof![Just(-2i64), Just(-1), Just(3), Just(1), Just(0)],
        depth in 0usize..3,
        ops in proptest::collection::vec(op(), 0..120),
    ) {
        let mut l = ListValue::new(&limits(fill, depth));
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for op in ops {
            match op {
                Op::Push(v, head) => {
                    l.push(&v, if head { End::Head } else { End::Tail });
                    if head { model.push_front(v) } else { model.push_back(v) }
                }
                Op::Pop(head) => {
                    let got = l.pop(if head { End::Head } else { End::Tail });
                    let want = if head { model.pop_front() } else { model.pop_back() };
                    prop_assert_eq!(got, want);
                }
                Op::Set(i, v) if !model.is_empty() => {
                    let i = i % model.len();
                    l.set(i, &v);
                    model[i] = v;
                }
                Op::Insert(i, v, after) if !model.is_empty() => {
                    let i = i % model.len();
                    l.insert(i, &v, after);
                    model.insert(if after { i + 1 } else { i }, v);
                }
                Op::RemoveRange(i, n) if !model.is_empty() => {
                    let i = i % model.len();
                    l.remove_range(i, n);
                    let end = (i + n).min(model.len());
                    model.drain(i..end);
                }
                Op::RemoveMatching(v, n, from_tail) => {
                    let got = l.remove_matching(&v, n, from_tail);
                    let mut removed = 0;
                    let idx: Vec<usize> = (0..model.len()).collect();
                    let order: Vec<usize> = if from_tail { idx.into_iter().rev().collect() } else { idx };
                    let mut gone = Vec::new();
                    for i in order {
                        if n != 0 && removed == n { break; }
                        if model[i] == v { gone.push(i); removed += 1; }
                    }
                    gone.sort_unstable();
                    for i in gone.into_iter().rev() { model.remove(i); }
                    prop_assert_eq!(got, removed);
                }
                _ => {}
            }
            prop_assert_eq!(l.len(), model.len());
            prop_assert!(l.nodes.iter().all(|n| n.count() > 0));
            let n = l.nodes.len();
            if depth > 0 && n >= 2 * depth {
                for i in (0..depth).chain(n - depth..n) {
                    prop_assert!(matches!(l.nodes[i], Node::Raw(_)), "end node {} compressed", i);
                }
            }
        }
        let want: Vec<Vec<u8>> = model.iter().cloned().collect();
        prop_assert_eq!(elements(&l), want.clone());
        for (i, w) in want.iter().enumerate() {
            prop_assert_eq!(l.get(i), Some(w.clone()));
        }
        let mut rev = Vec::new();
        if !want.is_empty() {
            l.for_each_in_range(want.len() - 1, want.len(), true, |e| rev.push(e.to_vec()));
        }
        rev.reverse();
        prop_assert_eq!(rev, want.clone());
        if let Some(first) = want.first() {
            let pos = l.position(first);
            prop_assert_eq!(pos, Some(0));
        }
    }
}

/// A node costs what Redis's 32-byte quicklistNode does or less (the deque rounds its
/// capacity up to a power of two, so every byte here counts per node).
#[test]
fn a_node_is_24_bytes() {
    assert_eq!(std::mem::size_of::<Node>(), 24);
}
