//! COMMAND: what clients learn about the command table.

use super::{Ctx, Handler, help, is};
use crate::command::{ArgDoc, Command, CommandMeta, CommandTable, DocField};
use crate::protocol::reply::Reply;
use crate::protocol::request::Args;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "command" => all,
        "command|count" => |c, _| c.reply.int(CommandTable::get().len() as i64),
        "command|info" => info,
        "command|docs" => docs,
        "command|getkeys" => getkeys,
        "command|list" => list,
        "command|help" => |c, _| {
            help(
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
        },
        _ => return None,
    })
}

/// A list of flags: a set of status replies (an array in RESP2).
fn flag_set(r: &mut Reply, flags: &[&str]) {
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
    flag_set(r, m.flags);
    r.int(i64::from(m.first_key));
    r.int(i64::from(m.last_key));
    r.int(i64::from(m.key_step));
    flag_set(r, m.acl_categories);
    r.set(m.tips.len());
    for tip in m.tips {
        r.bulk(tip.as_bytes());
    }
    // Redis sends key specs and subcommands as sets in RESP3.
    r.set(m.key_specs.len());
    for spec in m.key_specs {
        r.map(3);
        r.bulk(b"flags");
        flag_set(r, spec.flags);
        r.bulk(b"begin_search");
        r.map(2);
        r.bulk(b"type");
        match spec.begin_keyword {
            None => {
                r.bulk(b"index");
                r.bulk(b"spec");
                r.map(1);
                r.bulk(b"index");
                r.int(spec.begin_index);
            }
            Some((keyword, start)) => {
                r.bulk(b"keyword");
                r.bulk(b"spec");
                r.map(2);
                r.bulk(b"keyword");
                r.bulk(keyword.as_bytes());
                r.bulk(b"startfrom");
                r.int(start);
            }
        }
        r.bulk(b"find_keys");
        r.map(2);
        r.bulk(b"type");
        r.bulk(b"range");
        r.bulk(b"spec");
        r.map(3);
        r.bulk(b"lastkey");
        r.int(spec.last_key);
        r.bulk(b"keystep");
        r.int(spec.key_step);
        r.bulk(b"limit");
        r.int(spec.limit);
    }
    let mut subs: Vec<&Command> = command.subcommands().collect();
    subs.sort_by_key(|c| c.meta.name);
    r.set(subs.len());
    for sub in subs {
        write_info(r, sub);
    }
}

fn sorted_commands() -> Vec<&'static Command> {
    let mut all: Vec<&Command> = CommandTable::get().iter().collect();
    all.sort_by_key(|c| c.meta.name);
    all
}

fn all(ctx: &mut Ctx<'_>, _args: Args<'_>) {
    let commands = sorted_commands();
    ctx.reply.array(commands.len());
    for c in commands {
        write_info(ctx.reply, c);
    }
}

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() == 2 {
        return all(ctx, args);
    }
    ctx.reply.array(args.len() - 2);
    for name in args.iter_from(2) {
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
        DocField::Flags(flags) => flag_set(r, flags),
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
    let mut subs: Vec<&Command> = command.subcommands().collect();
    subs.sort_by_key(|c| c.meta.name);
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

fn docs(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let commands: Vec<&Command> = if args.len() == 2 {
        sorted_commands()
    } else {
        args.iter_from(2)
            .filter_map(|n| CommandTable::get().lookup_full(n))
            .collect()
    };
    ctx.reply.map(commands.len());
    for c in commands {
        ctx.reply.bulk(c.meta.name.as_bytes());
        write_docs(ctx.reply, c);
    }
}

fn getkeys(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(mut command) = CommandTable::get().lookup(args.get(2)) else {
        ctx.reply.error("ERR Invalid command specified");
        return;
    };
    let call_len = args.len() - 2;
    if !command.subcommands.is_empty() && call_len >= 2 {
        match command.subcommand(args.get(3)) {
            Some(sub) => command = sub,
            None => {
                ctx.reply.error("ERR Invalid command specified");
                return;
            }
        }
    }
    if !command.meta.arity_ok(call_len) {
        ctx.reply
            .error("ERR Invalid number of arguments specified for command");
        return;
    }
    let positions: Vec<usize> = command.meta.key_positions(call_len).collect();
    if positions.is_empty() {
        ctx.reply.error("ERR The command has no key arguments");
        return;
    }
    ctx.reply.array(positions.len());
    for p in positions {
        ctx.reply.bulk(args.get(2 + p));
    }
}

fn list(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut names: Vec<&'static str> = Vec::new();
    for c in sorted_commands() {
        names.push(c.meta.name);
        names.extend(c.subcommands().map(|s| s.meta.name));
    }
    match args.len() {
        2 => {}
        5 if is(args.get(2), "FILTERBY") => {
            let (kind, value) = (args.get(3), args.get(4));
            if is(kind, "PATTERN") {
                names.retain(|n| tessera_keyspace::glob::glob_match(value, n.as_bytes(), true));
            } else if is(kind, "ACLCAT") {
                let wanted = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
                names.retain(|n| {
                    meta_of(n).is_some_and(|m| m.acl_categories.contains(&wanted.as_str()))
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
