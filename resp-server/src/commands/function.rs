//! FUNCTION: the node's function libraries (see `tessera_scripting::Functions`).
//! LOAD, DELETE, FLUSH and RESTORE change them and reach replicas and the AOF as sent,
//! as Redis propagates them; FCALL is in `scripting`. DUMP and RESTORE carry libraries
//! as Redis 7.0 does (what `redis-cli --cluster add-node` copies to a new node).

use std::sync::Arc;

use tessera_keyspace::glob::glob_match;
use tessera_keyspace::rdb;
use tessera_scripting::{Functions, RestorePolicy};

use super::cursor::ArgCursor;
use super::{Ctx, is};
use crate::errors;
use crate::scripts::KillVerdict;

/// Runs `change` on the libraries, records their counts, and on success propagates
/// the command as sent, still holding the libraries' lock.
fn change<T>(
    c: &mut Ctx<'_>,
    a: ArgCursor<'_>,
    change: impl FnOnce(&mut Functions) -> Result<T, String>,
) -> Option<T> {
    let node = Arc::clone(c.node);
    let mut guard = node.scripts().functions();
    let functions = guard.as_mut().expect("functions() builds the engine");
    let result = change(functions);
    node.scripts().record_functions(functions);
    match result {
        Ok(v) => {
            // Fed under the libraries' lock: see the full sync's snapshot.
            let all: Vec<&[u8]> = a.verbatim().collect();
            c.propagate_node_wide(&all);
            Some(v)
        }
        Err(text) => {
            c.reply.error(&errors::err(text));
            None
        }
    }
}

/// FUNCTION LOAD [REPLACE] code.
pub(super) fn load(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    let mut replace = false;
    let mut read = a;
    // Every argument but the last is an option; the last is the code.
    while read.remaining() > 1 {
        let option = read.next_arg().expect("more than one argument is left");
        if !is(option, "REPLACE") {
            let option = String::from_utf8_lossy(option).into_owned();
            return c
                .reply
                .error(&format!("ERR Unknown option given: {option}"));
        }
        replace = true;
    }
    let Ok(code) = read.next_arg() else {
        return c.reply.error("ERR Function code is missing");
    };
    if let Some(name) = change(c, a, |f| f.load(code, replace)) {
        c.reply.bulk(name.as_bytes());
    }
}

/// FUNCTION DELETE library.
pub(super) fn delete(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    let mut read = a;
    let Some(name) = c.read(read.next_arg()) else {
        return;
    };
    let deleted = change(c, a, |f| {
        if f.delete(name) {
            Ok(())
        } else {
            Err("Library not found".to_string())
        }
    });
    if deleted.is_some() {
        c.reply.ok()
    }
}

/// FUNCTION FLUSH [ASYNC|SYNC].
pub(super) fn flush(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    if a.remaining() > 1 {
        return c
            .reply
            .error(&errors::subcommand_or_arity(a.subcommand(), "FUNCTION"));
    }
    if a.remaining() == 1 && !is(a.peek(), "ASYNC") && !is(a.peek(), "SYNC") {
        return c.reply.error(errors::FUNCTION_FLUSH_MODE);
    }
    if change(c, a, |f| {
        f.flush();
        Ok(())
    })
    .is_some()
    {
        c.reply.ok()
    }
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
pub(super) fn restore(c: &mut Ctx<'_>, a: ArgCursor<'_>) {
    if a.remaining() > 2 {
        return c
            .reply
            .error(&errors::subcommand_or_arity(a.subcommand(), "FUNCTION"));
    }
    let mut read = a;
    let Some(payload) = c.read(read.next_arg()) else {
        return;
    };
    let policy = match read.next_arg() {
        Ok(p) if is(p, "APPEND") => RestorePolicy::Append,
        Ok(p) if is(p, "REPLACE") => RestorePolicy::Replace,
        Ok(p) if is(p, "FLUSH") => RestorePolicy::Flush,
        Ok(_) => return c.reply.error(errors::RESTORE_POLICY),
        Err(_) => RestorePolicy::Append,
    };
    let codes = match rdb::restore_libraries(payload) {
        Ok(codes) => codes,
        Err(text) => return c.reply.error(&errors::err(text)),
    };
    if change(c, a, |f| f.restore(&codes, policy)).is_some() {
        c.reply.ok()
    }
}

/// FUNCTION DUMP.
pub(super) fn dump(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let payload = dump_payload(c);
    c.reply.bulk(&payload)
}

/// The libraries as a FUNCTION DUMP payload.
fn dump_payload(c: &Ctx<'_>) -> Vec<u8> {
    let guard = c.node.scripts().functions();
    let functions = guard.as_ref().expect("functions() builds the engine");
    rdb::dump_libraries(functions.libraries().map(|l| &l.code[..]))
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
pub(super) fn list(c: &mut Ctx<'_>, mut a: ArgCursor<'_>) {
    let (mut with_code, mut pattern) = (false, None);
    while let Ok(arg) = a.next_arg() {
        if !with_code && is(arg, "WITHCODE") {
            with_code = true;
        } else if pattern.is_none() && is(arg, "LIBRARYNAME") {
            let Ok(name) = a.next_arg() else {
                return c.reply.error("ERR library name argument was not given");
            };
            pattern = Some(name);
        } else {
            let arg = String::from_utf8_lossy(arg).into_owned();
            return c.reply.error(&format!("ERR Unknown argument {arg}"));
        }
    }
    let node = Arc::clone(c.node);
    let guard = node.scripts().functions();
    let functions = guard.as_ref().expect("functions() builds the engine");
    let shown: Vec<_> = functions
        .libraries()
        .filter(|l| pattern.is_none_or(|p| glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let reply = &mut *c.reply;
    reply.array(shown.len());
    for library in shown {
        reply.map(if with_code { 4 } else { 3 });
        reply.bulk(b"library_name");
        reply.bulk(library.name.as_bytes());
        reply.bulk(b"engine");
        reply.bulk(b"LUA");
        reply.bulk(b"functions");
        reply.array(library.functions.len());
        for f in library.functions.values() {
            reply.map(3);
            reply.bulk(b"name");
            reply.bulk(f.name.as_bytes());
            reply.bulk(b"description");
            match &f.description {
                Some(d) => reply.bulk(d),
                None => reply.null(),
            }
            reply.bulk(b"flags");
            let flags = f.flag_names();
            reply.set(flags.len());
            for flag in flags {
                reply.simple(flag);
            }
        }
        if with_code {
            reply.bulk(b"library_code");
            reply.bulk(&library.code);
        }
    }
}

/// FUNCTION STATS.
pub(super) fn stats(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let scripts = c.node.scripts();
    let since = scripts.running_since();
    let running = scripts.running_function();
    if since != 0 && running.is_none() {
        return c.reply.error(errors::BUSY);
    }
    let (libraries, count) = scripts.function_counts();
    c.reply.map(2);
    c.reply.bulk(b"running_script");
    match running {
        None => c.reply.null(),
        Some(f) => {
            c.reply.map(3);
            c.reply.bulk(b"name");
            c.reply.bulk(f.name.as_bytes());
            c.reply.bulk(b"command");
            c.reply.array(f.command.len());
            for arg in &f.command {
                c.reply.bulk(arg);
            }
            c.reply.bulk(b"duration_ms");
            c.reply.int((c.now_ms - since).max(0));
        }
    }
    c.reply.bulk(b"engines");
    c.reply.map(1);
    c.reply.bulk(b"LUA");
    c.reply.map(2);
    c.reply.bulk(b"libraries_count");
    c.reply.int(libraries as i64);
    c.reply.bulk(b"functions_count");
    c.reply.int(count as i64);
}

/// FUNCTION KILL.
pub(super) fn kill(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    match c.node.scripts().kill(true) {
        KillVerdict::NotBusy => c.reply.error(errors::NOTBUSY),
        KillVerdict::OtherKind => c.reply.error(errors::BUSY),
        KillVerdict::Unkillable => c.reply.error(errors::UNKILLABLE),
        KillVerdict::Killed => c.reply.ok(),
    }
}

/// FUNCTION HELP, with Redis 7.0.15's text.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    let lines = include_str!("function_help.txt");
    let lines: Vec<&str> = lines.lines().collect();
    c.reply.array(lines.len());
    for line in lines {
        c.reply.simple(line);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_empty_dump_is_what_redis_7_writes() {
        assert_eq!(
            tessera_keyspace::rdb::dump_libraries(std::iter::empty()),
            b"\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda".to_vec()
        );
    }
}
