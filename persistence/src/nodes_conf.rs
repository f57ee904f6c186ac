//! `nodes.conf` in the Redis 7.0 format: the cluster view a node keeps across restarts.
//!
//! One line per node, exactly as CLUSTER NODES prints it, then
//! `vars currentEpoch <n> lastVoteEpoch <n>`:
//!
//! ```text
//! <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master|-> <ping> <pong> <epoch> <link> [slots...]
//! ```
//!
//! Slots are `N` or `A-B`; on the node's own line `[N->-<id>]` marks a slot it migrates
//! and `[N-<-<id>]` one it imports. The same renderer serves CLUSTER NODES, so the file
//! and the reply cannot drift apart.

use std::fmt::Write as _;

/// One node line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeLine {
    /// Node ID (40 characters of `[a-z0-9]`).
    pub id: String,
    /// IP, possibly empty.
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Bus port.
    pub cport: u16,
    /// Hostname, possibly empty.
    pub hostname: String,
    /// Flags as printed (`myself,master`).
    pub flags: String,
    /// Master ID, for a replica.
    pub master: Option<String>,
    /// Pending ping time (ms), 0 if none.
    pub ping_sent: u64,
    /// Last PONG time (ms).
    pub pong_received: u64,
    /// configEpoch as printed.
    pub config_epoch: u64,
    /// Link state.
    pub connected: bool,
    /// Slot ranges, inclusive.
    pub slots: Vec<(u16, u16)>,
    /// Slots being migrated to another node.
    pub migrating: Vec<(u16, String)>,
    /// Slots being imported from another node.
    pub importing: Vec<(u16, String)>,
}

/// A whole file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodesConf {
    /// Node lines.
    pub nodes: Vec<NodeLine>,
    /// The `vars` currentEpoch.
    pub current_epoch: u64,
    /// The `vars` lastVoteEpoch.
    pub last_vote_epoch: u64,
}

/// A line that cannot be read; the file is refused rather than replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt cluster config at line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The flags a node line may carry (anything else is refused).
const KNOWN_FLAGS: [&str; 9] = [
    "myself",
    "master",
    "slave",
    "fail?",
    "fail",
    "handshake",
    "noaddr",
    "nofailover",
    "noflags",
];

/// Redis's rule for node IDs in commands and files.
pub fn valid_node_id(id: &str) -> bool {
    id.len() == 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Appends one node line (with its newline), as CLUSTER NODES prints it.
pub fn render_line(out: &mut String, n: &NodeLine) {
    let _ = write!(out, "{} {}:{}@{}", n.id, n.ip, n.port, n.cport);
    if !n.hostname.is_empty() {
        let _ = write!(out, ",{}", n.hostname);
    }
    let _ = write!(
        out,
        " {} {} {} {} {} {}",
        n.flags,
        n.master.as_deref().unwrap_or("-"),
        n.ping_sent,
        n.pong_received,
        n.config_epoch,
        if n.connected {
            "connected"
        } else {
            "disconnected"
        }
    );
    for &(a, b) in &n.slots {
        if a == b {
            let _ = write!(out, " {a}");
        } else {
            let _ = write!(out, " {a}-{b}");
        }
    }
    let mut marks: Vec<(u16, String)> = n
        .migrating
        .iter()
        .map(|(s, id)| (*s, format!(" [{s}->-{id}]")))
        .chain(
            n.importing
                .iter()
                .map(|(s, id)| (*s, format!(" [{s}-<-{id}]"))),
        )
        .collect();
    marks.sort();
    for (_, m) in marks {
        out.push_str(&m);
    }
    out.push('\n');
}

/// The whole file text.
pub fn render(conf: &NodesConf) -> String {
    let mut out = String::new();
    for n in &conf.nodes {
        render_line(&mut out, n);
    }
    let _ = writeln!(
        out,
        "vars currentEpoch {} lastVoteEpoch {}",
        conf.current_epoch, conf.last_vote_epoch
    );
    out
}

fn parse_slot_mark(token: &str) -> Option<(u16, bool, String)> {
    let inner = token.strip_prefix('[')?.strip_suffix(']')?;
    let (slot, rest) = inner.split_once('-')?;
    let slot: u16 = slot.parse().ok()?;
    let (migrating, id) = if let Some(id) = rest.strip_prefix(">-") {
        (true, id)
    } else {
        (false, rest.strip_prefix("<-")?)
    };
    (valid_node_id(id) && (slot as usize) < 16384).then(|| (slot, migrating, id.to_string()))
}

fn parse_line(line: &str, fields: &[&str]) -> Result<NodeLine, String> {
    let _ = line;
    if fields.len() < 8 {
        return Err(format!(
            "expected at least 8 fields, found {}",
            fields.len()
        ));
    }
    let id = fields[0];
    if !valid_node_id(id) {
        return Err(format!("invalid node ID '{id}'"));
    }
    let (address, hostname) = match fields[1].split_once(',') {
        Some((a, h)) => (a, h.to_string()),
        None => (fields[1], String::new()),
    };
    let (ip, ports) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("address '{address}' has no port"))?;
    let (port, cport) = match ports.split_once('@') {
        Some((p, c)) => (p, Some(c)),
        None => (ports, None),
    };
    let port: u16 = port.parse().map_err(|_| format!("invalid port '{port}'"))?;
    let cport = match cport {
        Some(c) => c.parse().map_err(|_| format!("invalid bus port '{c}'"))?,
        None => port.wrapping_add(10000),
    };
    for flag in fields[2].split(',') {
        if !KNOWN_FLAGS.iter().any(|k| k.eq_ignore_ascii_case(flag)) {
            return Err(format!("unknown flag '{flag}'"));
        }
    }
    let master = match fields[3] {
        "-" => None,
        m if valid_node_id(m) => Some(m.to_string()),
        m => return Err(format!("invalid master ID '{m}'")),
    };
    let number = |i: usize, what: &str| -> Result<u64, String> {
        fields[i]
            .parse()
            .map_err(|_| format!("invalid {what} '{}'", fields[i]))
    };
    let mut node = NodeLine {
        id: id.to_string(),
        ip: ip.to_string(),
        port,
        cport,
        hostname,
        flags: fields[2].to_string(),
        master,
        ping_sent: number(4, "ping time")?,
        pong_received: number(5, "pong time")?,
        config_epoch: number(6, "config epoch")?,
        connected: fields[7] == "connected",
        ..NodeLine::default()
    };
    for token in &fields[8..] {
        if token.starts_with('[') {
            let (slot, migrating, other) =
                parse_slot_mark(token).ok_or_else(|| format!("invalid slot mark '{token}'"))?;
            if migrating {
                node.migrating.push((slot, other));
            } else {
                node.importing.push((slot, other));
            }
            continue;
        }
        let (a, b) = match token.split_once('-') {
            Some((a, b)) => (a, b),
            None => (*token, *token),
        };
        let (a, b): (u16, u16) = match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) if a <= b && (b as usize) < 16384 => (a, b),
            _ => return Err(format!("invalid slot range '{token}'")),
        };
        node.slots.push((a, b));
    }
    Ok(node)
}

/// Parses a file. Blank lines are skipped and the `vars` line may appear anywhere, as
/// Redis allows; anything malformed is an error naming its line.
pub fn parse(text: &str) -> Result<NodesConf, ParseError> {
    let mut conf = NodesConf::default();
    let mut myself = 0;
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let fail = |reason: String| ParseError {
            line: index + 1,
            reason,
        };
        if fields[0].eq_ignore_ascii_case("vars") {
            for pair in fields[1..].chunks(2) {
                let value = pair.get(1).and_then(|v| v.parse::<u64>().ok());
                match (pair[0], value) {
                    (name, Some(v)) if name.eq_ignore_ascii_case("currentEpoch") => {
                        conf.current_epoch = v
                    }
                    (name, Some(v)) if name.eq_ignore_ascii_case("lastVoteEpoch") => {
                        conf.last_vote_epoch = v
                    }
                    (_, Some(_)) => {} // Unknown variables are skipped, as Redis does.
                    (name, None) => {
                        return Err(fail(format!("variable '{name}' has no numeric value")));
                    }
                }
            }
            continue;
        }
        let node = parse_line(line, &fields).map_err(fail)?;
        if node
            .flags
            .split(',')
            .any(|f| f.eq_ignore_ascii_case("myself"))
        {
            myself += 1;
        }
        conf.nodes.push(node);
    }
    match myself {
        1 => {}
        0 => {
            return Err(ParseError {
                line: 0,
                reason: "no line describes this node (no 'myself' flag)".into(),
            });
        }
        _ => {
            return Err(ParseError {
                line: 0,
                reason: "more than one line has the 'myself' flag".into(),
            });
        }
    }
    // A replica's line shows its master's epoch; the replica's own is unknown here.
    for n in &mut conf.nodes {
        if n.flags.split(',').any(|f| f == "slave") {
            n.config_epoch = 0;
        }
    }
    let max = conf.nodes.iter().map(|n| n.config_epoch).max().unwrap_or(0);
    conf.current_epoch = conf.current_epoch.max(max);
    Ok(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nodes.conf written by redis-server 7.0.15 (a replica's view, with a hostname
    /// and migrating/importing marks on its own line added by a test of its own).
    const REDIS_FILE: &str = "\
cf588a80cf588a80cf588a80cf588a80cf588a80 127.0.0.1:30004@40004 myself,slave e2e1dce3e2e1dce3e2e1dce3e2e1dce3e2e1dce3 0 1795315955111 3 connected
e2e1dce3e2e1dce3e2e1dce3e2e1dce3e2e1dce3 127.0.0.1:30002@40002,abcdefgh.example master - 0 1795316107000 3 connected 0-1 5461-10922
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:30001@40001 master,fail? - 1795316100000 1795316090000 1 disconnected 2-5460

vars currentEpoch 6 lastVoteEpoch 2
";

    #[test]
    fn reads_redis_format() {
        let conf = parse(REDIS_FILE).unwrap();
        assert_eq!(conf.nodes.len(), 3);
        assert_eq!((conf.current_epoch, conf.last_vote_epoch), (6, 2));
        let me = &conf.nodes[0];
        assert_eq!(me.flags, "myself,slave");
        assert_eq!(me.config_epoch, 0, "a replica's epoch is not its own");
        assert_eq!(
            me.master.as_deref(),
            Some("e2e1dce3e2e1dce3e2e1dce3e2e1dce3e2e1dce3")
        );
        let m = &conf.nodes[1];
        assert_eq!(
            (m.ip.as_str(), m.port, m.cport, m.hostname.as_str()),
            ("127.0.0.1", 30002, 40002, "abcdefgh.example")
        );
        assert_eq!(m.slots, vec![(0, 1), (5461, 10922)]);
        assert!(!conf.nodes[2].connected);
    }

    #[test]
    fn a_file_written_by_redis_round_trips_byte_for_byte() {
        // Written by redis-server 7.0.15 (its own IP not yet learned, a hostname).
        let text = "ffffffffffffffffffffffffffffffffffffffff 127.0.0.1:7501@17501 master - 0 1795326232463 0 connected\n\
601c41aae616c1419c7c60f9c13de6293a117aac :6401@16401,node-a myself,master - 0 0 0 connected 0-2 100\n\
vars currentEpoch 0 lastVoteEpoch 0\n";
        let conf = parse(text).unwrap();
        assert_eq!(conf.nodes[1].hostname, "node-a");
        assert_eq!(render(&conf), text);
    }

    #[test]
    fn round_trips_including_marks() {
        let mut conf = parse(REDIS_FILE).unwrap();
        conf.nodes[1]
            .migrating
            .push((5461, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()));
        conf.nodes[1]
            .importing
            .push((100, "cf588a80cf588a80cf588a80cf588a80cf588a80".into()));
        let text = render(&conf);
        assert!(text.contains(" [100-<-cf588a80cf588a80cf588a80cf588a80cf588a80] [5461->-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"));
        assert_eq!(parse(&text).unwrap(), conf);
    }

    #[test]
    fn defaults_and_tolerances() {
        let conf = parse("vars currentEpoch 1 lastVoteEpoch 0 someFutureVar 5\n\nabababababababababababababababababababab 10.0.0.1:7000 myself,master - 0 0 4 connected\n").unwrap();
        assert_eq!(
            conf.nodes[0].cport, 17000,
            "a missing @cport means port+10000"
        );
        assert_eq!(conf.current_epoch, 4, "raised to the largest configEpoch");
        let fresh = parse("abababababababababababababababababababab :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n").unwrap();
        assert_eq!(fresh.nodes[0].ip, "");
    }

    #[test]
    fn corruption_is_refused_with_its_line() {
        let cases = [
            (
                "x 1:2@3 myself,master - 0 0 0 connected\n",
                1,
                "invalid node ID",
            ),
            (
                "abababababababababababababababababababab 1:2@3 myself,master - 0 0\n",
                1,
                "at least 8 fields",
            ),
            (
                "\nabababababababababababababababababababab 1:2@3 myself,wizard - 0 0 0 connected\n",
                2,
                "unknown flag 'wizard'",
            ),
            (
                "abababababababababababababababababababab 1:2@3 myself,master - 0 0 0 connected 9-3\n",
                1,
                "invalid slot range",
            ),
            (
                "abababababababababababababababababababab 1:2@3 myself,master - 0 0 0 connected 16384\n",
                1,
                "invalid slot range",
            ),
            (
                "abababababababababababababababababababab 1:2@3 myself,master - 0 0 0 connected [5-?-x]\n",
                1,
                "invalid slot mark",
            ),
            (
                "abababababababababababababababababababab 1:2@3 master - 0 0 0 connected\n",
                0,
                "no line describes this node",
            ),
        ];
        for (text, line, reason) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text}");
            assert!(err.reason.contains(reason), "{err}");
        }
    }
}
