//! A non-loopback address of this machine, for tests of what remote clients see.
//!
//! Traffic to one of the host's own addresses never leaves the host (the kernel
//! delivers it locally), yet the server sees a peer that is not loopback: exactly what
//! protected mode must refuse. No packet is sent to any other host.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A non-loopback IPv4 address of this host. When the host has none, a dummy
/// interface carries one for the life of this value and is removed on drop.
pub struct ExternalAddress {
    /// The address, as text.
    pub ip: String,
    interface: Option<String>,
}

/// The host's first non-loopback IPv4 address, or one on a new dummy interface.
pub fn external_address() -> ExternalAddress {
    let out = Command::new("hostname")
        .arg("-I")
        .output()
        .expect("running hostname -I");
    let found = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .map(String::from);
    match found {
        Some(ip) => ExternalAddress {
            ip,
            interface: None,
        },
        None => dummy_interface(),
    }
}

/// A dummy interface with a 10.253.x.y/32 address of its own (needs root).
fn dummy_interface() -> ExternalAddress {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("tsr{}-{n}", std::process::id() % 100_000);
    let ip = format!("10.253.{}.{}", n / 250, n % 250 + 1);
    let steps: [&[&str]; 3] = [
        &["link", "add", &name, "type", "dummy"],
        &["addr", "add", &format!("{ip}/32"), "dev", &name],
        &["link", "set", &name, "up"],
    ];
    // Owned before the first step, so a failed step still removes what was made.
    let address = ExternalAddress {
        ip: ip.clone(),
        interface: Some(name.clone()),
    };
    for step in steps {
        let status = Command::new("ip").args(step).status().expect("running ip");
        assert!(
            status.success(),
            "this test needs a non-loopback address: none on the host, and `ip {}` failed \
             (creating a dummy interface needs root)",
            step.join(" ")
        );
    }
    address
}

impl Drop for ExternalAddress {
    fn drop(&mut self) {
        if let Some(name) = &self.interface {
            let _ = Command::new("ip").args(["link", "del", name]).status();
        }
    }
}

/// Firewall rules that cut loopback traffic between addresses, in a chain of their
/// own, removed (with every rule in it) on drop. Nodes of a partition test each own a
/// 127.0.0.x address, so rules by address cut exactly the links between them.
pub struct Firewall {
    chain: String,
}

impl Firewall {
    /// Creates the chain and hooks it into INPUT. Fails the test, saying why, where
    /// the environment does not allow firewall rules: a partition test must not pass
    /// without a partition.
    pub fn new() -> Firewall {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let chain = format!("TESSERA-{}-{n}", std::process::id());
        // Owned first: a failed step still removes what was made.
        let firewall = Firewall { chain };
        firewall.iptables(&["-N", &firewall.chain]);
        firewall.iptables(&["-I", "INPUT", "-j", &firewall.chain]);
        firewall
    }

    /// Drops every loopback packet between `a` and `b`, both ways.
    pub fn cut(&self, a: &str, b: &str) {
        for (from, to) in [(a, b), (b, a)] {
            self.iptables(&[
                "-A",
                &self.chain,
                "-i",
                "lo",
                "-s",
                from,
                "-d",
                to,
                "-j",
                "DROP",
            ]);
        }
    }

    /// Removes every cut (the chain stays, empty).
    pub fn heal(&self) {
        self.iptables(&["-F", &self.chain]);
    }

    fn iptables(&self, args: &[&str]) {
        let out = Command::new("iptables")
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("this test needs iptables (the test command installs it): {e}")
            });
        assert!(
            out.status.success(),
            "this environment does not allow the firewall rules this test needs: \
             `iptables {}` said {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}

impl Default for Firewall {
    fn default() -> Self {
        Firewall::new()
    }
}

impl Drop for Firewall {
    fn drop(&mut self) {
        for args in [
            &["-D", "INPUT", "-j", self.chain.as_str()][..],
            &["-F", &self.chain],
            &["-X", &self.chain],
        ] {
            let _ = Command::new("iptables").args(args).output();
        }
    }
}
