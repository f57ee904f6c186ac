//! The AOF command stream (incremental files, a `.base.aof`, and the tail after an
//! RDB preamble): RESP arrays of bulk strings, with annotation lines starting with `#`
//! (`#TS:<unix secs>\r\n` when `aof-timestamp-enabled`).
//!
//! The reader follows Redis 7.0's `loadSingleAppendOnlyFile` rule for rule, so a file
//! Redis loads yields the same commands here and a file it refuses is refused at the
//! same place: lines are read as `fgets` into a 1024-byte buffer would read them; a
//! line starting with `#` is skipped; `*<n>` is read with `atoi` and must be at least
//! 1; each argument is `$<len>` (read with `strtol`), `len` bytes and two bytes Redis
//! discards without looking at them. Three answers are kept apart: a whole command,
//! "incomplete" (more bytes may complete it: a torn tail at end of file), and
//! "invalid" with its offset (garbage: never repaired, the file is refused).
//!
//! Deviations, both where Redis would crash or lose data: a negative bulk length is
//! invalid (Redis tries to allocate 2^64 bytes), and a torn command inside an open
//! MULTI truncates to before the MULTI (Redis cuts after the last whole command and
//! leaves a MULTI without EXEC that swallows whatever is appended next).

use std::ops::Range;

/// Redis reads each line with `fgets` into a buffer this long, so a line has at most
/// one byte less; a longer one is read in pieces, each a "line" of its own.
pub const AOF_ANNOTATION_LINE_MAX_LEN: usize = 1024;

/// Redis's log text for garbage in a file (`%s` is the file name):
/// `Bad file format reading the append only file %s: make a backup ...`.
pub const BAD_FORMAT_MESSAGE: &str = "Bad file format reading the append only file %s: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>";
/// Redis's log text for a torn tail with `aof-load-truncated no`.
pub const UNEXPECTED_EOF_MESSAGE: &str = "Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.";
/// First log line for a torn tail with `aof-load-truncated yes`.
pub const SHORT_READ_WARNING: &str = "!!! Warning: short read while loading the AOF file %s!!!";
/// Second log line for a torn tail (`%llu` is [`AofScan::commands_ok_len`]).
pub const TRUNCATING_WARNING: &str = "!!! Truncating the AOF %s at offset %llu !!!";
/// Third log line, once the file is truncated.
pub const LOADED_ANYWAY_WARNING: &str =
    "AOF %s loaded anyway because aof-load-truncated is enabled";
/// Logged when a file ends inside MULTI (before the truncation lines).
pub const REVERT_MULTI_WARNING: &str = "Revert incomplete MULTI/EXEC transaction in AOF file %s";
/// Logged for a command the command table does not know (the loader's check).
pub const UNKNOWN_COMMAND_MESSAGE: &str = "Unknown command '%s' reading the append only file %s";
/// Logged for an unreadable line (a NUL right after `*`) that is not at end of file.
pub const UNRECOVERABLE_MESSAGE: &str = "Unrecoverable error reading the append only file %s: %s";

/// Fills Redis's `%s` / `%llu` placeholders in order, for the messages above.
pub fn format_message(template: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut args = args.iter();
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let spec = if rest[i..].starts_with("%llu") { 4 } else { 2 };
        match args.next() {
            Some(arg) => out.push_str(&arg.to_string()),
            None => out.push_str(&rest[i..i + spec]),
        }
        rest = &rest[i + spec..];
    }
    out.push_str(rest);
    out
}

/// Why bytes are not an AOF command stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    /// A line that should start a command starts with neither `*` nor `#`.
    NotACommand,
    /// `*<n>` with n < 1 (as C's `atoi` reads it).
    BadArgCount,
    /// An argument line that does not start with `$`.
    NotABulkLength,
    /// `$-<n>`: Tessera refuses what would make Redis abort.
    NegativeLength,
    /// A NUL byte right after `*` in a whole line: Redis's "Unrecoverable error".
    Unreadable,
}

impl std::fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InvalidReason::NotACommand => "expected '*' or '#' at the start of a command",
            InvalidReason::BadArgCount => "argument count below 1",
            InvalidReason::NotABulkLength => "expected '$' at the start of an argument",
            InvalidReason::NegativeLength => "negative argument length",
            InvalidReason::Unreadable => "NUL byte in a command header",
        })
    }
}

/// Garbage at a byte offset (of the input slice given to the function that found it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad AOF format at offset {offset}: {reason}")]
pub struct AofError {
    /// Offset of the line that is wrong.
    pub offset: usize,
    /// What is wrong.
    pub reason: InvalidReason,
}

/// One thing read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A command: each argument's bytes, as a range of the input.
    Command(Vec<Range<usize>>),
    /// An annotation line (with its line end), as a range of the input.
    Annotation(Range<usize>),
}

/// An item and how many input bytes it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// What was read.
    pub item: Item,
    /// Bytes consumed, from the start of the input.
    pub used: usize,
}

/// Internal answer of the reader, which knows whether the input ends the file.
enum Step {
    Item(Parsed),
    /// More bytes needed (not at end of file) / torn tail (at end of file).
    Short,
    Invalid(AofError),
}

/// `fgets` into a buffer of [`AOF_ANNOTATION_LINE_MAX_LEN`] bytes at `pos`: the line's
/// end (exclusive), and whether it is whole (newline or full buffer). `None` when no
/// byte is left. A partial line is only returned at end of file.
fn fgets(buf: &[u8], pos: usize, eof: bool) -> Option<(usize, bool)> {
    let rest = buf.get(pos..).filter(|r| !r.is_empty())?;
    let max = AOF_ANNOTATION_LINE_MAX_LEN - 1;
    match rest.iter().take(max).position(|&b| b == b'\n') {
        Some(i) => Some((pos + i + 1, true)),
        None if rest.len() >= max => Some((pos + max, true)),
        None if eof => Some((buf.len(), false)),
        None => None,
    }
}

/// C's `strtol(s, NULL, 10)` as glibc does it: leading blanks, a sign, digits until
/// the first non-digit (a NUL ends the C string), saturating on overflow.
fn strtol(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        let digit = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
        i += 1;
    }
    value
}

/// The reader. With `eof`, a shortage is a torn tail rather than a wait for more, and
/// partial lines are judged as Redis judges what `fgets` returns at end of file.
fn parse(buf: &[u8], eof: bool) -> Step {
    let invalid = |offset, reason| Step::Invalid(AofError { offset, reason });
    let Some((end, whole)) = fgets(buf, 0, eof) else {
        // Nothing at all, or the first line not yet whole; but a first byte that can
        // start nothing is garbage however the line ends.
        return match buf.first() {
            Some(b) if *b != b'*' && *b != b'#' => invalid(0, InvalidReason::NotACommand),
            _ => Step::Short,
        };
    };
    match buf[0] {
        b'#' => {
            return Step::Item(Parsed {
                item: Item::Annotation(0..end),
                used: end,
            });
        }
        b'*' => {}
        _ => return invalid(0, InvalidReason::NotACommand),
    }
    if end == 1 || buf[1] == 0 {
        // Redis: `buf[1] == '\0'` is a read error; at end of file, a torn tail.
        return if whole {
            invalid(0, InvalidReason::Unreadable)
        } else {
            Step::Short
        };
    }
    // `atoi`: the long strtol reads, cut to an int.
    let argc = strtol(&buf[1..end]) as i32;
    if argc < 1 {
        return invalid(0, InvalidReason::BadArgCount);
    }
    let mut args = Vec::new();
    let mut pos = end;
    for _ in 0..argc {
        let Some((end, _)) = fgets(buf, pos, eof) else {
            // No argument line yet; a present first byte can still be judged.
            return match buf.get(pos) {
                Some(b) if *b != b'$' => invalid(pos, InvalidReason::NotABulkLength),
                _ => Step::Short,
            };
        };
        if buf[pos] != b'$' {
            return invalid(pos, InvalidReason::NotABulkLength);
        }
        let len = strtol(&buf[pos + 1..end]);
        if len < 0 {
            return invalid(pos, InvalidReason::NegativeLength);
        }
        // Redis reads `len` bytes, then two it discards unchecked.
        let start = end;
        let Some(stop) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
            return Step::Short;
        };
        if stop.checked_add(2).is_none_or(|after| after > buf.len()) {
            return Step::Short;
        }
        args.push(start..stop);
        pos = stop + 2;
        // Allocation follows the bytes present, not the count the header claims.
    }
    Step::Item(Parsed {
        item: Item::Command(args),
        used: pos,
    })
}

/// Reads the next item from `buf`, where more bytes may follow: `Ok(None)` until the
/// item is whole.
pub fn next_item(buf: &[u8]) -> Result<Option<Parsed>, AofError> {
    match parse(buf, false) {
        Step::Item(parsed) => Ok(Some(parsed)),
        Step::Short => Ok(None),
        Step::Invalid(err) => Err(err),
    }
}

/// A whole command: its arguments as ranges of the input, and the bytes it used.
pub type Command = (Vec<Range<usize>>, usize);

/// Reads the next command, skipping annotations: the arguments as ranges of `buf`
/// and the bytes used (annotations before it included). `Ok(None)` until a whole
/// command is present (at end of file: a torn tail, see [`scan`]).
pub fn next_command(buf: &[u8]) -> Result<Option<Command>, AofError> {
    let mut pos = 0;
    loop {
        let rest = &buf[pos..];
        match next_item(rest).map_err(|e| AofError {
            offset: e.offset + pos,
            ..e
        })? {
            None => return Ok(None),
            Some(Parsed {
                item: Item::Annotation(_),
                used,
            }) => pos += used,
            Some(Parsed {
                item: Item::Command(args),
                used,
            }) => {
                let args = args
                    .into_iter()
                    .map(|r| r.start + pos..r.end + pos)
                    .collect();
                return Ok(Some((args, pos + used)));
            }
        }
    }
}

/// What a whole file holds, for the loader to decide with `aof-load-truncated`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AofScan {
    /// Redis's `valid_up_to`: the end of the last whole command outside an open
    /// MULTI. The commands to load are those in `bytes[..commands_ok_len]`, and a torn
    /// file is truncated to this length.
    pub commands_ok_len: usize,
    /// Whole commands within `commands_ok_len`.
    pub commands: usize,
    /// The file ends in a torn command or inside MULTI: with `aof-load-truncated yes`
    /// truncate to `commands_ok_len` and go on (only in the last file of the
    /// manifest); with `no` refuse with [`UNEXPECTED_EOF_MESSAGE`].
    pub truncated: bool,
    /// The file ends inside MULTI (log [`REVERT_MULTI_WARNING`] first).
    pub open_multi: bool,
    /// Without error: the end of the last whole line. Less than the file's length
    /// only for a torn annotation, which Redis skips without truncating; truncate it
    /// before appending, or it swallows the next command's first line.
    pub clean_len: usize,
    /// Garbage: its offset and why. The file is refused with [`BAD_FORMAT_MESSAGE`]
    /// whatever `aof-load-truncated` says.
    pub error: Option<(usize, InvalidReason)>,
}

/// Scans a whole file's command stream (for a base with an RDB preamble, the bytes
/// after the RDB part) the way Redis loads it.
pub fn scan(bytes: &[u8]) -> AofScan {
    let mut out = AofScan::default();
    let mut pos = 0;
    let mut in_multi = false;
    let (mut before_multi, mut commands_before_multi) = (0, 0);
    let mut commands = 0;
    while pos < bytes.len() {
        match parse(&bytes[pos..], true) {
            Step::Item(Parsed {
                item: Item::Annotation(range),
                used,
            }) => {
                let whole = bytes[pos + range.end - 1] == b'\n'
                    || range.len() == AOF_ANNOTATION_LINE_MAX_LEN - 1;
                pos += used;
                if whole {
                    out.clean_len = pos;
                }
            }
            Step::Item(Parsed {
                item: Item::Command(args),
                used,
            }) => {
                let name = &bytes[pos + args[0].start..pos + args[0].end];
                if name.eq_ignore_ascii_case(b"multi") {
                    // Redis notes where the last MULTI started, nested or not.
                    before_multi = out.commands_ok_len;
                    commands_before_multi = commands;
                    in_multi = true;
                } else if name.eq_ignore_ascii_case(b"exec") {
                    in_multi = false;
                }
                pos += used;
                commands += 1;
                out.commands_ok_len = pos;
                out.clean_len = pos;
            }
            Step::Short => {
                out.truncated = true;
                break;
            }
            Step::Invalid(err) => {
                out.error = Some((pos + err.offset, err.reason));
                break;
            }
        }
    }
    out.commands = commands;
    if in_multi && out.error.is_none() {
        out.truncated = true;
        out.open_multi = true;
        out.commands_ok_len = before_multi;
        out.commands = commands_before_multi;
    }
    out
}

/// Appends a command as Redis writes it to the AOF: `*<n>\r\n` then `$<len>\r\n<arg>\r\n`
/// for each argument.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.reserve(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.push(b'$');
        out.extend_from_slice(arg.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// The SELECT Redis writes before a command for another database than the last.
pub fn encode_select(out: &mut Vec<u8>, db: u32) {
    encode_command(out, &[b"SELECT", db.to_string().as_bytes()]);
}

/// `#TS:<unix secs>\r\n`, written (with `aof-timestamp-enabled yes`) before the first
/// command of each new second, and at the start of a rewritten base.
pub fn timestamp_annotation(unix_secs: u64) -> Vec<u8> {
    format!("#TS:{unix_secs}\r\n").into_bytes()
}

/// The seconds in a `#TS:` annotation line (with or without its line end), as
/// redis-check-aof's `--truncate-to-timestamp` reads them.
pub fn parse_timestamp_annotation(line: &[u8]) -> Option<u64> {
    let digits = line.strip_prefix(b"#TS:")?;
    let digits = digits.strip_suffix(b"\n").unwrap_or(digits);
    let digits = digits.strip_suffix(b"\r").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Whether a file starts with an RDB preamble (the `REDIS` magic), as Redis checks
/// before reading a base or an old-style AOF: fewer than 5 bytes is not one.
pub fn is_rdb_preamble(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"REDIS")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An incremental written by redis-server 7.0.15 with `aof-timestamp-enabled yes`.
    const TIMESTAMPED: &[u8] = include_bytes!("../../tests/data/timestamped.incr.aof");
    /// A base written by redis-server 7.0.15 with `aof-use-rdb-preamble no`.
    const COMMAND_BASE: &[u8] = include_bytes!("../../tests/data/commands.base.aof");
    /// A base written by redis-server 7.0.15 with an RDB preamble.
    const RDB_BASE: &[u8] = include_bytes!("../../tests/data/preamble.base.rdb");

    fn commands(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some((args, used)) = next_command(&bytes[pos..]).expect("valid stream") {
            out.push(
                args.iter()
                    .map(|r| bytes[pos + r.start..pos + r.end].to_vec())
                    .collect(),
            );
            pos += used;
        }
        out
    }

    fn cmd(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    /// A stream with everything a reader meets: annotations, binary and empty
    /// arguments, a transaction, a long argument.
    fn sample() -> Vec<u8> {
        let mut out = timestamp_annotation(1_796_121_703);
        encode_select(&mut out, 0);
        encode_command(&mut out, &[b"SET", b"k", b"v\r\n\0\xff"]);
        out.extend_from_slice(b"#TS:1796121704\r\n");
        encode_command(&mut out, &[b"MULTI"]);
        encode_command(&mut out, &[b"RPUSH", b"l", b"", b"b"]);
        encode_command(&mut out, &[b"EXEC"]);
        encode_command(&mut out, &[b"SET", b"big", &[b'x'; 3000]]);
        out
    }

    #[test]
    fn reads_files_redis_wrote() {
        assert_eq!(
            commands(TIMESTAMPED),
            vec![cmd(&["SELECT", "0"]), cmd(&["rpush", "l", "a", "b"])]
        );
        let s = scan(TIMESTAMPED);
        assert_eq!(
            (s.commands, s.commands_ok_len, s.truncated),
            (2, TIMESTAMPED.len(), false)
        );
        assert_eq!(
            parse_timestamp_annotation(&TIMESTAMPED[..16]),
            Some(1_796_121_703)
        );
        assert_eq!(commands(COMMAND_BASE).len(), 4);
        assert!(is_rdb_preamble(RDB_BASE));
        assert!(!is_rdb_preamble(COMMAND_BASE));
        assert!(!is_rdb_preamble(b"REDI"));
    }

    #[test]
    fn encoding_round_trips_and_matches_redis_bytes() {
        let mut out = Vec::new();
        encode_select(&mut out, 0);
        encode_command(&mut out, &[b"rpush", b"l", b"a", b"b"]);
        assert_eq!(out, TIMESTAMPED[16..]);
        let bytes = sample();
        let got = commands(&bytes);
        assert_eq!(got.len(), 6);
        assert_eq!(
            got[1],
            vec![b"SET".to_vec(), b"k".to_vec(), b"v\r\n\0\xff".to_vec()]
        );
        assert_eq!(got[3][2], b"");
        let s = scan(&bytes);
        assert_eq!(
            s,
            AofScan {
                commands_ok_len: bytes.len(),
                commands: 6,
                truncated: false,
                open_multi: false,
                clean_len: bytes.len(),
                error: None,
            }
        );
    }

    #[test]
    fn every_split_gives_the_same_commands() {
        let bytes = sample();
        let whole = commands(&bytes);
        for split in 0..=bytes.len() {
            // Feed the first part, then everything: a reader keeps what it could not
            // use and retries once more bytes arrive.
            let mut got = Vec::new();
            let mut pos = 0;
            let mut available = split;
            loop {
                match next_command(&bytes[pos..available]).expect("valid prefix") {
                    Some((args, used)) => {
                        got.push(
                            args.iter()
                                .map(|r| bytes[pos + r.start..pos + r.end].to_vec())
                                .collect::<Vec<_>>(),
                        );
                        pos += used;
                    }
                    None if available < bytes.len() => available = bytes.len(),
                    None => break,
                }
            }
            assert_eq!(got, whole, "split at {split}");
        }
    }

    #[test]
    fn a_torn_tail_at_every_byte_is_truncated_to_the_last_whole_command() {
        let bytes = sample();
        // Where each whole command ends, and the MULTI block's bounds.
        let mut ends = Vec::new();
        let mut pos = 0;
        while let Some((_, used)) = next_command(&bytes[pos..]).expect("valid") {
            pos += used;
            ends.push(pos);
        }
        // Inside the transaction once MULTI is whole, until EXEC is; a revert cuts
        // back to the end of the command before MULTI.
        let (before_multi, multi_end, exec_end) = (ends[1], ends[2], ends[4]);
        for cut in 0..bytes.len() {
            let s = scan(&bytes[..cut]);
            assert_eq!(s.error, None, "cut at {cut}");
            let last_whole = ends
                .iter()
                .copied()
                .filter(|&e| e <= cut)
                .max()
                .unwrap_or(0);
            let open = cut >= multi_end && cut < exec_end;
            let expected = if open { before_multi } else { last_whole };
            assert_eq!(s.commands_ok_len, expected, "cut at {cut}");
            // Whole annotations after the last command are fine, and so is a torn
            // one, which Redis skips without truncation.
            let mut tail = &bytes[last_whole..cut];
            while tail.first() == Some(&b'#') {
                match tail.iter().position(|&b| b == b'\n') {
                    Some(i) => tail = &tail[i + 1..],
                    None => tail = &[],
                }
            }
            let torn = !tail.is_empty();
            assert_eq!(s.truncated, torn || open, "cut at {cut}");
            assert!(
                s.clean_len <= cut && s.clean_len >= s.commands_ok_len,
                "cut at {cut}"
            );
            // What is left after the repair reads cleanly.
            let repaired = scan(&bytes[..s.commands_ok_len]);
            assert!(
                !repaired.truncated && repaired.error.is_none(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn garbage_in_the_middle_is_refused_with_its_offset() {
        let mut bytes = Vec::new();
        encode_command(&mut bytes, &[b"SET", b"a", b"1"]);
        let first = bytes.len();
        let cases: Vec<(&[u8], usize, InvalidReason)> = vec![
            (b"hello\r\n", 0, InvalidReason::NotACommand),
            (b"\r\n", 0, InvalidReason::NotACommand),
            (b"*0\r\n", 0, InvalidReason::BadArgCount),
            (b"*-3\r\n", 0, InvalidReason::BadArgCount),
            (b"*x\r\n", 0, InvalidReason::BadArgCount),
            (b"*\r\n", 0, InvalidReason::BadArgCount),
            (b"*\0\r\n", 0, InvalidReason::Unreadable),
            (b"*1\r\n:3\r\n", 4, InvalidReason::NotABulkLength),
            (b"*1\r\n$-1\r\n", 4, InvalidReason::NegativeLength),
        ];
        for (garbage, at, reason) in cases {
            let mut file = bytes.clone();
            file.extend_from_slice(garbage);
            encode_command(&mut file, &[b"SET", b"b", b"2"]);
            let s = scan(&file);
            assert_eq!(s.error, Some((first + at, reason)), "{garbage:?}");
            assert_eq!((s.commands, s.commands_ok_len), (1, first));
            let err = next_command(&file[first..]).expect_err("garbage");
            assert_eq!((err.offset, err.reason), (at, reason));
        }
        // Redis does not check the two bytes after an argument: `ab` reads as `a`
        // and the next line starts at the stray newline.
        let mut file = bytes.clone();
        file.extend_from_slice(b"*1\r\n$1\r\nab\r\n");
        let s = scan(&file);
        assert_eq!(s.error, Some((first + 11, InvalidReason::NotACommand)));
        assert_eq!(s.commands, 2);
        // Even at the very end of a file, garbage is not a torn tail.
        assert_eq!(scan(b"*0").error, Some((0, InvalidReason::BadArgCount)));
        assert_eq!(scan(b"x").error, Some((0, InvalidReason::NotACommand)));
        assert_eq!(
            scan(b"*1\r\nx").error,
            Some((4, InvalidReason::NotABulkLength))
        );
    }

    #[test]
    fn redis_leniencies() {
        // atoi/strtol read leading digits and ignore the rest; the bytes after an
        // argument are not checked.
        let s = b"*2 junk\r\n$3x\r\nGET\r\n$ 1\r\nkXY";
        let got = commands(s);
        assert_eq!(got, vec![cmd(&["GET", "k"])]);
        // A line longer than fgets's buffer is read in two: the rest is garbage.
        let mut long = b"#".to_vec();
        long.extend_from_slice(&[b'a'; 2000]);
        long.extend_from_slice(b"\r\n");
        assert_eq!(scan(&long).error, Some((1023, InvalidReason::NotACommand)));
        // An argument count that overflows int the way atoi does: 2^32+1 is 1.
        assert_eq!(
            commands(b"*4294967297\r\n$4\r\nPING\r\n"),
            vec![cmd(&["PING"])]
        );
    }

    #[test]
    fn a_file_ending_inside_multi_is_reverted() {
        let mut bytes = Vec::new();
        encode_command(&mut bytes, &[b"SET", b"a", b"1"]);
        let before = bytes.len();
        encode_command(&mut bytes, &[b"multi"]);
        encode_command(&mut bytes, &[b"SET", b"b", b"2"]);
        let s = scan(&bytes);
        assert!(s.truncated && s.open_multi);
        assert_eq!((s.commands_ok_len, s.commands), (before, 1));
    }

    /// The fuzz target's properties over seeded mutations of real and sample streams,
    /// so they run with `cargo test` too (cargo-fuzz needs nightly).
    #[test]
    fn mutated_streams_keep_the_reader_properties() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let seeds = [sample(), TIMESTAMPED.to_vec(), COMMAND_BASE.to_vec()];
        for round in 0..3000 {
            let mut bytes = seeds[round % seeds.len()].clone();
            for _ in 0..1 + rand(3) {
                let at = rand(bytes.len());
                match rand(4) {
                    0 => bytes[at] = rand(256) as u8,
                    1 => bytes.insert(at, b"*$#\r\n0123-"[rand(10)]),
                    2 => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            check_reader_properties(&bytes, rand(bytes.len() + 1));
        }
    }

    fn check_reader_properties(data: &[u8], split: usize) {
        let mut pos = 0;
        loop {
            let whole = next_command(&data[pos..]);
            let prefix = next_command(&data[pos..split.max(pos)]);
            match (&prefix, &whole) {
                (Ok(Some(p)), Ok(Some(w))) => assert_eq!(p, w),
                (Ok(Some(_)), _) => panic!("a command in a prefix is gone: {data:?}"),
                (Err(p), Err(w)) => assert_eq!(p, w),
                (Err(_), _) => panic!("garbage in a prefix became valid: {data:?}"),
                (Ok(None), _) => {}
            }
            let Ok(Some((ranges, used))) = whole else {
                break;
            };
            let args: Vec<&[u8]> = ranges
                .iter()
                .map(|r| &data[pos + r.start..pos + r.end])
                .collect();
            let mut encoded = Vec::new();
            encode_command(&mut encoded, &args);
            let (again, n) = next_command(&encoded).expect("reads").expect("whole");
            assert_eq!(n, encoded.len());
            assert_eq!(again.len(), args.len());
            pos += used;
        }
        let s = scan(data);
        if s.error.is_none() {
            assert!(s.commands_ok_len <= s.clean_len && s.clean_len <= data.len());
            let repaired = scan(&data[..s.commands_ok_len]);
            assert!(!repaired.truncated && repaired.error.is_none(), "{data:?}");
            assert_eq!(repaired.commands, s.commands);
        }
    }

    #[test]
    fn messages_are_redis_texts() {
        assert_eq!(
            format_message(TRUNCATING_WARNING, &[&"appendonly.aof.1.incr.aof", &42]),
            "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset 42 !!!"
        );
        assert!(
            format_message(BAD_FORMAT_MESSAGE, &[&"f"])
                .starts_with("Bad file format reading the append only file f: make a backup")
        );
    }
}
