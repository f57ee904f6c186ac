//! An append-only file as a node reads it at start (a file a crash, a disk or an
//! operator may have mangled). No input may panic. The command reader must give the
//! same answer whatever the split of its input (a prefix that yields a command yields
//! the same command when more bytes follow; garbage is garbage at the same offset),
//! commands re-encode to bytes that read back the same, and the length a scan keeps
//! reads back cleanly with the same commands. The manifest (the same bytes as text)
//! must parse or be refused, and what parses renders to text that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_persistence::aof::commands::{encode_command, next_command, scan};
use tessera_persistence::aof::manifest::{MANIFEST_MAX_LINE, Manifest};

fn args_of(bytes: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<Vec<u8>> {
    ranges.iter().map(|r| bytes[r.clone()].to_vec()).collect()
}

fuzz_target!(|data: &[u8]| {
    // Split invariance and re-encoding, command by command.
    let split = data.first().map_or(0, |b| *b as usize * data.len() / 256);
    let mut pos = 0;
    loop {
        let whole = next_command(&data[pos..]);
        let prefix = next_command(&data[pos..split.max(pos)]);
        match (&prefix, &whole) {
            (Ok(Some(p)), Ok(Some(w))) => assert_eq!(p, w, "a prefix read differently"),
            (Ok(Some(_)), _) => panic!("a command in a prefix is gone with more bytes"),
            (Err(p), Err(w)) => assert_eq!(p, w, "garbage moved with more bytes"),
            (Err(_), _) => panic!("garbage in a prefix became valid with more bytes"),
            (Ok(None), _) => {}
        }
        let Ok(Some((ranges, used))) = whole else {
            break;
        };
        assert!(used > 0 && pos + used <= data.len());
        let args = args_of(&data[pos..], &ranges);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut encoded = Vec::new();
        encode_command(&mut encoded, &refs);
        let (again, used_again) = next_command(&encoded)
            .expect("an encoded command reads")
            .expect("an encoded command is whole");
        assert_eq!(used_again, encoded.len());
        assert_eq!(args_of(&encoded, &again), args);
        pos += used;
    }

    // The scan's verdict, and the repaired file.
    let s = scan(data);
    assert!(s.commands_ok_len <= data.len());
    if s.error.is_none() {
        assert!(s.commands_ok_len <= s.clean_len && s.clean_len <= data.len());
        let repaired = scan(&data[..s.commands_ok_len]);
        assert!(!repaired.truncated && repaired.error.is_none());
        assert_eq!(repaired.commands, s.commands);
        assert_eq!(repaired.commands_ok_len, s.commands_ok_len);
    }

    // The manifest.
    if let Ok(manifest) = Manifest::parse_bytes(data) {
        let text = manifest.to_string();
        // Redis's own line limit applies to what it writes too: escaping can make a
        // line longer than any line read.
        if text.lines().all(|l| l.len() < MANIFEST_MAX_LINE) && !text.is_empty() {
            let again = Manifest::parse(&text).expect("a rendered manifest parses");
            assert_eq!(again.to_string(), text, "render is not a fixed point");
            assert_eq!(again.base, manifest.base);
            assert_eq!(again.incrs, manifest.incrs);
            assert_eq!(again.history, manifest.history);
        }
    }
});
