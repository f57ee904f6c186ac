//! The start-up lines that scripts and tools wait for or grep, and a start on a port that
//! is taken: both compared with what redis-server 7.0 prints.

use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tessera_tests::process::free_port;
use tessera_tests::{RedisServer, TesseraNode, tessera_bin, wait_until};

/// Runs a start that is expected to fail, killing it if it has not ended by the
/// deadline (so a start that wrongly succeeds fails the test instead of hanging it).
fn failed_start(program: &std::path::Path, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the server");
    let mut ended = false;
    wait_until(Duration::from_secs(10), || {
        ended = child.try_wait().ok().flatten().is_some();
        ended
    });
    if !ended {
        let _ = child.kill();
    }
    child.wait_with_output().expect("collecting the output")
}

/// The lines of `text` from its `Warning: Could not create` line on, without the
/// logger's prefix (timestamps, pid and level differ between the two servers).
fn bind_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            ["Warning: Could not create", "Failed listening on port"]
                .iter()
                .find_map(|phrase| line.find(phrase).map(|at| line[at..].to_string()))
        })
        .collect()
}

#[test]
fn a_taken_client_port_stops_the_start_with_redis_lines() {
    let holder = RedisServer::start(&[]);
    let port = holder.port.to_string();
    let redis = failed_start("redis-server".as_ref(), &["--port", &port, "--save", ""]);
    let tessera = failed_start(&tessera_bin(), &["server", "--port", &port, "--save", ""]);
    assert_eq!(redis.status.code(), Some(1));
    assert_eq!(tessera.status.code(), Some(1));
    let want = bind_lines(&String::from_utf8_lossy(&redis.stdout));
    assert_eq!(
        want,
        [
            format!(
                "Warning: Could not create server TCP listening socket *:{port}: bind: Address already in use"
            ),
            format!("Failed listening on port {port} (TCP), aborting."),
        ]
    );
    // In the log (standard output here) and on standard error.
    assert_eq!(bind_lines(&String::from_utf8_lossy(&tessera.stdout)), want);
    assert_eq!(bind_lines(&String::from_utf8_lossy(&tessera.stderr)), want);
}

#[test]
fn a_taken_bus_port_stops_the_start_with_redis_lines() {
    let holder = RedisServer::start(&[]);
    let bus = holder.port.to_string();
    let outputs: Vec<Output> = [
        ("redis-server".into(), vec![]),
        (tessera_bin(), vec!["server"]),
    ]
    .into_iter()
    .map(|(program, mut args)| {
        let port = free_port().to_string();
        args.extend(["--cluster-enabled", "yes", "--save", ""]);
        let args: Vec<String> = args
            .into_iter()
            .map(String::from)
            .chain(["--port".into(), port, "--cluster-port".into(), bus.clone()])
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        failed_start(&program, &refs)
    })
    .collect();
    let want = bind_lines(&String::from_utf8_lossy(&outputs[0].stdout));
    assert_eq!(want.len(), 2, "redis-server printed {want:?}");
    assert_eq!(
        want[1],
        format!("Failed listening on port {bus} (cluster), aborting.")
    );
    assert_eq!(
        bind_lines(&String::from_utf8_lossy(&outputs[1].stdout)),
        want
    );
    assert_eq!(outputs[0].status.code(), Some(1));
    assert_eq!(outputs[1].status.code(), Some(1));
}

#[test]
fn a_second_tessera_on_the_same_port_is_refused() {
    // SO_REUSEPORT must not let two nodes share a port.
    let first = TesseraNode::start(&[]);
    let port = first.port.to_string();
    let second = failed_start(&tessera_bin(), &["server", "--port", &port, "--save", ""]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&second.stderr)
            .contains(&format!("Failed listening on port {port} (TCP), aborting."))
    );
}

#[test]
fn the_start_up_notice_has_redis_phrases() {
    let redis = RedisServer::start(&["--cluster-enabled", "yes"]);
    let tessera = TesseraNode::start(&["--cluster-enabled", "yes"]);
    let logs: [(&dyn Fn() -> String, u32, u16); 2] = [
        (&|| redis.log(), redis.pid(), redis.port),
        (&|| tessera.log(), tessera.pid(), tessera.port),
    ];
    for (log, pid, port) in logs {
        let phrases = [
            format!("pid={pid}, just started"),
            "Redis version=7.0.15".to_string(),
            "Configuration loaded".to_string(),
            format!("Running mode=cluster, port={port}."),
            "Server initialized".to_string(),
            "Ready to accept connections".to_string(),
        ];
        // The last line may follow the first PING answer by a moment.
        let all = wait_until(Duration::from_secs(10), || {
            let text = log();
            phrases.iter().all(|p| text.contains(p))
        });
        assert!(all, "a phrase of {phrases:?} is missing from:\n{}", log());
    }
}
