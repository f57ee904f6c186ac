//! The codec against messages captured from redis-server 7.0.15, and its validation
//! rules (reference §1–§5).

use tessera_cluster_bus::wire::{
    Body, CheckedFrame, DropReason, FrameCheck, GossipEntry, Header, Message, MessageType,
    PingExtension, Received, check_frame, decode, encode,
};
use tessera_cluster_bus::{NodeId, SlotBitmap};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn message(bytes: &[u8]) -> Message {
    match decode(CheckedFrame::new(bytes).expect("one whole frame")) {
        Received::Message(m) => m,
        other => panic!("dropped: {other:?}"),
    }
}

#[test]
fn decodes_what_redis_sent_and_reencodes_it_byte_for_byte() {
    for (name, kind) in [
        ("redis7_meet_node-a.bin", MessageType::Meet),
        ("redis7_ping_node-a.bin", MessageType::Ping),
    ] {
        let bytes = fixture(name);
        assert_eq!(check_frame(&bytes), FrameCheck::Frame(bytes.len()));
        let m = message(&bytes);
        assert_eq!(m.kind(), Some(kind));
        let h = &m.header;
        assert_eq!((h.port, h.cport, h.pport), (6401, 16401, 0));
        assert_eq!(h.flags, 0x11, "master|myself");
        assert_eq!(h.replica_of, None);
        assert_eq!(h.ip, "", "no announced IP");
        assert_eq!(h.slots.iter().collect::<Vec<_>>(), vec![0, 1, 2, 100]);
        assert_eq!(
            m.body,
            Body::Ping {
                gossip: vec![],
                extensions: vec![PingExtension::Hostname("node-a".into())]
            }
        );
        assert_eq!(encode(&m), bytes, "{name} re-encodes identically");
    }
}

fn id(c: u8) -> NodeId {
    NodeId::from_bytes([c; 40])
}

fn header(kind: MessageType) -> Header {
    let mut slots = SlotBitmap::new();
    slots.insert(5);
    Header {
        kind: kind as u16,
        port: 7000,
        current_epoch: 9,
        config_epoch: 3,
        offset: 12345,
        sender: id(b'a'),
        slots,
        replica_of: Some(id(b'b')),
        ip: "10.0.0.7".into(),
        pport: 0,
        cport: 17000,
        flags: 0x12,
        state: 0,
        mflags: 0,
    }
}

#[test]
fn every_type_round_trips() {
    let gossip = GossipEntry {
        node: id(b'c'),
        ping_sent: 1,
        pong_received: 2,
        ip: "127.0.0.1".into(),
        port: 7001,
        cport: 17001,
        flags: 0x4,
        pport: 0,
    };
    let mut slots = SlotBitmap::new();
    slots.insert(16383);
    let bodies = [
        (
            MessageType::Ping,
            Body::Ping {
                gossip: vec![gossip.clone(); 3],
                extensions: vec![],
            },
        ),
        (
            MessageType::Pong,
            Body::Ping {
                gossip: vec![gossip],
                extensions: vec![PingExtension::Hostname("abcdefgh.example".into())],
            },
        ),
        (
            MessageType::Meet,
            Body::Ping {
                gossip: vec![],
                extensions: vec![],
            },
        ),
        (MessageType::Fail, Body::Fail(id(b'd'))),
        (
            MessageType::Publish,
            Body::Publish {
                channel: b"chan".to_vec(),
                message: b"hello".to_vec(),
            },
        ),
        (
            MessageType::PublishShard,
            Body::Publish {
                channel: b"c".to_vec(),
                message: vec![],
            },
        ),
        (MessageType::FailoverAuthRequest, Body::Empty),
        (MessageType::FailoverAuthAck, Body::Empty),
        (MessageType::MfStart, Body::Empty),
        (
            MessageType::Update,
            Body::Update {
                config_epoch: 7,
                node: id(b'e'),
                slots,
            },
        ),
        (
            MessageType::Module,
            Body::Module {
                module_id: *b"modid123",
                module_type: 4,
                payload: b"xyz".to_vec(),
            },
        ),
    ];
    for (kind, body) in bodies {
        let m = Message {
            header: header(kind),
            body,
        };
        let bytes = encode(&m);
        let expected_len = match kind {
            MessageType::Fail => Some(2296),
            MessageType::Publish => Some(2273),
            MessageType::Update => Some(4352),
            MessageType::FailoverAuthRequest
            | MessageType::FailoverAuthAck
            | MessageType::MfStart => Some(2256),
            MessageType::Ping => Some(2256 + 3 * 104),
            MessageType::Pong => Some(2256 + 104 + 32),
            _ => None,
        };
        if let Some(len) = expected_len {
            assert_eq!(bytes.len(), len, "{kind:?}");
        }
        assert_eq!(
            decode(CheckedFrame::new(&bytes).expect("one whole frame")),
            Received::Message(m),
            "{kind:?}"
        );
    }
}

#[test]
fn hostname_extension_sizes_match_redis() {
    for (host, len) in [("node3", 16), ("fakehost", 24), ("abcdefgh.example", 32)] {
        let m = Message {
            header: header(MessageType::Ping),
            body: Body::Ping {
                gossip: vec![],
                extensions: vec![PingExtension::Hostname(host.into())],
            },
        };
        let bytes = encode(&m);
        assert_eq!(bytes.len(), 2256 + len, "{host}");
        assert_eq!(bytes[2253] & 0x04, 0x04, "EXT_DATA is set");
        assert_eq!(u16::from_be_bytes([bytes[2214], bytes[2215]]), 1);
    }
}

#[test]
fn framing_closes_on_bad_signature_or_short_length() {
    assert_eq!(check_frame(b"RCmb"), FrameCheck::NeedMore);
    assert_eq!(check_frame(b"XXXX\x00\x00\x08\xd0"), FrameCheck::CloseLink);
    assert_eq!(check_frame(b"RCmb\x00\x00\x00\x10"), FrameCheck::CloseLink);
    assert_eq!(
        check_frame(b"RCmb\x00\x00\x08\xd0"),
        FrameCheck::Frame(2256)
    );
}

/// `bytes` as one frame, its `totlen` set to its length: these cases test the checks
/// by type, on frames a sender framed correctly.
fn whole(bytes: &mut [u8]) -> CheckedFrame<'_> {
    let len = u32::try_from(bytes.len()).expect("small frames");
    bytes[4..8].copy_from_slice(&len.to_be_bytes());
    CheckedFrame::new(bytes).expect("one whole frame")
}

#[test]
fn validation_drops_like_redis() {
    let ping = encode(&Message {
        header: header(MessageType::Ping),
        body: Body::Ping {
            gossip: vec![],
            extensions: vec![],
        },
    });
    // Wrong version: dropped silently.
    let mut v = ping.clone();
    v[9] = 2;
    assert!(matches!(
        decode(whole(&mut v)),
        Received::Dropped {
            reason: DropReason::BadVersion(2),
            ..
        }
    ));
    // A count that needs more bytes than sent.
    let mut c = ping.clone();
    c[15] = 1;
    assert!(matches!(
        decode(whole(&mut c)),
        Received::Dropped {
            reason: DropReason::WrongLength { expected: 2360, .. },
            kind: 0
        }
    ));
    // Extension count without the EXT_DATA flag: extension bytes are not counted.
    let with_ext = encode(&Message {
        header: header(MessageType::Ping),
        body: Body::Ping {
            gossip: vec![],
            extensions: vec![PingExtension::Hostname("x".into())],
        },
    });
    let mut no_flag = with_ext.clone();
    no_flag[2253] = 0;
    assert!(matches!(
        decode(whole(&mut no_flag)),
        Received::Dropped {
            reason: DropReason::WrongLength { .. },
            ..
        }
    ));
    // An extension that is not a multiple of 8, or overruns the message.
    let mut odd = with_ext.clone();
    odd[2256 + 3] = 12;
    assert!(matches!(
        decode(whole(&mut odd)),
        Received::Dropped {
            reason: DropReason::BadExtension,
            ..
        }
    ));
    let mut over = with_ext.clone();
    over[2256 + 3] = 64;
    assert!(matches!(
        decode(whole(&mut over)),
        Received::Dropped {
            reason: DropReason::BadExtension,
            ..
        }
    ));
    // An unknown extension type is skipped.
    let mut unknown = with_ext.clone();
    unknown[2256 + 5] = 9;
    assert!(
        matches!(decode(whole(&mut unknown)), Received::Message(Message { body: Body::Ping { ref extensions, .. }, .. }) if extensions == &[PingExtension::Unknown(9)])
    );
    // FAIL, UPDATE and AUTH messages of the wrong length.
    let mut fail = encode(&Message {
        header: header(MessageType::Fail),
        body: Body::Fail(id(b'z')),
    });
    fail.push(0);
    assert!(matches!(
        decode(whole(&mut fail)),
        Received::Dropped {
            reason: DropReason::WrongLength { expected: 2296, .. },
            ..
        }
    ));
    let mut auth = ping.clone();
    auth[13] = MessageType::FailoverAuthRequest as u8;
    auth.extend_from_slice(&[0; 8]);
    assert!(matches!(decode(whole(&mut auth)), Received::Dropped { .. }));
    // Unknown types are accepted at any length and carry no body.
    let mut unknown_type = ping.clone();
    unknown_type[13] = 42;
    unknown_type.extend_from_slice(&[7; 100]);
    assert!(matches!(
        decode(whole(&mut unknown_type)),
        Received::Message(Message {
            body: Body::Empty,
            ..
        })
    ));
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000), kind in 0u16..14, count in 0u16..4, flag in proptest::prelude::any::<bool>(), exts in 0u16..3) {
        let mut frame = vec![0u8; 2256];
        frame[..4].copy_from_slice(b"RCmb");
        frame[9] = 1;
        frame[12..14].copy_from_slice(&kind.to_be_bytes());
        frame[14..16].copy_from_slice(&count.to_be_bytes());
        frame[2214..2216].copy_from_slice(&exts.to_be_bytes());
        frame[2253] = if flag { 4 } else { 0 };
        frame.extend_from_slice(&tail);
        let total = frame.len() as u32;
        frame[4..8].copy_from_slice(&total.to_be_bytes());
        let _ = decode(whole(&mut frame));
    }
}
