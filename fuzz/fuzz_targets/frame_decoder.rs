//! The RESP2/RESP3 frame decoder on arbitrary bytes: it must never panic, never claim
//! more bytes than it was given, and re-encoding what it decoded must decode to the same
//! frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_resp::frame::{Frame, decode};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((frame, used))) = decode(data, 1 << 20) {
        assert!(used <= data.len());
        let mut again = Vec::new();
        frame.encode(&mut again);
        let (reparsed, _) = decode(&again, usize::MAX)
            .expect("our own encoding decodes")
            .expect("our own encoding is complete");
        // NaN never equals itself; compare the encodings instead.
        let mut twice = Vec::new();
        reparsed.encode(&mut twice);
        assert_eq!(again, twice);
        let _: &Frame = &reparsed;
    }
});
