//! Error replies clients see, byte for byte as Redis 7.0 writes them.

use tessera_keyspace::KeyspaceError;

/// A value of the wrong type.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
/// An argument or value that is not an integer.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// An argument that is not a float.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Bad option syntax.
pub const SYNTAX: &str = "ERR syntax error";
/// A command before AUTH.
pub const NOAUTH: &str = "NOAUTH Authentication required.";
/// Keys of one command in several slots, in cluster mode.
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
/// A wrong password.
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
/// The connection limit.
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";

/// A CLIENT SETNAME name with spaces or special characters.
pub const CLIENT_NAME_CHARS: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
/// CLIENT LIST ID with a bad id.
pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
/// CLIENT KILL of an unknown client.
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
/// CLIENT KILL ID 0 or less.
pub const CLIENT_ID_POSITIVE: &str = "ERR client-id should be greater than 0";
/// CLUSTER commands on a node outside cluster mode.
pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";
/// A cluster command before the bus started.
pub const NO_BUS: &str = "ERR the cluster bus is not running";
/// An engine answer meant for the admin plane reached RESP.
pub const TOPOLOGY_NOT_RESP: &str = "ERR the structured topology has no RESP form";
/// CLUSTER SETSLOT on a replica.
pub const SETSLOT_ONLY_MASTERS: &str = "ERR Please use SETSLOT only with masters.";
/// CLUSTER SETSLOT with a bad action.
pub const SETSLOT_ACTION: &str =
    "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
/// A slot argument outside 0..16383.
pub const SLOT_OUT_OF_RANGE: &str = "ERR Invalid or out of range slot";
/// CLUSTER COUNTKEYSINSLOT with a bad slot.
pub const INVALID_SLOT: &str = "ERR Invalid slot";
/// CLUSTER GETKEYSINSLOT with a bad slot or count.
pub const SLOT_OR_COUNT: &str = "ERR Invalid slot or number of keys";
/// HELLO with a protocol other than 2 or 3.
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
/// HELLO with a non-numeric protocol.
pub const PROTOCOL_NOT_INTEGER: &str = "ERR Protocol version is not an integer or out of range";
/// SELECT of another database in cluster mode.
pub const SELECT_IN_CLUSTER: &str = "ERR SELECT is not allowed in cluster mode";
/// SELECT of a database that does not exist.
pub const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";
/// COPY or MOVE onto the key itself.
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
/// COPY ... DB n in cluster mode.
pub const COPY_DB_IN_CLUSTER: &str =
    "ERR Copying to another database is not allowed in cluster mode";
/// MOVE in cluster mode.
pub const MOVE_IN_CLUSTER: &str = "ERR MOVE is not allowed in cluster mode";
/// FUNCTION FLUSH with a bad mode.
pub const FUNCTION_FLUSH_MODE: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
/// FUNCTION DELETE of an unknown library.
pub const NO_SUCH_LIBRARY: &str = "ERR Library not found";
/// SCRIPT/FUNCTION KILL with nothing running.
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
/// SCRIPT KILL of a script that already wrote.
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// Any command but the few allowed while a script has run past busy-reply-threshold.
pub const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// Any command but the few allowed while a function has run past busy-reply-threshold
/// (and SCRIPT KILL while a function runs).
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// FCALL of a function no library has.
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
/// FCALL with a numkeys that is not an integer.
pub const FCALL_BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
/// FCALL_RO, EVAL_RO or EVALSHA_RO of a function or script without `no-writes`.
pub const SCRIPT_WRITE_FLAG_RO: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
/// EVALSHA of a script not in the cache.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
/// EVAL with a negative numkeys.
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
/// SCRIPT FLUSH with a mode other than ASYNC or SYNC.
pub const SCRIPT_FLUSH_MODE: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
/// SCRIPT DEBUG with another argument than YES, SYNC or NO.
pub const SCRIPT_DEBUG_USAGE: &str = "ERR Use SCRIPT DEBUG YES/SYNC/NO";
/// SCRIPT DEBUG YES or SYNC: Tessera has no Lua debugger.
pub const SCRIPT_DEBUG_UNSUPPORTED: &str = "ERR SCRIPT DEBUG YES/SYNC is not supported by Tessera";
/// A `no-cluster` script in cluster mode.
pub const SCRIPT_NO_CLUSTER: &str = "ERR Can not run script on cluster, 'no-cluster' flag is set.";
/// `redis.call` of an unknown command.
pub const SCRIPT_UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
/// `redis.call` with the wrong number of arguments.
pub const SCRIPT_WRONG_ARITY: &str = "ERR Wrong number of args calling Redis command from script";
/// `redis.call` of a command flagged noscript.
pub const SCRIPT_NOT_ALLOWED: &str = "ERR This Redis command is not allowed from script";
/// A write from EVAL_RO or a `no-writes` script.
pub const SCRIPT_READ_ONLY: &str = "ERR Write commands are not allowed from read-only scripts.";
/// A write after SCRIPT KILL stopped the script.
pub const SCRIPT_KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
/// `redis.call` of a key outside the slots of the keys the script declared.
pub const SCRIPT_UNDECLARED_KEY: &str =
    "ERR Script attempted to access a key in a slot none of its declared keys (KEYS) is in";
/// `redis.call` of a command over every slot from a script that declared keys.
pub const SCRIPT_NEEDS_EVERY_SLOT: &str = "ERR Script attempted a command that needs every slot after it changed data, or while it holds the slot of its declared keys in cluster mode; run such a command first, or declare no keys";
/// `redis.call` from a script that must run again with more locks (no client sees it:
/// the run's outcome is dropped).
pub const SCRIPT_RESTARTING: &str = "ERR script restarting to take more locks";
/// `redis.call` of a key whose slot a script that already changed data could not lock
/// in time (see `commands::script_locks`).
pub const SCRIPT_SLOT_BUSY: &str = "ERR Script changed data, then reached a key of a slot another command kept busy; declare its keys (KEYS) so they are locked up front";
/// `redis.call` of a key this cluster node does not serve.
pub const SCRIPT_NON_LOCAL_KEY: &str =
    "ERR Script attempted to access a non local key in a cluster node";
/// `redis.call` of a key in another slot than the script's.
pub const SCRIPT_CROSS_SLOT: &str =
    "ERR Script attempted to access keys that do not hash to the same slot";
/// COMMAND GETKEYS of an unknown command.
pub const GETKEYS_UNKNOWN: &str = "ERR Invalid command specified";
/// COMMAND GETKEYS of a command without keys.
pub const GETKEYS_NO_KEYS: &str = "ERR The command has no key arguments";
/// COMMAND GETKEYS of a call with the wrong arity.
pub const GETKEYS_ARITY: &str = "ERR Invalid number of arguments specified for command";
/// COMMAND GETKEYS of a call whose keys cannot be found.
pub const GETKEYS_INVALID: &str = "ERR Invalid arguments specified for command";
/// REPLICAOF in cluster mode.
pub const REPLICAOF_IN_CLUSTER: &str = "ERR REPLICAOF not allowed in cluster mode.";
/// REPLICAOF with a bad port.
pub const INVALID_MASTER_PORT: &str = "ERR Invalid master port";
/// WAIT with a non-numeric timeout.
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
/// A blocking pop's timeout that is not a number.
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
/// CLIENT UNBLOCK ERROR, as the unblocked client sees it.
pub const UNBLOCKED_BY_CLIENT: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
/// What clients blocked on keys get when their node turns replica.
pub const UNBLOCKED_TURNED_REPLICA: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
/// CLIENT UNBLOCK with a reason other than TIMEOUT or ERROR.
pub const UNBLOCK_REASON: &str = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
/// WAIT with a negative timeout.
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// SYNC from a replica whose own master link is down.
pub const NOMASTERLINK: &str = "NOMASTERLINK Can't SYNC while not connected with my master";
/// MULTI inside MULTI.
pub const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
/// WATCH after MULTI.
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
/// DISCARD outside a transaction.
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
/// A no_multi command queued in MULTI.
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
/// EXEC outside a transaction.
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
/// EXEC after a queuing error.
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// EXEC refused by a state check (OOM and the like), as Redis's execCommandAbort.
pub fn exec_abort_because(refusal: &str) -> String {
    format!("EXECABORT Transaction discarded because of: {refusal}")
}
/// The engine dropped a queued command's answer.
pub const NO_BUS_ANSWER: &str = "ERR the cluster bus gave no answer";
/// SCAN with a cursor that is not a number.
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
/// EXPIRE NX with XX, GT or LT.
pub const EXPIRE_NX_WITH_OTHERS: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
/// EXPIRE GT with LT.
pub const EXPIRE_GT_WITH_LT: &str = "ERR GT and LT options at the same time are not compatible";
/// SETRANGE with a negative or too large offset.
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
/// A bit offset that is not an integer, negative, or past proto-max-bulk-len.
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
/// SETBIT's value other than 0 or 1.
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
/// BITPOS's bit other than 0 or 1.
pub const BIT_ARGUMENT: &str = "ERR The bit argument must be 1 or 0.";
/// BITOP NOT with several sources.
pub const BITOP_NOT_SINGLE: &str = "ERR BITOP NOT must be called with a single source key.";
/// A BITFIELD type other than i1..i64 or u1..u63.
pub const BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
/// BITFIELD OVERFLOW other than WRAP, SAT or FAIL.
pub const BITFIELD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
/// BITFIELD_RO with SET or INCRBY.
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
/// LCS on a key of another type.
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
/// LCS with both IDX and LEN.
pub const LCS_IDX_AND_LEN: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
/// LCS whose table does not fit in memory.
pub const LCS_NO_MEMORY: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";
/// DECRBY of i64::MIN.
pub const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
/// A key in a slot no node serves.
pub const SLOT_NOT_SERVED: &str = "CLUSTERDOWN Hash slot not served";
/// A keyed command while the cluster is down (or the node's write lease lapsed).
pub const CLUSTER_DOWN: &str = "CLUSTERDOWN The cluster is down";
/// A write while the cluster is down and reads are allowed.
pub const CLUSTER_DOWN_READS_ONLY: &str =
    "CLUSTERDOWN The cluster is down and only accepts read commands";

/// AUTH with a password while the default user has none.
pub const AUTH_WITHOUT_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
/// HELLO on a connection that has not authenticated, without AUTH.
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
/// FUNCTION RESTORE with a policy other than FLUSH, APPEND or REPLACE.
pub const RESTORE_POLICY: &str =
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
/// WAIT sent to a replica.
pub const WAIT_ON_REPLICA: &str = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.";

/// WAITAOF sent to a replica (Redis 7.2's text).
pub const WAITAOF_ON_REPLICA: &str = "ERR WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated.";
/// WAITAOF asking for a local fsync while `appendonly` is off.
pub const WAITAOF_WITHOUT_AOF: &str =
    "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.";

/// BGREWRITEAOF while a rewrite runs.
pub const AOF_REWRITE_IN_PROGRESS: &str =
    "ERR Background append only file rewriting already in progress";
/// BGSAVE or SAVE while a background save runs.
pub const SAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
/// SHUTDOWN ABORT with no shutdown under way.
pub const NO_SHUTDOWN: &str = "ERR No shutdown in progress.";
/// SHUTDOWN whose final save failed.
pub const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
/// DEBUG while enable-debug-command forbids it for this connection.
pub const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// CONFIG REWRITE on a node started without a config file.
pub const NO_CONFIG_FILE: &str = "ERR The server is running without a config file";

/// LSET past either end.
pub const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
/// LPOS RANK 0.
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
/// LPOS COUNT below zero or not a number.
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
/// LPOS MAXLEN below zero or not a number.
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
/// LMPOP/ZMPOP numkeys below 1 or not a number.
pub const NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
/// LMPOP/ZMPOP COUNT below 1 or not a number.
pub const MPOP_COUNT_POSITIVE: &str = "ERR count should be greater than 0";
/// LPOP/RPOP, SPOP and ZRANDMEMBER-like counts that must not be negative.
pub const OUT_OF_RANGE_POSITIVE: &str = "ERR value is out of range, must be positive";
/// HRANDFIELD/ZRANDMEMBER with scores or values and a count too large to double.
pub const OUT_OF_RANGE: &str = "ERR value is out of range";
/// SINTERCARD with a numkeys larger than the keys given.
pub const NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
/// SINTERCARD/ZINTERCARD with a negative or non-integer LIMIT.
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
/// HINCRBYFLOAT with an infinite or NaN increment.
pub const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";

/// The reply for a keyspace error.
pub fn keyspace(e: KeyspaceError) -> &'static str {
    match e {
        KeyspaceError::WrongType => WRONGTYPE,
        KeyspaceError::NotInteger => NOT_INTEGER,
        KeyspaceError::Overflow => "ERR increment or decrement would overflow",
        KeyspaceError::NotFloat | KeyspaceError::IncrementNotFloat => NOT_FLOAT,
        KeyspaceError::NotFinite => "ERR increment would produce NaN or Infinity",
        KeyspaceError::StringTooLong => {
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        }
        KeyspaceError::NoSuchKey => "ERR no such key",
        KeyspaceError::HashNotInteger => "ERR hash value is not an integer",
        KeyspaceError::HashNotFloat => "ERR hash value is not a float",
    }
}

/// `ERR wrong number of arguments for '<name>' command`.
pub fn wrong_arity(full_name: &str) -> String {
    format!("ERR wrong number of arguments for '{full_name}' command")
}

/// A count outside `min..=max`, as Redis's getRangeLongFromObjectOrReply words it.
pub fn out_of_range(min: i64, max: i64) -> String {
    format!("ERR value is out of range, value must between {min} and {max}")
}

/// `ERR invalid expire time in '<name>' command`.
pub fn invalid_expire(full_name: &str) -> String {
    format!("ERR invalid expire time in '{full_name}' command")
}

/// `ERR unknown command ...`, quoting the arguments as Redis does (at most about 128
/// characters of them).
pub fn unknown_command(name: &[u8], args: impl Iterator<Item = impl AsRef<[u8]>>) -> String {
    let mut quoted = String::new();
    for arg in args {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let text = String::from_utf8_lossy(arg.as_ref());
        let cut: String = text.chars().take(room).collect();
        quoted.push_str(&format!("'{cut}' "));
    }
    let name = String::from_utf8_lossy(name);
    let name: String = name.chars().take(128).collect();
    format!("ERR unknown command '{name}', with args beginning with: {quoted}")
}

/// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
pub fn unknown_subcommand(sub: &[u8], container: &str) -> String {
    let sub = String::from_utf8_lossy(sub);
    let sub: String = sub.chars().take(128).collect();
    format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        container.to_ascii_uppercase()
    )
}

/// Bytes a client sent, shown in an error as Redis shows them.
fn shown(arg: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(arg)
}

/// `ERR <text>` for an error whose own text says what went wrong.
pub fn err(e: impl std::fmt::Display) -> String {
    format!("ERR {e}")
}

/// `MOVED <slot> <host>:<port>`: the slot lives elsewhere.
pub fn moved(slot: u16, host: &str, port: u16) -> String {
    format!("MOVED {slot} {host}:{port}")
}

/// `ASK <slot> <host>:<port>`: this key moved to the importing node.
pub fn ask(slot: u16, host: &str, port: u16) -> String {
    format!("ASK {slot} {host}:{port}")
}

/// CLIENT SETINFO with a value holding spaces or special characters.
pub fn special_characters(attribute: &[u8]) -> String {
    format!(
        "ERR {} cannot contain spaces, newlines or special characters.",
        shown(attribute)
    )
}

/// CLIENT SETINFO of an attribute that does not exist.
pub fn unrecognized_option(option: &[u8]) -> String {
    format!("ERR Unrecognized option '{}'", shown(option))
}

/// CLIENT LIST/KILL TYPE with an unknown type.
pub fn unknown_client_type(name: &[u8]) -> String {
    format!("ERR Unknown client type '{}'", shown(name))
}

/// CLIENT KILL USER of a user that does not exist.
pub fn no_such_user(user: &str) -> String {
    format!("ERR No such user '{user}'")
}

/// A subcommand called with the wrong number of arguments, as CLUSTER and FUNCTION
/// word it.
pub fn subcommand_or_arity(sub: &[u8], container: &str) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {container} HELP.",
        shown(sub)
    )
}

/// CLUSTER MEET with a port that is not a number (`kind`: base or bus).
pub fn invalid_port(kind: &str, port: &[u8]) -> String {
    format!("ERR Invalid TCP {kind} port specified: {}", shown(port))
}

/// CLUSTER ADDSLOTSRANGE/DELSLOTSRANGE with a range backwards.
pub fn slot_range_reversed(start: u16, end: u16) -> String {
    format!("ERR start slot number {start} is greater than end slot number {end}")
}

/// HELLO with an option it does not know.
pub fn hello_option(option: &[u8]) -> String {
    format!("ERR Syntax error in HELLO option '{}'", shown(option))
}

/// REPLCONF with an option it does not know.
pub fn replconf_option(option: &[u8]) -> String {
    format!("ERR Unrecognized REPLCONF option: {}", shown(option))
}

/// EXPIRE with an option it does not know.
pub fn unsupported_option(option: &[u8]) -> String {
    format!("ERR Unsupported option {}", shown(option))
}

/// CONFIG REWRITE that could not write the file.
pub fn rewrite_failed(why: &str) -> String {
    format!("ERR Rewriting config file: {why}")
}

/// CONFIG SET of a directive that does not exist.
pub fn config_set_unknown(name: &str) -> String {
    format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
}

/// CONFIG SET refused for one directive, and why.
pub fn config_set_failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

/// A score range end that is not a float.
pub const ZSET_MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";
/// A lexicographic range end without `[`, `(`, `-` or `+`.
pub const ZSET_LEX_RANGE: &str = "ERR min or max not valid string range item";
/// ZADD INCR or ZINCRBY reaching NaN.
pub const ZSET_NAN: &str = "ERR resulting score is not a number (NaN)";
/// ZADD NX with XX.
pub const ZADD_NX_XX: &str = "ERR XX and NX options at the same time are not compatible";
/// ZADD GT, LT and NX combined.
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
/// ZADD INCR with several pairs.
pub const ZADD_INCR_PAIRS: &str = "ERR INCR option supports a single increment-element pair";
/// ZRANGE LIMIT on a rank range.
pub const ZRANGE_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
/// ZRANGE WITHSCORES on a lexicographic range.
pub const ZRANGE_WITHSCORES_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
/// ZUNION/ZINTER WEIGHTS with a weight that is not a float.
pub const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";

/// `ERR at least 1 input key is needed for '<name>' command`.
pub fn at_least_one_key(full_name: &str) -> String {
    format!("ERR at least 1 input key is needed for '{full_name}' command")
}

/// `ERR value is out of range, must be between <min> and <max>`.
pub fn out_of_range_between(min: i64, max: i64) -> String {
    format!("ERR value is out of range, must be between {min} and {max}")
}

/// SORT ... BY with a `*` pattern in cluster mode (Redis 7.0 refuses any BY that
/// reads other keys there).
pub const SORT_BY_CLUSTER: &str = "ERR BY option of SORT denied in Cluster mode.";
/// SORT ... GET in cluster mode (any GET, `#` included, in Redis 7.0).
pub const SORT_GET_CLUSTER: &str = "ERR GET option of SORT denied in Cluster mode.";
/// A numeric SORT met a weight that is not a number.
pub const SORT_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";
/// OBJECT FREQ without an LFU maxmemory policy.
pub const NO_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// OBJECT IDLETIME while an LFU policy uses the access clock as a counter.
pub const NO_LRU: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// CLIENT TRACKING with REDIRECT twice.
pub const TRACKING_ONE_REDIRECT: &str = "ERR A client can only redirect to a single other client";
/// CLIENT TRACKING REDIRECT to a client that is not connected.
pub const TRACKING_NO_REDIRECT_CLIENT: &str =
    "ERR The client ID you want redirect to does not exist";
/// CLIENT TRACKING ON with PREFIX and no BCAST.
pub const TRACKING_PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
/// CLIENT TRACKING ON changing BCAST while tracking.
pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
/// CLIENT TRACKING ON with BCAST and OPTIN or OPTOUT.
pub const TRACKING_OPT_WITH_BCAST: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
/// CLIENT TRACKING ON with OPTIN and OPTOUT.
pub const TRACKING_OPTIN_AND_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
/// CLIENT TRACKING ON switching between OPTIN and OPTOUT while tracking.
pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
/// CLIENT CACHING without tracking.
pub const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
/// CLIENT CACHING YES outside OPTIN.
pub const CACHING_YES_NEEDS_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
/// CLIENT CACHING NO outside OPTOUT.
pub const CACHING_NO_NEEDS_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";

/// CLIENT TRACKING BCAST: a new prefix overlaps one the client has.
pub fn tracking_prefix_overlap_existing(new: &[u8], old: &[u8]) -> String {
    format!(
        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
        String::from_utf8_lossy(new),
        String::from_utf8_lossy(old)
    )
}

/// CLIENT TRACKING BCAST: two given prefixes overlap.
pub fn tracking_prefix_overlap_given(first: &[u8], second: &[u8]) -> String {
    format!(
        "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
        String::from_utf8_lossy(first),
        String::from_utf8_lossy(second)
    )
}
