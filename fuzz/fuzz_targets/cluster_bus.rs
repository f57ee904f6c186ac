//! Arbitrary bytes on the cluster bus, into a node that already knows two peers (one
//! master with slots, one replica): framing as the link reader does it, then the
//! engine's full processing, with the cron running between messages. No input may make
//! it panic; the fuzzer finds the signature and lengths on its own from the compares.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_cluster_bus::engine::{Action, EndpointType, Engine, EngineConfig};
use tessera_cluster_bus::topology::Topology;
use tessera_cluster_bus::wire::{FrameCheck, check_frame};
use tessera_persistence::nodes_conf;

const NODES_CONF: &str = "\
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5000
bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 127.0.0.1:7001@17001 master - 0 0 2 connected 5001-16383
cccccccccccccccccccccccccccccccccccccccc 127.0.0.1:7002@17002 slave bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 0 0 2 connected
vars currentEpoch 2 lastVoteEpoch 0
";

fn engine() -> Engine {
    let conf = nodes_conf::parse(NODES_CONF).expect("fixture parses");
    let topology = Topology::from_nodes_conf(&conf, 0).expect("fixture loads");
    let config = EngineConfig {
        node_timeout: 2000,
        port: 7000,
        cport: 17000,
        pport: 0,
        announce_ip: None,
        hostname: "fuzz".into(),
        require_full_coverage: true,
        endpoint_type: EndpointType::Ip,
        allow_replica_migration: true,
        ..EngineConfig::default()
    };
    Engine::new(topology, config, 7)
}

fuzz_target!(|data: &[u8]| {
    let mut engine = engine();
    let mut now = 1_000_000;
    // The first tick asks for outbound links to the known peers; connect them all.
    engine.tick(now);
    for action in engine.take_output().actions {
        if let Action::Connect { link, .. } = action {
            engine.connected(link, "127.0.0.1".into(), now);
        }
    }
    let inbound = engine.accepted("127.0.0.1".into(), "127.0.0.1".into(), now);
    let links: Vec<_> = engine.links().keys().copied().collect();
    // The first byte picks which link each message arrives on.
    let Some((&selector, mut stream)) = data.split_first() else {
        return;
    };
    let mut turn = 0u32;
    while let FrameCheck::Frame(len) = check_frame(stream) {
        if len > stream.len() {
            break;
        }
        let link = if selector >> (turn % 8) & 1 == 0 {
            inbound
        } else {
            links[turn as usize % links.len()]
        };
        engine.received(link, &stream[..len], now);
        stream = &stream[len..];
        now += 150;
        engine.tick(now);
        let _ = engine.take_output();
        turn += 1;
    }
    // Whatever the messages did, the view must still render.
    let _ = engine.nodes_conf();
    let _ = engine.routing_snapshot();
});
