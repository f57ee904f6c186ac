use super::*;

fn limits() -> EncodingLimits {
    EncodingLimits::default()
}

fn add(z: &mut ZSetValue, m: &str, s: f64) -> AddResult {
    z.add(m.as_bytes(), s, AddFlags::default(), &limits())
}

fn all(z: &ZSetValue) -> Vec<(Vec<u8>, f64)> {
    z.range(0, z.len())
}

#[test]
fn converts_at_the_thresholds() {
    let mut z = ZSetValue::with_hint(1, 1, &limits());
    for i in 0..128 {
        add(&mut z, &format!("m{i}"), i as f64);
    }
    assert_eq!(z.encoding(), Encoding::Listpack);
    add(&mut z, "m128", 0.5);
    assert_eq!(z.encoding(), Encoding::Skiplist);
    assert_eq!(z.len(), 129);
    assert_eq!(z.rank(b"m128"), Some(1));

    let mut z = ZSetValue::with_hint(1, 1, &limits());
    add(&mut z, &"x".repeat(64), 1.0);
    assert_eq!(z.encoding(), Encoding::Listpack);
    add(&mut z, &"x".repeat(65), 1.0);
    assert_eq!(z.encoding(), Encoding::Skiplist);
    assert_eq!(
        ZSetValue::with_hint(129, 1, &limits()).encoding(),
        Encoding::Skiplist
    );
}

#[test]
fn both_encodings_answer_alike() {
    let mut small = ZSetValue::with_hint(1, 1, &limits());
    let mut big = ZSetValue::with_hint(1000, 1, &limits());
    let mut x = 99u64;
    for _ in 0..2000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let m = format!("{}", (x >> 33) % 40);
        let s = ((x >> 20) % 7) as f64 - 3.0;
        let flags = AddFlags {
            incr: x % 5 == 0,
            gt: x % 7 == 0,
            ..Default::default()
        };
        if x % 3 == 0 {
            assert_eq!(small.remove(m.as_bytes()), big.remove(m.as_bytes()));
        } else {
            assert_eq!(
                small.add(m.as_bytes(), s, flags, &limits()),
                big.add(m.as_bytes(), s, flags, &limits())
            );
        }
        assert_eq!(all(&small), all(&big));
    }
    assert_eq!(small.encoding(), Encoding::Listpack);
    assert_eq!(big.encoding(), Encoding::Skiplist);
    for (rank, (m, s)) in all(&small).into_iter().enumerate() {
        assert_eq!(big.rank(&m), Some(rank));
        assert_eq!(small.rank(&m), Some(rank));
        assert_eq!(big.score(&m), Some(s));
        assert_eq!(small.score(&m), Some(s));
    }
}

#[test]
fn conditions_and_nan() {
    let mut z = ZSetValue::with_hint(1, 1, &limits());
    assert_eq!(add(&mut z, "a", 5.0), AddResult::Added(5.0));
    let gt = AddFlags {
        gt: true,
        ..Default::default()
    };
    assert_eq!(z.add(b"a", 4.0, gt, &limits()), AddResult::Skipped);
    assert_eq!(z.add(b"a", 6.0, gt, &limits()), AddResult::Updated(6.0));
    assert_eq!(add(&mut z, "a", 6.0), AddResult::Unchanged(6.0));
    add(&mut z, "b", f64::INFINITY);
    let incr = AddFlags {
        incr: true,
        ..Default::default()
    };
    assert_eq!(
        z.add(b"b", f64::NEG_INFINITY, incr, &limits()),
        AddResult::NotANumber
    );
    let xx = AddFlags {
        xx: true,
        ..Default::default()
    };
    assert_eq!(z.add(b"c", 1.0, xx, &limits()), AddResult::Skipped);
}

#[test]
fn skiplist_rdb_round_trip_writes_greatest_first() {
    let mut z = ZSetValue::with_hint(200, 1, &limits());
    for i in 0..200 {
        add(&mut z, &format!("m{i}"), (i % 17) as f64 / 3.0);
    }
    let mut out = Vec::new();
    z.write_rdb(&mut out, false);
    assert_eq!(z.rdb_type(), crate::rdb::op::TYPE_ZSET_2);
    let value = crate::rdb::restore(
        &crate::rdb::dump(&crate::Value::ZSet(Box::new(z.clone()))),
        crate::rdb::ReadLimits::new(1 << 20),
    )
    .unwrap();
    assert_eq!(value, crate::Value::ZSet(Box::new(z.clone())));
    // Length 200, then the greatest member first.
    assert_eq!(&out[..2], &[0x40, 200]);
    let top = all(&z).pop().unwrap();
    assert_eq!(&out[3..3 + top.0.len()], &top.0[..]);
}

fn decode(kind: u8, body: &[u8]) -> Result<ZSetValue, crate::rdb::RdbError> {
    let mut payload = vec![kind];
    payload.extend_from_slice(body);
    match crate::rdb::restore(
        &crate::rdb::seal_payload(payload),
        crate::rdb::ReadLimits::new(1 << 20),
    ) {
        Ok(crate::Value::ZSet(z)) => Ok(*z),
        Ok(_) => panic!("not a sorted set"),
        Err(_) => Err(crate::rdb::RdbError::Corrupt("refused")),
    }
}

#[test]
fn legacy_text_scores_load() {
    // ZSET (3): length, then member and score as text (254 is +inf).
    let body = b"\x03\x01a\x031.5\x01b\xfe\x01c\x02-2";
    let z = decode(crate::rdb::op::TYPE_ZSET, body).unwrap();
    assert_eq!(
        all(&z),
        vec![
            (b"c".to_vec(), -2.0),
            (b"a".to_vec(), 1.5),
            (b"b".to_vec(), f64::INFINITY)
        ]
    );
    assert_eq!(z.encoding(), Encoding::Listpack);
    // A NaN score, a duplicate, a truncation: refused.
    assert!(decode(crate::rdb::op::TYPE_ZSET, b"\x01\x01a\xfd").is_err());
    assert!(decode(crate::rdb::op::TYPE_ZSET, b"\x02\x01a\x011\x01a\x012").is_err());
    assert!(decode(crate::rdb::op::TYPE_ZSET, b"\x05\x01a\x011").is_err());
    assert!(decode(crate::rdb::op::TYPE_ZSET_2, b"\x00").is_err());
}
