//! The replication stream as a replica reads it from its master: commands as RESP
//! arrays (through the request decoder the replica's link uses), the PSYNC reply and
//! the RDB header line. No input may panic; a command that decodes must use no more
//! bytes than it was given, re-encode to bytes that decode to the same arguments, and
//! decode the same when more bytes follow it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_replication::wire::{encode_command, parse_psync_reply, parse_rdb_header};
use tessera_resp::request::{Decoded, Limits, RequestDecoder};

/// A master's stream is trusted as far as bulk sizes go, as Redis trusts it.
const LIMITS: Limits = Limits {
    max_bulk_len: 1 << 20,
    authenticated: true,
};

/// The first command in `bytes` and how many bytes it took, if one is complete.
fn first_command(bytes: &[u8]) -> Option<(usize, Vec<Vec<u8>>)> {
    let mut decoder = RequestDecoder::new();
    match decoder.decode(bytes, LIMITS) {
        Ok(Decoded::Request(n)) => {
            let args = decoder.args(&bytes[..n]);
            Some((n, args.iter_from(0).map(<[u8]>::to_vec).collect()))
        }
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_psync_reply(data);
    let _ = parse_rdb_header(data);
    let Some((used, args)) = first_command(data) else {
        return;
    };
    assert!(used > 0 && used <= data.len(), "used {used} of {} bytes", data.len());
    if args.is_empty() {
        return;
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut encoded = Vec::new();
    encode_command(&mut encoded, &refs);
    let (again_used, again) = first_command(&encoded).expect("our own encoding decodes");
    assert_eq!(again_used, encoded.len());
    assert_eq!(again, args, "re-encoding changed the arguments");
    // A prefix that decoded decodes the same with the stream going on after it.
    let mut longer = data[..used].to_vec();
    longer.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(first_command(&longer), Some((used, args)));
});
