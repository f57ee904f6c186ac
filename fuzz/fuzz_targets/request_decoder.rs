//! The request decoder on arbitrary bytes, fed whole and in pieces.
//!
//! Beyond "never panics", it checks that splitting the input at any point yields the
//! same requests (or the same error) as feeding it at once: the resumable state machine
//! must not depend on how reads are cut. (Above 64 KiB without a line end the outcome
//! does depend on the cut, in Redis too, so larger inputs only check "never panics".)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_resp::request::{Decoded, Limits, RequestDecoder};

const LIMITS: Limits = Limits {
    max_bulk_len: 1 << 20,
    authenticated: true,
};

/// Decodes `input` as if it arrived in pieces of `step` bytes; returns the requests and
/// whether decoding ended in an error.
fn decode_in_pieces(input: &[u8], step: usize) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut decoder = RequestDecoder::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut requests = Vec::new();
    for chunk in input.chunks(step.max(1)) {
        buffer.extend_from_slice(chunk);
        loop {
            match decoder.decode(&buffer, LIMITS) {
                Ok(Decoded::Request(n)) => {
                    assert!(n > 0 && n <= buffer.len(), "consumed {n} of {}", buffer.len());
                    let args = decoder.args(&buffer[..n]);
                    requests.push(args.iter_from(0).map(<[u8]>::to_vec).collect());
                    buffer.drain(..n);
                }
                Ok(Decoded::Incomplete(need)) => {
                    assert!(need > buffer.len(), "asks for {need} with {} buffered", buffer.len());
                    break;
                }
                Err(e) => return (requests, Some(e.to_string())),
            }
        }
    }
    (requests, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let whole = decode_in_pieces(input, input.len());
    let pieces = decode_in_pieces(input, step as usize % 7 + 1);
    if input.len() < 60_000 {
        assert_eq!(whole, pieces);
    }
});
