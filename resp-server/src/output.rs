//! Writing a client's output under its class of client-output-buffer-limit.
//!
//! A connection reads no more requests while its replies wait to be written, so what a
//! client that stops reading can hold is one batch of replies (or, for a replica, the
//! stream fed meanwhile). The hard limit is checked before a write starts; the soft
//! limit's deadline is watched while a write waits on the client, as Redis closes a
//! client whose output stays over it for longer than its seconds.

use std::io;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::protocol::output_limit::{OutputLimit, SoftLimitClock};

/// Why a watched write did not finish.
#[derive(Debug)]
pub enum WriteEnd {
    /// The socket failed or closed.
    Io(io::Error),
    /// The client's output broke its limit: it must be closed.
    OverLimit {
        /// Bytes queued when the limit was broken.
        queued: usize,
    },
}

impl From<io::Error> for WriteEnd {
    fn from(e: io::Error) -> WriteEnd {
        WriteEnd::Io(e)
    }
}

/// How a watched write measures and limits its client's output.
pub struct Watch<'a, L, Q, S> {
    /// The class's limits, read at every check (CONFIG SET applies to a waiting write).
    pub limit: L,
    /// The soft limit's clock, kept for the connection's life.
    pub clock: &'a SoftLimitClock,
    /// The client's whole queued output, given what is left of this write.
    pub queued: Q,
    /// Told each time some of this write's bytes reach the socket.
    pub sent: S,
}

/// Writes all of `bytes`, unless the client's output breaks its limit first.
pub async fn write_watched<W, L, Q, S>(
    out: &mut W,
    bytes: &[u8],
    mut watch: Watch<'_, L, Q, S>,
) -> Result<(), WriteEnd>
where
    W: AsyncWrite + Unpin,
    L: Fn() -> OutputLimit,
    Q: Fn(usize) -> usize,
    S: FnMut(usize),
{
    let mut at = 0;
    while at < bytes.len() {
        let limit = (watch.limit)();
        if limit == OutputLimit::default() {
            // No limit for this class (normal clients, by default): a plain write.
            out.write_all(&bytes[at..]).await?;
            (watch.sent)(bytes.len() - at);
            return Ok(());
        }
        let queued = (watch.queued)(bytes.len() - at);
        let now = crate::clock::unix_ms();
        if watch.clock.must_close(limit, queued, now) {
            return Err(WriteEnd::OverLimit { queued });
        }
        let written = match watch.clock.deadline(limit) {
            None => out.write(&bytes[at..]).await?,
            // A socket write is cancel-safe: a write that loses the race wrote nothing.
            Some(deadline) => tokio::select! {
                n = out.write(&bytes[at..]) => n?,
                () = tokio::time::sleep(Duration::from_millis((deadline - now).max(1) as u64)) => continue,
            },
        };
        if written == 0 {
            return Err(WriteEnd::Io(io::ErrorKind::WriteZero.into()));
        }
        at += written;
        (watch.sent)(written);
    }
    Ok(())
}
