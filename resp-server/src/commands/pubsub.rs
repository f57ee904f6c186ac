//! SUBSCRIBE and friends, PUBLISH, SPUBLISH and PUBSUB: Redis 7.0's replies, each
//! subscription change confirmed with one push per channel carrying the running count.

use super::cursor::ArgCursor;
use super::{Ctx, help_reply};
use crate::pubsub::{Kind, confirmation};

pub(super) fn subscribe(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    subscribe_kind(ctx, args, Kind::Channel);
}

pub(super) fn psubscribe(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    subscribe_kind(ctx, args, Kind::Pattern);
}

pub(super) fn ssubscribe(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    subscribe_kind(ctx, args, Kind::Shard);
}

pub(super) fn unsubscribe(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    unsubscribe_kind(ctx, args, Kind::Channel);
}

pub(super) fn punsubscribe(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    unsubscribe_kind(ctx, args, Kind::Pattern);
}

pub(super) fn sunsubscribe(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    unsubscribe_kind(ctx, args, Kind::Shard);
}

fn subscribe_kind(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, kind: Kind) {
    let node = ctx.node;
    let mailbox = ctx.session.mailbox().clone();
    for channel in args.rest() {
        let count = node.pubsub().subscribe(&mailbox, kind, channel);
        confirmation(ctx.reply, kind.subscribe_word(), Some(channel), count);
    }
}

fn unsubscribe_kind(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, kind: Kind) {
    let node = ctx.node;
    let mailbox = ctx.session.mailbox().clone();
    if args.is_done() {
        let done = node.pubsub().unsubscribe_all(&mailbox, kind);
        if done.is_empty() {
            // Subscribed to nothing of this kind: still one confirmation.
            let count = kind.count(&mailbox.subscriptions.lock());
            confirmation(ctx.reply, kind.unsubscribe_word(), None, count);
        }
        for (channel, count) in done {
            confirmation(ctx.reply, kind.unsubscribe_word(), Some(&channel), count);
        }
        return;
    }
    for channel in args.rest() {
        let count = node.pubsub().unsubscribe(&mailbox, kind, channel);
        confirmation(ctx.reply, kind.unsubscribe_word(), Some(channel), count);
    }
}

pub(super) fn publish(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([channel, message]) = ctx.read(args.next_args()) else {
        return;
    };
    let receivers = ctx.node.publish_local(channel, message);
    match ctx.node.cluster() {
        Some(cluster) => cluster.publish(channel, message, false),
        // Outside a cluster Redis sends PUBLISH to replicas (their subscribers hear it
        // too), but not to the append-only file.
        None if ctx.records_changes() => ctx
            .node
            .replication()
            .feed_replicas_only(&[b"PUBLISH", channel, message]),
        None => {}
    }
    reply_receivers(ctx, receivers);
}

pub(super) fn spublish(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([channel, message]) = ctx.read(args.next_args()) else {
        return;
    };
    let receivers = ctx.node.spublish_local(channel, message);
    if let Some(cluster) = ctx.node.cluster() {
        cluster.publish(channel, message, true);
    }
    reply_receivers(ctx, receivers);
}

/// The receiver count, after any message this very connection was sent: Redis puts
/// those in its output buffer as it delivers, before the reply.
fn reply_receivers(ctx: &mut Ctx<'_>, receivers: usize) {
    if let Some(p) = ctx.session.pubsub.as_mut() {
        p.drain_into(ctx.reply);
    }
    ctx.reply.int(receivers as i64);
}

pub(super) fn pubsub_help(ctx: &mut Ctx<'_>, _: ArgCursor<'_>) {
    help_reply(
        ctx.reply,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}

pub(super) fn pubsub_channels(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    list_channels(ctx, args, Kind::Channel);
}

pub(super) fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    list_channels(ctx, args, Kind::Shard);
}

fn list_channels(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, kind: Kind) {
    if args.remaining() > 1 {
        return syntax_error(ctx, args);
    }
    let pattern = args.rest().next();
    let channels = ctx.node.pubsub().channels(kind, pattern);
    ctx.reply.array(channels.len());
    for c in &channels {
        ctx.reply.bulk(c);
    }
}

pub(super) fn pubsub_numsub(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    count_subscribers(ctx, args, Kind::Channel);
}

pub(super) fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    count_subscribers(ctx, args, Kind::Shard);
}

fn count_subscribers(ctx: &mut Ctx<'_>, args: ArgCursor<'_>, kind: Kind) {
    // A map in RESP3 only in later versions: 7.0 answers a flat array.
    let channels = args.rest();
    ctx.reply.array(channels.len() * 2);
    for channel in channels {
        ctx.reply.bulk(channel);
        ctx.reply
            .int(ctx.node.pubsub().numsub(kind, channel) as i64);
    }
}

pub(super) fn pubsub_numpat(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if !args.is_done() {
        return syntax_error(ctx, args);
    }
    let (_, patterns, _) = ctx.node.pubsub().sizes();
    ctx.reply.int(patterns as i64);
}

/// Redis's addReplySubcommandSyntaxError.
fn syntax_error(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let sub = String::from_utf8_lossy(args.subcommand());
    let sub: String = sub.chars().take(128).collect();
    let container = String::from_utf8_lossy(args.name()).to_ascii_uppercase();
    ctx.reply.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {container} HELP."
    ));
}
