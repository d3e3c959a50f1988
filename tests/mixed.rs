//! zkelect peers as good citizens of real ZooKeeper 3.8 ensembles (Debian's
//! `zookeeper` package, on loopback): a zkelect voter never ends up as the
//! leader real servers try to sync with (follow-only, `followOnly=auto`),
//! and zkelect followers and observers follow the real servers' fail-overs
//! at their speed.
//!
//! Each test asserts the outcome and the real servers' logs, and prints the
//! zkelect peers' decision times next to the real servers' from the same
//! run (figures, not asserts). Without the package the tests print a note
//! and pass, except in CI (`CI=true`). The harness is shared with
//! `tests/interop.rs`.

mod common; // the harness takes its ports from here
#[path = "interop/harness.rs"]
#[allow(dead_code)] // shared with tests/interop.rs, which uses other parts
mod harness;

use harness::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkelect::{Event, LossReason, Peer, Sid};

/// Every event of one peer, with the wall time it reached the test.
#[derive(Clone)]
struct Recorder {
    sid: Sid,
    events: Arc<Mutex<Vec<(i64, Event)>>>,
}

impl Recorder {
    /// Subscribes to `p` and records its events from now on.
    fn new(p: &Peer) -> Recorder {
        let rx = p.subscribe();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        std::thread::spawn(move || {
            while let Ok(e) = rx.recv() {
                sink.lock().unwrap().push((now_ms(), e));
            }
        });
        Recorder {
            sid: p.my_sid(),
            events,
        }
    }

    fn all(&self) -> Vec<(i64, Event)> {
        self.events.lock().unwrap().clone()
    }

    /// The events since `since`, for failure messages (times relative to it).
    fn dump(&self, since: i64) -> String {
        self.all()
            .into_iter()
            .filter(|(t, e)| {
                *t >= since && !matches!(e, Event::PeerConnected(_) | Event::PeerDisconnected(_))
            })
            .map(|(t, e)| format!("  +{} ms {e:?}", t - since))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first event at or after `since` (ms) that `pred` accepts.
    fn find(&self, since: i64, pred: impl Fn(&Event) -> bool) -> Option<(i64, Event)> {
        self.all().into_iter().find(|(t, e)| *t >= since && pred(e))
    }

    /// Waits for that event.
    fn wait(&self, what: &str, since: i64, pred: impl Fn(&Event) -> bool) -> (i64, Event) {
        wait_for(format!("zkelect sid {}: {what}", self.sid), || {
            self.find(since, &pred)
        })
    }

    /// Waits for `Following`/`Observing` for `leader` at or after `since`;
    /// returns (time, epoch).
    fn wait_follows(&self, leader: Sid, since: i64) -> (i64, i64) {
        let (t, e) = self.wait(&format!("following {leader}"), since, |e| {
            matches!(e, Event::Following { leader: l, .. } | Event::Observing { leader: l, .. } if *l == leader)
        });
        match e {
            Event::Following { epoch, .. } | Event::Observing { epoch, .. } => (t, epoch),
            _ => unreachable!(),
        }
    }

    /// Waits for the `Elected` event for `leader` at or after `since`.
    fn wait_elected(&self, leader: Sid, since: i64) -> i64 {
        self.wait(
            &format!("elected {leader}"),
            since,
            |e| matches!(e, Event::Elected(l) if l.leader == leader),
        )
        .0
    }

    /// The `LeaderLost` events at or after `since`.
    fn losses(&self, since: i64) -> Vec<(i64, Sid, LossReason)> {
        self.all()
            .into_iter()
            .filter_map(|(t, e)| match e {
                Event::LeaderLost { leader, reason } if t >= since => Some((t, leader, reason)),
                _ => None,
            })
            .collect()
    }
}

/// The sid of the real server whose `srvr` says `Mode: leader`, with the
/// others' modes, once every one of `sids` serves.
fn serving_leader(ens: &mut Ensemble, sids: &[Sid]) -> Sid {
    let modes = ens.wait_synced(sids);
    let leaders: Vec<Sid> = modes
        .iter()
        .filter(|(_, m)| m.as_str() == "leader")
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(leaders.len(), 1, "srvr modes: {modes:?}");
    leaders[0]
}

/// The log time (ms) of the `nth` decision of the current run of `sid`.
fn decision_time(ens: &mut Ensemble, sid: Sid, nth: usize) -> i64 {
    let d = ens.wait_decision(sid, nth);
    ens.record_time_ms(sid, d.at)
        .expect("a decision's log time")
}

/// A fresh start in which zkelect would win: 3 real servers (sids 1..3,
/// a Zab quorum of the 5 slots by themselves) and 2 zkelect peers with the
/// higher sids 4 and 5, all at zxid 0 and epoch 0. Sid 5 wins the first
/// election on the sid tie-break; the real followers fail their sync with
/// it and look again, which tells sid 5 that they are real servers: it
/// gives up, and it and sid 4 vote follow-only from then on. The second
/// election ends with a real leader that serves clients; no real server
/// goes LOOKING more than twice (one cycle), and the zkelect peers follow
/// the real leader with its epoch.
#[test]
fn fresh_start_where_zkelect_would_win_ends_with_a_real_leader() {
    let Some(_serial) = begin() else { return };
    let mut ens = Ensemble::new(Layout {
        slots: 5,
        real: &[1, 2, 3],
        ..Layout::default()
    });
    let peers = [ens.peer(4), ens.peer(5)];
    let recs: Vec<Recorder> = peers.iter().map(Recorder::new).collect();
    let t0 = now_ms();
    ens.start_together(&[1, 2, 3], &[&peers[0], &peers[1]]);
    let leader = serving_leader(&mut ens, &[1, 2, 3]);
    let served = now_ms();
    assert!((1..=3).contains(&leader), "leader {leader}");
    let epoch = ens
        .current_epoch(leader)
        .expect("the leader's currentEpoch");
    let mut follow = Vec::new();
    for r in &recs {
        follow.push(r.wait_follows(leader, t0));
    }
    // The ensemble stays put: no more cycles once a real server leads.
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut lookings = Vec::new();
    for r in [1, 2, 3] {
        let n = ens.lookings(r);
        lookings.push((r, n));
        assert!(n <= 2, "real server {r} went LOOKING {n} times");
    }
    assert_eq!(serving_leader(&mut ens, &[1, 2, 3]), leader);
    for (r, (_, e)) in recs.iter().zip(&follow) {
        assert_eq!(
            *e,
            epoch,
            "zkelect sid {} Following epoch; events:\n{}",
            r.sid,
            r.dump(t0)
        );
    }
    for p in &peers {
        assert_eq!(p.state(), zkelect::ServerState::Following);
    }
    // What the peers show of it (Peer::leadership, and every surface
    // built on it): a zkelect peer that won an election had the real
    // followers try to sync with it, so it knows of real members and, in
    // auto mode, votes follow-only; a peer that knows of them votes so.
    let mut shown = Vec::new();
    for (p, r) in peers.iter().zip(&recs) {
        let l = p.leadership();
        shown.push((r.sid, l.follow_only, l.real_members));
        assert!(!l.real_members || l.follow_only, "sid {}: {l:?}", r.sid);
        let led = r
            .find(t0, |e| matches!(e, Event::Elected(x) if x.leader == r.sid))
            .is_some();
        if led {
            assert!(
                l.real_members && l.follow_only,
                "sid {} led once: {l:?}",
                r.sid
            );
        }
    }
    // Figures: the real servers' last decision and the zkelect peers'.
    let mut real_dec = Vec::new();
    for r in [1, 2, 3] {
        let n = ens.decisions(r).len();
        real_dec.push((r, decision_time(&mut ens, r, n) - t0));
    }
    let zk: Vec<(Sid, i64, i64)> = recs
        .iter()
        .zip(&follow)
        .map(|(r, (ft, _))| (r.sid, r.wait_elected(leader, t0) - t0, ft - t0))
        .collect();
    println!(
        "fresh start: real leader {leader} serving at +{} ms; real decisions (sid, ms): {real_dec:?}; \
         zkelect (sid, elected ms, following ms): {zk:?}; LOOKING count per real server: {lookings:?}; \
         zkelect (sid, follow_only, real_members): {shown:?}",
        served - t0
    );
    ens.finish();
}

/// The real servers of the fail-over tests below.
const REALS: [Sid; 5] = [4, 5, 6, 7, 8];

/// Five real servers ([`REALS`]) of an 8-slot layout with slot 3 an
/// observer elect sid 8 and sync; then zkelect followers 1 and 2 and the
/// zkelect observer 3 start, each with a [`Recorder`]. Returns the
/// ensemble, the peers, their recorders, the time they were started, and
/// sid 8's epoch read before they were.
fn joined_behind_real_leader_8() -> (Ensemble, [Peer; 3], Vec<Recorder>, i64, i64, Settled) {
    let reals = REALS;
    let mut ens = Ensemble::new(Layout {
        slots: 8,
        real: &reals,
        observers: &[3],
        ..Layout::default()
    });
    ens.start_reals(&reals);
    let settled = ens.wait_settled(&reals);
    assert_eq!(settled.leader, 8, "{settled:?}");
    let e8 = ens.current_epoch(8).unwrap();
    let peers = [ens.peer(1), ens.peer(2), ens.peer(3)];
    let recs: Vec<Recorder> = peers.iter().map(Recorder::new).collect();
    let t_join = now_ms();
    for p in &peers {
        p.start().unwrap();
    }
    (ens, peers, recs, t_join, e8, settled)
}

/// Five real servers (sids 4..8) elect sid 8; zkelect followers 1 and 2
/// and a zkelect observer 3 join and follow it. Then `kill -9` of sid 8:
/// the real survivors elect sid 7, and the zkelect peers decide with them
/// and report `Following`/`Observing` with the epoch of 7's sync.
#[test]
fn kill_of_the_real_leader_with_zkelect_followers_and_an_observer() {
    let Some(_serial) = begin() else { return };
    let (mut ens, _peers, recs, t_join, e8, settled) = joined_behind_real_leader_8();
    // Joiners: they follow sid 8 with its epoch once they take it for a
    // real server (its vote, and no heartbeat within the trust wait).
    for r in &recs {
        let (_, e) = r.wait_follows(8, t_join);
        assert_eq!(e, e8, "zkelect sid {}", r.sid);
    }

    let t_kill = now_ms();
    ens.kill_real(8);
    let survivors = [4, 5, 6, 7];
    for r in survivors {
        ens.wait_decision(r, settled.decisions[&r] + 1);
    }
    // Normally 7 (the highest sid; every zxid is 0). On a loaded machine a
    // survivor may first follow another whose vote came early, fail its
    // sync and elect again: the test follows whichever the real servers
    // settle on, and counts that case as their own flapping.
    let next = ens.wait_settled(&survivors);
    let leader = next.leader;
    assert_ne!(leader, 8, "{next:?}");
    let flapped = survivors
        .iter()
        .any(|r| next.decisions[r] != settled.decisions[r] + 1);
    let mut real_dec = Vec::new();
    for r in survivors {
        real_dec.push((r, decision_time(&mut ens, r, next.decisions[&r]) - t_kill));
    }
    let e7 = ens.current_epoch(leader).unwrap();
    assert!(e7 > e8, "epoch {e7} after {e8}");
    let mut zk = Vec::new();
    for r in &recs {
        let elected = r.wait_elected(leader, t_kill) - t_kill;
        let (ft, e) = r.wait_follows(leader, t_kill);
        assert_eq!(
            e, e7,
            "zkelect sid {} follows {leader} with epoch {e}",
            r.sid
        );
        zk.push((r.sid, elected, ft - t_kill));
        let losses = r.losses(t_kill);
        assert!(
            losses.len() == 1 || (flapped && !losses.is_empty()),
            "zkelect sid {}: {losses:?}; events:\n{}",
            r.sid,
            r.dump(t_kill)
        );
    }
    let last_real = real_dec.iter().map(|(_, t)| *t).max().unwrap();
    println!(
        "kill -9 of the real leader: real survivors decided {leader} (sid, ms after the kill): {real_dec:?}; \
         zkelect (sid, elected ms, following/observing ms): {zk:?}; \
         zkelect elected minus last real decision: {:?} ms",
        zk.iter().map(|(s, e, _)| (*s, e - last_real)).collect::<Vec<_>>()
    );
    for r in survivors {
        assert_eq!(
            ens.decisions(r).len(),
            next.decisions[&r],
            "real server {r} decided again"
        );
    }
    ens.finish();
}

/// A rolling restart (SIGTERM, start) of every real server of 5 (sids
/// 4..8), the leader last, with zkelect followers 1, 2 and observer 3: the
/// zkelect peers lose their leader only when the leader restarts, and then
/// follow the new real leader within a second of its election, with its
/// epoch; no `Silent` loss at all.
#[test]
fn rolling_restart_of_every_real_server() {
    let Some(_serial) = begin() else { return };
    let reals = REALS;
    let (mut ens, _peers, recs, t_join, _, _) = joined_behind_real_leader_8();
    for r in &recs {
        r.wait_follows(8, t_join);
    }
    let t_roll = now_ms();
    let mut figures = Vec::new();
    let mut flapped = false;
    for sid in reals {
        let others: Vec<Sid> = reals.iter().copied().filter(|&s| s != sid).collect();
        let before: Vec<usize> = others.iter().map(|&r| ens.decisions(r).len()).collect();
        let t_stop = now_ms();
        ens.stop_real(sid);
        let mut leader = 8;
        if sid == 8 {
            // The leader: the others elect 7 (normally; see the kill test
            // for why the test follows whichever they settle on).
            for (&r, n) in others.iter().zip(&before) {
                ens.wait_decision(r, n + 1);
            }
            let next = ens.wait_settled(&others);
            leader = next.leader;
            assert_ne!(leader, 8, "{next:?}");
            flapped = others
                .iter()
                .zip(&before)
                .any(|(r, n)| next.decisions[r] != n + 1);
            let real_t = others
                .iter()
                .map(|&r| {
                    let n = ens.decisions(r).len();
                    decision_time(&mut ens, r, n)
                })
                .max()
                .unwrap();
            let epoch = ens.current_epoch(leader).unwrap();
            for r in &recs {
                let (ft, e) = r.wait_follows(leader, t_stop);
                assert_eq!(e, epoch, "zkelect sid {}", r.sid);
                let elected = r.wait_elected(leader, t_stop);
                figures.push(format!(
                    "leader 8 restart: zkelect sid {} elected {:+} ms, following {:+} ms after the last real decision",
                    r.sid,
                    elected - real_t,
                    ft - real_t
                ));
            }
        }
        ens.start_real(sid);
        let d = ens.wait_decision(sid, 1);
        assert_eq!(d.leader, leader, "restarted server {sid}: {d:?}");
        ens.wait_synced(&[sid]);
    }
    for r in &recs {
        let losses = r.losses(t_roll);
        assert!(
            losses.len() == 1 || (flapped && !losses.is_empty()),
            "zkelect sid {}: {losses:?}",
            r.sid
        );
        assert_eq!(losses[0].1, 8, "zkelect sid {}: {losses:?}", r.sid);
        assert!(
            losses.iter().all(|l| l.2 != LossReason::Silent),
            "zkelect sid {}: {losses:?}",
            r.sid
        );
    }
    println!("rolling restart: {}", figures.join("; "));
    ens.finish();
}
