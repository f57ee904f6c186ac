//! nodes.conf text, as a node reads it at start (a file a crash, a disk or an operator
//! may have mangled): parsing must refuse or succeed without panicking; what parses
//! renders to text that parses to the same lines; and loading it into a topology must
//! refuse or build one that keeps the topology's invariants and renders again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_cluster_bus::topology::Topology;
use tessera_persistence::nodes_conf::{parse, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(conf) = parse(text) else {
        return;
    };
    let rendered = render(&conf);
    let reparsed = parse(&rendered).expect("a rendered nodes.conf parses");
    assert_eq!(render(&reparsed), rendered, "render is not a fixed point");
    if let Ok(topology) = Topology::from_nodes_conf(&conf, 1_000_000) {
        topology.check_invariants();
    }
});
