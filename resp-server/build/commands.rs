//! Turns the command catalog's data into Rust (`$OUT_DIR/commands.rs`): the
//! `CommandId` enum and the `CATALOG` of command descriptions, indexed by it.
//!
//! Two sources meet here. `redis-7.0.15.jsonl` holds the facts of every Redis command
//! as a real server reports them (captured by `scripts/capture-commands`), and
//! `later.jsonl` the few Tessera offers from later Redis versions. `tessera.txt` says
//! which commands Tessera implements, in our own words: one row per command or
//! subcommand, `name | summary | complexity`. Only those rows become variants, so the
//! handler table (an exhaustive match on `CommandId`) must decide each of them.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const FACTS: [&str; 2] = ["src/catalog/redis-7.0.15.jsonl", "src/catalog/later.jsonl"];
const IMPLEMENTED: &str = "src/catalog/tessera.txt";

/// Commands whose key specs cannot be evaluated from the arguments alone (an
/// `unknown` or `incomplete` spec): their keys come from a named rule instead.
const KEY_RULES: [(&str, &str); 3] = [
    ("migrate", "Migrate"),
    ("sort", "Sort"),
    ("sort_ro", "SortRo"),
];

/// Docs fields written by the catalog's own fields (or dropped as prose) rather
/// than copied into `doc_fields`.
const FIXED_DOC_FIELDS: [&str; 14] = [
    "name",
    "arity",
    "flags",
    "keys",
    "acl",
    "tips",
    "key_specs",
    "since",
    "group",
    "arguments",
    "subcommands",
    "summary",
    "complexity",
    "history",
];

/// Writes `$OUT_DIR/commands.rs`.
pub fn generate(out_dir: &Path) {
    for path in FACTS.iter().chain([&IMPLEMENTED]) {
        println!("cargo:rerun-if-changed={path}");
    }
    let mut facts = BTreeMap::new();
    for path in FACTS {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (n, line) in text.lines().enumerate() {
            let fact: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: {e}", n + 1));
            index_facts(&mut facts, fact);
        }
    }
    let rows = implemented_rows();
    let ids: BTreeMap<&str, String> = rows.keys().map(|n| (n.as_str(), variant(n))).collect();
    let mut out = String::new();
    emit_enum(&mut out, &ids);
    out.push_str("/// Every implemented command, indexed by [`CommandId`].\n");
    let _ = writeln!(out, "pub static CATALOG: [CommandMeta; {}] = [", rows.len());
    for (name, (summary, complexity)) in &rows {
        let fact = facts
            .get(name)
            .unwrap_or_else(|| panic!("{IMPLEMENTED}: '{name}' is not a Redis command"));
        if let Some((parent, _)) = name.split_once('|') {
            assert!(
                rows.contains_key(parent),
                "{IMPLEMENTED}: '{name}' needs a row for '{parent}'"
            );
        }
        let subs: Vec<&String> = ids
            .iter()
            .filter(|(n, _)| {
                n.strip_prefix(name.as_str())
                    .is_some_and(|r| r.starts_with('|'))
            })
            .map(|(_, v)| v)
            .collect();
        emit_meta(
            &mut out,
            &ids[name.as_str()],
            fact,
            summary,
            complexity,
            &subs,
        );
    }
    out.push_str("];\n");
    emit_key_facts(&mut out, &facts);
    std::fs::write(out_dir.join("commands.rs"), out).expect("writing commands.rs");
}

/// Files each command and subcommand under its full name (`config|get`).
fn index_facts(facts: &mut BTreeMap<String, Value>, fact: Value) {
    let name = fact["name"].as_str().expect("a name").to_string();
    let subs = fact.get("subcommands").cloned();
    if let Some(Value::Array(subs)) = subs {
        for sub in subs {
            index_facts(facts, sub);
        }
    }
    facts.insert(name, fact);
}

/// `tessera.txt`: name → (summary, complexity), in name order.
fn implemented_rows() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(IMPLEMENTED).expect("reading tessera.txt");
    let mut rows = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(" | ").collect();
        let [name, summary, complexity] = fields[..] else {
            panic!(
                "{IMPLEMENTED}:{}: want 'name | summary | complexity'",
                n + 1
            );
        };
        let previous = rows.insert(
            name.to_string(),
            (summary.to_string(), complexity.to_string()),
        );
        assert!(
            previous.is_none(),
            "{IMPLEMENTED}:{}: '{name}' twice",
            n + 1
        );
    }
    rows
}

/// `client|getname` → `ClientGetname`, `restore-asking` → `RestoreAsking`.
fn variant(name: &str) -> String {
    name.split(['|', '-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn emit_enum(out: &mut String, ids: &BTreeMap<&str, String>) {
    out.push_str(
        "/// A command or subcommand Tessera implements (one per row of tessera.txt).\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n\
         #[repr(u16)]\npub enum CommandId {\n",
    );
    for (name, v) in ids {
        let _ = writeln!(out, "    /// `{}`", name.to_uppercase().replace('|', " "));
        let _ = writeln!(out, "    {v},");
    }
    out.push_str("}\n\nimpl CommandId {\n    /// Every command, in name order.\n");
    let _ = writeln!(out, "    pub const ALL: [CommandId; {}] = [", ids.len());
    for v in ids.values() {
        let _ = writeln!(out, "        CommandId::{v},");
    }
    out.push_str("    ];\n}\n\n");
}

fn emit_meta(
    out: &mut String,
    id: &str,
    fact: &Value,
    summary: &str,
    complexity: &str,
    subs: &[&String],
) {
    let name = fact["name"].as_str().expect("name");
    let keys = fact["keys"].as_array().expect("keys");
    let key_rule = KEY_RULES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("Specs", |(_, rule)| rule);
    let _ = write!(
        out,
        "    CommandMeta {{\n        id: CommandId::{id},\n        name: {name:?},\n        \
         arity: {},\n        flags: {},\n        first_key: {},\n        last_key: {},\n        \
         key_step: {},\n        acl: {},\n        tips: &{},\n        key_specs: &[{}],\n        \
         key_rule: KeyRule::{key_rule},\n        group: {:?},\n        since: {:?},\n        \
         summary: {summary:?},\n        complexity: {complexity:?},\n        doc_fields: &[{}],\n        \
         arguments: &{},\n        subcommands: &[{}],\n    }},\n",
        fact["arity"],
        flag_set("CommandFlags", &fact["flags"], |f| f.to_string()),
        keys[0],
        keys[1],
        keys[2],
        flag_set("AclCategories", &fact["acl"], |f| f
            .trim_start_matches('@')
            .to_string()),
        strings(&fact["tips"]),
        fact["key_specs"]
            .as_array()
            .expect("key_specs")
            .iter()
            .map(key_spec)
            .collect::<Vec<_>>()
            .join(", "),
        fact["group"].as_str().expect("group"),
        fact["since"].as_str().expect("since"),
        doc_fields(fact.as_object().expect("an object")),
        arguments(fact.get("arguments")),
        subs.iter()
            .map(|v| format!("CommandId::{v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
}

/// `["write", "fast"]` → `CommandFlags::of(&[CommandFlags::WRITE, CommandFlags::FAST])`:
/// a flag the Rust side does not name fails the build at that constant.
fn flag_set(set: &str, flags: &Value, name: impl Fn(&str) -> String) -> String {
    let members: Vec<String> = flags
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| {
            let constant = name(f.as_str().expect("a flag"))
                .to_ascii_uppercase()
                .replace('-', "_");
            format!("{set}::{constant}")
        })
        .collect();
    format!("{set}::of(&[{}])", members.join(", "))
}

fn strings(list: &Value) -> String {
    let items: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| format!("{:?}", s.as_str().expect("a string")))
        .collect();
    format!("[{}]", items.join(", "))
}

fn key_spec(spec: &Value) -> String {
    let int = |v: &Value, field: &str| v["spec"][field].as_i64().expect(field);
    let begin = &spec["begin_search"];
    let begin = match begin["type"].as_str().expect("type") {
        "index" => format!("BeginSearch::Index({})", int(begin, "index")),
        "keyword" => format!(
            "BeginSearch::Keyword {{ keyword: {:?}, start_from: {} }}",
            begin["spec"]["keyword"].as_str().expect("keyword"),
            int(begin, "startfrom")
        ),
        _ => "BeginSearch::Unknown".to_string(),
    };
    let find = &spec["find_keys"];
    let find = match find["type"].as_str().expect("type") {
        "range" => format!(
            "FindKeys::Range {{ last_key: {}, key_step: {}, limit: {} }}",
            int(find, "lastkey"),
            int(find, "keystep"),
            int(find, "limit")
        ),
        "keynum" => format!(
            "FindKeys::Keynum {{ keynum_index: {}, first_key: {}, key_step: {} }}",
            int(find, "keynumidx"),
            int(find, "firstkey"),
            int(find, "keystep")
        ),
        _ => "FindKeys::Unknown".to_string(),
    };
    format!(
        "KeySpec {{ flags: {}, begin: {begin}, find: {find} }}",
        flag_set("KeySpecFlags", &spec["flags"], |f| f.to_string())
    )
}

fn doc_fields(fact: &Map<String, Value>) -> String {
    fact.iter()
        .filter(|(k, _)| !FIXED_DOC_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| format!("({k:?}, {})", doc_value(k, v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn doc_value(key: &str, value: &Value) -> String {
    match value {
        Value::String(s) => format!("DocField::Str({s:?})"),
        Value::Number(n) => format!("DocField::Int({n})"),
        Value::Array(_) if key == "arguments" => {
            format!("DocField::Args(&{})", arguments(Some(value)))
        }
        Value::Array(_) => format!("DocField::Flags(&{})", strings(value)),
        other => panic!("unexpected docs value for {key}: {other}"),
    }
}

fn arguments(args: Option<&Value>) -> String {
    let Some(Value::Array(args)) = args else {
        return "[]".to_string();
    };
    let items: Vec<String> = args
        .iter()
        .map(|arg| {
            let fields: Vec<String> = arg
                .as_object()
                .expect("an argument")
                .iter()
                .map(|(k, v)| format!("({k:?}, {})", doc_value(k, v)))
                .collect();
            format!("ArgDoc {{ fields: &[{}] }}", fields.join(", "))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Every Redis command's key specs, implemented or not, so the key finder can be
/// checked against what redis-server answers to COMMAND GETKEYS (tests only).
fn emit_key_facts(out: &mut String, facts: &BTreeMap<String, Value>) {
    out.push_str(
        "/// Every Redis command's name, arity, key specs and key rule (for tests).\n\
         #[cfg(test)]\npub static KEY_FACTS: &[(&str, i32, &[KeySpec], KeyRule)] = &[\n",
    );
    for (name, fact) in facts {
        let rule = KEY_RULES
            .iter()
            .find(|(n, _)| n == name)
            .map_or("Specs", |(_, rule)| rule);
        let specs: Vec<String> = fact["key_specs"]
            .as_array()
            .expect("key_specs")
            .iter()
            .map(key_spec)
            .collect();
        let _ = writeln!(
            out,
            "    ({name:?}, {}, &[{}], KeyRule::{rule}),",
            fact["arity"],
            specs.join(", ")
        );
    }
    out.push_str("];\n");
}
