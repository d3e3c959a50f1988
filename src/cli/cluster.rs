//! Loopback ensembles in one process, for the demo and the benchmarks.

use std::net::TcpListener;
use std::time::{Duration, Instant};
use zkelect::{Leader, Peer};

/// Ports that are free right now (bound together, then released).
pub fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let socks: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot find free ports: {e}"))?;
    socks
        .iter()
        .map(|s| s.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// zoo.cfg text for `n` servers on loopback with extra settings; returns the
/// text and each server's election port.
pub fn config(n: usize, extra: &str) -> Result<(String, Vec<u16>), String> {
    config_with_tick(n, 2000, extra)
}

/// As [`config`], with the given `tickTime` in ms.
pub fn config_with_tick(n: usize, tick: u64, extra: &str) -> Result<(String, Vec<u16>), String> {
    let ports = free_ports(2 * n)?;
    let mut cfg = format!("tickTime={tick}\ninitLimit=10\nsyncLimit=5\n{extra}\n");
    let mut election = Vec::with_capacity(n);
    for i in 0..n {
        cfg.push_str(&format!(
            "server.{}=127.0.0.1:{}:{}\n",
            i + 1,
            ports[2 * i],
            ports[2 * i + 1]
        ));
        election.push(ports[2 * i + 1]);
    }
    Ok((cfg, election))
}

/// Peers for sids `1..=n` of a config, not started.
pub fn peers(cfg: &str, n: usize) -> Result<Vec<Peer>, String> {
    (1..=n as i64)
        .map(|sid| Peer::from_config_text(cfg, Some(sid)).map_err(|e| e.to_string()))
        .collect()
}

/// Waits until every peer has decided; returns the decisions.
pub fn await_all(peers: &[&Peer], timeout: Duration) -> Result<Vec<Leader>, String> {
    let deadline = Instant::now() + timeout;
    peers
        .iter()
        .map(|p| {
            p.wait_for_leader(deadline.saturating_duration_since(Instant::now()))
                .ok_or_else(|| format!("sid {} did not decide within {timeout:?}", p.my_sid()))
        })
        .collect()
}
