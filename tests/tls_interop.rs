//! Quorum TLS interop with real ZooKeeper 3.8 servers running `sslQuorum`
//! (Debian's `zookeeper` package, plus its netty-codec jar): zkelect peers
//! and real servers read the very same zoo.cfg, with PEM key and trust
//! stores made at run time.
//!
//! Without the package the tests print a SKIPPED line and pass, except in
//! CI (`CI=true`), as the other interop tests do.

mod common; // the harness takes its ports from here
#[path = "interop/harness.rs"]
#[allow(dead_code)] // shared with tests/interop.rs, which uses other parts
mod harness;

use harness::*;
use zkelect::{ServerState, Sid};

fn begin_tls() -> Option<Serial> {
    let s = begin();
    if s.is_none() {
        println!("SKIPPED: quorum TLS interop needs the zookeeper package");
    }
    s
}

fn tls_layout<'a>(slots: usize, real: &'a [Sid]) -> Layout<'a> {
    Layout {
        slots,
        real,
        tls: true,
        ..Layout::default()
    }
}

/// Real TLS servers 1, 2 and 3 of a 5-slot layout, started and serving
/// sid 3 ([`Ensemble::wait_settled`]).
fn three_real_tls_servers() -> (Ensemble, Settled) {
    let mut ens = Ensemble::new(tls_layout(5, &[1, 2, 3]));
    ens.start_reals(&[1, 2, 3]);
    let settled = ens.wait_settled(&[1, 2, 3]);
    assert_eq!(settled.leader, 3, "{settled:?}");
    (ens, settled)
}

/// Checks the real servers' logs (no parse, config or TLS errors) and
/// stops everything.
fn finish(mut ens: Ensemble, reals: &[Sid]) {
    for &r in reals {
        let problems = ens.tls_problems(r);
        assert!(problems.is_empty(), "real server {r}: {problems:#?}");
    }
    ens.finish();
}

/// 3 real TLS servers in a 5-slot config elect; zkelect peers in slots 4
/// and 5 join over TLS and learn the leader and its epoch.
#[test]
fn tls_peers_join_a_real_tls_ensemble_and_learn_its_leader() {
    let Some(_serial) = begin_tls() else { return };
    let (mut ens, settled) = three_real_tls_servers();
    let epoch = ens.current_epoch(3).expect("the leader's currentEpoch");
    for sid in [4, 5] {
        let p = ens.peer(sid);
        p.start().unwrap();
        let l = peer_leader(&p);
        assert_eq!((l.leader, l.peer_epoch), (3, epoch), "sid {sid}: {l:?}");
        assert_eq!(p.state(), ServerState::Following);
        for r in [1, 2, 3] {
            ens.wait_notification(r, &format!("a vote of sid {sid} over TLS"), |n| {
                n.sid == sid
            });
        }
        p.stop();
    }
    for r in [1, 2, 3] {
        assert_eq!(
            ens.lookings(r),
            settled.lookings[&r],
            "server {r} went LOOKING again"
        );
    }
    finish(ens, &[1, 2, 3]);
}

/// 3 real TLS servers of 5 slots lose their leader: 2 of 5 cannot decide
/// until a zkelect peer's vote arrives over TLS.
#[test]
fn tls_mixed_election_needs_the_zkelect_vote() {
    let Some(_serial) = begin_tls() else { return };
    let (mut ens, settled) = three_real_tls_servers();
    let (p5, _, _) = ens.quorum_completed_by_the_zkelect_vote(&settled);
    p5.stop();
    finish(ens, &[1, 2]);
}

/// zkelect peers 1 to 3 elect over TLS; a real TLS server in slot 5 joins
/// and decides on their leader; `zkelect probe --config` reads it.
#[test]
fn a_real_tls_server_joins_a_zkelect_tls_ensemble_and_probe_reads_it() {
    let Some(_serial) = begin_tls() else { return };
    let mut ens = Ensemble::new(tls_layout(5, &[5]));
    let (peers, _subs) = ens.real_5_joins_zkelect_leader_3();
    // The probe, with the same zoo.cfg, over TLS: the real server and a
    // zkelect peer both answer.
    let cfg = ens.slot(4).cfg_path();
    for sid in [5, 1] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkelect"))
            .args([
                "probe",
                &ens.election_addr(sid),
                "--timeout",
                "10000",
                "--config",
            ])
            .arg(&cfg)
            .output()
            .expect("run zkelect probe");
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "probe of {sid}: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(line.contains("\"leader\":3"), "probe of {sid}: {line}");
    }
    // Without the keys the probe gets nothing from a TLS port.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["probe", &ens.election_addr(5), "--timeout", "3000"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a plaintext probe of a TLS server answered"
    );
    assert_eq!(peers[2].state(), ServerState::Leading);
    for p in &peers {
        p.stop();
    }
    // The plaintext probe above is the only refusal the server may log.
    let problems: Vec<String> = ens
        .tls_problems(5)
        .into_iter()
        .filter(|p| !p.contains("Blocked insecure connection attempt"))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    ens.finish();
}

/// A zkelect peer without the TLS keys (the same zoo.cfg less the TLS
/// lines) is refused by a real TLS ensemble: it learns nothing, and the
/// ensemble keeps its leader.
#[test]
fn a_plaintext_zkelect_peer_is_refused_by_a_real_tls_ensemble() {
    let Some(_serial) = begin_tls() else { return };
    let (mut ens, settled) = three_real_tls_servers();
    let cfg = std::fs::read_to_string(ens.slot(4).cfg_path()).unwrap();
    let plain: String = cfg
        .lines()
        .filter(|l| !l.starts_with("ssl") && !l.starts_with("sslQuorum"))
        .map(|l| format!("{l}\n"))
        .collect();
    let p4 = zkelect::Peer::from_config_text(&plain, Some(4)).unwrap();
    p4.start().unwrap();
    // Every real server blocks the plaintext connection and answers
    // nothing.
    for r in [1, 2, 3] {
        wait_for(
            format!("real server {r} to refuse the plaintext peer"),
            || {
                ens.tls_problems(r)
                    .iter()
                    .any(|p| p.contains("Blocked insecure connection attempt"))
                    .then_some(())
            },
        );
    }
    assert!(p4.leader().is_none(), "the plaintext peer learned a leader");
    for r in [1, 2, 3] {
        ens.assert_unmoved(&settled, r);
        for n in ens.notifications(r) {
            assert_ne!(n.sid, 4, "server {r} took a vote from the plaintext peer");
        }
    }
    p4.stop();
    ens.finish();
}
