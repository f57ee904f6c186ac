//! RESTORE payloads, the bytes any client may hand to RESTORE (and MIGRATE's target
//! reads): first the raw input, which must be refused or read without panicking, then
//! the input sealed with a valid footer, so the fuzzer reaches the RDB object decoder
//! without having to forge a CRC64. Whatever decodes must survive DUMP then RESTORE
//! unchanged, and DUMP of it must be stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_keyspace::rdb::{ReadLimits, dump, restore, seal_payload};

/// proto-max-bulk-len's default: the largest value RESTORE creates.
const MAX_LEN: u64 = 512 * 1024 * 1024;

fn limits() -> ReadLimits {
    ReadLimits::new(MAX_LEN)
}

fuzz_target!(|data: &[u8]| {
    let _ = restore(data, limits());
    let Ok(value) = restore(&seal_payload(data.to_vec()), limits()) else {
        return;
    };
    let dumped = dump(&value);
    let again = restore(&dumped, limits()).expect("our own DUMP payload restores");
    assert_eq!(again, value, "DUMP then RESTORE changed the value");
    assert_eq!(dump(&again), dumped, "DUMP is not stable");
});
