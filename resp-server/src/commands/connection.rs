//! PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.

use super::Ctx;
use super::cursor::{ArgCursor, Options};
use crate::errors;
use crate::session::ReplyMode;

/// ECHO.
pub(super) fn echo(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    if let Some(message) = c.read(a.next_arg()) {
        c.reply.bulk(message)
    }
}

pub(super) fn ping(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let message = args.next_arg().ok();
    if !args.is_done() {
        return ctx.reply.error(&errors::wrong_arity("ping"));
    }
    if !ctx.session.resp3 && ctx.session.subscribed() {
        // RESP2 subscribers read every reply as a push: PING answers in that shape.
        ctx.reply.array(2);
        ctx.reply.bulk(b"pong");
        ctx.reply.bulk(message.unwrap_or_default());
        return;
    }
    match message {
        None => ctx.reply.simple("PONG"),
        Some(message) => ctx.reply.bulk(message),
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
    let mut read = args;
    let (user, password) = match (read.next_arg(), read.next_arg(), read.is_done()) {
        (Ok(password), Err(_), _) => {
            if ctx.settings.requirepass.is_none() {
                ctx.reply.error(errors::AUTH_WITHOUT_PASSWORD);
                return;
            }
            (&b"default"[..], password)
        }
        (Ok(user), Ok(password), true) => (user, password),
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
    let mut options = args;
    if let Ok(protover) = options.next_arg() {
        match tessera_keyspace::number::parse_i64(protover) {
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
    }
    let mut credentials = None;
    let mut name = None;
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

pub(super) fn select(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let Some(index) = ctx.read(args.next_i64()) else {
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
    if std::mem::take(&mut s.tracking) {
        ctx.node.tracking().disable(&s.info);
    }
    ctx.reply.set_resp3(false);
    ctx.reply.simple("RESET");
}
