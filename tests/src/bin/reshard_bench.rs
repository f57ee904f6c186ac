//! How fast slots move with their keys: three masters of redis-server 7.0 and three
//! of Tessera, the same data (100,000 keys of 16 to 56 bytes), and the same 4,000 slots
//! moved from the first master to the second with `redis-cli --cluster reshard`, in
//! alternating rounds. On the Tessera cluster the same 4,000 slots then go back with
//! the admin plane's `tessera admin move-slots`: same cluster, same keys.
//! Run: `cargo build --release --workspace --bins --features tessera-tests/bench && target/release/reshard_bench
//! [--rounds N]` (default 3).

use std::time::{Duration, Instant};
use tessera_tests::RawConnection;
use tessera_tests::admin::tessera_ok;
use tessera_tests::bench::{median, rounds_arg};
use tessera_tests::cluster::{Member, create, id_of, reshard, wait_ok};
use tessera_tests::load::fill;
use tessera_tests::process::free_port;

const KEYS: usize = 100_000;
const SLOTS: u16 = 4000;

/// Keys per second for one reshard on a fresh cluster of one kind and, on Tessera,
/// for moving the same slots back with `tessera admin move-slots`.
fn measure(redis: bool) -> (usize, f64, Option<f64>) {
    let admin_port = free_port();
    let admin_arg = admin_port.to_string();
    let members: Vec<Member> = (0..3)
        .map(|i| {
            let extra: &[&str] = if !redis && i == 0 {
                &["--admin-port", &admin_arg]
            } else {
                &[]
            };
            Member::start(redis, extra)
        })
        .collect();
    let ports: Vec<u16> = members.iter().map(Member::port).collect();
    create(&ports, 0);
    assert!(wait_ok(&ports, Duration::from_secs(30)), "cluster ready");
    fill(&ports, KEYS);
    let mut source = RawConnection::connect(ports[0]).unwrap();
    let moving: usize = (0..SLOTS)
        .map(
            |s| match source.command(&["CLUSTER", "COUNTKEYSINSLOT", &s.to_string()]) {
                Ok(tessera_resp::frame::Frame::Integer(n)) => n as usize,
                other => panic!("COUNTKEYSINSLOT: {other:?}"),
            },
        )
        .sum();
    let (from, to) = (id_of(ports[0]).unwrap(), id_of(ports[1]).unwrap());
    let start = Instant::now();
    reshard(ports[0], &from, &to, SLOTS.into());
    let took = start.elapsed().as_secs_f64();
    let back = (!redis).then(|| {
        let start = Instant::now();
        let slots = format!("0-{}", SLOTS - 1);
        tessera_ok(&[
            "admin",
            "--admin-port",
            &admin_arg,
            "move-slots",
            "--slots",
            &slots,
            "--to",
            &from,
        ]);
        moving as f64 / start.elapsed().as_secs_f64()
    });
    (moving, moving as f64 / took, back)
}

fn main() {
    let rounds = rounds_arg("reshard_bench", 3);
    println!("{SLOTS} slots moved, {KEYS} keys in the cluster, {rounds} rounds (keys/s)");
    println!("round  keys    redis-cli+redis-server  redis-cli+tessera  move-slots+tessera");
    let (mut redis, mut tessera, mut moved) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (keys, r, _) = measure(true);
        let (_, t, m) = measure(false);
        let m = m.expect("tessera measures move-slots");
        println!("{round:<5}  {keys:<6}  {r:<22.0}  {t:<17.0}  {m:.0}");
        redis.push(r);
        tessera.push(t);
        moved.push(m);
    }
    let (r, t, m) = (median(redis), median(tessera), median(moved));
    println!(
        "median: redis-cli+redis-server {r:.0}, redis-cli+tessera {t:.0} ({:.2}x), \
         move-slots+tessera {m:.0} ({:.1}x redis-cli+redis-server, {:.1}x redis-cli+tessera)",
        t / r,
        m / r,
        m / t
    );
}
