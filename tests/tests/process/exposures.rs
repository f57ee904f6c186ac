//! What a node exposes, and to whom: protected mode on the client port and the admin
//! plane, `port 0`, where snapshots go, and failed authentication.

use std::time::Duration;
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
