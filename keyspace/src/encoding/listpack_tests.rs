use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The values RPUSHed into a list on redis-server 7.0.15 (list-max-listpack-size 1000,
/// rdbcompression no); `REDIS_BYTES` is the node's listpack out of `DUMP`.
const REDIS_VALUES: &[&str] = &[
    "0",
    "127",
    "128",
    "-1",
    "4095",
    "4096",
    "-4096",
    "-4097",
    "32767",
    "32768",
    "-32768",
    "-32769",
    "8388607",
    "8388608",
    "-8388608",
    "-8388609",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "9223372036854775807",
    "-9223372036854775808",
    "",
    "a",
    "01",
    "-0",
    "+1",
    " 1",
    "9223372036854775808",
    "-9223372036854775809",
    "12345678901234567890123",
];
const REDIS_BYTES: &str = "d40000001f0000017f01c08002dfff02cfff02f1001003d00002f1ffef03f1ff7f03f20080\
0004f1008003f2ff7fff04f2ffff7f04f30000800005f200008004f3ffff7fff05f3ffffff7f05f400000080\
0000000009f30000008005f4ffffff7fffffffff09f4ffffffffffffff7f09f4000000000000008009800181\
610282303103822d3003822b310382203103933932323333373230333638353437373538303814942d393232\
333337323033363835343737353830391597313233343536373839303132333435363738393031323318ff";

#[test]
fn matches_redis_bytes_for_every_integer_and_string_boundary() {
    let lp = Listpack::from_values(REDIS_VALUES.iter().map(|v| v.as_bytes()));
    assert_eq!(lp.as_bytes(), hex(REDIS_BYTES).as_slice());
    let parsed = Listpack::from_bytes(&hex(REDIS_BYTES)).expect("redis bytes are valid");
    let back: Vec<Vec<u8>> = parsed.iter().map(|e| e.to_vec()).collect();
    let want: Vec<Vec<u8>> = REDIS_VALUES.iter().map(|v| v.as_bytes().to_vec()).collect();
    assert_eq!(back, want);
    assert_eq!(parsed.get(21), Some(LpEntry::Int(i64::MIN)));
    assert_eq!(parsed.get(25), Some(LpEntry::Str(b"-0")));
}

/// Back-length bytes read off redis-server for strings of these lengths (entry sizes 127,
/// 128, 4097, 4101, 16382, 16383): the thresholds are Redis's, not the 7-bit boundaries.
#[test]
fn back_lengths_match_redis_at_their_boundaries() {
    let cases: &[(usize, &[u8], &[u8])] = &[
        (125, &[0xe0, 0x7d], &[0x7f]),
        (126, &[0xe0, 0x7e], &[0x01, 0x80]),
        (4095, &[0xef, 0xff], &[0x20, 0x81]),
        (4096, &[0xf0, 0x00, 0x10, 0x00, 0x00], &[0x20, 0x85]),
        (16377, &[0xf0, 0xf9, 0x3f, 0x00, 0x00], &[0x7f, 0xfe]),
        (16378, &[0xf0, 0xfa, 0x3f, 0x00, 0x00], &[0x00, 0xff, 0xff]),
    ];
    for &(n, head, back) in cases {
        let value = vec![b'x'; n];
        let mut lp = Listpack::new();
        lp.push_back(&value);
        let bytes = lp.as_bytes();
        assert_eq!(&bytes[6..6 + head.len()], head, "header of {n}");
        let back_at = 6 + head.len() + n;
        assert_eq!(&bytes[back_at..bytes.len() - 1], back, "back-length of {n}");
        assert_eq!(lp.iter().next_back(), Some(LpEntry::Str(&value)));
        Listpack::from_bytes(bytes).expect("valid");
    }
    // Larger back-lengths, by the same rule.
    for (len, want) in [
        (2_097_150usize, 3usize),
        (2_097_151, 4),
        (268_435_454, 4),
        (268_435_455, 5),
    ] {
        assert_eq!(backlen_size(len), want);
        let mut buf = vec![0u8; want];
        write_backlen(len, &mut buf);
        assert_eq!(read_backlen(&buf, want), Some((len, want)));
    }
}

#[test]
fn empty_listpack_is_seven_bytes() {
    let lp = Listpack::new();
    assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xff]);
    assert!(lp.is_empty());
    assert_eq!(lp.len(), 0);
    assert_eq!(lp.get(0), None);
    assert_eq!(lp.iter().next(), None);
    assert_eq!(lp.find(b"x", 0, 1), None);
}

#[test]
fn entry_helpers() {
    assert!(LpEntry::Int(-12).eq_bytes(b"-12"));
    assert!(!LpEntry::Int(12).eq_bytes(b"012"));
    assert!(LpEntry::Str(b"ab").eq_bytes(b"ab"));
    assert_eq!(LpEntry::Int(i64::MIN).to_vec(), b"-9223372036854775808");
    assert_eq!(LpEntry::Str(b"77").as_i64(), Some(77));
    assert_eq!(LpEntry::Str(b"07").as_i64(), None);
    assert_eq!(LpEntry::Int(5).with_bytes(<[u8]>::len), 1);
}

#[test]
fn find_steps_over_pairs_and_compares_integers_numerically() {
    let lp = Listpack::from_values([&b"a"[..], b"1", b"1", b"a", b"b", b"-5"]);
    assert_eq!(lp.find(b"a", 0, 2), Some(0));
    assert_eq!(lp.find(b"a", 1, 2), Some(3));
    assert_eq!(lp.find(b"b", 1, 2), None);
    assert_eq!(lp.find(b"b", 0, 2), Some(4));
    assert_eq!(lp.find(b"1", 1, 2), Some(1));
    assert_eq!(lp.find(b"-5", 0, 1), Some(5));
    assert_eq!(lp.find(b"-5", 0, 2), None);
    assert_eq!(lp.find(b"a", 1, 1), Some(3));
    assert_eq!(lp.find(b"a", 9, 1), None);
}

#[test]
fn count_saturates_at_65535_and_recovers() {
    let mut lp = Listpack::new();
    for i in 0..65_536 {
        lp.push_back_int(i % 100);
    }
    assert_eq!(&lp.as_bytes()[4..6], &[0xff, 0xff]);
    assert_eq!(lp.len(), 65_536);
    assert_eq!(lp.iter().len(), 65_536);
    Listpack::from_bytes(lp.as_bytes()).expect("unknown count is valid");
    lp.remove(0);
    assert_eq!(&lp.as_bytes()[4..6], &[0xff, 0xff]);
    lp.remove_range(0, 10);
    assert_eq!(lp.len(), 65_525);
    assert_eq!(&lp.as_bytes()[4..6], &65_525u16.to_le_bytes());
}

#[test]
fn rejects_corrupt_bytes() {
    let good = hex(REDIS_BYTES);
    let mut cases: Vec<Vec<u8>> =
        vec![vec![], vec![7, 0, 0, 0, 0, 0], vec![7, 0, 0, 0, 1, 0, 0xff]];
    let mut bad_total = good.clone();
    bad_total[0] ^= 1;
    cases.push(bad_total);
    let mut no_eof = good.clone();
    *no_eof.last_mut().expect("nonempty") = 0;
    cases.push(no_eof);
    let mut bad_count = good.clone();
    bad_count[4] = 3;
    cases.push(bad_count);
    let mut bad_back = good.clone();
    bad_back[7] = 2; // the back-length of the first entry
    cases.push(bad_back);
    let mut unknown = vec![9, 0, 0, 0, 1, 0, 0xf5, 1, 0xff];
    cases.push(unknown.clone());
    unknown[6] = 0xff; // a terminator in the middle
    cases.push(unknown);
    // A 32-bit string length running past the end.
    cases.push(vec![
        13, 0, 0, 0, 1, 0, 0xf0, 0xff, 0xff, 0xff, 0x7f, 5, 0xff,
    ]);
    for (i, case) in cases.iter().enumerate() {
        assert_eq!(Listpack::from_bytes(case), Err(ListpackError), "case {i}");
    }
    // Every truncation of a valid listpack with its total patched is still rejected.
    for cut in 7..good.len() - 1 {
        let mut t = good[..cut].to_vec();
        t.push(0xff);
        let n = t.len() as u32;
        t[..4].copy_from_slice(&n.to_le_bytes());
        assert!(Listpack::from_bytes(&t).is_err(), "cut {cut}");
    }
}

/// An operation on both a listpack and a plain vector model.
#[derive(Debug, Clone)]
enum Op {
    PushBack(Vec<u8>),
    PushFront(Vec<u8>),
    PushBackInt(i64),
    Insert(usize, Vec<u8>),
    Replace(usize, Vec<u8>),
    Remove(usize),
    RemoveRange(usize, usize),
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (-70_000i64..70_000).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..80),
        (0usize..5000).prop_map(|n| vec![b'z'; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        value().prop_map(Op::PushBack),
        value().prop_map(Op::PushFront),
        any::<i64>().prop_map(Op::PushBackInt),
        (any::<usize>(), value()).prop_map(|(i, v)| Op::Insert(i, v)),
        (any::<usize>(), value()).prop_map(|(i, v)| Op::Replace(i, v)),
        any::<usize>().prop_map(Op::Remove),
        (any::<usize>(), 0usize..5).prop_map(|(i, n)| Op::RemoveRange(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn behaves_like_a_vector(ops in proptest::collection::vec(op(), 0..60)) {
        let mut lp = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for op in ops {
            match op {
                Op::PushBack(v) => { lp.push_back(&v); model.push(v); }
                Op::PushFront(v) => { lp.push_front(&v); model.insert(0, v); }
                Op::PushBackInt(n) => { lp.push_back_int(n); model.push(n.to_string().into_bytes()); }
                Op::Insert(i, v) => {
                    let i = i % (model.len() + 1);
                    lp.insert(i, &v);
                    model.insert(i, v);
                }
                Op::Replace(i, v) if !model.is_empty() => {
                    let i = i % model.len();
                    lp.replace(i, &v);
                    model[i] = v;
                }
                Op::Remove(i) if !model.is_empty() => {
                    let i = i % model.len();
                    lp.remove(i);
                    model.remove(i);
                }
                Op::RemoveRange(i, n) if !model.is_empty() => {
                    let i = i % model.len();
                    let end = (i + n).min(model.len());
                    lp.remove_range(i, n);
                    model.drain(i..end);
                }
                _ => {}
            }
            prop_assert_eq!(lp.len(), model.len());
            prop_assert_eq!(lp.byte_len(), lp.as_bytes().len());
            let reparsed = Listpack::from_bytes(lp.as_bytes());
            prop_assert!(reparsed.is_ok());
        }
        let fwd: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        prop_assert_eq!(&fwd, &model);
        let mut rev: Vec<Vec<u8>> = lp.iter().rev().map(|e| e.to_vec()).collect();
        rev.reverse();
        prop_assert_eq!(&rev, &model);
        for (i, want) in model.iter().enumerate() {
            let got = lp.get(i).map(|e| e.to_vec());
            prop_assert_eq!(got.as_ref(), Some(want));
            let found = lp.find(want, 0, 1).expect("present");
            prop_assert!(found <= i && lp.get(found).expect("in range").eq_bytes(want));
        }
        // Rebuilding from the values gives the same bytes: the encoding is canonical.
        let rebuilt = Listpack::from_values(model.iter().map(Vec::as_slice));
        prop_assert_eq!(rebuilt.as_bytes(), lp.as_bytes());
    }

    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(lp) = Listpack::from_bytes(&bytes) {
            prop_assert_eq!(lp.as_bytes(), bytes.as_slice());
            prop_assert_eq!(lp.iter().count(), lp.len());
            prop_assert_eq!(lp.iter().rev().count(), lp.len());
        }
    }
}
