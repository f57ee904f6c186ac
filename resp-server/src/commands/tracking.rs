//! CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching's
//! commands (the table itself is `crate::tracking`).

use super::cursor::ArgCursor;
use super::{Ctx, is};
use crate::errors;
use crate::tracking::Enable;

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT]
/// [NOLOOP], checked in Redis's order: the options as they are read (REDIRECT's
/// client must exist), then ON's rules.
pub(super) fn tracking(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(status) = ctx.read(args.next_arg()) else {
        return;
    };
    let mut e = Enable {
        redirect: 0,
        bcast: false,
        optin: false,
        optout: false,
        noloop: false,
        prefixes: Vec::new(),
    };
    let rest: Vec<&[u8]> = args.rest().collect();
    let mut i = 0;
    while i < rest.len() {
        let word = rest[i];
        let more = i + 1 < rest.len();
        if is(word, "REDIRECT") && more {
            i += 1;
            if e.redirect != 0 {
                return ctx.reply.error(errors::TRACKING_ONE_REDIRECT);
            }
            let Some(id) = ctx.int_arg(rest[i]) else {
                return;
            };
            match u64::try_from(id) {
                Ok(id) if id > 0 && ctx.node.clients().get(id).is_some() => e.redirect = id,
                _ => return ctx.reply.error(errors::TRACKING_NO_REDIRECT_CLIENT),
            }
        } else if is(word, "BCAST") {
            e.bcast = true;
        } else if is(word, "OPTIN") {
            e.optin = true;
        } else if is(word, "OPTOUT") {
            e.optout = true;
        } else if is(word, "NOLOOP") {
            e.noloop = true;
        } else if is(word, "PREFIX") && more {
            i += 1;
            e.prefixes.push(rest[i].to_vec());
        } else {
            return ctx.reply.error(errors::SYNTAX);
        }
        i += 1;
    }
    if is(status, "OFF") {
        ctx.node.tracking().disable(&ctx.session.info);
        ctx.session.tracking = false;
        return ctx.reply.ok();
    }
    if !is(status, "ON") {
        return ctx.reply.error(errors::SYNTAX);
    }
    if !e.bcast && !e.prefixes.is_empty() {
        return ctx.reply.error(errors::TRACKING_PREFIX_NEEDS_BCAST);
    }
    let mode = ctx.session.info.tracking.lock().clone();
    if mode.on && mode.bcast != e.bcast {
        return ctx.reply.error(errors::TRACKING_BCAST_SWITCH);
    }
    if e.bcast && (e.optin || e.optout) {
        return ctx.reply.error(errors::TRACKING_OPT_WITH_BCAST);
    }
    if e.optin && e.optout {
        return ctx.reply.error(errors::TRACKING_OPTIN_AND_OPTOUT);
    }
    if (e.optin && mode.optout) || (e.optout && mode.optin) {
        return ctx.reply.error(errors::TRACKING_OPT_SWITCH);
    }
    if e.bcast && !prefixes_ok(ctx, &mode.prefixes, &e.prefixes) {
        return;
    }
    if !ctx.session.tracking {
        // Invalidations for this connection (and for who redirects to it) arrive here.
        let mailbox = ctx.session.mailbox().clone();
        drop(mailbox);
        ctx.session.tracking = true;
        ctx.node.journal_expiry_for_tracking();
    }
    ctx.node.tracking().enable(&ctx.session.info, e);
    ctx.reply.ok();
}

/// Redis's prefix overlap check: a new prefix may not overlap an existing one, nor a
/// later new one. Redis replies with the second error and still goes on (its check
/// returns the index of the prefix, nonzero past the first): so does Tessera, and the
/// client sees the error then OK.
fn prefixes_ok(
    ctx: &mut Ctx<'_>,
    existing: &std::collections::BTreeSet<Vec<u8>>,
    new: &[Vec<u8>],
) -> bool {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlap(old, p)) {
            ctx.reply
                .error(&errors::tracking_prefix_overlap_existing(p, old));
            return false;
        }
        if let Some(later) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            ctx.reply
                .error(&errors::tracking_prefix_overlap_given(p, later));
            return i > 0;
        }
    }
    true
}

/// CLIENT CACHING YES|NO: the next command's reads are (OPTIN) or are not (OPTOUT)
/// remembered.
pub(super) fn caching(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(word) = ctx.read(args.next_arg()) else {
        return;
    };
    let mut mode = ctx.session.info.tracking.lock();
    if !mode.on {
        drop(mode);
        return ctx.reply.error(errors::CACHING_NOT_TRACKING);
    }
    let error = if is(word, "YES") {
        (!mode.optin).then_some(errors::CACHING_YES_NEEDS_OPTIN)
    } else if is(word, "NO") {
        (!mode.optout).then_some(errors::CACHING_NO_NEEDS_OPTOUT)
    } else {
        Some(errors::SYNTAX)
    };
    match error {
        Some(text) => {
            drop(mode);
            ctx.reply.error(text);
        }
        None => {
            mode.caching = true;
            drop(mode);
            ctx.reply.ok();
        }
    }
}

/// CLIENT GETREDIR: the redirect id, 0 without one, -1 when not tracking.
pub(super) fn getredir(ctx: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let redir = ctx.session.info.tracking.lock().redir();
    ctx.reply.int(redir);
}

/// CLIENT TRACKINGINFO: flags (a set), redirect, prefixes.
pub(super) fn trackinginfo(ctx: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let mode = ctx.session.info.tracking.lock().clone();
    let r = &mut *ctx.reply;
    r.map(3);
    r.bulk(b"flags");
    let flags = mode.info_flags();
    r.set(flags.len());
    for f in flags {
        r.bulk(f.as_bytes());
    }
    r.bulk(b"redirect");
    r.int(mode.redir());
    r.bulk(b"prefixes");
    r.array(mode.prefixes.len());
    for p in &mode.prefixes {
        r.bulk(p);
    }
}
