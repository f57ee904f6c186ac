//! FUNCTION, answered as a Redis node with no libraries loaded answers it. Tessera runs
//! EVAL scripts (see `scripting`) but no function libraries yet; redis-cli's add-node
//! still copies functions (DUMP on an existing node,
//! LIST and RESTORE on the new one), and that works as long as there are none.

use crate::errors;
use tessera_keyspace::rdb;

use super::cursor::ArgCursor;
use super::{Ctx, help_reply, is};

/// FUNCTION DUMP.
pub(super) fn dump(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.bulk(&empty_dump())
}

/// FUNCTION LIST.
pub(super) fn list(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.array(0)
}

/// FUNCTION FLUSH.
pub(super) fn flush(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    if a.remaining() == 1 && !is(a.peek(), "ASYNC") && !is(a.peek(), "SYNC") {
        return c.reply.error(errors::FUNCTION_FLUSH_MODE);
    }
    c.reply.ok()
}

/// FUNCTION DELETE.
pub(super) fn delete(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.error(errors::NO_SUCH_LIBRARY)
}

/// FUNCTION KILL.
pub(super) fn kill(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.error(errors::NOTBUSY)
}

/// FUNCTION LOAD.
pub(super) fn load(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.error(errors::NO_LUA_ENGINE)
}

/// FUNCTION STATS.
pub(super) fn stats(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.map(2);
    c.reply.bulk(b"running_script");
    c.reply.null();
    c.reply.bulk(b"engines");
    c.reply.map(1);
    c.reply.bulk(b"LUA");
    c.reply.map(2);
    c.reply.bulk(b"libraries_count");
    c.reply.int(0);
    c.reply.bulk(b"functions_count");
    c.reply.int(0);
}

/// FUNCTION HELP.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    help_reply(
        c.reply,
        "FUNCTION",
        &[
            "DUMP",
            "    Return a payload holding every library (there are none).",
            "LIST [WITHCODE] [LIBRARYNAME <pattern>]",
            "    List the libraries (there are none).",
            "RESTORE <payload> [FLUSH|APPEND|REPLACE]",
            "    Load libraries from a DUMP payload; only an empty one is accepted.",
            "STATS",
            "    Report the running function and the engines.",
        ],
    )
}

/// FUNCTION DUMP with no libraries: the payload framing around nothing.
fn empty_dump() -> Vec<u8> {
    rdb::seal_payload(Vec::new())
}

pub(super) fn restore(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    if args.remaining() > 2 {
        return ctx
            .reply
            .error(&errors::subcommand_or_arity(b"restore", "FUNCTION"));
    }
    let Some(payload) = ctx.read(args.next_arg()) else {
        return;
    };
    if !args.is_done()
        && !["FLUSH", "APPEND", "REPLACE"]
            .iter()
            .any(|p| is(args.peek(), p))
    {
        return ctx.reply.error(errors::RESTORE_POLICY);
    }
    match rdb::open_payload(payload) {
        Err(e) => ctx.reply.error(&errors::err(e)),
        Ok(libraries) if !libraries.is_empty() => ctx.reply.error(errors::NO_LUA_ENGINE),
        Ok(_) => ctx.reply.ok(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_empty_dump_is_what_redis_7_writes() {
        assert_eq!(
            super::empty_dump(),
            b"\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda".to_vec()
        );
    }
}
