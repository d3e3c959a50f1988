//! The one free-port picker of the tests: ports that are free on an
//! address now and were not handed out before in this process, from below
//! the kernel's ephemeral range when it leaves room. Used by the runtime
//! tests' loopback ensembles (`free_ports`) and by the interop harness
//! (several loopback addresses); the `zkelect` command has its own for
//! `demo` and `bench`.

use std::collections::HashSet;
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

struct PortPool {
    rng: u64,
    handed_out: HashSet<(Ipv4Addr, u16)>,
}

static PORTS: Mutex<Option<PortPool>> = Mutex::new(None);

/// The lowest port of the kernel's ephemeral range.
fn ephemeral_low() -> u16 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// A port that is free on `ip` now and was not handed out before in this
/// process.
///
/// Ports come from below the kernel's ephemeral range when it leaves room:
/// a configured port that is not bound yet (a zkelect slot, a leader's
/// quorum port) could otherwise be taken by any outgoing connection of the
/// busy JVMs, or by another test binary's `bind(0)`.
pub fn free_port(ip: Ipv4Addr) -> u16 {
    let mut pool = PORTS.lock().unwrap_or_else(PoisonError::into_inner);
    let pool = pool.get_or_insert_with(|| PortPool {
        rng: (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64)
            ^ ((std::process::id() as u64) << 32)
            | 1,
        handed_out: HashSet::new(),
    });
    let low = 20000u16;
    let high = ephemeral_low();
    let span = high.saturating_sub(low);
    for _ in 0..10_000 {
        let port = if span >= 2000 {
            // xorshift64
            pool.rng ^= pool.rng << 13;
            pool.rng ^= pool.rng >> 7;
            pool.rng ^= pool.rng << 17;
            low + (pool.rng % span as u64) as u16
        } else {
            match TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()) {
                Ok(a) => a.port(),
                Err(_) => continue,
            }
        };
        if pool.handed_out.contains(&(ip, port)) {
            continue;
        }
        if TcpListener::bind((ip, port)).is_ok() {
            pool.handed_out.insert((ip, port));
            return port;
        }
    }
    panic!("no free port on {ip}");
}

/// `n` distinct ports that are free on 127.0.0.1 now ([`free_port`]).
pub fn free_ports(n: usize) -> Vec<u16> {
    (0..n).map(|_| free_port(Ipv4Addr::LOCALHOST)).collect()
}
