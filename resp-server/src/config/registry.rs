//! How directives are described, parsed and validated.

/// Who may change a directive at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// CONFIG SET may change it.
    Mutable,
    /// Only the config file or command line may set it.
    Immutable,
    /// CONFIG SET may change it only when enable-protected-configs allows.
    Protected,
}

/// The syntax of a directive's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// An integer within a range.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A byte count with an optional unit (`1gb`, `512mb`, `100k`).
    Memory {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A byte count with an optional unit, or a percentage of maxmemory (`10%`).
    MemoryOrPercent,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// One string, possibly empty.
    Str,
    /// An IP address, or "" for none. Redis takes any text and fails at connect time;
    /// a typo here would otherwise leave connections on whatever address the OS picks.
    Ip,
    /// Any number of words, shown space-separated.
    Words,
    /// `save`: pairs of seconds and changes, or "" for none.
    Save,
    /// `replicaof`: host and port.
    ReplicaOf,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` groups; a line
    /// changes the classes it names and keeps the others.
    BufferLimits,
}

/// What puts a honoured directive's value into effect, so a reader (and a test) can
/// tell whether CONFIG SET changes anything at once or only at the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applier {
    /// Read once when the node starts.
    Start,
    /// Read from the settings in force each time it is used.
    Settings,
    /// The log filter, changed by CONFIG SET.
    Logging,
    /// The cluster bus engine, reconfigured by CONFIG SET.
    Bus,
    /// The replication backlog, resized by CONFIG SET.
    Replication,
    /// The append-only file, opened (with a rewrite) or closed by CONFIG SET.
    Aof,
    /// Only shown (INFO), as Redis's cluster mode does.
    Info,
}

/// Whether Tessera acts on a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Tessera acts on it.
    Honoured,
    /// Accepted and shown, with no effect on safety or on what an application sees;
    /// the text says why.
    Inert(&'static str),
    /// Only its default is accepted until Tessera implements it; the text names the
    /// area, so an operator knows what is missing rather than believing it in force.
    Refused(&'static str),
}

/// One configuration directive.
#[derive(Debug)]
pub struct Directive {
    /// Canonical name.
    pub name: &'static str,
    /// Older names for the same setting (`slaveof` for `replicaof`, ...).
    pub aliases: &'static [&'static str],
    /// Value syntax.
    pub kind: Kind,
    /// Default value, canonical form.
    pub default: &'static str,
    /// Runtime mutability.
    pub access: Access,
    /// Left out of CONFIG GET with a pattern, as Redis's HIDDEN_CONFIG test knobs are;
    /// CONFIG GET of the exact name still shows it.
    pub hidden: bool,
    /// What applies its value (empty unless honoured).
    pub applies: &'static [Applier],
    /// Whether Tessera acts on it.
    pub state: State,
}

impl Directive {
    /// The refusal of a canonical `value` for a directive Tessera does not support yet,
    /// naming it as the operator wrote it; `None` when the value may be used (any
    /// value of a supported directive, the default of a refused one).
    pub fn refusal(&self, written: &str, value: &str) -> Option<String> {
        match self.state {
            State::Refused(area) if value != self.default => {
                Some(format!("Tessera does not support '{written}' yet ({area})"))
            }
            _ => None,
        }
    }
}

/// Parses a byte count: digits with an optional unit, as redis.conf allows.
pub fn parse_memory(text: &str) -> Option<i64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier: i64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.is_empty() {
        return None;
    }
    digits.parse::<i64>().ok()?.checked_mul(multiplier)
}

impl Kind {
    /// Validates the arguments of a config file line (or command-line directive) and
    /// returns the canonical value. Errors are Redis's texts.
    pub fn parse(&self, args: &[String]) -> Result<String, String> {
        let single = || -> Result<&str, String> {
            match args {
                [one] => Ok(one.as_str()),
                _ => Err("wrong number of arguments".into()),
            }
        };
        match *self {
            Kind::Bool => match single()?.to_ascii_lowercase().as_str() {
                v @ ("yes" | "no") => Ok(v.into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Int { min, max } => {
                let v: i64 = single()?
                    .parse()
                    .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
                check_range(v, min, max)
            }
            Kind::Memory { min, max } => {
                let v = parse_memory(single()?)
                    .ok_or_else(|| "argument must be a memory value".to_string())?;
                check_range(v, min, max)
            }
            Kind::MemoryOrPercent => memory_or_percent(single()?),
            Kind::Enum(words) => {
                let v = single()?.to_ascii_lowercase();
                if words.contains(&v.as_str()) {
                    Ok(v)
                } else {
                    Err(format!(
                        "argument(s) must be one of the following: {}",
                        words.join(", ")
                    ))
                }
            }
            Kind::Str => Ok(single()?.to_string()),
            Kind::Ip => {
                let v = single()?;
                if v.is_empty() || v.parse::<std::net::IpAddr>().is_ok() {
                    Ok(v.to_string())
                } else {
                    Err("argument must be an IP address".into())
                }
            }
            Kind::Words => Ok(args.join(" ")),
            Kind::Save => {
                let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
                if words.len() % 2 != 0 || words.iter().any(|w| w.parse::<u64>().is_err()) {
                    return Err("Invalid save parameters".into());
                }
                Ok(words.join(" "))
            }
            Kind::ReplicaOf => match args {
                [host, port]
                    if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") =>
                {
                    Ok(String::new())
                }
                [host, port] => {
                    port.parse::<u16>()
                        .map_err(|_| "Invalid master port".to_string())?;
                    Ok(format!("{host} {port}"))
                }
                _ => Err("wrong number of arguments".into()),
            },
            Kind::BufferLimits => buffer_limits(args),
        }
    }

    /// Validates a CONFIG SET value, given as one string.
    pub fn parse_runtime(&self, value: &str) -> Result<String, String> {
        match self {
            Kind::Words | Kind::Save | Kind::ReplicaOf | Kind::BufferLimits => {
                let words: Vec<String> = value.split_whitespace().map(String::from).collect();
                if *self == Kind::ReplicaOf && words.is_empty() {
                    return Ok(String::new());
                }
                self.parse(&words)
            }
            _ => self.parse(&[value.to_string()]),
        }
    }
}

/// A memory value, or a percentage (0 to 100) written as Redis shows it: `0%` is
/// plain `0`.
fn memory_or_percent(text: &str) -> Result<String, String> {
    let invalid = || "argument must be a memory or percent value".to_string();
    if let Some(number) = text.strip_suffix('%') {
        let percent = tessera_keyspace::number::parse_i64(number.as_bytes())
            .filter(|&p| p >= 0)
            .ok_or_else(invalid)?;
        return match percent {
            0 => Ok("0".into()),
            1..=100 => Ok(format!("{percent}%")),
            _ => Err("percentage argument must be less or equal to 100".into()),
        };
    }
    parse_memory(text)
        .filter(|&v| v >= 0)
        .map(|v| v.to_string())
        .ok_or_else(invalid)
}

/// The client classes of `client-output-buffer-limit`, in Redis's order.
const BUFFER_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Parses `<class> <hard> <soft> <seconds>` groups into canonical text (byte counts,
/// `replica` spelled `slave`, as CONFIG GET shows it). Errors are Redis's texts.
fn buffer_limits(args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut groups = Vec::new();
    for group in words.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "replica" | "slave" => "slave",
            "normal" => "normal",
            "pubsub" => "pubsub",
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        };
        let limits = (
            parse_memory(group[1]),
            parse_memory(group[2]),
            group[3].parse::<i64>().ok(),
        );
        let (Some(hard), Some(soft), Some(seconds)) = limits else {
            return Err(BUFFER_LIMIT_VALUES.into());
        };
        if hard < 0 || soft < 0 || seconds < 0 {
            return Err(BUFFER_LIMIT_VALUES.into());
        }
        groups.push(format!("{class} {hard} {soft} {seconds}"));
    }
    Ok(groups.join(" "))
}

const BUFFER_LIMIT_VALUES: &str =
    "Error in hard, soft or soft_seconds setting in buffer limit configuration.";

/// Applies canonical `update` groups of `client-output-buffer-limit` to the canonical
/// `current` value: the classes named change, the others keep their limits.
pub fn merge_buffer_limits(current: &str, update: &str) -> String {
    let mut limits: Vec<(String, String)> = BUFFER_CLASSES
        .iter()
        .map(|c| (c.to_string(), String::new()))
        .collect();
    for text in [current, update] {
        let words: Vec<&str> = text.split_whitespace().collect();
        for group in words.chunks_exact(4) {
            if let Some(slot) = limits.iter_mut().find(|(c, _)| c == group[0]) {
                slot.1 = group[1..].join(" ");
            }
        }
    }
    limits
        .into_iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(c, l)| format!("{c} {l}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_range(v: i64, min: i64, max: i64) -> Result<String, String> {
    if (min..=max).contains(&v) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "argument must be between {min} and {max} inclusive"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: Kind, args: &[&str]) -> Result<String, String> {
        kind.parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn texts_match_redis() {
        assert_eq!(
            p(Kind::Bool, &["maybe"]).unwrap_err(),
            "argument must be 'yes' or 'no'"
        );
        assert_eq!(p(Kind::Bool, &["YES"]).unwrap(), "yes");
        let port = Kind::Int { min: 0, max: 65535 };
        assert_eq!(
            p(port, &["abc"]).unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            p(port, &["99999"]).unwrap_err(),
            "argument must be between 0 and 65535 inclusive"
        );
        assert_eq!(
            p(port, &["1", "2"]).unwrap_err(),
            "wrong number of arguments"
        );
        let mem = Kind::Memory {
            min: 0,
            max: i64::MAX,
        };
        assert_eq!(
            p(mem, &["1xb"]).unwrap_err(),
            "argument must be a memory value"
        );
        assert_eq!(p(mem, &["1kb"]).unwrap(), "1024");
        assert_eq!(p(mem, &["2GB"]).unwrap(), "2147483648");
        assert_eq!(p(mem, &["5k"]).unwrap(), "5000");
        assert_eq!(
            p(Kind::Enum(&["debug", "notice"]), &["loud"]).unwrap_err(),
            "argument(s) must be one of the following: debug, notice"
        );
        assert_eq!(
            p(Kind::Save, &["10", "1", "20"]).unwrap_err(),
            "Invalid save parameters"
        );
        assert_eq!(
            Kind::Save.parse_runtime("3600 1 300 100").unwrap(),
            "3600 1 300 100"
        );
        assert_eq!(Kind::Save.parse_runtime("").unwrap(), "");
        assert_eq!(p(Kind::ReplicaOf, &["no", "one"]).unwrap(), "");
        assert_eq!(
            Kind::Words.parse_runtime("127.0.0.1  ::1").unwrap(),
            "127.0.0.1 ::1"
        );
    }

    #[test]
    fn buffer_limits_merge_per_class() {
        let either = Kind::MemoryOrPercent;
        assert_eq!(p(either, &["10%"]).unwrap(), "10%");
        assert_eq!(p(either, &["0%"]).unwrap(), "0");
        assert_eq!(p(either, &["5K"]).unwrap(), "5000");
        assert_eq!(p(either, &["1mb"]).unwrap(), "1048576");
        assert_eq!(
            p(either, &["101%"]).unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        for bad in ["00%", "1.5%", "-1", "abc", "5 %"] {
            assert_eq!(
                p(either, &[bad]).unwrap_err(),
                "argument must be a memory or percent value",
                "{bad}"
            );
        }
        let limits = Kind::BufferLimits;
        assert_eq!(
            p(limits, &["replica", "256mb", "64mb", "60"]).unwrap(),
            "slave 268435456 67108864 60"
        );
        assert_eq!(
            limits.parse_runtime("normal 0 0").unwrap_err(),
            "Wrong number of arguments in buffer limit configuration."
        );
        assert_eq!(
            limits.parse_runtime("nor 0 0 0").unwrap_err(),
            "Invalid client class specified in buffer limit configuration."
        );
        assert_eq!(
            limits.parse_runtime("normal 1 2 3x").unwrap_err(),
            BUFFER_LIMIT_VALUES
        );
        let default = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
        assert_eq!(
            merge_buffer_limits(
                default,
                &limits.parse_runtime("pubsub 32mb 8mb 60").unwrap()
            ),
            default,
            "redis.conf's own line changes nothing"
        );
        assert_eq!(
            merge_buffer_limits(default, "normal 1048576 0 0"),
            "normal 1048576 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }
}
