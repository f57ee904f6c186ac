//! PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.

use super::Ctx;
use super::cursor::{ArgCursor, Options};
use crate::errors;
use crate::session::ReplyMode;

/// ECHO.
pub(super) fn echo(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    c.reply.bulk(a.get(1))
}

pub(super) fn ping(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if args.len() <= 2 && !ctx.session.resp3 && ctx.session.subscribed() {
        // RESP2 subscribers read every reply as a push: PING answers in that shape.
        ctx.reply.array(2);
        ctx.reply.bulk(b"pong");
        ctx.reply
            .bulk(if args.len() == 2 { args.get(1) } else { b"" });
        return;
    }
    match args.len() {
        1 => ctx.reply.simple("PONG"),
        2 => ctx.reply.bulk(args.get(1)),
        _ => ctx.reply.error(&errors::wrong_arity("ping")),
    }
}

/// Checks a user and password against the configuration (only the default user exists).
fn credentials_ok(ctx: &Ctx<'_>, user: &[u8], password: &[u8]) -> bool {
    user == b"default"
        && ctx
            .settings
            .requirepass
            .as_deref()
            .is_none_or(|p| crate::auth::same_secret(p, password))
}

pub(super) fn auth(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let (user, password) = match args.len() {
        2 => {
            if ctx.settings.requirepass.is_none() {
                ctx.reply.error(errors::AUTH_WITHOUT_PASSWORD);
                return;
            }
            (&b"default"[..], args.get(1))
        }
        3 => (args.get(1), args.get(2)),
        _ => {
            ctx.reply.error(errors::SYNTAX);
            return;
        }
    };
    if credentials_ok(ctx, user, password) {
        ctx.session.authenticated = true;
        ctx.reply.ok();
    } else {
        auth_failed(ctx);
    }
}

/// Refuses a wrong password: counted and logged in summary (see [`crate::auth`]).
fn auth_failed(ctx: &mut Ctx<'_>) {
    ctx.node
        .stats()
        .auth_failures
        .note(&ctx.session.info.addr.to_string());
    ctx.reply.error(errors::WRONGPASS);
}

/// What HELLO's options mean.
#[derive(Clone, Copy)]
enum HelloOption {
    Auth,
    SetName,
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]].
const HELLO_OPTIONS: Options<HelloOption> = &[
    ("AUTH", 2, HelloOption::Auth),
    ("SETNAME", 1, HelloOption::SetName),
];

pub(super) fn hello(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let mut version = None;
    let mut next = 1;
    if args.len() >= 2 {
        match tessera_keyspace::number::parse_i64(args.get(1)) {
            Some(v @ (2 | 3)) => version = Some(v),
            Some(_) => {
                ctx.reply.error(errors::NOPROTO);
                return;
            }
            None => {
                ctx.reply.error(errors::PROTOCOL_NOT_INTEGER);
                return;
            }
        }
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    let mut options = args.at_arg(next);
    loop {
        match options.next_option(HELLO_OPTIONS) {
            Ok(Some((HelloOption::Auth, [user, password]))) => credentials = Some((user, password)),
            Ok(Some((HelloOption::SetName, [value, _]))) => name = Some(value),
            Ok(None) => break,
            Err(_) => return ctx.reply.error(&errors::hello_option(options.peek())),
        }
    }
    if let Some((user, password)) = credentials {
        if !credentials_ok(ctx, user, password) {
            auth_failed(ctx);
            return;
        }
        ctx.session.authenticated = true;
    }
    if !ctx.session.authenticated {
        ctx.reply.error(errors::HELLO_NOAUTH);
        return;
    }
    if let Some(name) = name
        && !super::client::set_name(ctx, name)
    {
        return;
    }
    if let Some(v) = version {
        ctx.session.set_resp3(v == 3);
        ctx.reply.set_resp3(v == 3);
    }
    let proto = if ctx.session.resp3 { 3 } else { 2 };
    let mode = if ctx.settings.cluster_enabled {
        "cluster"
    } else {
        "standalone"
    };
    let r = &mut *ctx.reply;
    r.map(7);
    r.bulk(b"server");
    r.bulk(b"redis");
    r.bulk(b"version");
    r.bulk(crate::REDIS_VERSION.as_bytes());
    r.bulk(b"proto");
    r.int(proto);
    r.bulk(b"id");
    r.int(ctx.session.info.id as i64);
    r.bulk(b"mode");
    r.bulk(mode.as_bytes());
    r.bulk(b"role");
    r.bulk(b"master");
    r.bulk(b"modules");
    r.array(0);
}

pub(super) fn select(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let Some(index) = ctx.int_arg(args.get(1)) else {
        return;
    };
    if ctx.settings.cluster_enabled && index != 0 {
        ctx.reply.error(errors::SELECT_IN_CLUSTER);
    } else if index < 0 || index as usize >= ctx.node.keyspace().database_count() {
        ctx.reply.error(errors::DB_OUT_OF_RANGE);
    } else {
        ctx.session.select(index as usize);
        ctx.reply.ok();
    }
}

pub(super) fn quit(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    ctx.reply.ok();
    ctx.session.close = true;
}

pub(super) fn reset(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let s = &mut *ctx.session;
    s.select(0);
    s.set_resp3(false);
    s.reply_mode = ReplyMode::On;
    s.multi = None;
    s.watching = None;
    s.asking = false;
    s.readonly = false;
    s.authenticated = ctx.settings.requirepass.is_none();
    *s.info.name.lock() = None;
    if let Some(p) = &s.pubsub {
        ctx.node.pubsub().remove_client(&p.mailbox);
    }
    ctx.reply.set_resp3(false);
    ctx.reply.simple("RESET");
}
