//! Deterministic simulations of the leadership layer (FastLeaderElection
//! plus confirmation, heartbeats, step-down and automatic re-election):
//! scenarios, then random schedules with every fault the simulator knows.
//!
//! `LEADERSHIP_SEEDS=n` sets how many seeds `random_schedules` runs
//! (default 10,000, from `SIM_SEED_FROM`, default 0); `SIM_SEED=s` runs
//! seed `s` only (a failure names its seed); `SIM_TRACE=n` keeps more trace
//! for the failure message; `SIM_KEEP_GOING=1` runs every seed in order and
//! lists the failing ones (for mutation runs, see `docs/simulation.md`).
//!
//! Checked on every event of every run (see `leadership_sim`): the event
//! order guarantees per peer; no two leaders confirmed with the same epoch;
//! confirmed epochs strictly increasing in time; every confirmed epoch
//! stored at a quorum; no peer confirmed while another still leads (lease
//! not expired, by each peer's own clock), so never two leaders at once.
//!
//! Network model for the safety properties: any delay (even above a tick
//! during faults), loss, FIFO per link, black-holed links, resets, pauses
//! and suspends of any length, crashes before and after a store completes,
//! failing stores, a stranded leader's followers restarted just after
//! they acknowledged, graceful stops, kills with an immediate restart,
//! restarts on another host, firewalls on live peers (refused
//! connections), locks that prove deaths on one host, both leadership
//! modes (in fencing mode the "never two leaders" check is off; the epoch
//! rules stay); clocks all run at the same rate and count suspend. Liveness is asserted once
//! the faults are over: delays below a fifth of a tick (a round trip plus
//! the half-tick heartbeat period must fit in the leader's deadline, one
//! tick when `syncLimit` is 2), no loss, every peer running.
//!
//! **Liveness bound**: after the faults end, a leader is confirmed, every
//! running peer follows it with that epoch (or, in runs with peers without
//! a store, where an epoch can be confirmed for two leaders in turn, is
//! decided on it without an epoch if it reported that epoch for the earlier
//! leader: see `Sim::settled`), and it stays so for
//! `2 × syncLimit` ticks, within
//! `syncLimit + 2 × initLimit + 3 × ⌈maxNotificationInterval / tick⌉ + 8`
//! ticks (asserted per seed; the slowest seed and the one closest to its
//! bound are printed). Where it comes from: within `syncLimit` ticks every
//! promise to an old leader has expired and every old lease has lapsed; an
//! election among LOOKING peers waits at most a notification timeout (FLE
//! caps it at `maxNotificationInterval`) to restart, plus a finalize wait;
//! FLE may still decide on stale votes (a leader whose followers decided
//! otherwise), and such a leader gives up after `initLimit` ticks, which
//! happened at most twice in a row in 100,000 seeds; the rest is round
//! trips and heartbeat periods. FLE itself has no proven convergence bound,
//! so this one is measured, not proven.

mod leadership_sim;

use leadership_sim::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use zkelect::leadership::{Event, FollowOnly, LossReason, Mode, Role};
use zkelect::types::Sid;

fn seeds(n: u64) -> Vec<u64> {
    match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.trim().parse().expect("SIM_SEED must be a number")],
        Err(_) => (0..n).collect(),
    }
}

fn voters(n: i64) -> Vec<Spec> {
    (1..=n).map(Spec::voter).collect()
}

fn ticks(p: &Params, k: u32) -> Duration {
    p.tick * k
}

/// Runs until every running peer follows one confirmed leader.
fn settle(sim: &mut Sim, within: Duration) -> (Sid, i64) {
    let deadline = sim.now + within;
    if sim
        .run_until_pred(deadline, |s| s.settled().is_some())
        .is_none()
    {
        sim.fail(&format!("not settled within {within:?}"));
    }
    sim.settled().unwrap()
}

/// The first event of `sid` at or after `t` that is not a connection event.
fn first_event_after(sim: &Sim, sid: Sid, t: Duration) -> Option<Event> {
    sim.events_of(sid)
        .into_iter()
        .find(|(at, _)| *at >= t)
        .map(|(_, e)| e)
}

#[test]
fn fresh_ensembles_confirm_the_elected_leader_with_epoch_1() {
    for n in [1, 3, 5, 7] {
        for seed in seeds(20) {
            let p = Params::new();
            let mut sim = Sim::new(seed, voters(n), p.clone());
            let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
            sim.check(leader == n, "the highest sid leads a fresh ensemble");
            sim.check(epoch == 1, "the first epoch is 1");
            for s in 1..=n {
                let want = if s == leader {
                    Event::Leading { epoch: 1 }
                } else {
                    Event::Following { leader, epoch: 1 }
                };
                sim.check(
                    sim.events_of(s).iter().any(|(_, e)| *e == want),
                    &format!("sid {s} reported {want:?}"),
                );
            }
            // Quiet and stable afterwards: no loss for many leases.
            let t = sim.now;
            sim.run_until(t + ticks(&p, 60));
            sim.check(sim.settled() == Some((leader, epoch)), "stays settled");
            for s in 1..=n {
                sim.check(
                    !sim.events_of(s).iter().any(|(_, e)| is_loss(e)),
                    "no loss in a healthy ensemble",
                );
            }
        }
    }
}

#[test]
fn observers_observe_the_confirmed_leader() {
    for seed in seeds(20) {
        let p = Params::new();
        let mut specs = voters(3);
        specs.push(Spec {
            observer: true,
            ..Spec::voter(9)
        });
        let mut sim = Sim::new(seed, specs, p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        sim.check(leader == 3 && epoch == 1, "sid 3 leads epoch 1");
        sim.check(
            sim.events_of(9)
                .iter()
                .any(|(_, e)| *e == Event::Observing { leader, epoch }),
            "the observer reports Observing",
        );
    }
}

/// kill -9 of the leader: the followers see the connection close, give the
/// leader up within a tick, elect a successor, and it is confirmed once
/// their promises to the dead leader end (about syncLimit ticks after their
/// last acknowledgement).
#[test]
fn leader_crash_elects_and_confirms_a_successor() {
    for n in [3, 5] {
        let mut worst = Duration::ZERO;
        for seed in seeds(50) {
            let p = Params::new();
            let mut sim = Sim::new(seed, voters(n), p.clone());
            let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
            let t = sim.now + ticks(&p, 3);
            sim.run_until(t);
            sim.crash(leader);
            let (next, e2) = settle(&mut sim, ticks(&p, 30));
            let took = sim.now - t;
            worst = worst.max(took);
            sim.check(next != leader && e2 > epoch, "a new leader, a higher epoch");
            for s in (1..=n).filter(|&s| s != leader) {
                let lost = sim
                    .events_of(s)
                    .into_iter()
                    .find(|(at, e)| *at >= t && is_loss(e));
                sim.check(
                    matches!(
                        lost,
                        Some((
                            _,
                            Event::LeaderLost {
                                reason: LossReason::Disconnected,
                                ..
                            }
                        ))
                    ),
                    &format!("sid {s} lost the leader by disconnection: {lost:?}"),
                );
            }
            // Not before the promises could end.
            sim.check(
                took >= p.timing().follower_deadline() - p.tick * 2,
                "confirmed only after the promises end",
            );
        }
        println!("{n} peers: leader crash to confirmed successor, worst {worst:?} (tick 100 ms, syncLimit 5)");
    }
}

/// SIGSTOP of the leader for longer than syncLimit ticks, then SIGCONT:
/// the others confirm a successor with a higher epoch, and the old leader's
/// first event on resuming is LeadershipLost.
#[test]
fn paused_leader_is_replaced_and_steps_down_first_on_resume() {
    for seed in seeds(50) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(5), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let t = sim.now;
        sim.schedule(t, Control::Pause(leader));
        sim.run_until(t);
        let pause = ticks(&p, 5 + (seed % 10) as u32);
        let (next, e2) = settle(&mut sim, ticks(&p, 30));
        sim.check(
            next != leader && e2 > epoch,
            "successor with a higher epoch",
        );
        let resume = (t + pause).max(sim.now);
        sim.schedule(resume, Control::Resume(leader));
        sim.run_until(resume);
        let first = first_event_after(&sim, leader, resume);
        sim.check(
            matches!(first, Some(Event::LeadershipLost { epoch: e, .. }) if e == epoch),
            &format!("first event after resuming: {first:?}"),
        );
        let (l3, _) = settle(&mut sim, ticks(&p, 30));
        sim.check(l3 == next, "the old leader rejoins the new one");
    }
}

/// The lease counts from the heartbeat an acknowledgement answers, not
/// from when the leader reads it: a leader that resumes from a pause
/// shorter than its deadline, now cut off, reads the acknowledgements that
/// queued up meanwhile, and must not lead on them past the followers'
/// promises (they elect and confirm a successor meanwhile).
#[test]
fn stale_acknowledgements_do_not_stretch_the_lease() {
    for seed in seeds(50) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(5), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let t0 = sim.now;
        sim.schedule(t0, Control::Pause(leader));
        let resume = t0 + p.tick * 5 / 2;
        // Cut both ways: the followers' LOOKING notifications, which would
        // end the leader's count of them at once, do not reach it either.
        let cut: BTreeSet<(Sid, Sid)> = (1..=5)
            .filter(|&o| o != leader)
            .flat_map(|o| [(leader, o), (o, leader)])
            .collect();
        sim.schedule(resume, Control::Cut(cut));
        sim.schedule(resume, Control::Resume(leader));
        let got = sim.run_until_pred(t0 + ticks(&p, 30), |s| {
            s.confirmations.iter().any(|c| c.at > t0)
        });
        sim.check(got.is_some(), "a successor is confirmed");
        let succ = *sim.confirmations.last().unwrap();
        sim.check(succ.epoch > epoch && succ.sid != leader, "successor");
    }
}

/// A follower's acknowledgement is a promise: with the leader cut off (no
/// connection event: a black hole) and told by their hosts to elect again,
/// a majority of followers elect a new leader at once, but may confirm it
/// only when the old leader can no longer count their last
/// acknowledgements.
#[test]
fn restarted_followers_keep_their_promise() {
    for seed in seeds(50) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(5), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let others: Vec<Sid> = (1..=5).filter(|&s| s != leader).collect();
        let movers = &others[..3];
        let cut: BTreeSet<(Sid, Sid)> = others
            .iter()
            .flat_map(|&m| [(leader, m), (m, leader)])
            .collect();
        let t0 = sim.now;
        sim.schedule(t0, Control::Cut(cut));
        for &m in movers {
            sim.schedule(t0, Control::Restart(m));
        }
        let got = sim.run_until_pred(t0 + ticks(&p, 30), |s| {
            s.confirmations.iter().any(|c| c.at > t0)
        });
        sim.check(got.is_some(), "a successor is confirmed");
        let succ = *sim.confirmations.last().unwrap();
        // A mover, or the one follower that stayed, once its promise ran
        // out (it joins the movers' election with the votes it heard).
        sim.check(
            succ.sid != leader && succ.epoch > epoch,
            "a successor of the cut-off leader leads",
        );
        sim.check(
            succ.at >= t0 + p.timing().follower_deadline() - p.tick,
            "not before the promises end",
        );
    }
}

/// A follower cut off from everyone (black hole, no connection events)
/// stops following after syncLimit ticks of silence, and rejoins after the
/// partition heals; the leader keeps its quorum meanwhile.
#[test]
fn isolated_follower_stops_following_then_rejoins() {
    for seed in seeds(50) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(5), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let f = if leader == 1 { 2 } else { 1 };
        let cut: BTreeSet<(Sid, Sid)> = (1..=5)
            .filter(|&o| o != f)
            .flat_map(|o| [(o, f), (f, o)])
            .collect();
        let t = sim.now;
        sim.schedule(t, Control::Cut(cut));
        sim.run_until(t + ticks(&p, 20));
        let lost = sim
            .events_of(f)
            .into_iter()
            .find(|(at, e)| *at >= t && is_loss(e));
        sim.check(
            matches!(
                lost,
                Some((
                    _,
                    Event::LeaderLost {
                        reason: LossReason::Silent,
                        ..
                    }
                ))
            ),
            &format!("isolated follower lost its leader by silence: {lost:?}"),
        );
        sim.check(
            sim.nodes[&leader].role()
                == Some(Role::Leading {
                    epoch,
                    confirmed: true,
                }),
            "the leader keeps its quorum",
        );
        let t2 = sim.now;
        sim.schedule(t2, Control::Cut(BTreeSet::new()));
        let (l2, e2) = settle(&mut sim, ticks(&p, 30));
        sim.check(
            (l2, e2) == (leader, epoch),
            "the follower rejoins the same term",
        );
    }
}

/// The leader and one follower are cut from the other three: the leader
/// steps down (no quorum) before the majority side confirms a successor;
/// after healing everyone follows the successor.
#[test]
fn minority_leader_steps_down_before_the_majority_confirms() {
    for seed in seeds(50) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(5), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let buddy = if leader == 1 { 2 } else { 1 };
        let minority = [leader, buddy];
        let cut: BTreeSet<(Sid, Sid)> = (1..=5)
            .filter(|s| !minority.contains(s))
            .flat_map(|o| minority.iter().flat_map(move |&m| [(o, m), (m, o)]))
            .collect();
        let t = sim.now;
        sim.schedule(t, Control::Cut(cut));
        sim.run_until(t);
        let others: Vec<Sid> = (1..=5).filter(|s| !minority.contains(s)).collect();
        let got = sim.run_until_pred(t + ticks(&p, 40), |s| {
            s.confirmations
                .iter()
                .any(|c| c.at > t && others.contains(&c.sid))
        });
        sim.check(got.is_some(), "the majority confirms a successor");
        let succ = *sim.confirmations.last().unwrap();
        sim.check(succ.epoch > epoch, "higher epoch");
        let stepped = sim
            .events_of(leader)
            .into_iter()
            .find(|(at, e)| *at >= t && matches!(e, Event::LeadershipLost { .. }));
        sim.check(
            stepped.is_some_and(|(at, _)| at <= succ.at),
            &format!(
                "old leader stepped down first: {stepped:?}, successor at {:?}",
                succ.at
            ),
        );
        let t2 = sim.now;
        sim.schedule(t2, Control::Cut(BTreeSet::new()));
        let (l2, _) = settle(&mut sim, ticks(&p, 40));
        sim.check(l2 == succ.sid, "all follow the successor after healing");
    }
}

/// Heartbeats cannot reach the followers, their reports could reach the
/// leader: the followers go silent, the leader loses its acknowledgements.
#[test]
fn one_way_partition_from_the_leader() {
    for seed in seeds(50) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(3), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let cut: BTreeSet<(Sid, Sid)> = (1..=3)
            .filter(|&o| o != leader)
            .map(|o| (leader, o))
            .collect();
        let t = sim.now;
        sim.schedule(t, Control::Cut(cut));
        let got = sim.run_until_pred(t + ticks(&p, 60), |s| {
            s.confirmations.iter().any(|c| c.at > t)
        });
        sim.check(got.is_some(), "the two others confirm one of them");
        let succ = *sim.confirmations.last().unwrap();
        sim.check(succ.sid != leader && succ.epoch > epoch, "a successor");
        sim.check(
            sim.events_of(leader).iter().any(|(at, e)| {
                *at >= t
                    && *at <= succ.at
                    && matches!(
                        e,
                        Event::LeadershipLost {
                            reason: LossReason::NoQuorum,
                            ..
                        }
                    )
            }),
            "the old leader lost its quorum first",
        );
        let t2 = sim.now;
        sim.schedule(t2, Control::Cut(BTreeSet::new()));
        settle(&mut sim, ticks(&p, 40));
    }
}

/// Behind a leader that sends no heartbeats (a real ZooKeeper server, here
/// with two ZooKeeper followers, its Zab quorum), the zkelect peers do not
/// flap: one that joins later decides on the leader's own LEADING vote and
/// takes it for the confirmation; one decided on LOOKING votes alone looks
/// again once after initLimit ticks and then does the same. Both notice the
/// leader's crash by the connection.
#[test]
fn legacy_leader_is_followed_without_flapping() {
    for seed in seeds(30) {
        let p = Params::new();
        let mut specs = voters(5);
        for s in &mut specs[2..] {
            s.legacy = true;
        }
        specs[1].boot_at = Some(ticks(&p, 20));
        let mut sim = Sim::new(seed, specs, p.clone());
        let t = ticks(&p, 3 * p.init_limit);
        sim.run_until(t);
        for s in [1, 2] {
            sim.check(
                sim.nodes[&s].role()
                    == Some(Role::Following {
                        leader: 5,
                        epoch: Some(0),
                    }),
                &format!(
                    "sid {s} trusts the leader's vote: {:?}",
                    sim.nodes[&s].role()
                ),
            );
        }
        let late = sim.events_of(2);
        sim.check(
            !late.iter().any(|(_, e)| is_loss(e)),
            &format!("the late joiner never looked again: {late:?}"),
        );
        let early = sim.events_of(1);
        sim.check(
            early.iter().filter(|(_, e)| is_loss(e)).count() <= 1,
            &format!("sid 1 looked again at most once: {early:?}"),
        );
        let before: Vec<usize> = [1, 2].iter().map(|s| sim.events_of(*s).len()).collect();
        sim.run_until(t + ticks(&p, 100));
        let after: Vec<usize> = [1, 2].iter().map(|s| sim.events_of(*s).len()).collect();
        sim.check(
            before == after,
            "nothing happens while the leader is healthy",
        );
        let t2 = sim.now;
        sim.crash(5);
        sim.run_until(t2 + ticks(&p, 3));
        for s in [1, 2] {
            sim.check(
                sim.events_of(s).iter().any(|(at, e)| {
                    *at > t2
                        && matches!(
                            e,
                            Event::LeaderLost {
                                leader: 5,
                                reason: LossReason::Disconnected
                            }
                        )
                }),
                "the crash is seen through the connection",
            );
        }
    }
}

/// Issue 17: zkelect voters that are not follow-only (`followOnly=false`)
/// in an ensemble whose other voters are real ZooKeeper servers (legacy
/// peers whose Zab sync with a zkelect leader fails, as it does against a
/// real server), with the highest zxid and sids, so they win the election.
/// Each may fail its confirmation once; then it votes follow-only, and the
/// real servers end up led by one of their own, followed by the zkelect
/// peers: no endless self-proposal.
#[test]
fn a_failed_confirmation_is_not_proposed_again_and_again() {
    for seed in seeds(40) {
        let mut p = Params::new();
        p.zab_fail = Some(Duration::from_millis(400));
        let mut specs = voters(5);
        for s in &mut specs[..3] {
            s.legacy = true;
        }
        for s in &mut specs[3..] {
            s.follow_only = FollowOnly::Off;
            s.zxid = 0x1_0000_0005;
        }
        let mut sim = Sim::new(seed, specs, p.clone());
        let t = ticks(&p, 12 * p.init_limit);
        sim.run_until(t);
        for s in [4, 5] {
            let failed: Vec<_> = sim
                .events_of(s)
                .into_iter()
                .filter(|(_, e)| matches!(e, Event::LeadershipFailed { .. }))
                .collect();
            sim.check(
                failed.len() <= 1,
                &format!("sid {s} proposed itself again after a failed confirmation: {failed:?}"),
            );
        }
        let leader = (1..=3).find(|s| {
            sim.nodes[s]
                .fle()
                .is_some_and(|f| f.state() == zkelect::types::ServerState::Leading)
        });
        sim.check(leader.is_some(), "a real server leads");
        let leader = leader.unwrap_or(0);
        for s in (1..=3).filter(|&s| s != leader) {
            let f = sim.nodes[&s].fle().expect("runs");
            sim.check(
                f.state() == zkelect::types::ServerState::Following
                    && f.current_vote().leader == leader,
                &format!("real server {s} follows {leader}"),
            );
        }
        for s in [4, 5] {
            sim.check(
                matches!(sim.nodes[&s].role(), Some(Role::Following { leader: l, .. }) if l == leader),
                &format!("sid {s} follows the real leader: {:?}", sim.nodes[&s].role()),
            );
        }
    }
}

/// A follower that accepted a higher epoch than the new leader proposes
/// refuses it; the leader proposes above it at once.
#[test]
fn leader_proposes_above_a_followers_accepted_epoch() {
    for seed in seeds(20) {
        let p = Params::new();
        // sid 1 accepted epoch 9 long ago and starts late; 2 and 3 elect.
        let mut specs = voters(3);
        specs[0].epoch = 9;
        specs[0].boot_at = None;
        let mut sim = Sim::new(seed, specs, p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        sim.check(leader == 3 && epoch == 1, "3 leads epoch 1");
        // 3 crashes; 1 boots (quarantined for syncLimit ticks) and joins 2.
        let t = sim.now;
        sim.crash(3);
        sim.boot(1);
        let (l2, e2) = settle(&mut sim, ticks(&p, 40));
        sim.check(e2 > 9, &format!("epoch above 9, got {e2} (leader {l2})"));
        sim.boot(3);
        let (l3, e3) = settle(&mut sim, ticks(&p, 40));
        sim.check((l3, e3) == (l2, e2), "the rebooted peer joins");
        let _ = t;
    }
}

/// The host restarts the election on the leader: it leaves its term (and
/// says so) and the ensemble confirms a leader again, with a new epoch.
#[test]
fn host_restart_on_the_leader() {
    for seed in seeds(30) {
        let p = Params::new();
        let mut sim = Sim::new(seed, voters(3), p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        let t = sim.now;
        sim.schedule(t, Control::Restart(leader));
        sim.run_until(t);
        let first = first_event_after(&sim, leader, t);
        sim.check(
            first
                == Some(Event::LeadershipLost {
                    epoch,
                    reason: LossReason::Restarted,
                }),
            &format!("{first:?}"),
        );
        let (_, e2) = settle(&mut sim, ticks(&p, 40));
        sim.check(e2 > epoch, "a new epoch");
    }
}

/// How a fail-over after `fault` on the confirmed leader goes, in 3 and
/// 5 voters: the time from the fault to a successor's confirmation (the
/// sim checks on the way that no two peers lead at once), which must be
/// below (`fast`) or above the followers' promises. The successor may be
/// the old leader's sid only in a new process (`restarted`).
fn fail_over(
    name: &str,
    same_host: bool,
    fast: bool,
    restarted: bool,
    fault: impl Fn(&mut Sim, Sid),
) {
    for n in [3, 5] {
        let mut worst = Duration::ZERO;
        for seed in seeds(20) {
            let p = Params::new();
            let mut specs = voters(n);
            if same_host {
                for s in &mut specs {
                    s.host = 0;
                }
            }
            let mut sim = Sim::new(seed, specs, p.clone());
            let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
            let t = sim.now + sim.rng.dur(Duration::ZERO, p.tick);
            sim.run_until(t);
            fault(&mut sim, leader);
            let got = sim.run_until_pred(t + ticks(&p, 30), |s| {
                s.confirmations
                    .iter()
                    .any(|c| c.at > t && (restarted || c.sid != leader))
            });
            sim.check(got.is_some(), "a successor is confirmed");
            let succ = *sim.confirmations.last().unwrap();
            sim.check(succ.epoch > epoch, "with a higher epoch");
            let took = succ.at - t;
            worst = worst.max(took);
            let d_f = p.timing().follower_deadline();
            if fast {
                sim.check(took < d_f / 2, &format!("{name}: fast, took {took:?}"));
            } else {
                sim.check(
                    took >= d_f - p.tick * 2,
                    &format!("{name}: only after the promises, took {took:?}"),
                );
            }
        }
        println!("{name}, {n} peers: fault to confirmed successor, worst {worst:?} (tick 100 ms, syncLimit 5)");
    }
}

/// A graceful stop of the leader: it steps down, its departure notice
/// releases the promises, the successor is confirmed at once.
#[test]
fn graceful_stop_of_the_leader_hands_off_at_once() {
    fail_over("graceful stop", false, true, false, |sim, l| {
        let t = sim.now;
        sim.schedule(t, Control::Stop(Some(l), None));
        sim.run_until(t);
        // It stepped down before its departure notice went out.
        let first = first_event_after(sim, l, t);
        sim.check(
            matches!(
                first,
                Some(Event::LeadershipLost {
                    reason: LossReason::Stopped,
                    ..
                })
            ),
            &format!("the stop begins with the step-down: {first:?}"),
        );
    });
}

/// kill -9 of the leader and an immediate restart: the restarted process's
/// first LOOKING notifications (above its stored round) release the
/// promises to its earlier life.
#[test]
fn killed_leader_restarted_at_once_releases_its_followers() {
    fail_over("kill -9 and restart", false, true, true, |sim, l| {
        sim.schedule(sim.now, Control::Kill(Some(l), ms(1), None))
    });
}

/// kill -9 of the leader on a host shared with its followers: its lock in
/// the shared dataDir is free and names the epoch it led, which proves its
/// death.
#[test]
fn killed_leader_on_one_host_is_proven_dead_by_its_lock() {
    fail_over("kill -9 on one host", true, true, false, |sim, l| {
        sim.schedule(
            sim.now,
            Control::Kill(Some(l), ticks(&Params::new(), 100), None),
        )
    });
}

/// A firewall on the live leader that it does not notice: the followers'
/// connections break and reconnects are refused, so they leave it at once,
/// but keep their promises (it still counts their acknowledgements): the
/// successor waits for them. On one host too, where its lock is held.
#[test]
fn firewalled_leader_keeps_its_followers_promises() {
    for same_host in [false, true] {
        fail_over("firewall", same_host, false, false, |sim, l| {
            sim.schedule(
                sim.now,
                Control::Wall(Some(l), ticks(&Params::new(), 100), false),
            )
        });
    }
}

/// Fencing mode, kill -9 of the leader across hosts: no promises, the
/// broken connection ends the term at once.
#[test]
fn fencing_mode_fails_over_at_once_after_kill() {
    for n in [3, 5] {
        for seed in seeds(20) {
            let mut p = Params::new();
            p.mode = Mode::Fencing;
            p.check_single_leader = false;
            let mut sim = Sim::new(seed, voters(n), p.clone());
            let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
            let t = sim.now;
            sim.crash(leader);
            let (next, e2) = settle(&mut sim, ticks(&p, 30));
            sim.check(next != leader && e2 > epoch, "a successor, a higher epoch");
            let took = sim.now - t;
            sim.check(
                took < p.timing().follower_deadline() / 2,
                &format!("fast: {took:?}"),
            );
        }
    }
}

/// A peer without a store that crashes right after acknowledging the
/// leader, and is back at once, knows nothing of that acknowledgement: it
/// must stay quarantined for syncLimit ticks (`Core::new`), epoch 0 or
/// not. Five voters: 5 leads with 1 and 2 (3 and 4 are down); then 5 is
/// cut off (a black hole: it keeps counting 1 and 2), 1 crashes and
/// reboots, 3 and 4 (with a higher zxid) boot. 1, 3 and 4 elect 4 at
/// once, but 4 may be
/// confirmed only once 5 can no longer count 1.
#[test]
fn restarted_peer_without_a_store_is_quarantined() {
    for seed in seeds(50) {
        let mut p = Params::new();
        // A lease longer than the election among 1, 3 and 4.
        p.sync_limit = 10;
        // 1 forgets epoch 1 and 3, 4 never saw it: the successor may lead
        // epoch 1 again (no store, no fencing); one leader at a time holds.
        p.check_epochs = false;
        let mut specs = voters(5);
        specs[0].store = false;
        specs[2].boot_at = None;
        specs[3].boot_at = None;
        // 4's vote beats 5's: 1, 3 and 4 elect 4 at once.
        specs[3].zxid = 5;
        let mut sim = Sim::new(seed, specs, p.clone());
        let (leader, epoch) = settle(&mut sim, ticks(&p, 20));
        sim.check(leader == 5 && epoch == 1, "5 leads epoch 1 with 1 and 2");
        let t0 = sim.now + sim.rng.dur(Duration::ZERO, p.tick);
        sim.run_until(t0);
        let cut: BTreeSet<(Sid, Sid)> = (1..=4).flat_map(|o| [(5, o), (o, 5)]).collect();
        sim.schedule(t0, Control::Cut(cut));
        sim.schedule(t0, Control::Crash(1));
        for s in [1, 3, 4] {
            sim.schedule(t0, Control::Boot(s));
        }
        let got = sim.run_until_pred(t0 + ticks(&p, 40), |s| {
            s.confirmations.iter().any(|c| c.at > t0)
        });
        sim.check(got.is_some(), "the others confirm a successor");
        let succ = *sim.confirmations.last().unwrap();
        sim.check(succ.sid != 5, "a successor");
        if std::env::var("DBG").is_ok() {
            sim.fail(&format!("succ {succ:?} t0 {t0:?}"));
        }
        sim.check(
            succ.at >= t0 + p.timing().leader_deadline() - p.tick,
            "not before 5 stops counting 1",
        );
    }
}

// ---------------------------------------------------------------- random

/// The bound of the module docs, in ticks.
/// The largest clock-rate offset, in ppm, at which any two clocks stay
/// within the lease's margin for `sync_limit`: rates within ±x of 1 have a
/// ratio of at most (1 + x) / (1 − x), which is 1 + 1/syncLimit at
/// x = 1/(2 × syncLimit + 1), below D_F / D_L = syncLimit / (syncLimit − 1).
fn clock_margin_ppm(sync_limit: u32) -> i64 {
    1_000_000 / (2 * i64::from(sync_limit) + 1)
}

fn bound_ticks(p: &Params) -> u32 {
    let notif = p.max_notification.as_micros().div_ceil(p.tick.as_micros()) as u32;
    p.sync_limit + 2 * p.init_limit + 3 * notif + 8
}

/// When a busy loop began, at which sid, in what role.
type Spin = (Duration, Sid, String);

struct Outcome {
    /// The bound for this seed's parameters, in ticks.
    bound: u32,
    events: u64,
    /// Time from the end of the faults to settled, in ticks.
    settle_ticks: f64,
    confirmations: usize,
    /// Busy-loop calls of `on_timeout` (see `Sim::check_spin`), and the
    /// first one.
    spins: u64,
    first_spin: Option<Spin>,
    /// Stores written, and crashes armed at a store that fired.
    stores: u64,
    /// Epochs confirmed for more than one leader (possible only with peers
    /// without a store).
    repeated_epochs: usize,
    /// `Control::Strand`s that bounced a follower, and those that bounced
    /// one without a store.
    bounces: (u64, u64),
    /// Promises released early, by path.
    releases: Releases,
    /// Refusals and proofs of death handed to machines.
    refusals: u64,
    deaths: u64,
    fencing: bool,
    /// Whether the clocks ran at different rates, and the lease attacks
    /// that found their moment (crash after ack, isolation after a
    /// heartbeat, delayed reports) and the freezes drawn.
    drift: bool,
    attacks: (u64, u64, u64),
    freezes: u64,
}

fn run_random(seed: u64) -> Outcome {
    // `SIM_STORED_QUORUM=0`: leave out the stored-quorum check, to see what
    // the other invariants catch on their own (mutation runs).
    let stored_quorum = std::env::var("SIM_STORED_QUORUM").map_or(true, |v| v.trim() != "0");
    run_random_with(seed, |p| p.check_stored_quorum &= stored_quorum)
}

/// One random schedule; `tweak` changes the parameters last (a flag such
/// as the clock bug, without changing the schedule).
fn run_random_with(seed: u64, tweak: impl Fn(&mut Params)) -> Outcome {
    let mut r = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED);
    // A second stream for what came with fast fail-over (modes, hosts,
    // graceful stops, kills with a quick restart, firewalls, moves), so
    // that the schedule drawn from the first stays as it was.
    let mut r2 = Rng::new(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0xFA57);
    // A third of the runs with a store at every peer (fencing needs one).
    let fencing = r2.chance(1.0 / 3.0);
    let n = r.pick(&[3i64, 3, 3, 4, 5, 5, 5, 7]);
    let observer = r.chance(0.2);
    let tick = ms(r.pick(&[50, 100, 200]));
    let mut p = Params::new();
    p.tick = tick;
    p.sync_limit = r.range(2, 5) as u32;
    p.init_limit = r.range(2, 10) as u32;
    p.finalize = ms(r.range(5, 100));
    p.min_notification = ms(r.range(20, 100));
    p.max_notification = (tick * r.range(1, 6) as u32).max(p.min_notification);
    let max_delay = Duration::from_micros(r.range(500, tick.as_micros() as u64 / 5));
    p.delay = (Duration::from_micros(100), max_delay);
    p.fault_delay = if r.chance(0.3) {
        (Duration::from_micros(100), tick * 2)
    } else {
        p.delay
    };
    p.drop_p = r.pick(&[0.0, 0.0, 0.01, 0.05, 0.2]);
    p.cnx_skew = Duration::from_micros(r.range(0, tick.as_micros() as u64 / 4));
    let faults_end = tick * r.range(20, 60) as u32;
    p.faults_until = faults_end;
    // The durable store: a small delay per write (a slow disk now and
    // then), and in some runs a disk that fails now and then.
    p.store_delay = (Duration::ZERO, ms(r.pick(&[1, 3, 3, 10])));
    p.store_fail_p = r.pick(&[0.0, 0.0, 0.0, 0.05, 0.3]);
    // In some runs some peers have no store: every start is quarantined,
    // and an epoch they accepted is forgotten in a crash.
    let storeless = r.chance(0.25);
    let fencing = fencing && !storeless;

    let mut specs: Vec<Spec> = (1..=n)
        .map(|s| Spec {
            zxid: r.range(0, 3) as i64,
            epoch: if r.chance(0.2) {
                r.range(1, 3) as i64
            } else {
                0
            },
            boot_at: Some(if r.chance(0.5) {
                Duration::ZERO
            } else {
                r.dur(Duration::ZERO, tick * 10)
            }),
            store: !(storeless && r.chance(0.5)),
            ..Spec::voter(s)
        })
        .collect();
    if observer {
        specs.push(Spec {
            observer: true,
            store: !(storeless && r.chance(0.5)),
            ..Spec::voter(n + 1)
        });
    }
    // Without a store at every peer, epochs can repeat after crashes (as
    // in ZooKeeper without its acceptedEpoch file); one leader at a time
    // still holds.
    p.check_epochs = specs.iter().all(|s| s.store);
    if fencing {
        // No promises: two leaders may overlap in time; the epoch rules
        // stay (one leader per confirmed epoch, confirmed epochs
        // increasing).
        p.mode = Mode::Fencing;
        p.check_single_leader = false;
    }
    // Hosts: every peer on one (their locks prove deaths to each other),
    // each on its own, or spread over two.
    let hosts: u32 = match r2.below(3) {
        0 => 1,
        1 => specs.len() as u32,
        _ => 2,
    };
    for (i, s) in specs.iter_mut().enumerate() {
        s.host = match hosts {
            1 => 0,
            2 => r2.below(2) as u32,
            _ => i as u32,
        };
    }
    p.stop_linger = (Duration::ZERO, tick * r2.pick(&[0u32, 1, 1, 2]) / 4);
    p.death_poll = tick / 10;
    // A third stream for the clocks and the attacks on the lease, so
    // that the first two draw what they drew before.
    let mut r3 = Rng::new(seed.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0xC10C);
    // Clock rates: in half the runs each machine's clock runs at its own
    // rate, uniformly within the stated margin (any two rates within a
    // ratio of 1 + 1/syncLimit, below D_F / D_L), in a quarter of them
    // within ±100 ppm (real quartz), in the others exactly.
    let margin = clock_margin_ppm(p.sync_limit);
    let drift = match r3.below(4) {
        0 | 1 => margin,
        2 => 100,
        _ => 0,
    };
    let off = |k: &str| std::env::var(k).is_ok_and(|v| v.trim() == "0");
    for s in &mut specs {
        s.clock_ppm = r3.range(0, 2 * drift as u64) as i64 - drift;
        if off("SIM_DRIFT") {
            s.clock_ppm = 0;
        }
    }
    tweak(&mut p);
    for s in &mut specs {
        s.clock_ppm = (s.clock_ppm as f64 * p.drift_scale) as i64;
    }
    let all: Vec<Sid> = specs.iter().map(|s| s.sid).collect();
    let mut sim = Sim::new(seed, specs, p.clone());
    // Attacks on the lease and freezes, from the third stream: in 60 % of
    // the runs one of: a follower that crashes right after an
    // acknowledgement and is back at once, a partition that isolates the
    // leader just after a heartbeat, reports delayed up to just under D_L
    // and then the leader's links out cut; and up to three freezes (a
    // pause between a decision and the runtime's acting on it) of the
    // leader (mostly) or another peer.
    let d_l = p.timing().leader_deadline();
    let d_f = p.timing().follower_deadline();
    let mut freezes = 0;
    if faults_end > tick * 4 {
        let at = r3.dur(tick * 2, faults_end - tick * 2);
        let left = faults_end - at;
        match r3.below(5) {
            _ if off("SIM_ATTACKS") => {}
            0 => sim.schedule(at, Control::CrashAfterAck(None)),
            1 => sim.schedule(
                at,
                Control::IsolateAfterHeartbeat(r3.dur(d_f, d_f * 3).min(left)),
            ),
            2 => {
                let window = r3.dur(d_l / 2, d_f * 2).min(left);
                let lo = d_l * 3 / 4;
                let hi = d_l.saturating_sub(tick / 10).max(lo);
                let cut = r3.dur(d_f, d_f * 3).min(left - window);
                sim.schedule(at, Control::DelayReports(window, lo, hi, cut));
            }
            _ => {}
        }
        for _ in 0..r3.below(4) {
            let at = r3.dur(tick, faults_end - tick);
            let target = if r3.chance(0.7) {
                None
            } else {
                Some(r3.pick(&all))
            };
            let len = r3.dur(tick / 10, d_f * 2).min(faults_end - at);
            if !off("SIM_FREEZES") {
                sim.schedule(at, Control::Freeze(target, len));
                freezes += 1;
            }
        }
    }

    // The fault schedule.
    let mut t = Duration::ZERO;
    loop {
        t += r.dur(tick, tick * 10);
        if t >= faults_end {
            break;
        }
        let a = r.pick(&all);
        let b = r.pick(&all);
        match r.below(13) {
            0 | 1 => {
                sim.schedule(t, Control::Crash(a));
                let mut back = t + r.dur(tick, tick * 20);
                if r2.chance(0.4) {
                    // A supervisor restarts it at once.
                    back = t + r2.dur(Duration::ZERO, tick / 2);
                }
                if hosts > 1 && r2.chance(0.25) {
                    // It comes back on another host (one of the others'
                    // or a new one), its store with it; its lock file
                    // stays behind.
                    let h = r2.below(u64::from(hosts) + 1) as u32;
                    sim.schedule(back.min(faults_end), Control::Move(a, h));
                }
                sim.schedule(back.min(faults_end), Control::Boot(a));
            }
            2 => sim.schedule(t, Control::Restart(a)),
            3 | 4 => {
                sim.schedule(t, Control::Pause(a));
                let len = r.dur(tick, tick * (3 * p.sync_limit));
                sim.schedule((t + len).min(faults_end), Control::Resume(a));
            }
            5 => {
                // A clean partition into two sides.
                let side: BTreeSet<Sid> = all.iter().copied().filter(|_| r.chance(0.5)).collect();
                let cut = all
                    .iter()
                    .flat_map(|&x| all.iter().map(move |&y| (x, y)))
                    .filter(|(x, y)| x != y && side.contains(x) != side.contains(y))
                    .collect();
                sim.schedule(t, Control::Cut(cut));
            }
            6 => {
                // Partial: some links both ways.
                let mut cut = BTreeSet::new();
                for &x in &all {
                    for &y in &all {
                        if x < y && r.chance(0.3) {
                            cut.insert((x, y));
                            cut.insert((y, x));
                        }
                    }
                }
                sim.schedule(t, Control::Cut(cut));
            }
            7 => {
                // One-way links.
                let cut = all
                    .iter()
                    .flat_map(|&x| all.iter().map(move |&y| (x, y)))
                    .filter(|(x, y)| x != y)
                    .filter(|_| r.chance(0.25))
                    .collect();
                sim.schedule(t, Control::Cut(cut));
            }
            8 => sim.schedule(t, Control::Cut(BTreeSet::new())),
            9 => sim.schedule(t, Control::Reset(a, b)),
            10 | 11 => {
                let len = r.dur(tick, tick * (4 * p.sync_limit));
                sim.schedule(t, Control::Suspend(a, len.min(faults_end - t)));
            }
            _ => sim.schedule(t, Control::CrashAtStore(a)),
        }
    }
    // A leader stranded with a smallest quorum of followers, one of which
    // then bounces just after an acknowledgement (`Control::Strand`),
    // in half the runs. Drawn after the other faults, so that it leaves
    // their schedule as it was.
    let mut stranded = false;
    if r.chance(0.5) {
        let latest = faults_end.saturating_sub(p.timing().follower_deadline() + tick * 4);
        if latest > tick * 2 {
            sim.schedule(r.dur(tick * 2, latest), Control::Strand);
            stranded = true;
        }
    }
    // Fail-over faults, drawn from the second stream: graceful stops
    // (of the confirmed leader mostly) with a restart soon or later,
    // kill -9 of the leader with an immediate or a later restart, and
    // firewalls on a live peer (the leader mostly) that it may or may not
    // notice.
    // Not in runs with a stranded leader, which they would mostly undo.
    let mut t = if stranded { faults_end } else { Duration::ZERO };
    loop {
        t += r2.dur(tick * 2, tick * 12);
        if t >= faults_end {
            break;
        }
        let a = r2.pick(&all);
        let target = if r2.chance(0.7) { None } else { Some(a) };
        let left = faults_end - t;
        match r2.below(6) {
            0 | 1 => {
                let back = match r2.below(10) {
                    0..=5 => Some(r2.dur(Duration::ZERO, tick / 2)),
                    6..=8 => Some(r2.dur(tick, tick * 10)),
                    _ => None,
                };
                sim.schedule(t, Control::Stop(target, back.map(|b| b.min(left))));
            }
            2 | 3 => {
                let back = if r2.chance(0.5) {
                    r2.dur(Duration::ZERO, tick / 4)
                } else {
                    r2.dur(tick, tick * 10)
                };
                // Rescheduled on another host now and then.
                let host =
                    (hosts > 1 && r2.chance(0.3)).then(|| r2.below(u64::from(hosts) + 1) as u32);
                sim.schedule(t, Control::Kill(target, back.min(left), host));
            }
            _ => {
                let len = r2.dur(tick / 2, p.timing().follower_deadline() * 3);
                let sees = r2.chance(0.5);
                sim.schedule(t, Control::Wall(target, len.min(left), sees));
            }
        }
    }
    // The end of the faults: heal, resume, reboot.
    sim.schedule(faults_end, Control::Cut(BTreeSet::new()));
    for &s in &all {
        sim.schedule(faults_end, Control::Unwall(s));
        sim.schedule(faults_end, Control::Resume(s));
        sim.schedule(faults_end, Control::Boot(s));
    }
    sim.run_until(faults_end);
    // Settled means: one confirmed leader followed by every peer, and still
    // so (same leader, same epoch, no other confirmation) 2 × syncLimit
    // ticks later, so that a lease or promise left over from the faults
    // cannot be mistaken for the outcome.
    let bound = tick * bound_ticks(&p);
    let hold = p.timing().follower_deadline() * 2;
    let settled_at = loop {
        let Some(at) = sim.run_until_pred(faults_end + bound, |s| s.settled().is_some()) else {
            sim.fail(&format!(
                "no confirmed leader followed by all within {} ticks of healing",
                bound_ticks(&p)
            ))
        };
        let (leader, epoch) = sim.settled().unwrap();
        let before = sim.confirmations.len();
        sim.run_until_pred(at + hold, |s| {
            s.settled() != Some((leader, epoch)) || s.confirmations.len() != before
        });
        if sim.now >= at + hold {
            break at;
        }
    };
    Outcome {
        bound: bound_ticks(&p),
        events: sim.events,
        settle_ticks: (settled_at - faults_end).as_secs_f64() / tick.as_secs_f64(),
        confirmations: sim.confirmations.len(),
        spins: sim.spins,
        first_spin: sim.first_spin.clone(),
        stores: sim.stores,
        bounces: sim.bounces,
        releases: sim.releases,
        refusals: sim.refusals,
        deaths: sim.deaths,
        fencing: sim.params.mode == Mode::Fencing,
        drift: drift > 0,
        attacks: sim.attacks,
        freezes,
        repeated_epochs: {
            let mut by_epoch: std::collections::BTreeMap<i64, BTreeSet<Sid>> = Default::default();
            for c in &sim.confirmations {
                by_epoch.entry(c.epoch).or_default().insert(c.sid);
            }
            by_epoch.values().filter(|l| l.len() > 1).count()
        },
    }
}

/// The seeds `random_schedules` runs: `SIM_SEED`, or `LEADERSHIP_SEEDS`
/// (default 10,000) from `SIM_SEED_FROM` (default 0).
fn random_seeds() -> Vec<u64> {
    engine::seeds("LEADERSHIP_SEEDS", 10_000)
}

/// The failure message of a panic payload, first line.
fn panic_line(e: &(dyn std::any::Any + Send)) -> String {
    let s = e
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    s.lines().next().unwrap_or("").to_string()
}

/// Runs seeds in order until one fails; returns it and its message.
fn first_failure(
    seeds: &mut impl Iterator<Item = u64>,
    tweak: impl Fn(&mut Params),
) -> Option<(u64, String)> {
    for seed in seeds {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_random_with(seed, &tweak)
        }));
        if let Err(e) = r {
            return Some((seed, panic_line(&*e)));
        }
    }
    None
}

/// Random ensembles (3 to 7 voters, sometimes an observer, random timers
/// and stored epochs, in 25 % of the runs some peers without a store),
/// random faults (crashes and reboots, crashes just before or after a
/// store of a new epoch, host restarts, pauses up to 3 × syncLimit ticks,
/// suspends up to 4 × syncLimit ticks, clean, partial and one-way
/// partitions, connection resets, loss up to 20 %, delays up to 2 ticks,
/// stores that take up to 10 ms and in some runs fail 5 % or 30 % of the
/// time; in half the runs, a leader stranded with a smallest quorum whose
/// followers without a store then restart just after an acknowledgement,
/// `Control::Strand`); and, from a second stream, 25 % of the runs in
/// fencing mode, peers on one host, each on its own or on two, 40 % of the
/// crashes restarted within half a tick (a quarter of them on another
/// host when there are several), graceful stops and kills of the leader
/// (mostly) with a quick or a later restart, and firewalls on the leader
/// (mostly) that it notices or not; then healing. Fails if a release path
/// (departure notice, restart, lock) or the fencing mode went unexercised.
#[test]
fn random_schedules() {
    let list = random_seeds();
    if std::env::var("SIM_KEEP_GOING").is_ok() {
        return keep_going(&list);
    }
    let started = Instant::now();
    let results: Vec<(u64, Outcome)> = engine::par_map(&list, run_random);
    let events: u64 = results.iter().map(|r| r.1.events).sum();
    let stores: u64 = results.iter().map(|r| r.1.stores).sum();
    let bounced = results.iter().filter(|r| r.1.bounces.0 > 0).count();
    let storeless = results.iter().filter(|r| r.1.bounces.1 > 0).count();
    let spinning: Vec<(u64, u64, Option<Spin>)> = results
        .iter()
        .filter(|r| r.1.spins > 0)
        .map(|r| (r.0, r.1.spins, r.1.first_spin.clone()))
        .collect();
    let confirmations: usize = results.iter().map(|r| r.1.confirmations).sum();
    let fencing = results.iter().filter(|r| r.1.fencing).count();
    let drift = results.iter().filter(|r| r.1.drift).count();
    let attacks = results.iter().fold((0, 0, 0), |a, r| {
        let b = r.1.attacks;
        (a.0 + b.0, a.1 + b.1, a.2 + b.2)
    });
    let freezes: u64 = results.iter().map(|r| r.1.freezes).sum();
    let refusals: u64 = results.iter().map(|r| r.1.refusals).sum();
    let deaths: u64 = results.iter().map(|r| r.1.deaths).sum();
    let mut rel = Releases::default();
    let mut with = Releases::default();
    for (_, o) in &results {
        let x = o.releases;
        for (sum, runs, v) in [
            (&mut rel.departure, &mut with.departure, x.departure),
            (&mut rel.restart, &mut with.restart, x.restart),
            (
                &mut rel.stepped_down,
                &mut with.stepped_down,
                x.stepped_down,
            ),
            (&mut rel.lock, &mut with.lock, x.lock),
            (&mut rel.refused, &mut with.refused, x.refused),
            (&mut rel.other, &mut with.other, x.other),
        ] {
            *sum += v;
            *runs += u64::from(v > 0);
        }
    }
    let slowest = results
        .iter()
        .max_by(|a, b| a.1.settle_ticks.total_cmp(&b.1.settle_ticks))
        .map(|r| (r.0, r.1.settle_ticks, r.1.bound));
    let tightest = results
        .iter()
        .max_by(|a, b| {
            let ra = a.1.settle_ticks / f64::from(a.1.bound);
            let rb = b.1.settle_ticks / f64::from(b.1.bound);
            ra.total_cmp(&rb)
        })
        .map(|r| (r.0, r.1.settle_ticks, r.1.bound));
    println!(
        "leadership random_schedules: {} seeds, {events} events, {confirmations} confirmations, \
         {stores} stores, {bounced} runs bounced a stranded leader's follower \
         ({storeless} one without a store), settled after healing: slowest {slowest:?}, closest to its bound \
         {tightest:?} (seed, ticks, bound), {:?} wall",
        list.len(),
        started.elapsed()
    );
    println!(
        "leadership random_schedules: {fencing} runs in fencing mode; {refusals} refusals and \
         {deaths} proofs of death handed to machines; promises released early (releases, runs): \
         departure notice {:?}, restart {:?}, leader looking again {:?}, lock {:?}, \
         refused connection {:?}, other {:?}",
        (rel.departure, with.departure),
        (rel.restart, with.restart),
        (rel.stepped_down, with.stepped_down),
        (rel.lock, with.lock),
        (rel.refused, with.refused),
        (rel.other, with.other),
    );
    println!(
        "leadership random_schedules: {drift} runs with clocks at different rates; lease attacks \
         that fired: {} crashes right after an acknowledgement, {} isolations just after a \
         heartbeat, {} runs of reports delayed up to just under D_L; {freezes} freezes drawn",
        attacks.0, attacks.1, attacks.2
    );
    // Every release path of the fast fail-over must be exercised.
    assert!(
        list.len() < 1_000
            || (fencing > 0 && with.departure > 0 && with.restart > 0 && with.lock > 0),
        "a release path or the fencing mode went unexercised"
    );
    // The stranded-leader fault is what catches a restart that forgets
    // its promise (no quarantine at epoch 0 without a store); a change of
    // the schedules that leaves it out should be noticed.
    assert!(
        list.len() < 1_000 || storeless > 0,
        "no run bounced a stranded leader's follower without a store"
    );
    if !spinning.is_empty() {
        println!(
            "leadership random_schedules: {} seeds left a deadline due after on_timeout \
             (a busy loop in the runtime), e.g. {:?}",
            spinning.len(),
            &spinning[..spinning.len().min(5)]
        );
    }
}

/// `SIM_KEEP_GOING=1`: every seed in order, failures collected (first
/// lines only) instead of stopping at the first; for mutation runs.
fn keep_going(list: &[u64]) {
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let failed: Vec<(u64, String)> = engine::par_map(list, |seed| {
        std::panic::catch_unwind(|| run_random(seed))
            .err()
            .map(|e| panic_line(&*e))
    })
    .into_iter()
    .filter_map(|(seed, e)| e.map(|e| (seed, e)))
    .collect();
    let _ = std::panic::take_hook();
    println!(
        "keep going: {} of {} seeds failed, {:?} wall",
        failed.len(),
        list.len(),
        started.elapsed()
    );
    for (seed, msg) in failed.iter().take(50) {
        println!("FAILED seed {seed}: {msg}");
    }
    assert!(
        failed.is_empty(),
        "{} of {} seeds failed",
        failed.len(),
        list.len()
    );
}

/// An epoch confirmed for two leaders in turn, which peers without a store
/// allow, settles. Found as seed 13095 (outside the default range): sid 2,
/// without a store, acknowledged epoch 2 for sid 3, crashed and, with sid
/// 1, confirmed sid 1 at epoch 2 again once sid 3 stepped down (one leader
/// at a time holds; fencing epochs need a store at every peer). Observer 4,
/// also without a store, had observed sid 3 at epoch 2 and must not report
/// epoch 2 for sid 1: it stays `Observing { leader: 1, epoch: None }`,
/// which the liveness check accepts for such runs (`Sim::settled`). The
/// fail-over faults, changes of the core's timing (the follow-only changes
/// too) and the clock rates and lease attacks of the third stream move such
/// runs to other seeds (10751 before the third stream), so the test runs
/// seeds from 10,000 until one repeats an epoch, which must settle like any
/// other.
#[test]
fn random_schedule_with_a_repeated_epoch_settles() {
    let found = (10_000..15_000).find(|&seed| run_random(seed).repeated_epochs > 0);
    println!("first seed from 10,000 that confirms an epoch twice: {found:?}");
    assert!(
        found.is_some(),
        "no seed in 10,000..15,000 confirms an epoch twice any more"
    );
}

/// Seed 30175 (outside the default range): sid 3 decided for leader 2
/// from 2's LEADING vote, was paused past the trust wait and trusted the
/// vote on resuming, but kept the election's peer epoch in its own vote;
/// sids 1 and 5, looking after healing, never found a quorum of matching
/// votes. Fixed in `Core::trust_vote` (unit test
/// `a_follower_that_trusts_its_leaders_vote_reports_that_epoch_in_its_own`).
#[test]
fn random_schedule_with_a_trusted_vote_lets_joiners_in() {
    run_random(30175);
}

/// A runtime whose lease clock stops during system suspend (the
/// CLOCK_MONOTONIC bug, simulated with `Params::monotonic_clock_bug`): a
/// leader suspended past its lease resumes believing it still leads (or,
/// not yet confirmed, counts acknowledgements whose promises ran out)
/// while the others confirmed a successor. The random schedules find two
/// leaders at once, through the lease check in simulated time. (The
/// runtime reads CLOCK_BOOTTIME, which the same schedules keep: see
/// `random_schedules`.)
/// Clocks that drift apart beyond the margin (three times it: any two
/// rates may differ by far more than D_F / D_L allows) must break the
/// lease, and the random schedules must see it as two leaders.
#[test]
fn random_schedules_catch_drift_beyond_the_margin() {
    let beyond = |p: &mut Params| p.drift_scale = 3.0;
    let mut first = None;
    let mut seeds = 0..3_000;
    let two_leaders = loop {
        let Some((seed, msg)) = first_failure(&mut seeds, beyond) else {
            break None;
        };
        first.get_or_insert((seed, msg.clone()));
        if msg.contains("both lead") || msg.contains("still leads") || msg.contains("both see") {
            break Some((seed, msg));
        }
    };
    println!("drift beyond the margin: first failing seed {first:?}; first with two leaders {two_leaders:?}");
    assert!(
        two_leaders.is_some(),
        "no seed in 0..3000 found two leaders with clocks drifting beyond the margin (first failure: {first:?})"
    );
}

#[test]
fn random_schedules_catch_a_lease_clock_that_stops_in_suspend() {
    let bug = |p: &mut Params| p.monotonic_clock_bug = true;
    let mut first = None;
    let mut seeds = 0..3_000;
    let two_leaders = loop {
        let Some((seed, msg)) = first_failure(&mut seeds, bug) else {
            break None;
        };
        first.get_or_insert((seed, msg.clone()));
        if msg.contains("both lead") || msg.contains("still leads") {
            break Some((seed, msg));
        }
    };
    println!("clock bug: first failing seed {first:?}; first with two leaders {two_leaders:?}");
    assert!(
        two_leaders.is_some(),
        "no seed in 0..3000 found two leaders with a clock that stops in suspend (first failure: {first:?})"
    );
}

/// The simulator's clocks: a rate, its inverse for timers, a suspend the
/// clock does not count, and a jump.
#[test]
fn simulated_clocks_run_at_their_rate_and_timers_fire_when_they_read_the_deadline() {
    let exact = Clock::default();
    assert_eq!(exact.local(ms(1234)), ms(1234));
    assert_eq!(exact.real(ms(50), ms(10)), ms(50));
    assert_eq!(
        exact.real(ms(5), ms(10)),
        ms(10),
        "never before `not_before`"
    );
    let fast = Clock::at_rate(100_000); // 10 % fast
    assert_eq!(fast.local(ms(1000)), ms(1100));
    let slow = Clock::at_rate(-90_909);
    for local in [ms(1), ms(333), ms(1000), ms(98_765)] {
        for c in [fast, slow] {
            let at = c.real(local, Duration::ZERO);
            assert!(c.local(at) >= local, "{c:?} {local:?} {at:?}");
            assert!(
                c.local(at - Duration::from_nanos(1)) < local,
                "{c:?}: the earliest instant"
            );
        }
    }
    let mut c = Clock::at_rate(0);
    c.stood_still(ms(100), ms(400));
    assert_eq!(c.local(ms(400)), ms(100));
    assert_eq!(c.local(ms(500)), ms(200));
    assert_eq!(c.lag(ms(500)), ms(300));
    c.jump(ms(500), ms(50));
    assert_eq!(c.local(ms(500)), ms(250));
    assert_eq!(c.real(ms(300), Duration::ZERO), ms(550));
    // Duration::MAX (a leader that is a quorum alone) does not overflow.
    assert!(fast.real(Duration::MAX, Duration::ZERO) > ms(1_000_000));
    assert!(exact.real(Duration::MAX, Duration::ZERO) > ms(1_000_000));
}
