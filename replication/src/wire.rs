//! The bytes of replication beyond plain RESP: the master's replies during the
//! handshake and the header of the RDB transfer. Pure functions over byte slices.
//! Commands in the stream are RESP arrays, encoded and decoded by `tessera-resp`.

/// The command encoder lives in the RESP codec; it is re-exported here because the
/// stream is made of such commands and callers found it here first.
pub use tessera_resp::command::encode_command;

/// Why bytes from a master could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The stream is not RESP as a master sends it.
    #[error("protocol error in the replication stream: {0}")]
    Protocol(&'static str),
}

fn number(text: &[u8]) -> Result<i64, WireError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(WireError::Protocol("bad length"))
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
