//! CLIENT and its subcommands.

use std::sync::Arc;

use super::cursor::{ArgCursor, Options};
use super::{Ctx, help_reply, is};
use crate::client::ClientInfo;
use crate::errors;
use crate::session::ReplyMode;

/// CLIENT ID.
pub(super) fn id(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.int(c.session.info.id as i64)
}

/// CLIENT SETNAME.
pub(super) fn setname(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if let Some(name) = c.read(a.next_arg()) {
        if set_name(c, name) {
            c.reply.ok();
        }
    }
}

/// CLIENT GETNAME.
pub(super) fn getname(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let name = c.session.info.name.lock().clone();
    match name {
        Some(n) => c.reply.bulk(&n),
        None => c.reply.null(),
    }
}

/// CLIENT INFO.
pub(super) fn info(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let line = c.session.info.describe() + "\n";
    c.reply.verbatim(line.as_bytes());
}

/// CLIENT HELP.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    help_reply(
        c.reply,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port> | <option> <value> [<option> <value> ...]",
            "    Kill connections. Options: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
            "LIST [TYPE <type>] [ID <id> [<id> ...]]",
            "    Return information about client connections.",
            "NO-EVICT (ON|OFF)",
            "    Keep maxmemory-clients from closing this connection, or stop keeping it.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Record the name or version of the client library.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
        ],
    )
}

/// CLIENT SETNAME's rule, shared with HELLO SETNAME: printable, no spaces. Replies with
/// the error and returns false when the name is refused.
pub(super) fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) -> bool {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        ctx.reply.error(errors::CLIENT_NAME_CHARS);
        return false;
    }
    *ctx.session.info.name.lock() = (!name.is_empty()).then(|| name.to_vec());
    true
}

pub(super) fn setinfo(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some([attr, value]) = ctx.read(args.next_args()) else {
        return;
    };
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        ctx.reply.error(&errors::special_characters(attr));
        return;
    }
    let mut library = ctx.session.info.library.lock();
    let value = (!value.is_empty()).then(|| value.to_vec());
    if is(attr, "LIB-NAME") {
        library.name = value;
    } else if is(attr, "LIB-VER") {
        library.version = value;
    } else {
        drop(library);
        ctx.reply.error(&errors::unrecognized_option(attr));
        return;
    }
    drop(library);
    ctx.reply.ok();
}

/// Client types CLIENT LIST and CLIENT KILL filter on; every Tessera client is `normal`
/// until replication and pub/sub arrive.
fn type_matches(ctx: &mut Ctx<'_>, name: &[u8]) -> Option<bool> {
    if ["normal", "master", "replica", "slave", "pubsub"]
        .iter()
        .any(|t| is(name, t))
    {
        Some(is(name, "normal"))
    } else {
        ctx.reply.error(&errors::unknown_client_type(name));
        None
    }
}

pub(super) fn list(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let mut clients = ctx.node.clients().all();
    match (args.next_arg(), args.remaining()) {
        (Err(_), _) => {}
        (Ok(filter), 1) if is(filter, "TYPE") => match type_matches(ctx, args.peek()) {
            Some(true) => {}
            Some(false) => clients.clear(),
            None => return,
        },
        (Ok(filter), n) if n >= 1 && is(filter, "ID") => {
            let mut ids = Vec::new();
            for arg in args.rest() {
                match tessera_keyspace::number::parse_i64(arg) {
                    Some(id) if id > 0 => ids.push(id as u64),
                    _ => {
                        ctx.reply.error(errors::INVALID_CLIENT_ID);
                        return;
                    }
                }
            }
            clients.retain(|c| ids.contains(&c.id));
        }
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    }
    let text: String = clients.iter().map(|c| c.describe() + "\n").collect();
    ctx.reply.verbatim(text.as_bytes());
}

/// Filters of CLIENT KILL.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    normal_only: Option<bool>,
    user_default: Option<bool>,
    skip_me: bool,
}

impl KillFilter {
    fn matches(&self, c: &ClientInfo, me: u64) -> bool {
        self.id.is_none_or(|id| c.id == id)
            && self.addr.as_ref().is_none_or(|a| c.addr.to_string() == *a)
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| c.laddr.to_string() == *a)
            && self.normal_only.unwrap_or(true)
            && self.user_default.unwrap_or(true)
            && !(self.skip_me && c.id == me)
    }
}

/// What CLIENT KILL's filters mean.
#[derive(Clone, Copy)]
enum KillOption {
    Id,
    Type,
    Addr,
    Laddr,
    User,
    SkipMe,
}

/// CLIENT KILL <filter> <value> ...: every filter takes one value.
const KILL_OPTIONS: Options<KillOption> = &[
    ("ID", 1, KillOption::Id),
    ("TYPE", 1, KillOption::Type),
    ("ADDR", 1, KillOption::Addr),
    ("LADDR", 1, KillOption::Laddr),
    ("USER", 1, KillOption::User),
    ("SKIPME", 1, KillOption::SkipMe),
];

pub(super) fn kill(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let me = ctx.session.info.id;
    let clients = ctx.node.clients().all();
    if args.remaining() == 1 {
        // The old form: CLIENT KILL ip:port.
        let addr = String::from_utf8_lossy(args.peek());
        match clients.iter().find(|c| c.addr.to_string() == addr) {
            Some(c) => {
                kill_one(ctx, c, me);
                ctx.reply.ok();
            }
            None => ctx.reply.error(errors::NO_SUCH_CLIENT),
        }
        return;
    }
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut options = args;
    for option in options.options(KILL_OPTIONS) {
        let Some((option, [value, _])) = ctx.read(option) else {
            return;
        };
        let text = String::from_utf8_lossy(value).into_owned();
        match option {
            KillOption::Id => match tessera_keyspace::number::parse_i64(value) {
                Some(id) if id > 0 => filter.id = Some(id as u64),
                _ => return ctx.reply.error(errors::CLIENT_ID_POSITIVE),
            },
            KillOption::Type => match type_matches(ctx, value) {
                Some(m) => filter.normal_only = Some(m),
                None => return,
            },
            KillOption::Addr => filter.addr = Some(text),
            KillOption::Laddr => filter.laddr = Some(text),
            KillOption::User if text != "default" => {
                return ctx.reply.error(&errors::no_such_user(&text));
            }
            KillOption::User => filter.user_default = Some(true),
            KillOption::SkipMe if is(value, "yes") => filter.skip_me = true,
            KillOption::SkipMe if is(value, "no") => filter.skip_me = false,
            KillOption::SkipMe => return ctx.reply.error(errors::SYNTAX),
        }
    }
    let mut killed = 0;
    for c in clients.iter().filter(|c| filter.matches(c, me)) {
        kill_one(ctx, c, me);
        killed += 1;
    }
    ctx.reply.int(killed);
}

fn kill_one(ctx: &mut Ctx<'_>, client: &Arc<ClientInfo>, me: u64) {
    if client.id == me {
        // Closing ourselves: the reply still goes out first, as in Redis.
        ctx.session.close = true;
    } else {
        client.kill();
        // Like Redis, the killed client is gone from CLIENT LIST at once, not when its
        // task next runs.
        if let Some(totals) = ctx.node.clients().unregister(client.id) {
            ctx.node.stats().departed.add(totals);
        }
    }
}

pub(super) fn reply(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(mode) = ctx.read(args.next_arg()) else {
        return;
    };
    if is(mode, "ON") {
        ctx.session.reply_mode = ReplyMode::On;
        ctx.reply.ok();
    } else if is(mode, "OFF") {
        ctx.session.reply_mode = ReplyMode::Off;
    } else if is(mode, "SKIP") {
        if ctx.session.reply_mode != ReplyMode::Off {
            ctx.session.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.reply.error(errors::SYNTAX);
    }
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends a blocking pop of another connection, as if
/// it timed out or with an UNBLOCKED error; 1 when it was blocked. Redis reads the
/// reason before the id.
pub(super) fn unblock(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if args.remaining() > 2 {
        return ctx
            .reply
            .error(&errors::subcommand_or_arity(args.subcommand(), "CLIENT"));
    }
    let Some(id) = ctx.read(args.next_arg()) else {
        return;
    };
    let error = match args.next_arg() {
        Ok(reason) if is(reason, "TIMEOUT") => false,
        Ok(reason) if is(reason, "ERROR") => true,
        Ok(_) => return ctx.reply.error(errors::UNBLOCK_REASON),
        Err(_) => false,
    };
    let Some(id) = ctx.int_arg(id) else {
        return;
    };
    let outcome = || match error {
        true => crate::blocking::Outcome::Error(errors::UNBLOCKED_BY_CLIENT.into()),
        false => crate::blocking::Outcome::Timeout,
    };
    let done = u64::try_from(id).is_ok_and(|id| ctx.node.blocked().unblock_client(id, outcome()));
    ctx.reply.int(i64::from(done));
}

/// CLIENT NO-EVICT ON|OFF.
pub(super) fn no_evict(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let on = match args.next_arg() {
        Ok(word) if is(word, "ON") => true,
        Ok(word) if is(word, "OFF") => false,
        _ => return ctx.reply.error(errors::SYNTAX),
    };
    ctx.session
        .info
        .no_evict
        .store(on, std::sync::atomic::Ordering::Relaxed);
    ctx.reply.ok()
}
