//! Helpers shared by the runtime tests: loopback ensembles on free ports and
//! waits with deadlines.
#![allow(dead_code)]

pub mod ports;
pub mod run;

pub use ports::free_ports;

use std::time::{Duration, Instant};
use zkelect::{Confirmed, Leader, Peer, ServerState, Sid};

/// How long any wait in these tests may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A zoo.cfg for `n` servers (sids 1..=n) on loopback, plus extra lines.
/// Returns the text and each sid's election port.
pub fn config(n: usize, extra: &str) -> (String, Vec<u16>) {
    let ports = free_ports(2 * n);
    let mut cfg = format!("tickTime=2000\ninitLimit=5\nsyncLimit=2\n{extra}\n");
    let mut election = Vec::new();
    for i in 0..n {
        cfg.push_str(&format!(
            "server.{}=127.0.0.1:{}:{}\n",
            i + 1,
            ports[2 * i],
            ports[2 * i + 1]
        ));
        election.push(ports[2 * i + 1]);
    }
    (cfg, election)
}

/// Peers for the given sids of a config (not started).
pub fn peers(cfg: &str, sids: impl IntoIterator<Item = Sid>) -> Vec<Peer> {
    sids.into_iter()
        .map(|s| Peer::from_config_text(cfg, Some(s)).expect("valid config"))
        .collect()
}

/// Waits until every peer has decided, failing the test at the deadline.
pub fn await_leaders(peers: &[&Peer]) -> Vec<Leader> {
    let deadline = Instant::now() + DEADLINE;
    peers
        .iter()
        .map(|p| {
            p.wait_for_leader(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|| panic!("sid {} did not decide within {DEADLINE:?}", p.my_sid()))
        })
        .collect()
}

/// Asserts that all decisions name `leader`.
pub fn assert_all_follow(decisions: &[Leader], leader: Sid) {
    for d in decisions {
        assert_eq!(d.leader, leader, "decisions: {decisions:?}");
    }
}

/// Waits until every peer confirmed the same leader in the same epoch, and
/// that leader, when it is one of `peers`, leads it. Returns what they agree
/// on. FastLeaderElection does not promise *which* peer wins when a vote
/// arrives after finalizeWait (a loaded machine delays votes at will); it
/// promises that they end up agreeing, which is what this waits for.
pub fn await_agreement(peers: &[&Peer]) -> Confirmed {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let seen: Vec<Option<Confirmed>> = peers.iter().map(|p| p.confirmed()).collect();
        if let Some(Some(first)) = seen.first() {
            let agreed = seen.iter().all(
                |c| matches!(c, Some(c) if (c.leader, c.epoch) == (first.leader, first.epoch)),
            );
            let led = peers
                .iter()
                .zip(&seen)
                .filter(|(p, _)| p.my_sid() == first.leader)
                .all(|(_, c)| matches!(c, Some(c) if c.state == ServerState::Leading));
            if agreed && led {
                return *first;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no agreement within {DEADLINE:?}: {:?}",
            peers
                .iter()
                .zip(&seen)
                .map(|(p, c)| (p.my_sid(), *c))
                .collect::<Vec<_>>()
        );
        // Poll the state the peers publish; the deadline above bounds it.
        std::thread::sleep(Duration::from_millis(5));
    }
}
