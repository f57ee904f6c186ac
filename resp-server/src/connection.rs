//! One client connection: read, decode every complete request, run it, and write all
//! the replies of the batch in one write.

use bytes::{Buf, BytesMut};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::ClientInfo;
use crate::commands::Ctx;
use crate::config::Settings;
use crate::dispatch;
use crate::node::Node;
use crate::output::{Watch, WriteEnd, write_watched};
use crate::protocol::output_limit::SoftLimitClock;
use crate::protocol::reply::Reply;
use crate::protocol::request::{Decoded, Limits, RequestDecoder};
use crate::session::{ReplyMode, Session};
use crate::stats::Totals;

/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;

/// Why the request loop stopped before the buffer ran out.
enum Stop {
    /// Every complete request was handled.
    NeedMore,
    /// A command asked to pause before going on (DEBUG SLEEP).
    Sleep,
    /// A command's reply must be awaited before going on.
    Deferred,
    /// The connection must close once replies are written.
    Close,
    /// PSYNC or SYNC: the connection becomes a replica's link once replies are
    /// written.
    Replica,
    /// The next command is a write and writes are paused (manual failover).
    WritePaused,
}

/// Serves one connection until it closes, is killed, or the node shuts down.
pub async fn serve(node: Arc<Node>, mut stream: TcpStream, info: Arc<ClientInfo>) {
    let authenticated = node.config().settings_guard().requirepass.is_none();
    let mut session = Session::new(info.clone(), authenticated);
    let mut reply = Reply::new();
    let mut decoder = RequestDecoder::new();
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let output_clock = SoftLimitClock::default();
    loop {
        if input.capacity() - input.len() < READ_CHUNK / 4 {
            input.reserve(READ_CHUNK);
        }
        // CLIENT KILL and shutdown close the socket under us: the read then ends.
        let read = match session.pubsub.as_mut() {
            None => stream.read_buf(&mut input).await,
            // A subscriber is woken by its socket or by a message for it.
            Some(p) => tokio::select! {
                read = stream.read_buf(&mut input) => read,
                Some(first) = p.rx.recv() => {
                    p.take_into(first, &mut reply);
                    info.counters.add(Totals {
                        net_output: reply.len() as u64,
                        ..Totals::default()
                    });
                    if !write_replies(&node, &mut stream, &reply, &info, true, &output_clock).await {
                        break;
                    }
                    reply.clear();
                    continue;
                }
            },
        };
        let received = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(client = %info.addr, error = %e, "read failed");
                break;
            }
        };
        if node.pause().remaining().is_some() {
            node.pause().wait().await;
        }
        if session.pubsub.is_none() {
            // A tracking client redirecting to this connection made it a mailbox.
            session.pubsub = info.mailbox.take_made();
        }
        if let Some(p) = session.pubsub.as_mut() {
            // Pushes queued before these requests arrived go before their replies.
            p.drain_into(&mut reply);
        }
        let mut commands = 0u64;
        let stop = loop {
            let settings = node.config().settings_guard();
            let (stop, n) = run_requests(
                &node,
                &settings,
                &mut session,
                &mut reply,
                &mut decoder,
                &mut input,
            );
            commands += n;
            match stop {
                Stop::Sleep => {
                    session.sleep = None;
                    node.pause().wait().await;
                    continue;
                }
                Stop::WritePaused => {
                    node.write_pause().wait().await;
                    continue;
                }
                Stop::Deferred => {
                    if let Some(pending) = session.deferred.take() {
                        let write = if std::mem::take(&mut session.blocked) {
                            match await_blocked(&mut stream, &mut input, pending).await {
                                Some(write) => write,
                                // Gone: dropping the wait ended it.
                                None => break Stop::Close,
                            }
                        } else {
                            pending.await
                        };
                        let mark = reply.len();
                        write(&mut reply, &mut session);
                        if session.reply_mode != ReplyMode::On {
                            reply.truncate(mark);
                            if session.reply_mode == ReplyMode::Skipping {
                                session.reply_mode = ReplyMode::On;
                            }
                        }
                    }
                    continue;
                }
                _ => {}
            }
            break stop;
        };
        if let Some(p) = session.pubsub.as_mut() {
            // Messages that arrived meanwhile leave with the replies, in one write.
            p.drain_into(&mut reply);
        }
        let settings = node.config().settings_guard();
        let mut close = matches!(stop, Stop::Close);
        if input.len() > settings.client_query_buffer_limit {
            tracing::warn!(client = %info.addr, bytes = input.len(), "closing client that reached max query buffer length");
            close = true;
        }
        info.query_buffer
            .store(input.len(), std::sync::atomic::Ordering::Relaxed);
        info.counters.add(Totals {
            commands,
            net_input: received as u64,
            net_output: reply.len() as u64,
            error_replies: reply.take_error_count(),
            writes: std::mem::take(&mut session.writes),
        });
        if let Some(aof) = &*node.aof() {
            // appendfsync always: no reply leaves before the writes it acknowledges
            // are on disk (one fsync serves every connection waiting meanwhile).
            aof.durable(session.write_offset).await;
        }
        if !reply.is_empty() {
            let subscriber = session.pubsub.is_some();
            if !write_replies(&node, &mut stream, &reply, &info, subscriber, &output_clock).await {
                break;
            }
            reply.clear();
        }
        if close {
            break;
        }
        if let Some(request) = session.replica_sync.take() {
            leave_pubsub(&node, &mut session);
            // What the replica sent after PSYNC (its first ACKs) stays in `input`.
            crate::replication::master::serve_replica(
                node.clone(),
                stream,
                info.clone(),
                request,
                input,
            )
            .await;
            info.detach_socket();
            return;
        }
    }
    leave_pubsub(&node, &mut session);
    let _ = stream.shutdown().await;
    info.detach_socket();
    drop(stream);
}

/// Writes a batch of replies under the client's class of client-output-buffer-limit
/// (pubsub for a subscriber, whose queued pushes count too); false when the
/// connection must close.
async fn write_replies(
    node: &Node,
    stream: &mut TcpStream,
    reply: &Reply,
    info: &ClientInfo,
    subscriber: bool,
    clock: &SoftLimitClock,
) -> bool {
    let limit = || {
        let limits = node.config().settings_guard().output_limits;
        if subscriber {
            limits.pubsub
        } else {
            limits.normal
        }
    };
    let watch = Watch {
        limit,
        clock,
        queued: |left| left + info.pending_pushes.load(Ordering::Relaxed),
        sent: |_| {},
    };
    info.pending_replies.store(reply.len(), Ordering::Relaxed);
    let written = write_watched(stream, reply.as_bytes(), watch).await;
    info.pending_replies.store(0, Ordering::Relaxed);
    match written {
        Ok(()) => true,
        Err(WriteEnd::Io(e)) => {
            tracing::debug!(client = %info.addr, error = %e, "write failed");
            false
        }
        Err(WriteEnd::OverLimit { queued }) => {
            tracing::warn!(
                client = %info.describe(),
                queued,
                "Client scheduled to be closed ASAP for overcoming of output buffer limits."
            );
            false
        }
    }
}

/// A connection that goes leaves every channel it listened on, and stops tracking.
fn leave_pubsub(node: &Node, session: &mut Session) {
    if std::mem::take(&mut session.tracking) {
        node.tracking().disable(&session.info);
    }
    if let Some(p) = session.pubsub.take() {
        node.pubsub().remove_client(&p.mailbox);
    }
    session.info.mailbox.close();
}

/// Awaits a blocking pop's reply while watching the socket: what the client sends
/// meanwhile is kept for after, and a client that leaves (or is killed) ends the wait.
async fn await_blocked(
    stream: &mut TcpStream,
    input: &mut BytesMut,
    mut pending: crate::session::Deferred,
) -> Option<crate::session::DeferredWrite> {
    let mut open = true;
    loop {
        tokio::select! {
            write = &mut pending => return Some(write),
            read = stream.read_buf(input), if open => match read {
                Ok(0) | Err(_) => return None,
                // Past the query buffer limit, stop reading until the reply.
                Ok(_) => open = input.len() < 1 << 30,
            },
        }
    }
}

/// Runs every complete request in `input`, removing them from it.
fn run_requests(
    node: &Arc<Node>,
    settings: &Settings,
    session: &mut Session,
    reply: &mut Reply,
    decoder: &mut RequestDecoder,
    input: &mut BytesMut,
) -> (Stop, u64) {
    let mut commands = 0;
    // One clock read per batch: a pipelined batch is handled within microseconds, and
    // every command of it sees the same instant.
    let now_ms = crate::clock::unix_ms();
    let stop = loop {
        let limits = Limits {
            max_bulk_len: settings.proto_max_bulk_len,
            authenticated: session.authenticated,
        };
        let used = match decoder.decode(input, limits) {
            Ok(Decoded::Request(n)) => n,
            // No preallocation for an announced bulk: the buffer grows by doubling as
            // bytes arrive, so a header alone cannot make us allocate 512 MB.
            Ok(Decoded::Incomplete(_)) => break Stop::NeedMore,
            Err(e) => {
                tracing::debug!(client = %session.info.addr, error = %e, "protocol error");
                reply.error(&format!("ERR {e}"));
                break Stop::Close;
            }
        };
        let args = decoder.args(&input[..used]);
        if !args.is_empty() && node.write_pause().active() && is_write(args) {
            // Left in the buffer (the decoder is back at its start): it runs once
            // writes resume, in order.
            break Stop::WritePaused;
        }
        if !args.is_empty() {
            if session.reply_mode == ReplyMode::SkipNext {
                session.reply_mode = ReplyMode::Skipping;
            }
            let mark = reply.len();
            let mut ctx = Ctx {
                node,
                session: &mut *session,
                reply: &mut *reply,
                settings,
                now_ms,
            };
            dispatch::execute(&mut ctx, args);
            commands += 1;
            if session.deferred.is_some() {
                // The reply comes later; the skip/off bookkeeping happens then.
                input.advance(used);
                break Stop::Deferred;
            }
            match session.reply_mode {
                ReplyMode::Off => reply.truncate(mark),
                ReplyMode::Skipping => {
                    reply.truncate(mark);
                    session.reply_mode = ReplyMode::On;
                }
                ReplyMode::On | ReplyMode::SkipNext => {}
            }
            if session.tracking {
                // Invalidations of this command's own changes follow its reply, as in
                // Redis, before the next command's.
                if let Some(p) = session.pubsub.as_mut() {
                    p.drain_into(reply);
                }
            }
        }
        input.advance(used);
        if session.close {
            break Stop::Close;
        }
        if session.replica_sync.is_some() {
            break Stop::Replica;
        }
        if session.sleep.is_some() {
            break Stop::Sleep;
        }
    };
    session.info.touch(now_ms);
    (stop, commands)
}

/// Whether a request is a write command (what a write pause holds back).
fn is_write(args: crate::protocol::request::Args<'_>) -> bool {
    crate::catalog::CommandTable::get()
        .lookup(args.get(0))
        .is_some_and(|c| c.meta.is_write())
}
