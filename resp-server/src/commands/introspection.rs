//! COMMAND: what clients learn about the command table.

use super::cursor::ArgCursor;
use super::{Ctx, help_reply, is};
use crate::catalog::{
    AclCategories, ArgDoc, BeginSearch, Command, CommandFlags, CommandMeta, CommandTable, DocField,
    FindKeys, KeySpec, find_keys,
};
use crate::errors;
use crate::protocol::reply::Reply;

/// COMMAND COUNT.
pub(super) fn count(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    c.reply.int(CommandTable::get().len() as i64)
}

/// COMMAND HELP.
pub(super) fn help(c: &mut Ctx<'_>, _: ArgCursor<'_>) {
    help_reply(
        c.reply,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation of the given commands, or of all of them.",
            "GETKEYS <full-command>",
            "    Return the keys of a full command.",
            "INFO [<command-name> ...]",
            "    Return details about the given commands, or about all of them.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Return the names of all commands, optionally filtered.",
        ],
    )
}

/// A list of flags: a set of status replies (an array in RESP2).
fn flag_set<'n>(r: &mut Reply, flags: impl ExactSizeIterator<Item = &'n str>) {
    r.set(flags.len());
    for f in flags {
        r.simple(f);
    }
}

/// One COMMAND INFO entry: the ten fields Redis 7 sends.
fn write_info(r: &mut Reply, command: &Command) {
    let m: &CommandMeta = command.meta;
    r.array(10);
    r.bulk(m.name.as_bytes());
    r.int(i64::from(m.arity));
    flag_set(r, m.flags.names());
    r.int(i64::from(m.first_key));
    r.int(i64::from(m.last_key));
    r.int(i64::from(m.key_step));
    let categories: Vec<String> = m.acl.names().map(|c| format!("@{c}")).collect();
    flag_set(r, categories.iter().map(String::as_str));
    r.set(m.tips.len());
    for tip in m.tips {
        r.bulk(tip.as_bytes());
    }
    // Redis sends key specs and subcommands as sets in RESP3.
    r.set(m.key_specs.len());
    for spec in m.key_specs {
        write_key_spec(r, spec);
    }
    r.set(m.subcommands.len());
    for sub in command.subcommands() {
        write_info(r, sub);
    }
}

/// A key spec as a map: flags, begin_search and find_keys, each typed.
fn write_key_spec(r: &mut Reply, spec: &KeySpec) {
    fn typed(r: &mut Reply, kind: &str, fields: &[(&str, i64)], keyword: Option<&str>) {
        r.map(2);
        r.bulk(b"type");
        r.bulk(kind.as_bytes());
        r.bulk(b"spec");
        r.map(fields.len() + usize::from(keyword.is_some()));
        if let Some(keyword) = keyword {
            r.bulk(b"keyword");
            r.bulk(keyword.as_bytes());
        }
        for (name, value) in fields {
            r.bulk(name.as_bytes());
            r.int(*value);
        }
    }
    r.map(3);
    r.bulk(b"flags");
    flag_set(r, spec.flags.names());
    r.bulk(b"begin_search");
    match spec.begin {
        BeginSearch::Index(index) => typed(r, "index", &[("index", index.into())], None),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => typed(
            r,
            "keyword",
            &[("startfrom", start_from.into())],
            Some(keyword),
        ),
        BeginSearch::Unknown => typed(r, "unknown", &[], None),
    }
    r.bulk(b"find_keys");
    match spec.find {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => typed(
            r,
            "range",
            &[
                ("lastkey", last_key.into()),
                ("keystep", key_step.into()),
                ("limit", limit.into()),
            ],
            None,
        ),
        FindKeys::Keynum {
            keynum_index,
            first_key,
            key_step,
        } => typed(
            r,
            "keynum",
            &[
                ("keynumidx", keynum_index.into()),
                ("firstkey", first_key.into()),
                ("keystep", key_step.into()),
            ],
            None,
        ),
        FindKeys::Unknown => typed(r, "unknown", &[], None),
    }
}

fn sorted_commands() -> Vec<&'static Command> {
    CommandTable::get().top_level().collect()
}

pub(super) fn all(ctx: &mut Ctx<'_>, _args: ArgCursor<'_>) {
    let commands = sorted_commands();
    ctx.reply.array(commands.len());
    for c in commands {
        write_info(ctx.reply, c);
    }
}

pub(super) fn info(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    if args.is_done() {
        return all(ctx, args);
    }
    let names = args.rest();
    ctx.reply.array(names.len());
    for name in names {
        match CommandTable::get().lookup_full(name) {
            Some(c) => write_info(ctx.reply, c),
            None => ctx.reply.null_array(),
        }
    }
}

fn write_doc_field(r: &mut Reply, field: &DocField) {
    match field {
        DocField::Str(text) => r.bulk(text.as_bytes()),
        DocField::Int(n) => r.int(*n),
        DocField::Flags(flags) => flag_set(r, flags.iter().copied()),
        DocField::Args(args) => write_arguments(r, args),
    }
}

fn write_arguments(r: &mut Reply, args: &[ArgDoc]) {
    r.array(args.len());
    for arg in args {
        r.map(arg.fields.len());
        for (name, value) in arg.fields {
            r.bulk(name.as_bytes());
            write_doc_field(r, value);
        }
    }
}

fn write_docs(r: &mut Reply, command: &Command) {
    let m = command.meta;
    let subs: Vec<&Command> = command.subcommands().collect();
    let fields = 4
        + m.doc_fields.len()
        + usize::from(!m.arguments.is_empty())
        + usize::from(!subs.is_empty());
    r.map(fields);
    for (key, value) in [
        ("summary", m.summary),
        ("since", m.since),
        ("group", m.group),
        ("complexity", m.complexity),
    ] {
        r.bulk(key.as_bytes());
        r.bulk(value.as_bytes());
    }
    for (key, value) in m.doc_fields {
        r.bulk(key.as_bytes());
        write_doc_field(r, value);
    }
    if !m.arguments.is_empty() {
        r.bulk(b"arguments");
        write_arguments(r, m.arguments);
    }
    if !subs.is_empty() {
        r.bulk(b"subcommands");
        r.map(subs.len());
        for sub in subs {
            r.bulk(sub.meta.name.as_bytes());
            write_docs(r, sub);
        }
    }
}

pub(super) fn docs(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let commands: Vec<&Command> = if args.is_done() {
        sorted_commands()
    } else {
        args.rest()
            .filter_map(|n| CommandTable::get().lookup_full(n))
            .collect()
    };
    ctx.reply.map(commands.len());
    for c in commands {
        ctx.reply.bulk(c.meta.name.as_bytes());
        write_docs(ctx.reply, c);
    }
}

/// COMMAND GETKEYS: the keys of a call, found as routing finds them.
pub(super) fn getkeys(ctx: &mut Ctx<'_>, args: ArgCursor<'_>) {
    let table = CommandTable::get();
    let call: Vec<&[u8]> = args.rest().collect();
    let call_len = call.len();
    let command = call
        .first()
        .and_then(|name| table.lookup(name))
        .and_then(|c| match call.get(1) {
            Some(sub) if c.meta.is_container() => table.subcommand(c, sub),
            _ => Some(c),
        });
    let Some(command) = command else {
        return ctx.reply.error(errors::GETKEYS_UNKNOWN);
    };
    let meta = command.meta;
    if !meta.may_have_keys() {
        return ctx.reply.error(errors::GETKEYS_NO_KEYS);
    }
    if !meta.arity_ok(call_len) {
        return ctx.reply.error(errors::GETKEYS_ARITY);
    }
    let keys = find_keys(meta, call_len, |i| call.get(i).copied().unwrap_or_default());
    if keys.is_empty() {
        if meta.has(CommandFlags::NO_MANDATORY_KEYS) {
            return ctx.reply.array(0);
        }
        return ctx.reply.error(errors::GETKEYS_INVALID);
    }
    let positions: Vec<usize> = keys.positions().collect();
    ctx.reply.array(positions.len());
    for p in positions {
        ctx.reply.bulk(call.get(p).copied().unwrap_or_default());
    }
}

pub(super) fn list(ctx: &mut Ctx<'_>, mut args: ArgCursor<'_>) {
    let mut names: Vec<&'static str> = Vec::new();
    for c in sorted_commands() {
        names.push(c.meta.name);
        names.extend(c.subcommands().map(|s| s.meta.name));
    }
    let filter = args.next_arg();
    match (filter, args.remaining()) {
        (Err(_), _) => {}
        (Ok(filter), 2) if is(filter, "FILTERBY") => {
            let Some([kind, value]) = ctx.read(args.next_args()) else {
                return;
            };
            if is(kind, "PATTERN") {
                names.retain(|n| tessera_keyspace::glob::glob_match(value, n.as_bytes(), true));
            } else if is(kind, "ACLCAT") {
                let wanted = AclCategories::named(&String::from_utf8_lossy(value));
                names.retain(|n| {
                    wanted.is_some_and(|w| meta_of(n).is_some_and(|m| m.acl.contains(w)))
                });
            } else if is(kind, "MODULE") {
                names.clear();
            } else {
                ctx.reply.error(super::errors::SYNTAX);
                return;
            }
        }
        _ => {
            ctx.reply.error(super::errors::SYNTAX);
            return;
        }
    }
    ctx.reply.bulk_array(names.iter().map(|n| n.as_bytes()));
}

fn meta_of(full_name: &str) -> Option<&'static CommandMeta> {
    CommandTable::get()
        .lookup_full(full_name.as_bytes())
        .map(|c| c.meta)
}
