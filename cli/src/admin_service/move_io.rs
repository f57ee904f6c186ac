//! The RESP exchanges of a slot move: MULTI/EXEC of SETSLOTs, GETKEYSINSLOT replies,
//! MIGRATEs spread over a source's lanes, and a node's view of itself.

use anyhow::Context;
use tessera_migration::close::SourceSelf;
use tessera_migration::plan::{self, MigrateTarget};
use tessera_persistence::nodes_conf;
use tessera_resp::frame::Frame;

use crate::resp_client::Client;

/// Keys and bytes one round moved.
pub struct Moved {
    /// Keys moved.
    pub keys: u64,
    /// Their key names and string values, in bytes.
    pub bytes: u64,
}

/// Sends each slot's MIGRATE (after a STRLEN per key, for the byte count) on one of
/// the source's lanes, spread evenly, all lanes at once: MIGRATE waits for the target,
/// and a Tessera source runs MIGRATEs of different slots side by side.
pub fn migrate_in_lanes(
    lanes: &mut [Client],
    target: &MigrateTarget<'_>,
    groups: Vec<Vec<Vec<u8>>>,
) -> anyhow::Result<Moved> {
    let mut per_lane: Vec<(Vec<plan::Command>, Vec<usize>)> = vec![Default::default(); lanes.len()];
    let mut names = 0u64;
    for (i, keys) in groups.into_iter().enumerate() {
        let (commands, shape) = &mut per_lane[i % lanes.len()];
        names += keys.iter().map(|k| k.len() as u64).sum::<u64>();
        commands.extend(keys.iter().map(|k| vec![b"STRLEN".to_vec(), k.clone()]));
        commands.push(plan::migrate(target, &keys));
        shape.push(keys.len());
    }
    let results: Vec<anyhow::Result<Moved>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter_mut()
            .zip(&per_lane)
            .filter(|(_, (commands, _))| !commands.is_empty())
            .map(|(lane, (commands, shape))| {
                scope.spawn(move || {
                    let replies = lane.pipeline(commands)?;
                    tally(&replies, shape)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a lane panicked")))
            })
            .collect()
    });
    let mut moved = Moved {
        keys: 0,
        bytes: names,
    };
    for r in results {
        let r = r?;
        moved.keys += r.keys;
        moved.bytes += r.bytes;
    }
    Ok(moved)
}

/// Reads one lane's replies: per slot, a STRLEN per key then the MIGRATE.
fn tally(replies: &[Frame], shape: &[usize]) -> anyhow::Result<Moved> {
    let mut moved = Moved { keys: 0, bytes: 0 };
    let mut at = 0;
    for &keys in shape {
        for r in &replies[at..at + keys] {
            if let Frame::Integer(n) = r {
                moved.bytes += *n as u64;
            }
        }
        match &replies[at + keys] {
            Frame::Simple(_) => moved.keys += keys as u64,
            Frame::Error(e) => {
                anyhow::bail!("MIGRATE failed: {}", String::from_utf8_lossy(e.as_ref()))
            }
            other => anyhow::bail!("unexpected reply to MIGRATE: {other:?}"),
        }
        at += keys + 1;
    }
    Ok(moved)
}

/// A node refused a command of a transaction: kept typed so a caller can tell a
/// refusal it knows how to read from a broken connection.
#[derive(Debug)]
pub struct Refusal {
    /// The command, as text.
    pub command: String,
    /// The error reply.
    pub error: Vec<u8>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.command,
            String::from_utf8_lossy(&self.error)
        )
    }
}

impl std::error::Error for Refusal {}

/// Runs a MULTI ... EXEC pipeline; any refusal, queued or executed, is an error (a
/// [`Refusal`]).
pub fn transaction(client: &mut Client, commands: &[plan::Command]) -> anyhow::Result<()> {
    let replies = client.pipeline(commands)?;
    let refusal = |c: &plan::Command, e: &[u8]| Refusal {
        command: c
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        error: e.to_vec(),
    };
    for (command, reply) in commands.iter().zip(&replies) {
        if let Frame::Error(e) = reply {
            return Err(refusal(command, e).into());
        }
    }
    match replies.last() {
        Some(Frame::Array(results)) => {
            for (command, result) in commands[1..].iter().zip(results) {
                if let Frame::Error(e) = result {
                    return Err(refusal(command, e).into());
                }
            }
            Ok(())
        }
        other => anyhow::bail!("unexpected reply to EXEC: {other:?}"),
    }
}

/// The node as it describes itself: whom it follows and which slots it has open,
/// from the line of its CLUSTER NODES flagged `myself`.
pub fn own_view(client: &mut Client) -> anyhow::Result<SourceSelf<String>> {
    let text = client.text(&["CLUSTER", "NODES"])?;
    let conf = nodes_conf::parse(&text).context("reading CLUSTER NODES")?;
    let me = conf
        .nodes
        .into_iter()
        .find(|n| n.flags.split(',').any(|f| f == "myself"))
        .context("CLUSTER NODES has no line flagged myself")?;
    let is_replica = me.flags.split(',').any(|f| f == "slave");
    Ok(SourceSelf {
        master: me.master.filter(|_| is_replica),
        open: me
            .migrating
            .iter()
            .chain(&me.importing)
            .map(|(slot, _)| *slot)
            .collect(),
    })
}

/// The keys of a GETKEYSINSLOT reply.
pub fn key_list(reply: Frame) -> anyhow::Result<Vec<Vec<u8>>> {
    match reply {
        Frame::Array(items) => items
            .into_iter()
            .map(|f| match f {
                Frame::Bulk(k) => Ok(k),
                other => anyhow::bail!("unexpected key in GETKEYSINSLOT's reply: {other:?}"),
            })
            .collect(),
        Frame::Error(e) => anyhow::bail!("CLUSTER GETKEYSINSLOT: {}", String::from_utf8_lossy(&e)),
        other => anyhow::bail!("unexpected reply to GETKEYSINSLOT: {other:?}"),
    }
}
