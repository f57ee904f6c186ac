//! The replication stream as a replica reads it from its master: commands as RESP
//! arrays, the PSYNC reply and the RDB header line. No input may panic; a command that
//! parses must use no more bytes than it was given, re-encode to bytes that parse to
//! the same arguments, and parse the same when more bytes follow it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_replication::wire::{
    encode_command, parse_command, parse_psync_reply, parse_rdb_header,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_psync_reply(data);
    let _ = parse_rdb_header(data);
    let Ok(Some(command)) = parse_command(data) else {
        return;
    };
    assert!(command.len <= data.len(), "used more bytes than given");
    let args: Vec<&[u8]> = command.args.iter().map(|r| &data[r.clone()]).collect();
    let mut encoded = Vec::new();
    encode_command(&mut encoded, &args);
    let again = parse_command(&encoded)
        .expect("our own encoding parses")
        .expect("our own encoding is complete");
    assert_eq!(again.len, encoded.len());
    let reargs: Vec<&[u8]> = again.args.iter().map(|r| &encoded[r.clone()]).collect();
    assert_eq!(reargs, args, "re-encoding changed the arguments");
    // A prefix that parsed parses the same with the stream going on after it.
    let mut longer = data[..command.len].to_vec();
    longer.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(parse_command(&longer), Ok(Some(command)));
});
