//! Listpack and ziplist bytes from arbitrary input (RESTORE payloads carry them as is):
//! parsing must refuse or accept without panicking. An accepted listpack keeps its bytes,
//! iterates the same both ways, and rebuilding it from its values gives a listpack with
//! the same values that itself re-parses to identical bytes. The same input is also
//! tried as a ziplist, and a ziplist's values must build a valid listpack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_keyspace::encoding::listpack::Listpack;
use tessera_keyspace::encoding::ziplist::ziplist_entries;

fuzz_target!(|data: &[u8]| {
    if let Ok(lp) = Listpack::from_bytes(data) {
        assert_eq!(lp.as_bytes(), data, "parsing changed the bytes");
        let forward: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        let mut backward: Vec<Vec<u8>> = lp.iter().rev().map(|e| e.to_vec()).collect();
        backward.reverse();
        assert_eq!(forward, backward, "iteration differs by direction");
        assert_eq!(forward.len(), lp.len());
        for (i, v) in forward.iter().enumerate() {
            assert!(lp.get(i).expect("in range").eq_bytes(v));
        }
        let rebuilt = Listpack::from_values(forward.iter().map(Vec::as_slice));
        let again = Listpack::from_bytes(rebuilt.as_bytes()).expect("our listpack parses");
        assert_eq!(
            again.as_bytes(),
            rebuilt.as_bytes(),
            "re-encoding is not stable"
        );
        let values: Vec<Vec<u8>> = again.iter().map(|e| e.to_vec()).collect();
        assert_eq!(values, forward, "re-encoding changed the values");
    }
    if let Ok(entries) = ziplist_entries(data) {
        let lp = Listpack::from_values(
            entries
                .iter()
                .map(|e| e.as_entry().to_vec())
                .collect::<Vec<_>>()
                .iter()
                .map(Vec::as_slice),
        );
        assert_eq!(lp.len(), entries.len());
        Listpack::from_bytes(lp.as_bytes()).expect("our listpack parses");
    }
});
