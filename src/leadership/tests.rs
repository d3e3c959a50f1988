//! Unit tests of the leadership layer, rule by rule, on single machines fed
//! by hand. Whole ensembles under faults are in `tests/leadership.rs`.

use super::*;
use crate::election::{Fle, Message, Settings};
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

fn core(me: Sid) -> Core {
    let qv = Arc::new(QuorumVerifier::Majority(Majority::new([1, 2, 3], [], 0)));
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
    Core::new(fle, timing(), 0)
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
fn elected_leader() -> (Core, Message) {
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
fn follower() -> Core {
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
    assert_eq!((hb.peer_epoch, hb.zxid), (1, heartbeat_zxid(1, false, 1)));
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

#[test]
fn follower_accepts_acknowledges_and_follows_a_confirmed_leader() {
    let mut c = follower();
    // The leader's election vote is not a heartbeat.
    let vote = Message::outgoing(ServerState::Leading, 3, 0, 1, 0);
    assert!(c.receive(ms(20), 3, &vote).is_empty());
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
