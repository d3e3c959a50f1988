//! Unit tests of the leadership layer, rule by rule, on single machines fed
//! by hand. Whole ensembles under faults are in `tests/leadership.rs`.
//!
//! One file over 500 lines on purpose: every test drives one [`Core`]
//! through the same few helpers (a machine of a small ensemble, an elected
//! leader, a follower brought to a given point); split files would each
//! need a copy of them.

use super::*;
use crate::election::{Fle, Message, Proposal, Settings};
use crate::leadership::{Durable, EPOCH_STEP};
use crate::quorum::{Majority, QuorumVerifier};
use crate::types::{LearnerType, ServerState, Sid};
use std::sync::Arc;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Tick 100 ms, initLimit 10, syncLimit 5: D_F 500 ms, D_L 400 ms.
fn timing() -> Timing {
    Timing::new(ms(100), Some(10), Some(5)).with_finalize_wait(ms(10))
}

/// A machine whose store writes at once (every `Persist` is answered
/// `ok` within the same call), so the rules read as without a store.
struct Auto(Core);

impl std::ops::Deref for Auto {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.0
    }
}

impl std::ops::DerefMut for Auto {
    fn deref_mut(&mut self) -> &mut Core {
        &mut self.0
    }
}

impl Auto {
    fn settle(&mut self, now: Duration, outs: Vec<Output>) -> Vec<Output> {
        let mut all = Vec::new();
        for o in outs {
            all.push(o);
            if let Output::Persist(d) = o {
                let more = self.0.on_persisted(now, d, true);
                all.extend(self.settle(now, more));
            }
        }
        all
    }
    fn start(&mut self, now: Duration) -> Vec<Output> {
        let o = self.0.start(now);
        self.settle(now, o)
    }
    fn restart(&mut self, now: Duration) -> Vec<Output> {
        let o = self.0.restart(now);
        self.settle(now, o)
    }
    fn receive(&mut self, now: Duration, from: Sid, msg: &Message) -> Vec<Output> {
        let o = self.0.receive(now, from, msg);
        self.settle(now, o)
    }
    fn on_timeout(&mut self, now: Duration, d: bool) -> Vec<Output> {
        let o = self.0.on_timeout(now, d);
        self.settle(now, o)
    }
    fn on_connection(&mut self, now: Duration, sid: Sid, up: bool) -> Vec<Output> {
        let o = self.0.on_connection(now, sid, up);
        self.settle(now, o)
    }
}

fn core(me: Sid) -> Auto {
    Auto(raw_core(me, Some(Durable::default())))
}

/// A bare machine: with a store that held `stored`, or none.
fn raw_core(me: Sid, stored: Option<Durable>) -> Core {
    core_of(me, &[1, 2, 3], stored)
}

fn core_of(me: Sid, members: &[Sid], stored: Option<Durable>) -> Core {
    let qv = Arc::new(QuorumVerifier::Majority(Majority::new(
        members.iter().copied(),
        [],
        0,
    )));
    let fle = Fle::new(
        Settings {
            my_sid: me,
            learner_type: LearnerType::Participant,
            min_notification_interval: ms(50),
            max_notification_interval: ms(400),
            finalize_wait: ms(10),
        },
        qv,
    );
    match stored {
        Some(d) => Core::durable(fle, timing(), d),
        None => Core::new(fle, timing(), 0),
    }
}

fn looking(leader: Sid, round: i64) -> Message {
    Message::outgoing(ServerState::Looking, leader, 0, round, 0)
}

fn events(outs: &[Output]) -> Vec<Event> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(*e),
            _ => None,
        })
        .collect()
}

fn sent_to(outs: &[Output], to: Sid) -> Vec<Message> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { to: t, msg } if *t == to => Some(*msg),
            _ => None,
        })
        .collect()
}

/// Sid 3 elected leader of {1, 2, 3} at 10 ms; returns its first heartbeat.
fn elected_leader() -> (Auto, Message) {
    let mut c = core(3);
    c.start(ms(0));
    c.receive(ms(0), 3, &looking(3, 1));
    c.receive(ms(1), 1, &looking(3, 1));
    let outs = c.on_timeout(ms(11), true);
    assert!(events(&outs).contains(&Event::EpochAccepted { epoch: 1 }));
    assert_eq!(
        c.role(),
        Role::Leading {
            epoch: 1,
            confirmed: false
        }
    );
    // The first heartbeat one finalize wait (10 ms) after the decision.
    assert!(sent_to(&outs, 1).is_empty());
    assert_eq!(c.next_deadline(), Some(ms(21)));
    let outs = c.on_timeout(ms(21), true);
    let hb = sent_to(&outs, 1)[0];
    (c, hb)
}

/// Sid 1 following 3 after LOOKING votes (not backed by 3's own vote).
fn follower() -> Auto {
    let mut c = core(1);
    c.start(ms(0));
    c.receive(ms(0), 1, &looking(1, 1));
    c.receive(ms(1), 3, &looking(3, 1));
    c.receive(ms(1), 1, &looking(3, 1));
    c.receive(ms(2), 2, &looking(3, 1));
    c.on_timeout(ms(12), true);
    assert_eq!(
        c.role(),
        Role::Following {
            leader: 3,
            epoch: None
        }
    );
    c
}

#[test]
fn new_leader_proposes_above_its_vote_and_confirms_on_a_quorum() {
    let (mut c, hb) = elected_leader();
    assert_eq!(hb.server_state(), Some(ServerState::Leading));
    assert_eq!(
        (hb.peer_epoch, hb.zxid),
        (1, heartbeat_zxid(1, false, super::leader::first_seq(1)))
    );
    assert!(!says_confirmed(&hb));
    // An acknowledgement echoes the heartbeat: with me, a quorum of 3.
    let outs = c.receive(ms(25), 1, &report(3, hb.zxid, 1, 1));
    assert!(events(&outs).contains(&Event::Leading { epoch: 1 }));
    assert!(c.leads_at(ms(25)));
    assert_eq!(c.fle().current_vote().peer_epoch, 1, "updateElectionVote");
    let confirmed = sent_to(&outs, 2)[0];
    assert!(says_confirmed(&confirmed));
    // The lease counts from the heartbeat's sending (21 ms), for D_L.
    assert_eq!(c.lease_until(), Some(ms(21) + ms(400)));
}

/// A split decision (FLE's finalize wait ignores a later round with a
/// worse vote): sid 3 leads round 1 unconfirmed while sid 2 won round 5.
/// Sid 3 gives way at once on 2's LEADING notification of the later round;
/// one of its own round, or an earlier one, changes nothing.
#[test]
fn an_unconfirmed_leader_gives_way_to_a_leader_of_a_later_round() {
    let (mut c, _) = elected_leader();
    let same = Message::outgoing(ServerState::Leading, 2, 0, 1, 1);
    let outs = c.receive(ms(22), 2, &same);
    assert!(!events(&outs).iter().any(|e| matches!(
        e,
        Event::LeadershipFailed { .. } | Event::LeadershipLost { .. }
    )));
    assert!(matches!(
        c.role(),
        Role::Leading {
            confirmed: false,
            ..
        }
    ));
    let later = Message::outgoing(ServerState::Leading, 2, 0, 5, 1);
    let outs = c.receive(ms(23), 2, &later);
    assert!(
        events(&outs).iter().any(|e| matches!(
            e,
            Event::LeadershipFailed {
                reason: LossReason::Superseded,
                ..
            }
        )),
        "{:?}",
        events(&outs)
    );
    assert!(!matches!(c.role(), Role::Leading { .. }));
}

#[test]
fn acknowledgements_must_echo_a_recent_heartbeat() {
    let (mut c, hb) = elected_leader();
    // Unknown zxid, wrong epoch, another leader: none counts.
    for bad in [
        report(3, hb.zxid + 100, 1, 1),
        report(3, hb.zxid, 1, 0),
        report(2, hb.zxid, 1, 1),
    ] {
        let outs = c.receive(ms(25), 1, &bad);
        assert!(events(&outs).is_empty(), "{bad:?}");
    }
    // Acknowledgements older than D_L do not count either.
    c.on_timeout(ms(500), true);
    let outs = c.receive(ms(500), 1, &report(3, hb.zxid, 1, 1));
    assert!(!events(&outs).contains(&Event::Leading { epoch: 1 }));
}

#[test]
fn leader_steps_down_when_its_acknowledgements_age_out() {
    let (mut c, hb) = elected_leader();
    c.receive(ms(25), 1, &report(3, hb.zxid, 1, 1));
    let outs = c.on_timeout(ms(421), true);
    let ev = events(&outs);
    assert_eq!(
        ev[..2],
        [
            Event::LeadershipLost {
                epoch: 1,
                reason: LossReason::NoQuorum
            },
            Event::LeaderLost {
                leader: 3,
                reason: LossReason::NoQuorum
            }
        ]
    );
    assert_eq!(c.role(), Role::Looking);
}

#[test]
fn a_looking_follower_stops_counting_at_once() {
    let (mut c, hb) = elected_leader();
    c.receive(ms(25), 1, &report(3, hb.zxid, 1, 1));
    let outs = c.receive(ms(30), 1, &looking(1, 2));
    assert!(events(&outs).contains(&Event::LeadershipLost {
        epoch: 1,
        reason: LossReason::NoQuorum
    }));
}

#[test]
fn a_refusal_raises_the_epoch_even_after_confirmation() {
    let (mut c, hb) = elected_leader();
    let outs = c.receive(ms(22), 2, &report(3, hb.zxid, 1, 7));
    assert!(events(&outs).contains(&Event::EpochAccepted { epoch: 8 }));
    let hb8 = sent_to(&outs, 1)[0];
    assert_eq!(hb8.peer_epoch, 8);
    let outs = c.receive(ms(24), 1, &report(3, hb8.zxid, 1, 8));
    assert!(events(&outs).contains(&Event::Leading { epoch: 8 }));
    let hb = sent_to(&outs, 2)[0];
    let outs = c.receive(ms(26), 2, &report(3, hb.zxid, 1, 9));
    assert_eq!(
        events(&outs)[..2],
        [
            Event::LeadershipLost {
                epoch: 8,
                reason: LossReason::EpochRaised
            },
            Event::EpochAccepted { epoch: 10 }
        ]
    );
}

#[test]
fn a_follower_never_acknowledges_an_epoch_it_accepted_before() {
    let mut c = follower();
    c.set_reported(0, 5);
    // In an earlier life it accepted 5 for someone: 5 from 3 gets no
    // acknowledgement (and no refusal: 3's next epoch will be above 5).
    c.restart(ms(10));
    c.receive(ms(11), 1, &looking(1, 2));
    let v3 = Message::outgoing(ServerState::Looking, 3, 0, 2, 5);
    c.receive(ms(12), 3, &v3);
    c.receive(ms(12), 1, &v3);
    c.receive(ms(13), 2, &v3);
    c.on_timeout(ms(30), true);
    assert!(matches!(c.role(), Role::Following { leader: 3, .. }));
    let hb = heartbeat(3, 5, false, 1, 2);
    let outs = c.receive(ms(40), 3, &hb);
    assert!(sent_to(&outs, 3).is_empty());
    let outs = c.receive(ms(41), 3, &heartbeat(3, 5, false, 2, 2));
    assert!(sent_to(&outs, 3).is_empty());
    let outs = c.receive(ms(42), 3, &heartbeat(3, 6, false, 1, 2));
    assert_eq!(sent_to(&outs, 3).len(), 1, "6 is new: acknowledged");
}

/// A heartbeat of the leader's earlier term (a round below the one it won
/// in now), heard while I looked or arriving late, is not acknowledged
/// and does not make the leader's LOOKING tail of this round look like a
/// new election (seed 3950 of the leadership simulator looped on this).
#[test]
fn a_heartbeat_of_an_earlier_term_is_ignored() {
    let mut c = core(1);
    c.start(ms(0));
    c.receive(ms(0), 1, &looking(1, 1));
    c.receive(ms(1), 3, &looking(3, 2));
    let old = heartbeat(3, 1, false, 1, 1);
    assert!(sent_to(&c.receive(ms(2), 3, &old), 3).is_empty());
    c.receive(ms(3), 2, &looking(3, 2));
    let outs = c.on_timeout(ms(14), true);
    assert_eq!(
        c.role(),
        Role::Following {
            leader: 3,
            epoch: None
        }
    );
    let acked =
        |outs: &[Output], hb: &Message| sent_to(outs, 3).contains(&report(3, hb.zxid, 2, 1));
    assert!(
        !acked(&outs, &old),
        "acknowledged the earlier term's heartbeat"
    );
    let outs = c.receive(ms(15), 3, &old);
    assert!(!acked(&outs, &old));
    // The leader's LOOKING tail of round 2: not a new election.
    c.receive(ms(16), 3, &looking(3, 2));
    assert!(matches!(c.role(), Role::Following { leader: 3, .. }));
    // This term's heartbeat is acknowledged.
    let hb = heartbeat(3, 1, false, 1, 2);
    let outs = c.receive(ms(17), 3, &hb);
    assert_eq!(sent_to(&outs, 3), [report(3, hb.zxid, 2, 1)]);
}

#[test]
fn follower_accepts_acknowledges_and_follows_a_confirmed_leader() {
    let mut c = follower();
    // The leader's election vote is not a heartbeat.
    let vote = Message::outgoing(ServerState::Leading, 3, 0, 1, 0);
    let o = c.receive(ms(20), 3, &vote);
    assert!(o.is_empty(), "{o:?}");
    let hb = heartbeat(3, 1, false, 1, 1);
    let outs = c.receive(ms(21), 3, &hb);
    assert_eq!(events(&outs), [Event::EpochAccepted { epoch: 1 }]);
    assert_eq!(sent_to(&outs, 3), [report(3, hb.zxid, 1, 1)]);
    assert_eq!(c.promise_until(), Some(ms(21) + ms(500)));
    let outs = c.receive(ms(30), 3, &heartbeat(3, 1, true, 2, 1));
    assert_eq!(
        events(&outs),
        [Event::Following {
            leader: 3,
            epoch: 1
        }]
    );
    assert_eq!(c.fle().current_vote().peer_epoch, 1);
    assert_eq!(c.promise_until(), Some(ms(30) + ms(500)));
    // Silent for D_F: the leader is given up as the promise ends.
    let outs = c.on_timeout(ms(530), true);
    assert_eq!(
        events(&outs)[0],
        Event::LeaderLost {
            leader: 3,
            reason: LossReason::Silent
        }
    );
}

#[test]
fn a_follower_never_acknowledges_an_epoch_it_does_not_exceed() {
    let mut c = follower();
    c.receive(ms(20), 3, &heartbeat(3, 4, false, 1, 1));
    assert_eq!(c.accepted_epoch(), 4);
    // The same leader with a lower epoch: refused, with what I accepted.
    let hb = heartbeat(3, 2, false, 2, 1);
    let outs = c.receive(ms(25), 3, &hb);
    assert_eq!(sent_to(&outs, 3), [report(3, hb.zxid, 1, 4)]);
    assert!(events(&outs).is_empty());
}

#[test]
fn a_promise_withholds_acknowledgements_to_another_leader() {
    let mut c = follower();
    c.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    // Disconnected from 3 for a tick: LOOKING again, then following 2.
    c.on_connection(ms(30), 3, false);
    let outs = c.on_timeout(ms(130), true);
    assert!(events(&outs).contains(&Event::LeaderLost {
        leader: 3,
        reason: LossReason::Disconnected
    }));
    // My vote now carries epoch 1: 2's must too for me to adopt it.
    let v2 = Message::outgoing(ServerState::Looking, 2, 0, 2, 1);
    c.receive(ms(131), 2, &v2);
    c.receive(ms(131), 1, &v2);
    c.on_timeout(ms(150), true);
    assert!(matches!(c.role(), Role::Following { leader: 2, .. }));
    let hb = heartbeat(2, 2, false, 1, 2);
    let outs = c.receive(ms(160), 2, &hb);
    assert!(
        sent_to(&outs, 2).is_empty(),
        "no ack before {:?}",
        c.promise_until()
    );
    // At the end of the promise the pending heartbeat is acknowledged.
    assert_eq!(c.next_deadline(), Some(ms(520)));
    let outs = c.on_timeout(ms(520), true);
    assert_eq!(sent_to(&outs, 2), [report(2, hb.zxid, 2, 2)]);
}

#[test]
fn the_old_leaders_new_round_releases_the_promise() {
    let mut c = follower();
    c.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    assert!(c.promise_until().is_some());
    let outs = c.receive(ms(40), 3, &looking(3, 2));
    assert!(events(&outs).contains(&Event::LeaderLost {
        leader: 3,
        reason: LossReason::LeaderLooking
    }));
    assert_eq!(c.promise_until(), None);
}

#[test]
fn a_start_with_an_epoch_is_a_quarantine() {
    let mut c = core(1);
    c.set_reported(0, 3);
    c.start(ms(0));
    assert_eq!(c.accepted_epoch(), 3);
    assert_eq!(c.promise_until(), Some(ms(500)));
    let mut fresh = core(1);
    fresh.start(ms(0));
    assert_eq!(fresh.promise_until(), None);
}

#[test]
fn stop_reports_the_loss_and_restart_looks_again() {
    let (mut c, hb) = elected_leader();
    c.receive(ms(25), 1, &report(3, hb.zxid, 1, 1));
    assert_eq!(
        events(&c.stop(ms(30))),
        [
            Event::LeadershipLost {
                epoch: 1,
                reason: LossReason::Stopped
            },
            Event::LeaderLost {
                leader: 3,
                reason: LossReason::Stopped
            }
        ]
    );
    let mut f = follower();
    let ev = events(&f.restart(ms(20)));
    assert_eq!(
        ev[..2],
        [
            Event::LeaderLost {
                leader: 3,
                reason: LossReason::Restarted
            },
            Event::StateChanged {
                old: ServerState::Following,
                new: ServerState::Looking
            }
        ]
    );
}

fn persists(outs: &[Output]) -> Vec<Durable> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Persist(d) => Some(*d),
            _ => None,
        })
        .collect()
}

/// Sid 1 of {1, 2, 3} with a store, following 3 after LOOKING votes.
fn raw_follower(stored: Durable) -> Core {
    let mut c = raw_core(1, Some(stored));
    let settle = |c: &mut Core, outs: Vec<Output>, now| {
        for d in persists(&outs) {
            c.on_persisted(now, d, true);
        }
    };
    let o = c.start(ms(0));
    settle(&mut c, o, ms(0));
    let r = c.fle().logicalclock();
    for (t, from, lead) in [(0, 1, 1), (1, 3, 3), (1, 1, 3), (2, 2, 3)] {
        let o = c.receive(ms(t), from, &looking(lead, r));
        settle(&mut c, o, ms(t));
    }
    let o = c.on_timeout(ms(12), true);
    settle(&mut c, o, ms(12));
    assert!(matches!(c.role(), Role::Following { leader: 3, .. }));
    c
}

#[test]
fn an_epoch_is_stored_before_it_is_acknowledged() {
    // Issue: the acknowledgement left with the acceptance, before the host
    // could store it; a restart then forgot it. Now the ack waits for the
    // store.
    let mut c = raw_follower(Durable::default());
    let hb = heartbeat(3, 1, false, 1, c.fle().logicalclock());
    let outs = c.receive(ms(20), 3, &hb);
    assert!(events(&outs).contains(&Event::EpochAccepted { epoch: 1 }));
    let d = persists(&outs);
    assert_eq!(d.len(), 1, "{outs:?}");
    assert_eq!(d[0].epoch, 1);
    assert!(
        sent_to(&outs, 3).is_empty(),
        "acknowledged before the store"
    );
    // A crash here (no on_persisted) leaves nothing acknowledged.
    let outs = c.on_persisted(ms(21), d[0], true);
    let acks = sent_to(&outs, 3);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].peer_epoch, 1);
    assert_eq!(reported_heartbeat(&acks[0]), Some(hb.zxid));
    assert_eq!(c.stored().epoch, 1);
}

#[test]
fn a_failed_store_acknowledges_nothing_and_tries_again() {
    let mut c = raw_follower(Durable::default());
    let round = c.fle().logicalclock();
    let outs = c.receive(ms(20), 3, &heartbeat(3, 1, false, 1, round));
    let d = persists(&outs)[0];
    let outs = c.on_persisted(ms(21), d, false);
    assert_eq!(events(&outs), [Event::EpochStoreFailed { epoch: 1 }]);
    assert!(sent_to(&outs, 3).is_empty());
    // The next heartbeat asks the store again; this time it works.
    let hb = heartbeat(3, 1, false, 2, round);
    let outs = c.receive(ms(70), 3, &hb);
    assert!(sent_to(&outs, 3).is_empty());
    let d = persists(&outs);
    assert_eq!(d.len(), 1);
    let outs = c.on_persisted(ms(71), d[0], true);
    assert_eq!(reported_heartbeat(&sent_to(&outs, 3)[0]), Some(hb.zxid));
}

#[test]
fn a_leader_counts_itself_only_once_its_epoch_is_stored() {
    let mut c = raw_core(3, Some(Durable::default()));
    let mut pending = persists(&c.start(ms(0)));
    for (t, from) in [(0, 3), (1, 1)] {
        pending.extend(persists(&c.receive(ms(t), from, &looking(3, 1))));
    }
    let outs = c.on_timeout(ms(11), true);
    pending.extend(persists(&outs));
    assert!(matches!(c.role(), Role::Leading { epoch: 1, .. }));
    let outs = c.on_timeout(ms(21), true);
    let hb = sent_to(&outs, 1)[0];
    // Sid 1 acknowledges, but my own epoch is not stored yet: no quorum.
    let outs = c.receive(ms(25), 1, &report(3, hb.zxid, 1, 1));
    assert!(!events(&outs).contains(&Event::Leading { epoch: 1 }));
    let d = *pending
        .iter()
        .find(|d| d.epoch == 1)
        .expect("epoch 1 persisted");
    let outs = c.on_persisted(ms(26), d, true);
    assert!(events(&outs).contains(&Event::Leading { epoch: 1 }));
}

#[test]
fn without_a_store_every_start_is_quarantined() {
    // Issue: the quarantine was skipped for a stored epoch of 0, exactly
    // the state of a peer that crashed before it stored its first epoch.
    let mut c = raw_core(1, None);
    c.start(ms(0));
    assert_eq!(c.promise_until(), Some(ms(500)));
    // With a store that holds epoch 0 nothing was ever acknowledged.
    let mut d = raw_core(1, Some(Durable::default()));
    d.start(ms(0));
    assert_eq!(d.promise_until(), None);
    let mut e = raw_core(
        1,
        Some(Durable {
            epoch: 1,
            round: 16,
        }),
    );
    e.start(ms(0));
    assert_eq!(e.promise_until(), Some(ms(500)));
}

#[test]
fn a_restart_before_the_store_cannot_confirm_two_leaders_with_one_epoch() {
    // The scenario: leader 3 confirmed with epoch 1 on sid 1's ack;
    // sid 1 restarts; with sid 2 it elects 2, which must not be confirmed
    // with epoch 1 while 3 still leads.
    //
    // (a) Sid 1 crashed after accepting and before storing: it never
    // acknowledged, so 3 was not confirmed on its ack.
    let mut c = raw_follower(Durable::default());
    let outs = c.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    assert!(sent_to(&outs, 3).is_empty());
    // (b) It crashed after storing and acknowledging: the restarted
    // process finds epoch 1, is quarantined, and reports epoch 1, so its
    // next leader proposes 2.
    let mut r = raw_core(
        1,
        Some(Durable {
            epoch: 1,
            round: 16,
        }),
    );
    let outs = r.start(ms(1000));
    assert_eq!(r.promise_until(), Some(ms(1500)));
    let mine = sent_to(&outs, 2);
    assert!(mine.iter().all(|m| m.peer_epoch == 1), "{mine:?}");
    // Leader 2 heartbeats epoch 2: sid 1 may not acknowledge it before its
    // quarantine ends, whatever 2 does.
    let r1 = r.fle().logicalclock();
    for (t, from) in [(1000, 2), (1001, 1)] {
        r.receive(
            ms(t),
            from,
            &Message::outgoing(ServerState::Looking, 2, 0, r1, 1),
        );
    }
    r.on_timeout(ms(1011), true);
    assert!(matches!(r.role(), Role::Following { leader: 2, .. }));
    let outs = r.receive(ms(1020), 2, &heartbeat(2, 2, false, 1, r1));
    for d in persists(&outs) {
        let more = r.on_persisted(ms(1020), d, true);
        assert!(sent_to(&more, 2).is_empty(), "acknowledged in quarantine");
    }
    assert!(sent_to(&outs, 2).is_empty(), "acknowledged in quarantine");
}

#[test]
fn a_restarted_peer_starts_above_its_rounds_and_ignores_stale_answers() {
    // Issue: a leader of round 1 that restarts at once took its old
    // followers' FOLLOWING answers for a new decision.
    let mut c = raw_core(
        3,
        Some(Durable {
            epoch: 1,
            round: 16,
        }),
    );
    let outs = c.start(ms(0));
    assert_eq!(c.fle().logicalclock(), 17);
    // The round reservation is written at once.
    assert!(persists(&outs).iter().any(|d| d.round > 17));
    let stale = Message::outgoing(ServerState::Following, 3, 0, 1, 1);
    c.receive(ms(1), 1, &stale);
    c.receive(ms(1), 2, &stale);
    c.on_timeout(ms(300), true);
    assert_eq!(c.role(), Role::Looking, "decided on stale answers");
}

#[test]
fn out_of_range_epochs_and_rounds_are_never_used() {
    let mut c = follower();
    use crate::election::RangeError;
    // Nothing is sent and nothing happens; only the drop is reported.
    for pe in [i64::MAX, 1 << 31, 1 << 32] {
        let hb = Message::outgoing(ServerState::Leading, 3, pe << 1, 1, pe);
        let outs = c.receive(ms(20), 3, &hb);
        let dropped = Output::OutOfRange {
            from: 3,
            error: RangeError::PeerEpoch(pe),
        };
        assert_eq!(outs, [dropped], "{pe}");
    }
    let hb = heartbeat(3, 1, false, 1, i64::MAX);
    let dropped = Output::OutOfRange {
        from: 3,
        error: RangeError::Round(i64::MAX),
    };
    assert_eq!(c.receive(ms(20), 3, &hb), [dropped]);
    assert_eq!(c.accepted_epoch(), 0);
}

#[test]
fn one_message_moves_an_epoch_only_a_bounded_step() {
    // Issue: a forged LEADING with peerEpoch 1000 from the leader's sid made
    // followers emit `following epoch=1000`.
    let mut c = follower();
    let outs = c.receive(ms(20), 3, &heartbeat(3, 1000, true, 1, 1));
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::Refused(r) if r.epoch == 1000)));
    assert!(events(&outs).is_empty(), "{outs:?}");
    assert_eq!(c.accepted_epoch(), 0);
    // Within the step it is taken.
    let outs = c.receive(ms(30), 3, &heartbeat(3, EPOCH_STEP, true, 2, 1));
    assert!(events(&outs).contains(&Event::Following {
        leader: 3,
        epoch: EPOCH_STEP
    }));
    // A leader raises its epoch by a bounded step per refusal.
    let (mut l, hb) = elected_leader();
    let outs = l.receive(ms(25), 1, &report(3, hb.zxid, 1, 1000));
    assert!(outs.iter().any(|o| matches!(o, Output::Refused(_))));
    assert_eq!(
        l.role(),
        Role::Leading {
            epoch: 1 + EPOCH_STEP,
            confirmed: false
        }
    );
}

/// Sid 1 of {1..5} decides for `leader` from its LEADING vote and two
/// FOLLOWING votes (as a joiner of a real ZooKeeper ensemble does) in
/// `round`, with peer epoch `pe`.
fn join_real(c: &mut Auto, now: u64, leader: Sid, round: i64, pe: i64) {
    // A zxid of epoch 0: a ZooKeeper server's currentEpoch is never below
    // its last zxid's epoch, and its vote's peer epoch after the sync is
    // above that currentEpoch.
    let z = 0x5;
    c.receive(
        ms(now),
        leader,
        &Message::outgoing(ServerState::Leading, leader, z, round, pe),
    );
    for from in [2, 3] {
        c.receive(
            ms(now),
            from,
            &Message::outgoing(ServerState::Following, leader, z, round, pe),
        );
    }
    assert!(
        matches!(c.role(), Role::Following { leader: l, .. } if l == leader),
        "{:?}",
        c.role()
    );
}

#[test]
fn following_epochs_behind_real_leaders_rise_when_the_leader_changes() {
    // Issue: `Following{leader:5,epoch:1}` then `Following{leader:4,epoch:1}`
    // behind real ZooKeeper leaders: 4's election vote carried its epoch
    // from before its sync.
    let mut c = Auto(core_of(1, &[1, 2, 3, 4, 5], Some(Durable::default())));
    c.start(ms(0));
    join_real(&mut c, 1, 5, 1, 1);
    // No heartbeat within syncLimit + 1 ticks: the vote is trusted.
    let outs = c.on_timeout(ms(601), true);
    assert!(events(&outs).contains(&Event::Following {
        leader: 5,
        epoch: 1
    }));
    // Leader 5 dies; 4 leads, its election vote still says epoch 1.
    c.on_connection(ms(700), 5, false);
    let outs = c.on_timeout(ms(800), true);
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, Event::LeaderLost { leader: 5, .. })));
    let r = c.fle().logicalclock();
    join_real(&mut c, 801, 4, r, 1);
    let outs = c.on_timeout(ms(1401), true);
    assert!(
        !events(&outs)
            .iter()
            .any(|e| matches!(e, Event::Following { .. })),
        "{outs:?}"
    );
    // Instead I ask 4 for its current vote with a LOOKING notification...
    let probe = sent_to(&outs, 4);
    assert!(probe
        .iter()
        .any(|m| m.server_state() == Some(ServerState::Looking)));
    // ... and 4 answers with its vote after its sync: epoch 2.
    let v = Message::outgoing(ServerState::Leading, 4, 0x5, 2, 2);
    let outs = c.receive(ms(1402), 4, &v);
    assert!(events(&outs).contains(&Event::Following {
        leader: 4,
        epoch: 2
    }));
}

// ------------------------------------------------------------ fail-over

#[test]
fn a_stopping_leader_steps_down_then_sends_a_departure_that_releases() {
    let (mut c, hb) = elected_leader();
    c.receive(ms(25), 1, &report(3, hb.zxid, 1, 1));
    let outs = c.0.stop(ms(30));
    // The step-down comes before any message, and every message is the
    // departure notice: LOOKING, zxid -1, a later round.
    let first_send = outs
        .iter()
        .position(|o| matches!(o, Output::Send { .. }))
        .unwrap();
    let lost = outs
        .iter()
        .position(|o| matches!(o, Output::Event(Event::LeadershipLost { .. })))
        .unwrap();
    assert!(lost < first_send);
    let d = c.departure();
    assert_eq!(d.server_state(), Some(ServerState::Looking));
    assert_eq!(d.zxid, -1);
    assert!(d.election_epoch > hb.election_epoch);
    assert_eq!(sent_to(&outs, 1), [d]);
    assert_eq!(sent_to(&outs, 2), [d]);
    assert!(c.0.stop(ms(31)).is_empty(), "stop is idempotent");
    assert!(c.receive(ms(32), 1, &looking(1, 5)).is_empty());

    // A follower that acknowledged 3 is released by it and looks again.
    let mut f = follower();
    f.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    assert!(f.promise_until().is_some());
    let outs = f.receive(ms(40), 3, &d);
    assert!(events(&outs).contains(&Event::LeaderLost {
        leader: 3,
        reason: LossReason::LeaderLooking
    }));
    assert_eq!(f.promise_until(), None);
    // FLE took the notice for no vote: my proposal is my own.
    assert_eq!(f.fle().proposal().leader, 1);
}

#[test]
fn a_departure_from_another_peer_releases_nothing() {
    let mut f = follower();
    f.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    let notice = Message::outgoing(ServerState::Looking, 2, -1, 9, 1);
    f.receive(ms(30), 2, &notice);
    assert!(f.promise_until().is_some());
    assert!(matches!(f.role(), Role::Following { leader: 3, .. }));
}

#[test]
fn a_refused_reconnect_ends_the_term_but_keeps_the_promise() {
    let mut f = follower();
    f.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    let outs = f.on_connection(ms(30), 3, false);
    assert!(outs.contains(&Output::Connect(3)));
    // Refused: maybe a firewall in front of a live leader.
    let o = f.0.on_refused(ms(31), 3);
    assert!(events(&o).contains(&Event::LeaderLost {
        leader: 3,
        reason: LossReason::Disconnected
    }));
    assert_eq!(f.promise_until(), Some(ms(520)));
    // Refused from a peer I do not follow: nothing.
    let mut g = follower();
    g.on_connection(ms(30), 3, false);
    assert!(events(&g.0.on_refused(ms(31), 2)).is_empty());
}

#[test]
fn proof_of_death_releases_a_promise_up_to_the_recorded_epoch() {
    let mut f = follower();
    f.receive(ms(20), 3, &heartbeat(3, 2, false, 1, 1));
    assert_eq!(f.promised(), Some((Some(3), 2)));
    f.on_connection(ms(30), 3, false);
    // A lock left by an older run of 3 (epoch 1) proves nothing.
    f.0.on_peer_dead(ms(31), 3, 1);
    assert!(f.promise_until().is_some());
    assert!(matches!(f.role(), Role::Following { leader: 3, .. }));
    let o = f.0.on_peer_dead(ms(32), 3, 2);
    assert_eq!(f.promise_until(), None);
    assert!(events(&o).contains(&Event::LeaderLost {
        leader: 3,
        reason: LossReason::Disconnected
    }));
    // The quarantine after a restart (no leader known) is never released.
    let mut q = Auto(raw_core(1, None));
    q.start(ms(0));
    q.0.on_peer_dead(ms(1), 3, i64::MAX - 1);
    assert!(q.promise_until().is_some());
}

#[test]
fn fencing_mode_makes_no_promises_and_leaves_a_broken_leader_at_once() {
    let mut f = Auto(raw_core(1, Some(Durable::default())).with_mode(Mode::Fencing));
    f.start(ms(0));
    f.receive(ms(0), 1, &looking(1, 1));
    f.receive(ms(1), 3, &looking(3, 1));
    f.receive(ms(1), 1, &looking(3, 1));
    f.receive(ms(2), 2, &looking(3, 1));
    f.on_timeout(ms(12), true);
    let hb = heartbeat(3, 1, false, 1, 1);
    let outs = f.receive(ms(21), 3, &hb);
    assert_eq!(sent_to(&outs, 3), [report(3, hb.zxid, 1, 1)]);
    assert_eq!(f.promise_until(), None);
    let outs = f.on_connection(ms(30), 3, false);
    assert!(events(&outs).contains(&Event::LeaderLost {
        leader: 3,
        reason: LossReason::Disconnected
    }));
    // A restart with a stored epoch is no quarantine either.
    let mut r = Auto(
        raw_core(
            1,
            Some(Durable {
                epoch: 4,
                round: 20,
            }),
        )
        .with_mode(Mode::Fencing),
    );
    r.start(ms(0));
    assert_eq!(r.promise_until(), None);
}

#[test]
fn a_leader_decided_early_heartbeats_at_once() {
    let mut c = core(3);
    c.start(ms(0));
    c.receive(ms(0), 3, &looking(3, 1));
    c.receive(ms(1), 1, &looking(3, 1));
    let outs = c.receive(ms(2), 2, &looking(3, 1));
    // Every voter agreed: no finalize wait, and no wait for the first
    // heartbeat either.
    assert!(matches!(c.role(), Role::Leading { epoch: 1, .. }));
    let hb = sent_to(&outs, 1);
    assert!(
        hb.iter()
            .any(|m| m.server_state() == Some(ServerState::Leading)),
        "{outs:?}"
    );
}

#[test]
fn a_departure_notice_lets_the_election_decide_without_the_departed() {
    // 1 follows 3, which departs; 2 and 1 then agree on 2 at once.
    let mut f = follower();
    f.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    let notice = Message::outgoing(ServerState::Looking, 3, -1, 2, 1);
    f.receive(ms(30), 3, &notice);
    assert_eq!(f.role(), Role::Looking);
    assert!(f.fle().known_down().contains(&3));
    let round = f.fle().logicalclock();
    let v2 = Message::outgoing(ServerState::Looking, 2, 0, round, 1);
    f.receive(ms(31), 2, &v2);
    f.receive(ms(31), 1, &v2);
    assert!(
        matches!(f.role(), Role::Following { leader: 2, .. }),
        "{:?}",
        f.role()
    );
}

#[test]
fn looking_votes_heard_while_decided_open_the_next_election() {
    // 2 starts its new election a moment before 1 hears 3's departure:
    // 1 is still following and FLE does not see 2's vote, but 1's next
    // election starts with it instead of waiting for 2's next re-send.
    let mut f = follower();
    f.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    let v2 = Message::outgoing(ServerState::Looking, 2, 5, 2, 1);
    f.receive(ms(30), 2, &v2);
    assert!(matches!(f.role(), Role::Following { leader: 3, .. }));
    let notice = Message::outgoing(ServerState::Looking, 3, -1, 2, 1);
    f.receive(ms(31), 3, &notice);
    assert_eq!(f.role(), Role::Looking);
    assert_eq!(
        f.fle().proposal(),
        Proposal::new(2, 5, 1),
        "2's better vote was adopted"
    );
}

#[test]
fn a_heartbeat_heard_while_looking_is_taken_when_i_decide_to_follow_its_sender() {
    let mut c = core(1);
    c.start(ms(0));
    c.receive(ms(0), 1, &looking(1, 1));
    c.receive(ms(1), 3, &looking(3, 1));
    c.receive(ms(1), 1, &looking(3, 1));
    // A quorum for 3 (2 has not voted): my finalize wait runs. 3 decided
    // early and heartbeats; its heartbeat does not end my wait.
    assert!(c.fle().finalizing());
    let hb = heartbeat(3, 1, false, 1, 1);
    c.receive(ms(2), 3, &hb);
    assert!(c.fle().finalizing());
    let outs = c.on_timeout(ms(11), true);
    assert!(
        matches!(c.role(), Role::Following { leader: 3, .. }),
        "{:?}",
        c.role()
    );
    // And its heartbeat is taken at once: accepted and acknowledged.
    assert!(
        events(&outs).contains(&Event::EpochAccepted { epoch: 1 }),
        "{outs:?}"
    );
    // (Then a hello: the leader is not confirmed yet, and answers it with
    // its latest heartbeat.)
    assert_eq!(sent_to(&outs, 3)[0], report(3, hb.zxid, 1, 1));
}

#[test]
fn a_follower_that_trusts_its_leaders_vote_reports_that_epoch_in_its_own() {
    // Simulator seed 30175: sid 3 decided for leader 2 from 2's LEADING
    // vote, was paused past the trust wait and on resuming (timers first)
    // trusted the vote: `Following { leader: 2, epoch: 3 }`. The heartbeats
    // that followed fire nothing new, and its FLE vote kept the peer epoch
    // of the election, 2, while 2 and 4 said 3: a joiner (FLE's
    // out-of-election votes match on the peer epoch) never found a quorum
    // and stayed LOOKING. A follower reports the epoch it follows in its
    // vote, as a ZooKeeper follower does after its sync.
    let mut c = core(1);
    c.start(ms(0));
    let z = 0x1_0000_0005;
    c.receive(
        ms(1),
        3,
        &Message::outgoing(ServerState::Leading, 3, z, 1, 1),
    );
    c.receive(
        ms(1),
        2,
        &Message::outgoing(ServerState::Following, 3, z, 1, 1),
    );
    assert!(matches!(c.role(), Role::Following { leader: 3, .. }));
    assert_eq!(c.fle().current_vote().peer_epoch, 1);
    // The leader's vote after its confirmation says epoch 2.
    c.receive(
        ms(2),
        3,
        &Message::outgoing(ServerState::Leading, 3, z, 1, 2),
    );
    // No heartbeat within syncLimit + 1 ticks: the vote is trusted.
    let outs = c.on_timeout(ms(601), true);
    assert!(
        events(&outs).contains(&Event::Following {
            leader: 3,
            epoch: 2
        }),
        "{outs:?}"
    );
    assert_eq!(c.fle().current_vote().peer_epoch, 2);
    // Its confirmed heartbeats fire nothing new; the vote stays.
    let hb = heartbeat(3, 2, true, 1, 1);
    let outs = c.receive(ms(602), 3, &hb);
    assert!(!events(&outs)
        .iter()
        .any(|e| matches!(e, Event::Following { .. })));
    assert_eq!(c.fle().current_vote().peer_epoch, 2);
}

#[test]
fn a_followers_vote_with_a_heartbeats_zxid_is_no_acknowledgement() {
    // Simulator seed 5317: the vote's zxid (the host's) equalled heartbeat
    // number 2 of epoch 1 before confirmation (then `(0 << 32) | 2`; the
    // counter now starts from the round, so it is that here). A
    // follower whose store failed answered a LOOKING notification with its
    // vote, which the leader counted as an acknowledgement of that
    // heartbeat: confirmed with the epoch stored only at itself.
    let (mut c, hb1) = elected_leader();
    let outs = c.on_timeout(c.next_deadline().unwrap(), true);
    let hb2 = sent_to(&outs, 1)[0];
    let z2 = heartbeat_zxid(1, false, super::leader::first_seq(1) + 1);
    assert_eq!(hb2.zxid, z2, "{hb1:?} {hb2:?}");
    let vote = Message::outgoing(ServerState::Following, 3, z2, 1, 1);
    c.receive(ms(60), 1, &vote);
    assert!(matches!(
        c.role(),
        Role::Leading {
            confirmed: false,
            ..
        }
    ));
    c.receive(ms(61), 1, &report(3, hb2.zxid, 1, 1));
    assert!(matches!(
        c.role(),
        Role::Leading {
            confirmed: true,
            ..
        }
    ));
}

#[test]
fn a_restart_that_knows_its_last_promise_is_quarantined_only_against_others() {
    let stored = Durable {
        epoch: 2,
        round: 20,
    };
    // A follower that last promised 3: may acknowledge 3 again at once,
    // nobody else, and may not count itself.
    let mut f = Auto(raw_core(1, Some(stored)).with_earlier_promise(3));
    f.start(ms(0));
    assert_eq!(f.promised(), Some((Some(3), 2)));
    // The earlier leader's death releases it.
    f.0.on_peer_dead(ms(1), 3, 2);
    assert_eq!(f.promise_until(), None);
    // Without the record: the full quarantine.
    let mut q = Auto(raw_core(3, Some(stored)));
    q.start(ms(0));
    assert_eq!(q.promised(), Some((None, i64::MAX)));
}

#[test]
fn a_promise_is_reported_for_the_lock_file_when_it_changes() {
    let mut f = follower();
    let outs = f.receive(ms(20), 3, &heartbeat(3, 1, false, 1, 1));
    assert!(outs.contains(&Output::Promised {
        leader: 3,
        epoch: 1
    }));
    // Renewing the same promise writes nothing.
    let outs = f.receive(ms(30), 3, &heartbeat(3, 1, true, 2, 1));
    assert!(!outs.iter().any(|o| matches!(o, Output::Promised { .. })));
}

#[test]
fn a_follower_that_decided_before_any_heartbeat_says_hello_and_gets_one() {
    let mut f = core(1);
    f.start(ms(0));
    f.receive(ms(0), 1, &looking(1, 1));
    f.receive(ms(1), 3, &looking(3, 1));
    f.receive(ms(1), 1, &looking(3, 1));
    let outs = f.on_timeout(ms(12), true);
    assert!(matches!(f.role(), Role::Following { leader: 3, .. }));
    let hello = sent_to(&outs, 3);
    assert!(
        hello
            .iter()
            .any(|m| m.server_state() == Some(ServerState::Following) && m.leader == 3),
        "{outs:?}"
    );
    // The leader answers a hello with its latest heartbeat.
    let (mut l, _) = elected_leader();
    let outs = l.receive(ms(30), 2, &hello[0]);
    let beats = sent_to(&outs, 2);
    assert_eq!(beats.len(), 1, "{outs:?}");
    assert_eq!(beats[0].server_state(), Some(ServerState::Leading));
    assert_eq!(beats[0].peer_epoch, 1);
}

// ------------------------------------------------------------ mixed ensembles

use crate::election::{FOLLOW_ONLY_EPOCH, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_ZXID};
use crate::leadership::FollowOnly;

/// A ZooKeeper learner connects to the quorum port of an unconfirmed
/// leader (auto): it gives up at once, and its new election votes
/// follow-only with the "learned" zxid, which tells the other peers.
#[test]
fn an_unconfirmed_leader_that_real_servers_try_to_sync_with_gives_up() {
    let (mut c, _) = elected_leader();
    assert!(!c.follows_only());
    let outs = c.on_zab_contact(ms(25));
    let ev = events(&outs);
    assert!(
        ev.contains(&Event::LeadershipFailed {
            epoch: 1,
            reason: LossReason::NotConfirmed
        }),
        "{ev:?}"
    );
    assert_eq!(c.role(), Role::Looking);
    assert!(c.follows_only() && c.knows_real_members());
    let vote = Message::outgoing(
        ServerState::Looking,
        3,
        FOLLOW_ONLY_MIXED_ZXID,
        c.fle().logicalclock(),
        FOLLOW_ONLY_EPOCH,
    );
    assert!(sent_to(&outs, 1).contains(&vote), "{outs:?}");
    // It adopts a real vote, and never leads on votes for itself.
    c.receive(ms(26), 1, &looking(1, c.fle().logicalclock()));
    assert_eq!(c.fle().proposal(), Proposal::new(1, 0, 0));
}

/// `followOnly=false` keeps leading; `followOnly=true` never proposes itself.
#[test]
fn follow_only_settings_off_and_on() {
    let (c, _) = elected_leader();
    let mut off = Auto(c.0.clone().with_follow_only(FollowOnly::Off));
    let outs = off.on_zab_contact(ms(25));
    assert!(events(&outs).is_empty(), "{outs:?}");
    assert!(matches!(off.role(), Role::Leading { .. }));
    assert!(!off.follows_only());

    let mut on = Auto(raw_core(3, Some(Durable::default())).with_follow_only(FollowOnly::On));
    let outs = on.start(ms(0));
    let own = Message::outgoing(
        ServerState::Looking,
        3,
        FOLLOW_ONLY_ZXID,
        1,
        FOLLOW_ONLY_EPOCH,
    );
    assert!(sent_to(&outs, 1).contains(&own), "{outs:?}");
    // Votes for me from the others do not make me lead.
    on.receive(
        ms(1),
        1,
        &Message::outgoing(ServerState::Looking, 3, FOLLOW_ONLY_ZXID, 1, -1),
    );
    on.receive(ms(1), 3, &own);
    on.on_timeout(ms(30), true);
    assert_eq!(on.role(), Role::Looking);
}

/// A follower in auto mode that hears a voter's "learned" follow-only vote
/// votes follow-only in its next election; one with followOnly=false not.
#[test]
fn the_learned_follow_only_vote_teaches_the_other_zkelect_peers() {
    let mut c = follower();
    let learned = Message::outgoing(ServerState::Looking, 3, FOLLOW_ONLY_MIXED_ZXID, 2, -1);
    c.receive(ms(20), 3, &learned);
    assert!(c.knows_real_members() && c.follows_only());
    assert_eq!(c.role(), Role::Looking, "its leader looks in a later round");
    assert_eq!(
        c.fle().proposal(),
        Proposal::new(1, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_EPOCH)
    );

    let mut off = Auto(follower().0.with_follow_only(FollowOnly::Off));
    off.receive(ms(20), 3, &learned);
    assert!(off.knows_real_members() && !off.follows_only());
    assert_eq!(off.fle().proposal().leader, 1);
    assert_ne!(off.fle().proposal().epoch, FOLLOW_ONLY_EPOCH);
}

/// Behind a leader taken for a real ZooKeeper server (the ensemble is
/// known mixed): no trust wait. After a decision on LOOKING votes the
/// follower asks for the leader's vote once the leader's finalize wait is
/// over, ignores its pre-sync epoch, and follows at once with the epoch of
/// its sync.
#[test]
fn behind_a_real_leader_following_comes_with_the_epoch_of_its_sync() {
    let mut c = Auto(core_of(1, &[1, 2, 3], Some(Durable::default())));
    c.start(ms(0));
    let _ = c.0.on_zab_contact(ms(0));
    assert!(c.knows_real_members());
    let r = c.fle().logicalclock();
    // The real servers 2 and 3 vote for 3 (zxid 0, epoch 0): I adopt it.
    c.receive(ms(1), 3, &looking(3, r));
    c.receive(ms(1), 2, &looking(3, r));
    c.receive(ms(1), 1, &looking(3, r));
    c.on_timeout(ms(12), true);
    assert!(matches!(
        c.role(),
        Role::Following {
            leader: 3,
            epoch: None
        }
    ));
    // Decided at 1 ms (every voter agreed); nothing goes to 3 within a
    // finalize wait and a half (15 ms), as 3 may still be in its own.
    let outs = c.on_timeout(ms(12), true);
    assert!(sent_to(&outs, 3).is_empty(), "{outs:?}");
    let outs = c.on_timeout(ms(20), true);
    let probe = sent_to(&outs, 3);
    assert!(
        probe
            .iter()
            .any(|m| m.server_state() == Some(ServerState::Looking)),
        "{outs:?}"
    );
    // Its vote before its sync: epoch 0 is the old one; no Following.
    let pre = Message::outgoing(ServerState::Leading, 3, 0, r, 0);
    let outs = c.receive(ms(41), 3, &pre);
    assert!(!events(&outs)
        .iter()
        .any(|e| matches!(e, Event::Following { .. })));
    // After its sync: epoch 1, Following at once.
    let post = Message::outgoing(ServerState::Leading, 3, 0, r, 1);
    let outs = c.receive(ms(60), 3, &post);
    assert!(
        events(&outs).contains(&Event::Following {
            leader: 3,
            epoch: 1
        }),
        "{outs:?}"
    );
    assert_eq!(c.fle().current_vote().peer_epoch, 1);
}

/// Issue 17 (rolling restarts): I decided in a round above the leader's
/// (the others joined mine), and its LOOKING notification of its earlier
/// round, sent before it joined mine, arrives after my decision: stale, no
/// loss. The same from a restarted leader (its connection broke and came
/// back, and it starts again at round 1) ends the term.
#[test]
fn a_stale_looking_of_the_leader_is_no_loss_but_a_restarted_leaders_is() {
    let decided = || {
        let mut c = core(1);
        c.start(ms(0));
        c.receive(ms(1), 2, &looking(3, 3));
        c.receive(ms(1), 1, &looking(3, 3));
        c.on_timeout(ms(12), true);
        assert_eq!(
            c.role(),
            Role::Following {
                leader: 3,
                epoch: None
            }
        );
        c
    };
    let mut c = decided();
    let outs = c.receive(ms(15), 3, &looking(3, 2));
    assert!(events(&outs).is_empty(), "{outs:?}");
    assert!(matches!(c.role(), Role::Following { leader: 3, .. }));

    let mut c = decided();
    c.on_connection(ms(15), 3, false);
    c.on_connection(ms(16), 3, true);
    let outs = c.receive(ms(17), 3, &looking(3, 1));
    assert!(
        events(&outs).contains(&Event::LeaderLost {
            leader: 3,
            reason: LossReason::LeaderLooking
        }),
        "{outs:?}"
    );
}
