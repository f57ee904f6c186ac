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
        // A damaged type byte can name another type, which then decodes as that type.
        Ok(_) => Err(crate::rdb::RdbError::Corrupt("another type")),
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

#[test]
fn legacy_ziplists_load_as_listpacks() {
    // ZSET_ZIPLIST (12): a ziplist of a, 1, b, "2.5" in an RDB string.
    let mut zl = Vec::new();
    zl.extend_from_slice(&24u32.to_le_bytes());
    zl.extend_from_slice(&18u32.to_le_bytes());
    zl.extend_from_slice(&4u16.to_le_bytes());
    zl.extend_from_slice(&[0, 0x01, b'a']);
    zl.extend_from_slice(&[3, 0xf2]);
    zl.extend_from_slice(&[2, 0x01, b'b']);
    zl.extend_from_slice(&[3, 0x03, b'2', b'.', b'5']);
    zl.push(0xff);
    let mut body = vec![zl.len() as u8];
    body.extend_from_slice(&zl);
    let z = decode(crate::rdb::op::TYPE_ZSET_ZIPLIST, &body).unwrap();
    assert_eq!(all(&z), vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5)]);
    assert_eq!(z.encoding(), Encoding::Listpack);
    // Cut short, or with a member twice: refused.
    assert!(decode(crate::rdb::op::TYPE_ZSET_ZIPLIST, &body[..20]).is_err());
}

#[test]
fn listpack_rdb_matches_redis_bytes() {
    // DUMP of `ZADD k 1 a` from redis-server 7.0.15, without its footer: type 17, a
    // 12-byte listpack holding "a" and the integer 1.
    let mut z = ZSetValue::with_hint(1, 1, &limits());
    add(&mut z, "a", 1.0);
    let mut out = vec![z.rdb_type()];
    z.write_rdb(&mut out, true);
    assert_eq!(
        out,
        b"\x11\x0c\x0c\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff".to_vec()
    );
    let back = decode(out[0], &out[1..]).unwrap();
    assert_eq!(back, z);
    // A corrupt listpack (bad count) is refused.
    let mut bad = out.clone();
    bad[6] = 3;
    assert!(decode(bad[0], &bad[1..]).is_err());
}

#[test]
fn damaged_payloads_never_panic() {
    let mut small = ZSetValue::with_hint(1, 1, &limits());
    let mut big = ZSetValue::with_hint(300, 1, &limits());
    for i in 0..300 {
        let m = format!("m{i}");
        if i < 20 {
            add(&mut small, &m, i as f64 / 3.0);
        }
        add(&mut big, &m, (i % 7) as f64);
    }
    for z in [small, big] {
        let mut body = vec![z.rdb_type()];
        z.write_rdb(&mut body, false);
        for at in 0..body.len().min(400) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = body.clone();
                bad[at] ^= flip;
                let _ = decode(bad[0], &bad[1..]);
            }
            let _ = decode(body[0], &body[1..at.max(1)]);
        }
    }
}
