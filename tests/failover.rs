//! Fail-over paths of issue 14 with separate `zkelect run` processes: the
//! leader's SIGTERM (graceful hand-off), `kill -9` with an immediate restart
//! (release on restart), `kill -9` of peers that share one dataDir (the
//! lock: same-host proof of death), `kill -9` in fencing mode, and `kill -9`
//! with nothing of that (across hosts: the lease must be waited out).
//!
//! Each test checks that
//! (a) the old leader's `leadership_lost` (for a stop) or its death (the
//!     instant of `kill -9`) comes before any other peer's `leading`;
//! (b) the new confirmed epoch is above the old one;
//! (c) for the fast paths, a new leader is confirmed (its `leading`) within
//!     D_F / 2 (D_F = syncLimit × tickTime, 10 s at ZooKeeper's defaults,
//!     which these tests use): a path that fell back to waiting out the
//!     followers' promise would miss it. Then every live peer holds that
//!     leadership. Deadlines, not measurements: `tests/bench_zookeeper.rs`
//!     measures.
//!
//! Lines are ordered by when the test read them, which is the order in
//! which the processes wrote them up to the time it takes to wake a reader
//! thread.

mod common;

use common::run::*;
use common::DEADLINE;
use std::time::{Duration, Instant};

/// Three peers at ZooKeeper's defaults, each with a dataDir of its own
/// (plus `extra` zoo.cfg lines), started; returns the cluster and the first
/// confirmation.
fn ensemble(name: &str, data: DataDirs, extra: &str) -> (Cluster, Confirmation) {
    let mut c = Cluster::new(
        name,
        ClusterSpec {
            data,
            extra: extra.into(),
            ..ClusterSpec::defaults(3)
        },
    );
    c.start_all();
    let sids = c.sids();
    let first = c.wait_confirmed(&sids, 0, DEADLINE);
    (c, first)
}

/// The fast paths' deadline: D_F / 2 after `from`.
fn fast_deadline(c: &Cluster, from: Instant) -> Duration {
    (from + c.spec.d_f() / 2).saturating_duration_since(Instant::now())
}

/// (c): a new leader, one of `candidates`, confirmed (its `leading` with an
/// epoch above `above`) within D_F / 2 of `from`; then every one of
/// `followers` holds that same leadership. The followers get the tests'
/// generous deadline: one that fell behind in the election may wait for a
/// heartbeat (up to two ticks) before it can accept the new epoch, which
/// says nothing about the path. Prints the times.
fn await_new_leader(
    c: &mut Cluster,
    what: &str,
    candidates: &[i64],
    followers: &[i64],
    above: i64,
    from: Instant,
) -> Confirmation {
    let within = fast_deadline(c, from);
    let (leader, epoch, at) = c.wait_for(
        &format!("one of {candidates:?} to lead confirmed with an epoch above {above}"),
        within,
        |c| {
            candidates.iter().find_map(|&s| match c.holds(s, above) {
                Some((l, e, at)) if l == s => Some((l, e, at)),
                _ => None,
            })
        },
    );
    let all = c.wait_confirmed(followers, above, DEADLINE);
    assert_eq!(
        (all.leader, all.epoch),
        (leader, epoch),
        "sid {leader} led with epoch {epoch}, and then the others confirmed {all:?}"
    );
    let ms = |t: Instant| t.duration_since(from).as_secs_f64() * 1e3;
    eprintln!(
        "{what}: sid {leader} leads with epoch {epoch} after {:.1} ms, all of {followers:?} \
         confirmed after {:.1} ms",
        ms(at),
        ms(all.at)
    );
    all
}

/// Every `leading` line except those of `old`'s first run (the old leader's
/// process), as (sid, run, arrival).
fn others_leading(c: &Cluster, old: i64) -> Vec<(i64, usize, Instant)> {
    c.log()
        .iter()
        .filter(|l| l.kind() == "leading" && !(l.sid == old && l.run == 1))
        .map(|l| (l.sid, l.run, l.at))
        .collect()
}

/// (a) for a crash: no other peer (nor a new process of the old leader's
/// sid) printed `leading` before the instant of the kill.
fn assert_no_leading_before(c: &Cluster, old: i64, killed: Instant) {
    for (sid, run, at) in others_leading(c, old) {
        assert!(
            at > killed,
            "sid {sid} (run {run}) printed leading before the leader {old} was killed"
        );
    }
}

/// (b) and that the new leader is one of `live`.
fn assert_new_epoch(first: &Confirmation, next: &Confirmation, live: &[i64]) {
    assert!(
        next.epoch > first.epoch,
        "epoch {} after {}",
        next.epoch,
        first.epoch
    );
    assert!(live.contains(&next.leader), "{next:?}");
}

/// The other sids than `old`.
fn survivors(c: &Cluster, old: i64) -> Vec<i64> {
    c.sids().into_iter().filter(|&s| s != old).collect()
}

/// Graceful hand-off: SIGTERM makes the leader step down (`leadership_lost`)
/// and tell the voters before it exits; the survivors elect and confirm at
/// once, without waiting out their promise.
#[test]
fn sigterm_of_the_leader_hands_over_at_once() {
    let (mut c, first) = ensemble("fo-term", DataDirs::PerPeer, "");
    let old = first.leader;
    let rest = survivors(&c, old);
    let t = c.signal(old, libc::SIGTERM);
    let next = await_new_leader(&mut c, "SIGTERM", &rest, &rest, first.epoch, t);
    let lost = c.wait_line(old, "leadership_lost", DEADLINE, |l| {
        l.kind() == "leadership_lost"
    });
    assert_eq!(lost.num("epoch"), Some(first.epoch), "{}", lost.text);
    let status = c.wait_exit(old, DEADLINE);
    assert!(status.success(), "the old leader exited with {status}");
    // (a): the step-down was printed before anyone else led.
    for (sid, run, at) in others_leading(&c, old) {
        assert!(
            at > lost.at,
            "sid {sid} (run {run}) printed leading {:?} before the old leader's \
             leadership_lost",
            lost.at.duration_since(at)
        );
    }
    assert_new_epoch(&first, &next, &rest);
}

/// Release on restart: the leader dies (`kill -9`) and its process is
/// started again at once with the same config and dataDir; its first
/// message releases its followers' promises, and a leader (a survivor, or
/// the restarted process) is confirmed well before D_F. Every peer,
/// the restarted process too, then holds that leadership.
#[test]
fn kill_9_and_restart_of_the_leader_releases_its_followers() {
    let (mut c, first) = ensemble("fo-restart", DataDirs::PerPeer, "");
    let old = first.leader;
    let t = c.kill9(old);
    c.start(old);
    let all = c.sids();
    let next = await_new_leader(&mut c, "kill -9 + restart", &all, &all, first.epoch, t);
    assert_no_leading_before(&c, old, t);
    assert_new_epoch(&first, &next, &all);
}

/// Release on restart when the restarted process cannot win the election:
/// it comes back with an older zxid than the others (its host lost its
/// last transaction), so a survivor becomes leader, which its followers can
/// acknowledge only once their promise to the dead leader is released.
#[test]
fn kill_9_and_restart_releases_the_promise_when_another_peer_wins() {
    let mut c = Cluster::new("fo-restart-other", ClusterSpec::defaults(3));
    c.start_all_with(&["--zxid", "5"]);
    let all = c.sids();
    let first = c.wait_confirmed(&all, 0, DEADLINE);
    let old = first.leader;
    let rest = survivors(&c, old);
    let t = c.kill9(old);
    c.start_with(old, &["--zxid", "4"]);
    let what = "kill -9 + restart with an older zxid";
    let next = await_new_leader(&mut c, what, &rest, &all, first.epoch, t);
    assert_no_leading_before(&c, old, t);
    assert_new_epoch(&first, &next, &rest);
}

/// Same-host proof of death: the peers share one dataDir (state and lock
/// files per sid); a follower that can take the dead leader's lock knows it
/// is gone and releases at once.
#[test]
fn kill_9_on_one_host_is_seen_through_the_lock() {
    let (mut c, first) = ensemble("fo-lock", DataDirs::Shared, "");
    // They do share it: every sid's state file is there.
    let data = c.data_dir(1).unwrap();
    for sid in c.sids() {
        let f = data.join(format!("zkelect.{sid}.state"));
        assert!(f.is_file(), "{} is missing", f.display());
    }
    let old = first.leader;
    let rest = survivors(&c, old);
    let t = c.kill9(old);
    let next = await_new_leader(
        &mut c,
        "kill -9, shared dataDir",
        &rest,
        &rest,
        first.epoch,
        t,
    );
    assert_no_leading_before(&c, old, t);
    assert_new_epoch(&first, &next, &rest);
}

/// Fencing mode: no promises, so after `kill -9` of the leader the survivors
/// elect and confirm as soon as they notice (one round trip).
#[test]
fn fencing_mode_kill_9_of_the_leader() {
    let (mut c, first) = ensemble("fo-fencing", DataDirs::PerPeer, "leadershipMode=fencing");
    let old = first.leader;
    let rest = survivors(&c, old);
    let t = c.kill9(old);
    let next = await_new_leader(&mut c, "kill -9, fencing", &rest, &rest, first.epoch, t);
    assert_no_leading_before(&c, old, t);
    assert_new_epoch(&first, &next, &rest);
}

/// Lease mode, `kill -9` without a restart and without a shared dataDir (as
/// across hosts): the refused connections to the dead leader must not
/// release anyone (a live leader behind a REJECT rule refuses too), so no
/// other peer leads before the dead leader's lease (as its host last saw it,
/// `--report-lease`, CLOCK_BOOTTIME, one clock for all processes) has run
/// out. A small tick keeps this quick: D_F = 5 × 200 ms.
#[test]
fn kill_9_across_hosts_waits_out_the_lease() {
    let mut c = Cluster::new(
        "fo-lease",
        ClusterSpec {
            tick_ms: 200,
            args: vec!["--report-lease".into()],
            ..ClusterSpec::defaults(3)
        },
    );
    c.start_all();
    let sids = c.sids();
    let first = c.wait_confirmed(&sids, 0, DEADLINE);
    let old = first.leader;
    // The leader's host has seen its lease at least once.
    c.wait_line(old, "a lease", DEADLINE, |l| {
        l.kind() == "lease" && l.field("leads") == Some("true")
    });
    let rest = survivors(&c, old);
    let t = c.kill9(old);
    let next = c.wait_confirmed(&rest, first.epoch, DEADLINE);
    assert_no_leading_before(&c, old, t);
    assert_new_epoch(&first, &next, &rest);
    eprintln!(
        "kill -9 across hosts (tickTime 200): confirmed after {:.1} ms",
        next.at.duration_since(t).as_secs_f64() * 1e3
    );
    // The new leader's host sees its lease once it is confirmed.
    c.wait_line(next.leader, "the new leader's lease", DEADLINE, |l| {
        l.kind() == "lease" && l.field("leads") == Some("true")
    });
    let lease = |l: &Line| l.kind() == "lease" && l.field("leads") == Some("true");
    let old_until = c
        .log()
        .iter()
        .filter(|l| l.sid == old && lease(l))
        .filter_map(|l| l.num("until_ns"))
        .max()
        .unwrap();
    let (who, new_from) = c
        .log()
        .iter()
        .filter(|l| l.sid != old && lease(l))
        .filter_map(|l| Some((l.sid, l.num("now_ns")?)))
        .min_by_key(|&(_, now)| now)
        .unwrap();
    assert!(
        old_until <= new_from,
        "sid {who} led at {new_from} ns, within the dead leader's lease (until {old_until} ns)"
    );
}
