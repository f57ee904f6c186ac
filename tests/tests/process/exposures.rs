//! What a node exposes, and to whom: protected mode on the client port and the admin
//! plane, `port 0`, where snapshots go, and failed authentication.

use std::time::Duration;
use tessera_resp::frame::Frame;
use tessera_tests::network::external_address;
use tessera_tests::process::free_port;
use tessera_tests::wire::{error, simple};
use tessera_tests::{RawConnection, RedisServer, TesseraNode};

/// What a server says to a client connecting from `host`, up to its closing.
fn first_words(host: &str, port: u16) -> String {
    let mut c = RawConnection::connect_to(host, port).expect("connecting");
    let all = c
        .read_until_closed(Duration::from_secs(10))
        .expect("the server closes the connection");
    String::from_utf8_lossy(&all).into_owned()
}

/// `tessera admin` against the admin plane at `host:admin_port`: success and output.
fn admin_at(host: &str, admin_port: u16, password: Option<&str>, args: &[&str]) -> (bool, String) {
    let admin_port = admin_port.to_string();
    let mut all = vec!["admin", "-h", host, "--admin-port", &admin_port];
    if let Some(p) = password {
        all.extend(["-a", p]);
    }
    all.extend_from_slice(args);
    let out = tessera_tests::admin::tessera(&all);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn protected_mode_refuses_remote_callers_even_with_an_explicit_bind() {
    let external = external_address();
    let ext = external.ip.as_str();
    let admin_port = free_port();
    let bind = ["--bind", "127.0.0.1", ext];
    let node =
        TesseraNode::start(&[&bind[..], &["--admin-port", &admin_port.to_string()]].concat());
    let redis = RedisServer::start(&bind);
    // The client port refuses as redis-server 7.0 does with the same bind, byte for byte.
    let refusal = first_words(ext, node.port);
    assert!(
        refusal.starts_with(
            "-DENIED Redis is running in protected mode because protected mode is enabled and \
             no password is set for the default user."
        ),
        "{refusal}"
    );
    assert_eq!(refusal, first_words(ext, redis.port));
    // The admin plane refuses remote callers too, and serves loopback ones.
    let (ok, out) = admin_at(ext, admin_port, None, &["config", "port"]);
    assert!(
        !ok && out.contains("does not have permission") && out.contains("protected mode"),
        "{out}"
    );
    let (ok, out) = admin_at("127.0.0.1", admin_port, None, &["config", "port"]);
    assert!(ok, "{out}");

    // A password opens both doors, to callers who have it.
    let mut local = node.raw();
    assert_eq!(
        local
            .command(&["CONFIG", "SET", "requirepass", "s3cret"])
            .unwrap(),
        simple("OK")
    );
    let mut remote = RawConnection::connect_to(ext, node.port).unwrap();
    assert_eq!(
        remote.command(&["PING"]).unwrap(),
        error("NOAUTH Authentication required.")
    );
    assert_eq!(remote.command(&["AUTH", "s3cret"]).unwrap(), simple("OK"));
    for args in [&["config", "port"][..], &["meet", "127.0.0.1", "1"][..]] {
        let (ok, out) = admin_at(ext, admin_port, None, args);
        assert!(
            !ok && out.contains("valid authentication credentials"),
            "{args:?}: {out}"
        );
        let (ok, out) = admin_at("127.0.0.1", admin_port, None, args);
        assert!(
            !ok && out.contains("valid authentication credentials"),
            "{args:?} from loopback: {out}"
        );
    }
    let (ok, out) = admin_at(ext, admin_port, Some("s3cret"), &["config", "port"]);
    assert!(ok, "{out}");
    // A wrong admin password counts as a failed authentication, as a wrong AUTH does.
    let (ok, out) = admin_at(ext, admin_port, Some("guess"), &["config", "port"]);
    assert!(!ok && out.contains("invalid password"), "{out}");
    assert_eq!(
        info_field(&mut remote, "stats", "acl_access_denied_auth"),
        "1"
    );
    // Past the gate, the action itself answers (this node is not in cluster mode).
    let (ok, out) = admin_at(ext, admin_port, Some("s3cret"), &["meet", "127.0.0.1", "1"]);
    assert!(!ok && out.contains("cluster support is disabled"), "{out}");

    // Protected mode off and no password: everyone is served, as the operator chose.
    for (name, value) in [("requirepass", ""), ("protected-mode", "no")] {
        assert_eq!(
            local.command(&["CONFIG", "SET", name, value]).unwrap(),
            simple("OK")
        );
    }
    let mut remote = RawConnection::connect_to(ext, node.port).unwrap();
    assert_eq!(remote.command(&["PING"]).unwrap(), simple("PONG"));
    let (ok, out) = admin_at(ext, admin_port, None, &["config", "port"]);
    assert!(ok, "{out}");
}

/// Runs `tessera server <args>` in a fresh directory; it must exit by itself.
fn start_fails(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(tessera_tests::tessera_bin())
        .arg("server")
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("running tessera server");
    assert_eq!(out.status.code(), Some(1), "{args:?} must exit 1");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn port_0_means_no_listener_so_the_node_does_not_start() {
    // redis-server 7.0 opens no TCP listener for port 0 and, with nothing else to
    // listen on, exits.
    let dir = tempfile::tempdir().unwrap();
    let redis = std::process::Command::new("redis-server")
        .args(["--port", "0", "--save", ""])
        .current_dir(dir.path())
        .output()
        .expect("running redis-server");
    assert_eq!(redis.status.code(), Some(1));
    let said = String::from_utf8_lossy(&redis.stdout);
    assert!(
        said.contains("Configured to not listen anywhere, exiting."),
        "{said}"
    );
    let out = start_fails(&["--port", "0"]);
    assert!(
        out.contains("Configured to not listen anywhere, exiting."),
        "{out}"
    );
    // The other ways to listen are not supported yet, and say so.
    let socket = dir.path().join("tessera.sock");
    let out = start_fails(&["--port", "0", "--unixsocket", socket.to_str().unwrap()]);
    assert!(
        out.contains("Tessera does not support 'unixsocket' yet (unix sockets: planned)"),
        "{out}"
    );
    assert!(!socket.exists());
    let out = start_fails(&["--port", "0", "--tls-port", "6380"]);
    assert!(
        out.contains("Tessera does not support 'tls-port' yet"),
        "{out}"
    );
}

#[test]
fn config_set_dir_moves_the_next_save_and_dbfilename_must_be_a_name() {
    let protected = ["--enable-protected-configs", "yes"];
    let node = TesseraNode::start(&[&protected[..], &["--save", ""]].concat());
    let redis = RedisServer::start(&protected);
    let mut c = node.raw();
    let mut theirs = RawConnection::connect(redis.port).unwrap();
    // Refused with redis-server's texts, word for word.
    for args in [
        ["CONFIG", "SET", "dir", "/nonexistent/x"],
        ["CONFIG", "SET", "dir", "/proc/self/status"],
        ["CONFIG", "SET", "dbfilename", "../x/file.rdb"],
        ["CONFIG", "SET", "dbfilename", "/abs.rdb"],
    ] {
        let expected = theirs.command(&args).unwrap();
        assert!(tessera_tests::show(&expected).contains("ERR CONFIG SET failed"));
        assert_eq!(c.command(&args).unwrap(), expected, "{args:?}");
    }
    let start = node.dir.path().canonicalize().unwrap();
    assert_eq!(config_get(&mut c, "dir"), start.display().to_string());
    assert_eq!(config_get(&mut c, "dbfilename"), "dump.rdb");

    assert_eq!(c.command(&["SET", "k", "v"]).unwrap(), simple("OK"));
    let first = tempfile::tempdir().unwrap();
    let first_path = first.path().canonicalize().unwrap();
    assert_eq!(
        c.command(&["CONFIG", "SET", "dir", first_path.to_str().unwrap()])
            .unwrap(),
        simple("OK")
    );
    assert_eq!(config_get(&mut c, "dir"), first_path.display().to_string());
    assert_eq!(c.command(&["SAVE"]).unwrap(), simple("OK"));
    assert!(
        first_path.join("dump.rdb").is_file(),
        "SAVE wrote into the new dir"
    );
    assert!(!start.join("dump.rdb").exists(), "and not into the old one");

    // A relative dir is taken from the one in force, as Redis's chdir takes it.
    let second = tempfile::tempdir_in(&first_path).unwrap();
    let name = second.path().file_name().unwrap().to_str().unwrap();
    for (directive, value) in [("dir", name), ("dbfilename", "other.rdb")] {
        assert_eq!(
            c.command(&["CONFIG", "SET", directive, value]).unwrap(),
            simple("OK")
        );
    }
    let second_path = second.path().canonicalize().unwrap();
    assert_eq!(config_get(&mut c, "dir"), second_path.display().to_string());
    assert_eq!(
        c.command(&["BGSAVE"]).unwrap(),
        simple("Background saving started")
    );
    assert!(
        tessera_tests::wait_until(Duration::from_secs(10), || second_path
            .join("other.rdb")
            .is_file()),
        "BGSAVE wrote into the new dir"
    );
}

#[test]
fn dir_and_dbfilename_are_checked_at_start() {
    let out = start_fails(&["--dbfilename", "../x.rdb"]);
    assert!(
        out.contains("FATAL CONFIG FILE ERROR")
            && out.contains("dbfilename can't be a path, just a filename"),
        "{out}"
    );
    let out = start_fails(&["--dir", "/nonexistent/tessera"]);
    assert!(
        out.contains(">>> '--dir /nonexistent/tessera'")
            && out.contains("No such file or directory"),
        "{out}"
    );
}

/// CONFIG GET of one directive, over `c`.
fn config_get(c: &mut RawConnection, name: &str) -> String {
    match c.command(&["CONFIG", "GET", name]).unwrap() {
        Frame::Array(items) => match items.as_slice() {
            [_, Frame::Bulk(value)] => String::from_utf8_lossy(value).into_owned(),
            other => panic!("CONFIG GET {name}: {other:?}"),
        },
        other => panic!("CONFIG GET {name}: {other:?}"),
    }
}

/// INFO's `field:` value.
fn info_field(c: &mut RawConnection, section: &str, field: &str) -> String {
    let text = tessera_tests::text(&c.command(&["INFO", section]).unwrap());
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}:\n{text}"))
        .trim()
        .to_string()
}

#[test]
fn failed_auth_is_counted_and_logged_in_summary() {
    const GUESSES: usize = 2000;
    let node = TesseraNode::start(&["--requirepass", "s3cret"]);
    let mut c = node.raw();
    let mut batch = Vec::new();
    for i in 0..GUESSES {
        let guess = format!("guess{i}");
        batch.extend(Frame::command([&b"AUTH"[..], guess.as_bytes()]));
    }
    c.send(&batch).unwrap();
    let wrong = error("WRONGPASS invalid username-password pair or user is disabled.");
    for _ in 0..GUESSES {
        assert_eq!(c.read_frame().unwrap(), wrong);
    }
    assert_eq!(
        c.command(&["HELLO", "2", "AUTH", "default", "nope"])
            .unwrap(),
        wrong
    );
    assert_eq!(c.command(&["AUTH", "s3cret"]).unwrap(), simple("OK"));
    assert_eq!(
        info_field(&mut c, "stats", "acl_access_denied_auth"),
        (GUESSES + 1).to_string()
    );
    // One line for the first failure, then at most one summary per 10 s: not a line
    // per guess.
    let log = node.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("failed authentication"))
        .collect();
    assert!(!lines.is_empty() && lines.len() <= 3, "{lines:#?}");
    assert!(lines[0].contains("failures=1"), "{}", lines[0]);
    assert_eq!(c.command(&["CONFIG", "RESETSTAT"]).unwrap(), simple("OK"));
    assert_eq!(info_field(&mut c, "stats", "acl_access_denied_auth"), "0");
}
