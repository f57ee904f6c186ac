//! The replica's side of the link to its master, as rules over bytes: the handshake
//! (PING, AUTH, REPLCONF, PSYNC) and what each reply means, the framing of lines and of
//! the snapshot, and which commands of the stream are the master talking to the link
//! rather than writes to apply. The server's task owns the socket, feeds what it reads
//! here and sends what it is told to; no I/O and no clock in this file.

use crate::wire::{PsyncReply, RdbFraming, parse_psync_reply};

/// What the replica says about itself in the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeSettings {
    /// masteruser, when the master has users (AUTH user pass).
    pub user: Option<Vec<u8>>,
    /// masterauth (None: the master needs no password).
    pub password: Option<Vec<u8>>,
    /// The port clients reach this replica on (REPLCONF listening-port).
    pub listening_port: u16,
    /// The history this replica continues: its master's replid or its own.
    pub replid: String,
    /// The offset of the first byte it lacks (PSYNC's second argument).
    pub next_offset: u64,
}

/// Where the handshake stands: each step is a command sent and its reply awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Ping,
    Auth,
    ListeningPort,
    Capabilities,
    Psync,
}

/// What to do after a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeAction {
    /// Send this command and wait for its one-line reply.
    Send(Vec<Vec<u8>>),
    /// The handshake is over: the master's answer to PSYNC.
    Done(PsyncReply),
    /// The master refused; drop the connection and try again later.
    Fail(String),
}

/// The replica's handshake, one command at a time.
#[derive(Debug, Clone)]
pub struct Handshake {
    settings: HandshakeSettings,
    step: Step,
}

impl Handshake {
    /// A handshake and its first command. PING comes first: a master that wants a
    /// password says so in its reply, and AUTH follows either way when one is set.
    pub fn start(settings: HandshakeSettings) -> (Handshake, Vec<Vec<u8>>) {
        let first = command(&[b"PING"]);
        (
            Handshake {
                settings,
                step: Step::Ping,
            },
            first,
        )
    }

    /// Takes the reply line (without CRLF) to the command last sent.
    pub fn on_reply(&mut self, line: &[u8]) -> HandshakeAction {
        match self.step {
            // Redis's replica ignores what PING answers (-NOAUTH included): AUTH decides.
            Step::Ping => match self.settings.password.clone() {
                Some(password) => {
                    self.step = Step::Auth;
                    let mut auth = vec![b"AUTH".to_vec()];
                    auth.extend(self.settings.user.clone());
                    auth.push(password);
                    HandshakeAction::Send(auth)
                }
                None => self.listening_port(),
            },
            Step::Auth if !line.starts_with(b"+") => HandshakeAction::Fail(format!(
                "the master refused AUTH: {}",
                String::from_utf8_lossy(line)
            )),
            Step::Auth => self.listening_port(),
            // Old masters refuse REPLCONF options they lack; Redis goes on regardless.
            Step::ListeningPort => {
                self.step = Step::Capabilities;
                HandshakeAction::Send(command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]))
            }
            Step::Capabilities => {
                self.step = Step::Psync;
                let next = self.settings.next_offset.to_string();
                HandshakeAction::Send(command(&[
                    b"PSYNC",
                    self.settings.replid.as_bytes(),
                    next.as_bytes(),
                ]))
            }
            Step::Psync => match parse_psync_reply(line) {
                Ok(PsyncReply::Error(e)) => {
                    HandshakeAction::Fail(format!("the master refused PSYNC: {e}"))
                }
                Ok(reply) => HandshakeAction::Done(reply),
                Err(e) => HandshakeAction::Fail(e.to_string()),
            },
        }
    }

    fn listening_port(&mut self) -> HandshakeAction {
        self.step = Step::ListeningPort;
        let port = self.settings.listening_port.to_string();
        HandshakeAction::Send(command(&[b"REPLCONF", b"listening-port", port.as_bytes()]))
    }
}

fn command(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

/// The next line in `input`: `(line length, bytes consumed)`, or `None` until a CRLF
/// arrives. Bare newlines before it are skipped: a master sends them as keepalives
/// while it prepares a snapshot.
pub fn next_line(input: &[u8]) -> Option<(std::ops::Range<usize>, usize)> {
    let start = input.iter().position(|&b| b != b'\n')?;
    let end = start + input[start..].windows(2).position(|w| w == b"\r\n")?;
    Some((start..end, end + 2))
}

/// How many bytes of `input` are the snapshot announced by `framing`, and how many to
/// consume with it; `None` until all of it has arrived.
pub fn snapshot_end(framing: &RdbFraming, input: &[u8]) -> Option<(usize, usize)> {
    match framing {
        RdbFraming::Length(len) => {
            let len = usize::try_from(*len).ok()?;
            (input.len() >= len).then_some((len, len))
        }
        // A diskless master ends the payload with the mark it announced; nothing of
        // the stream follows until the replica answers, so the mark ends the input.
        RdbFraming::Until(mark) => input
            .ends_with(mark)
            .then(|| (input.len() - mark.len(), input.len())),
    }
}

/// What one command of the master's stream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCommand {
    /// REPLCONF GETACK: answer with this replica's offset now; not applied.
    GetAck,
    /// A write (or PING, SELECT, and the MULTI ... EXEC that wrap what one call
    /// propagates: an EXEC's writes, SPOP with a count as SREMs, a script's effects):
    /// applied like a client's command, so a block runs as a transaction here too.
    Apply,
}

/// Classifies a command of the stream by its first two arguments.
pub fn classify(name: &[u8], first_arg: Option<&[u8]>) -> StreamCommand {
    let getack = name.eq_ignore_ascii_case(b"REPLCONF")
        && first_arg.is_some_and(|a| a.eq_ignore_ascii_case(b"GETACK"));
    if getack {
        StreamCommand::GetAck
    } else {
        StreamCommand::Apply
    }
}

/// The acknowledgement a replica sends: once a second, and at each GETACK; with
/// `fsynced` (its AOF is on) also how far its AOF is on disk, as Redis 7.2's
/// `REPLCONF ACK <offset> FACK <aofoffset>` (WAITAOF counts it).
pub fn ack(offset: u64, fsynced: Option<u64>) -> Vec<Vec<u8>> {
    let offset = offset.to_string();
    match fsynced {
        Some(f) => {
            let f = f.to_string();
            command(&[
                b"REPLCONF",
                b"ACK",
                offset.as_bytes(),
                b"FACK",
                f.as_bytes(),
            ])
        }
        None => command(&[b"REPLCONF", b"ACK", offset.as_bytes()]),
    }
}

/// Reads `REPLCONF ACK <offset> [FACK <aofoffset>]` (already known to be REPLCONF
/// ACK): the offset, and the AOF's when given. `None` for anything malformed.
pub fn parse_ack(args: &[&[u8]]) -> Option<(u64, Option<u64>)> {
    let number = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<u64>().ok();
    match args {
        [_, _, offset] => Some((number(offset)?, None)),
        [_, _, offset, fack, aof] if fack.eq_ignore_ascii_case(b"FACK") => {
            Some((number(offset)?, Some(number(aof)?)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(password: Option<&str>, user: Option<&str>) -> HandshakeSettings {
        HandshakeSettings {
            user: user.map(|u| u.as_bytes().to_vec()),
            password: password.map(|p| p.as_bytes().to_vec()),
            listening_port: 7001,
            replid: "a".repeat(40),
            next_offset: 43,
        }
    }

    fn words(action: HandshakeAction) -> Vec<String> {
        match action {
            HandshakeAction::Send(args) => args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn the_handshake_sends_what_redis_sends_in_order() {
        let (mut h, first) = Handshake::start(settings(Some("pw"), Some("repl")));
        assert_eq!(first, command(&[b"PING"]));
        assert_eq!(
            words(h.on_reply(b"-NOAUTH Authentication required.")),
            ["AUTH", "repl", "pw"]
        );
        assert_eq!(
            words(h.on_reply(b"+OK")),
            ["REPLCONF", "listening-port", "7001"]
        );
        assert_eq!(
            words(h.on_reply(b"+OK")),
            ["REPLCONF", "capa", "eof", "capa", "psync2"]
        );
        let psync = words(h.on_reply(b"+OK"));
        assert_eq!(psync, ["PSYNC", &"a".repeat(40), "43"]);
        assert_eq!(
            h.on_reply(b"+CONTINUE"),
            HandshakeAction::Done(PsyncReply::Continue { replid: None })
        );
    }

    #[test]
    fn refusals_end_the_handshake() {
        let (mut h, _) = Handshake::start(settings(Some("pw"), None));
        assert_eq!(words(h.on_reply(b"+PONG")), ["AUTH", "pw"]);
        assert!(matches!(
            h.on_reply(b"-WRONGPASS invalid username-password pair"),
            HandshakeAction::Fail(_)
        ));
        let (mut h, _) = Handshake::start(settings(None, None));
        for _ in 0..3 {
            assert!(matches!(h.on_reply(b"+OK"), HandshakeAction::Send(_)));
        }
        assert!(matches!(
            h.on_reply(b"-NOMASTERLINK Can't SYNC while not connected with my master"),
            HandshakeAction::Fail(_)
        ));
    }

    #[test]
    fn lines_skip_keepalives_and_wait_for_crlf() {
        assert_eq!(next_line(b"\n\n+OK\r\nrest"), Some((2..5, 7)));
        assert_eq!(next_line(b"\n\n+OK\r"), None);
        assert_eq!(next_line(b"\n\n"), None);
    }

    #[test]
    fn snapshots_end_at_their_length_or_mark() {
        assert_eq!(snapshot_end(&RdbFraming::Length(3), b"ab"), None);
        assert_eq!(snapshot_end(&RdbFraming::Length(3), b"abcd"), Some((3, 3)));
        let mark = b"m".repeat(40);
        let mut input = b"rdb".to_vec();
        assert_eq!(snapshot_end(&RdbFraming::Until(mark.clone()), &input), None);
        input.extend_from_slice(&mark);
        assert_eq!(
            snapshot_end(&RdbFraming::Until(mark), &input),
            Some((3, 43))
        );
    }

    #[test]
    fn getack_is_answered_not_applied() {
        assert_eq!(
            classify(b"replconf", Some(b"getack")),
            StreamCommand::GetAck
        );
        assert_eq!(classify(b"REPLCONF", None), StreamCommand::Apply);
        assert_eq!(classify(b"SET", Some(b"GETACK")), StreamCommand::Apply);
        assert_eq!(classify(b"multi", None), StreamCommand::Apply);
        assert_eq!(classify(b"EXEC", None), StreamCommand::Apply);
        assert_eq!(ack(42, None), command(&[b"REPLCONF", b"ACK", b"42"]));
        assert_eq!(
            ack(42, Some(40)),
            command(&[b"REPLCONF", b"ACK", b"42", b"FACK", b"40"])
        );
        let ack_args = |a: &[&[u8]]| parse_ack(a);
        assert_eq!(ack_args(&[b"REPLCONF", b"ACK", b"42"]), Some((42, None)));
        assert_eq!(
            ack_args(&[b"REPLCONF", b"ACK", b"42", b"fack", b"40"]),
            Some((42, Some(40)))
        );
        assert_eq!(ack_args(&[b"REPLCONF", b"ACK", b"x"]), None);
        assert_eq!(ack_args(&[b"REPLCONF", b"ACK", b"42", b"FACK"]), None);
    }
}
