//! The bytes of replication: commands as RESP arrays, the master's replies during the
//! handshake, and the header of the RDB transfer. Pure functions over byte slices,
//! with "incomplete" distinct from "invalid".

use std::ops::Range;

/// Appends `args` as a RESP array of bulk strings: the form of every command in the
/// replication stream.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Why bytes from a master could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The stream is not RESP as a master sends it.
    #[error("protocol error in the replication stream: {0}")]
    Protocol(&'static str),
}

/// One command found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCommand {
    /// Where each argument lies in the buffer that was parsed.
    pub args: Vec<Range<usize>>,
    /// How many bytes the command took, newlines before it included: what it adds to
    /// the replication offset.
    pub len: usize,
}

/// Largest argument accepted from a master (Redis's proto-max-bulk-len default).
const MAX_BULK: usize = 512 * 1024 * 1024;

fn line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rel = buf.get(from..)?.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[from..from + rel], from + rel + 2))
}

fn number(text: &[u8]) -> Result<i64, WireError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(WireError::Protocol("bad length"))
}

/// Parses the next command of a replication stream. `Ok(None)`: not complete yet.
/// Bare newlines (a master's keepalive) are skipped but counted in `len`, as they count
/// in the master's offset.
pub fn parse_command(buf: &[u8]) -> Result<Option<StreamCommand>, WireError> {
    let mut at = buf.iter().take_while(|&&b| b == b'\n').count();
    if at == buf.len() {
        return Ok(None);
    }
    if buf[at] != b'*' {
        return Err(WireError::Protocol("expected an array"));
    }
    let Some((count, next)) = line(buf, at + 1) else {
        return Ok(None);
    };
    let count = number(count)?;
    if !(0..=1024 * 1024).contains(&count) {
        return Err(WireError::Protocol("bad array length"));
    }
    at = next;
    let mut args = Vec::with_capacity(count as usize);
    for _ in 0..count {
        match buf.get(at) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(_) => return Err(WireError::Protocol("expected a bulk string")),
        }
        let Some((len, start)) = line(buf, at + 1) else {
            return Ok(None);
        };
        let len = number(len)?;
        if !(0..=MAX_BULK as i64).contains(&len) {
            return Err(WireError::Protocol("bad bulk length"));
        }
        let end = start + len as usize;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(WireError::Protocol("bulk string not terminated"));
        }
        args.push(start..end);
        at = end + 2;
    }
    Ok(Some(StreamCommand { args, len: at }))
}

/// The master's answer to PSYNC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsyncReply {
    /// `+FULLRESYNC <replid> <offset>`: an RDB follows.
    Full {
        /// The master's replid.
        replid: String,
        /// The stream offset the RDB corresponds to.
        offset: u64,
    },
    /// `+CONTINUE [<replid>]`: the stream continues where the replica stopped.
    Continue {
        /// The master's replid, when it sent one (PSYNC2 masters do).
        replid: Option<String>,
    },
    /// An error (`-NOMASTERLINK`, `-LOADING`, ...): try again later.
    Error(String),
}

/// Reads the master's reply to PSYNC from one line (without CRLF).
pub fn parse_psync_reply(line: &[u8]) -> Result<PsyncReply, WireError> {
    let text = std::str::from_utf8(line).map_err(|_| WireError::Protocol("not text"))?;
    if let Some(err) = text.strip_prefix('-') {
        return Ok(PsyncReply::Error(err.to_string()));
    }
    let mut words = text.split(' ');
    match words.next() {
        Some("+FULLRESYNC") => {
            let replid = words.next().filter(|r| r.len() == 40);
            let offset = words.next().and_then(|o| o.parse().ok());
            match (replid, offset) {
                (Some(r), Some(o)) => Ok(PsyncReply::Full {
                    replid: r.to_string(),
                    offset: o,
                }),
                _ => Err(WireError::Protocol("bad +FULLRESYNC")),
            }
        }
        Some("+CONTINUE") => Ok(PsyncReply::Continue {
            replid: words.next().filter(|r| r.len() == 40).map(str::to_string),
        }),
        _ => Err(WireError::Protocol("unexpected reply to PSYNC")),
    }
}

/// How the RDB of a full sync is framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdbFraming {
    /// `$<len>`: exactly this many bytes follow.
    Length(u64),
    /// `$EOF:<mark>`: bytes follow until the 40-byte mark (diskless masters).
    Until(Vec<u8>),
}

/// Reads the line that announces the RDB (without CRLF).
pub fn parse_rdb_header(line: &[u8]) -> Result<RdbFraming, WireError> {
    let rest = line
        .strip_prefix(b"$")
        .ok_or(WireError::Protocol("expected the RDB payload"))?;
    if let Some(mark) = rest.strip_prefix(b"EOF:") {
        if mark.len() != 40 {
            return Err(WireError::Protocol("bad EOF mark"));
        }
        return Ok(RdbFraming::Until(mark.to_vec()));
    }
    let len = number(rest)?;
    u64::try_from(len)
        .map(RdbFraming::Length)
        .map_err(|_| WireError::Protocol("bad RDB length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_split_anywhere() {
        let mut stream = b"\n\n".to_vec();
        encode_command(&mut stream, &[b"SET", b"k", b"v\r\nx"]);
        encode_command(&mut stream, &[b"PING"]);
        let first = parse_command(&stream).unwrap().unwrap();
        let args: Vec<&[u8]> = first.args.iter().map(|r| &stream[r.clone()]).collect();
        assert_eq!(args, vec![&b"SET"[..], b"k", b"v\r\nx"]);
        assert_eq!(first.len, 2 + 30);
        for cut in 0..first.len {
            assert_eq!(parse_command(&stream[..cut]).unwrap(), None, "cut at {cut}");
        }
        let second = parse_command(&stream[first.len..]).unwrap().unwrap();
        assert_eq!(second.len, stream.len() - first.len);
        assert!(parse_command(b"+OK\r\n").is_err());
        assert!(parse_command(b"*1\r\n$3\r\nabcd\r\n").is_err());
        assert!(parse_command(b"*1\r\n$-5\r\n").is_err());
    }

    #[test]
    fn master_replies() {
        let id = "a".repeat(40);
        assert_eq!(
            parse_psync_reply(format!("+FULLRESYNC {id} 42").as_bytes()).unwrap(),
            PsyncReply::Full {
                replid: id.clone(),
                offset: 42
            }
        );
        assert_eq!(
            parse_psync_reply(b"+CONTINUE").unwrap(),
            PsyncReply::Continue { replid: None }
        );
        assert_eq!(
            parse_psync_reply(format!("+CONTINUE {id}").as_bytes()).unwrap(),
            PsyncReply::Continue {
                replid: Some(id.clone())
            }
        );
        assert_eq!(
            parse_psync_reply(b"-NOMASTERLINK Can't SYNC while not connected with my master")
                .unwrap(),
            PsyncReply::Error("NOMASTERLINK Can't SYNC while not connected with my master".into())
        );
        assert!(parse_psync_reply(b"+FULLRESYNC x 1").is_err());
        assert_eq!(parse_rdb_header(b"$123").unwrap(), RdbFraming::Length(123));
        assert_eq!(
            parse_rdb_header(format!("$EOF:{id}").as_bytes()).unwrap(),
            RdbFraming::Until(id.into_bytes())
        );
        assert!(parse_rdb_header(b"$EOF:short").is_err());
        assert!(parse_rdb_header(b"+OK").is_err());
    }
}
