//! Rule-by-rule tests of the state machine (spec 4, 5.2 to 5.11). Each test
//! is named after the rule it pins down and fails when that rule is broken.
//!
//! One file over 500 lines on purpose: the tests share one set of helpers
//! and are grouped under banners by spec section, so a rule's test is found
//! by its section.

use super::{Action, Decision, Fle, Message, Proposal, Settings};
use crate::quorum::{Hierarchical, Majority, QuorumVerifier};
use crate::types::{LearnerType, ServerState, Sid, Vote, NO_VOTE};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ServerState::{Following, Leading, Looking, Observing};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The proposal `(leader, zxid, epoch)`.
fn p(leader: Sid, zxid: i64, epoch: i64) -> Proposal {
    Proposal::new(leader, zxid, epoch)
}

fn maj(voters: &[Sid], observers: &[Sid]) -> Arc<QuorumVerifier> {
    Arc::new(QuorumVerifier::Majority(Majority::new(
        voters.iter().copied(),
        observers.iter().copied(),
        0,
    )))
}

fn three() -> Arc<QuorumVerifier> {
    maj(&[1, 2, 3], &[])
}

fn five() -> Arc<QuorumVerifier> {
    maj(&[1, 2, 3, 4, 5], &[])
}

/// min 200 ms, max 1000 ms, so the doubling runs 200, 400, 800, 1000.
fn settings(sid: Sid, learner_type: LearnerType, finalize: Duration) -> Settings {
    Settings {
        my_sid: sid,
        learner_type,
        min_notification_interval: ms(200),
        max_notification_interval: ms(1000),
        finalize_wait: finalize,
    }
}

/// A participant whose finalize wait is 50 ms (distinct from the 200 ms
/// poll, so the two deadlines can be told apart).
fn peer(sid: Sid, qv: Arc<QuorumVerifier>) -> Fle {
    Fle::new(settings(sid, LearnerType::Participant, ms(50)), qv)
}

/// A participant that decides as soon as a quorum appears: counting tests
/// observe "counted" as "decided".
fn eager(sid: Sid, qv: Arc<QuorumVerifier>) -> Fle {
    Fle::new(settings(sid, LearnerType::Participant, Duration::ZERO), qv)
}

fn observer(sid: Sid, qv: Arc<QuorumVerifier>, finalize: Duration) -> Fle {
    Fle::new(settings(sid, LearnerType::Observer, finalize), qv)
}

fn looking(leader: Sid, zxid: i64, round: i64, pe: i64) -> Message {
    Message::outgoing(Looking, leader, zxid, round, pe)
}

fn following(leader: Sid, zxid: i64, round: i64, pe: i64) -> Message {
    Message::outgoing(Following, leader, zxid, round, pe)
}

fn leading(leader: Sid, zxid: i64, round: i64, pe: i64) -> Message {
    Message::outgoing(Leading, leader, zxid, round, pe)
}

fn sends(actions: &[Action]) -> Vec<(Sid, Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, msg } => Some((*to, *msg)),
            _ => None,
        })
        .collect()
}

fn decision(actions: &[Action]) -> Option<Decision> {
    actions.iter().find_map(|a| match a {
        Action::Decided(d) => Some(*d),
        _ => None,
    })
}

/// The notification `msg` sent to each of `to`, in sid order.
fn to_all(to: &[Sid], msg: Message) -> Vec<(Sid, Message)> {
    to.iter().map(|&s| (s, msg)).collect()
}

// ---------------------------------------------------------------- 5.2 / 5.3

#[test]
fn initial_vote_participant_proposes_itself_with_zxid_and_epoch() {
    let mut f = peer(2, three());
    let acts = f.start(ms(0), 0x1_0000_0005, 1);
    assert_eq!(f.proposal(), p(2, 0x1_0000_0005, 1));
    assert_eq!(f.state(), Looking);
    assert_eq!(
        sends(&acts),
        to_all(&[1, 2, 3], looking(2, 0x1_0000_0005, 1, 1))
    );
    // Spec 4: before the first decision the current vote is the initial
    // vote with round -1.
    assert_eq!(f.current_vote(), Vote::looking(2, 0x1_0000_0005, -1, 1));
}

#[test]
fn initial_vote_non_voting_participant_has_min_leader_but_real_zxid_and_epoch() {
    // Sid 4 is a participant by role but not in the committed voters.
    let mut f = peer(4, three());
    let acts = f.start(ms(0), 7, 2);
    assert_eq!(f.proposal(), p(NO_VOTE, 7, 2));
    // It is not a voter, so its own loopback is not among the destinations.
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(NO_VOTE, 7, 1, 2)));
}

#[test]
fn initial_vote_observer_is_all_min_and_not_sent_to_itself() {
    let mut f = observer(4, maj(&[1, 2, 3], &[4]), ms(50));
    let acts = f.start(ms(0), 0x3_0000_0001, 3);
    assert_eq!(f.proposal(), p(NO_VOTE, NO_VOTE, NO_VOTE));
    assert_eq!(
        sends(&acts),
        to_all(&[1, 2, 3], looking(NO_VOTE, NO_VOTE, 1, NO_VOTE))
    );
}

#[test]
fn logicalclock_increments_per_start() {
    let mut f = eager(1, three());
    assert_eq!(f.logicalclock(), 0);
    for round in 1..=3 {
        let acts = f.start(ms(round as u64), 0, 0);
        assert_eq!(f.logicalclock(), round);
        assert!(sends(&acts).iter().all(|(_, m)| m.election_epoch == round));
    }
    // Also after a decision (the host's restart after leader loss).
    f.receive(ms(10), 1, &looking(3, 0, 3, 0));
    f.receive(ms(10), 2, &looking(3, 0, 3, 0));
    assert_eq!(f.state(), Following);
    f.start(ms(11), 0, 0);
    assert_eq!(f.logicalclock(), 4);
    assert_eq!(f.state(), Looking);
}

#[test]
fn send_notifications_goes_to_all_voters_including_self_not_observers() {
    let qv = maj(&[1, 2, 3, 4, 5], &[6, 7]);
    let mut f = peer(3, qv);
    let acts = f.start(ms(0), 0, 0);
    assert_eq!(acts.len(), 5);
    assert_eq!(sends(&acts), to_all(&[1, 2, 3, 4, 5], looking(3, 0, 1, 0)));
    // The re-send on a notification timeout goes to the same set.
    let acts = f.on_timeout(ms(200), true);
    assert_eq!(sends(&acts), to_all(&[1, 2, 3, 4, 5], looking(3, 0, 1, 0)));
}

// ---------------------------------------------------------------- 5.4 / 5.5

#[test]
fn same_round_adopts_better_vote_by_total_order() {
    let mut f = peer(1, three());
    f.start(ms(0), 5, 0);
    // (leader, zxid, epoch) offered, and whether it beats the proposal.
    let cases = [
        ((3, 4, 0), false), // lower zxid
        ((2, 5, 0), true),  // same epoch and zxid, higher id
        ((1, 5, 0), false), // same epoch and zxid, lower id
        ((3, 6, 0), true),  // higher zxid
        ((1, 0, 1), true),  // higher epoch beats higher zxid and id
        ((3, 9, 0), false), // lower epoch loses whatever the zxid
    ];
    for ((l, z, e), better) in cases {
        let before = f.proposal();
        let acts = f.receive(ms(1), 2, &looking(l, z, 1, e));
        if better {
            assert_eq!(f.proposal(), p(l, z, e), "should adopt {:?}", (l, z, e));
            assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(l, z, 1, e)));
        } else {
            assert_eq!(f.proposal(), before, "must not adopt {:?}", (l, z, e));
            assert!(sends(&acts).is_empty());
        }
    }
}

#[test]
fn newer_round_compares_against_initial_vote_not_current_proposal() {
    // Proposal (3,0,0) > offered (2,0,0) > initial (1,0,0): the jump must
    // take the offered vote, which a comparison with the proposal would not.
    let mut f = peer(1, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    assert_eq!(f.proposal(), p(3, 0, 0));
    let acts = f.receive(ms(2), 2, &looking(2, 0, 2, 0));
    assert_eq!(f.logicalclock(), 2);
    assert_eq!(f.proposal(), p(2, 0, 0));
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(2, 0, 2, 0)));

    // Proposal (3,0,0) > initial (2,0,0) > offered (1,0,0): the jump falls
    // back to the initial vote, neither the proposal nor the offered one.
    let mut f = peer(2, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    let acts = f.receive(ms(2), 1, &looking(1, 0, 5, 0));
    assert_eq!(f.logicalclock(), 5);
    assert_eq!(f.proposal(), p(2, 0, 0));
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(2, 0, 5, 0)));
}

#[test]
fn older_round_looking_ignored_by_election_but_answered_with_proposal() {
    let mut f = eager(1, three());
    f.start(ms(0), 0, 0);
    f.start(ms(1), 0, 0);
    assert_eq!(f.logicalclock(), 2);
    // A better vote from round 1: answered with my proposal and round only.
    let acts = f.receive(ms(2), 3, &looking(3, 0, 1, 0));
    assert_eq!(
        acts,
        vec![Action::Send {
            to: 3,
            msg: looking(1, 0, 2, 0)
        }]
    );
    assert_eq!(f.proposal(), p(1, 0, 0));
    assert_eq!(f.logicalclock(), 2);
    // Nor is an old-round vote counted: with my own vote it would make a
    // quorum for (1,0,2,0) if it were.
    f.receive(ms(3), 2, &looking(1, 0, 1, 0));
    let acts = f.receive(ms(3), 1, &looking(1, 0, 2, 0));
    assert_eq!(decision(&acts), None);
    assert_eq!(f.state(), Looking);
}

#[test]
fn recvset_cleared_on_round_jump() {
    // Round 1: FOLLOWING votes for 3 from 4 and 5 (peer epoch 1) sit in
    // recvset. In round 2, 3's LEADING vote (peer epoch 2) would make a
    // quorum with them (recvset entries match on id only), but only if they
    // survived the jump; out-of-election they do not match (peer epochs
    // differ and both sides carry version 2).
    let run = |jump: bool| {
        let mut f = eager(1, five());
        f.start(ms(0), 0, 0);
        f.receive(ms(1), 4, &following(3, 0, 1, 1));
        f.receive(ms(1), 5, &following(3, 0, 1, 1));
        assert_eq!(f.state(), Looking, "no LEADING entry yet");
        let round = if jump {
            f.receive(ms(2), 2, &looking(2, 0, 2, 0));
            assert_eq!(f.logicalclock(), 2);
            2
        } else {
            1
        };
        let acts = f.receive(ms(3), 3, &leading(3, 0, round, 2));
        decision(&acts)
    };
    // Control: without the jump the stale entries do count.
    assert_eq!(run(false).map(|d| d.state), Some(Following));
    assert_eq!(
        run(true),
        None,
        "round-1 FOLLOWING entries survived the jump"
    );
}

// ---------------------------------------------------------------- 5.9

/// Peer 3 of three, with a quorum for itself at 2 ms: the wait ends at 52 ms.
fn waiting_leader() -> Fle {
    let mut f = peer(3, three());
    f.start(ms(0), 0, 0);
    assert_eq!(decision(&f.receive(ms(1), 3, &looking(3, 0, 1, 0))), None);
    assert_eq!(f.next_deadline(), Some(ms(201)), "poll deadline, no quorum");
    let acts = f.receive(ms(2), 1, &looking(3, 0, 1, 0));
    assert!(acts.is_empty());
    assert_eq!(f.next_deadline(), Some(ms(52)));
    f
}

#[test]
fn finalize_wait_quorum_does_not_decide_before_wait_passes() {
    let mut f = waiting_leader();
    assert!(f.on_timeout(ms(51), true).is_empty());
    assert_eq!(f.state(), Looking);
    let acts = f.on_timeout(ms(52), true);
    let d = decision(&acts).expect("decides when the wait passes");
    assert_eq!(d.state, Leading);
    assert_eq!(d.elapsed, ms(52));
    assert_eq!(f.next_deadline(), None);
}

#[test]
fn finalize_wait_non_better_vote_is_discarded_and_does_not_extend_wait() {
    let mut f = waiting_leader();
    // Worse LOOKING vote, a worse FOLLOWING vote: consumed, nothing sent.
    assert!(f.receive(ms(10), 2, &looking(2, 0, 1, 0)).is_empty());
    assert!(f.receive(ms(20), 2, &following(1, 0, 1, 0)).is_empty());
    assert_eq!(f.next_deadline(), Some(ms(52)), "wait extended");
    // The reply rules still run: an old-round LOOKING voter is answered.
    let acts = f.receive(ms(30), 1, &looking(1, 0, 0, 0));
    assert_eq!(
        acts,
        vec![Action::Send {
            to: 1,
            msg: looking(3, 0, 1, 0)
        }]
    );
    assert_eq!(f.next_deadline(), Some(ms(52)));
    let d = decision(&f.on_timeout(ms(52), true)).expect("decides on time");
    assert_eq!(d.state, Leading);
}

#[test]
fn finalize_wait_better_vote_interrupts_and_is_adopted() {
    let mut f = peer(2, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 2, &looking(2, 0, 1, 0));
    f.receive(ms(2), 1, &looking(2, 0, 1, 0));
    assert_eq!(f.next_deadline(), Some(ms(52)), "waiting");
    let acts = f.receive(ms(10), 3, &looking(3, 0, 1, 0));
    assert_eq!(f.proposal(), p(3, 0, 0));
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(3, 0, 1, 0)));
    assert_eq!(f.next_deadline(), Some(ms(210)), "back to polling");
    assert!(decision(&f.on_timeout(ms(52), true)).is_none());
    // My loopback of the new proposal makes {2,3} a quorum for 3.
    assert!(f.receive(ms(11), 2, &looking(3, 0, 1, 0)).is_empty());
    assert_eq!(f.next_deadline(), Some(ms(61)));
    let d = decision(&f.on_timeout(ms(61), true)).unwrap();
    assert_eq!(d.state, Following);
    assert_eq!(d.vote.leader, 3);
}

#[test]
fn finalize_wait_better_vote_from_older_round_interrupts_but_is_not_adopted() {
    // Spec 5.9 has no round check in the wait: the vote goes back to the
    // main loop, which then ignores it as an older round.
    let mut f = peer(2, three());
    f.start(ms(0), 0, 0);
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 2, &looking(2, 0, 2, 0));
    f.receive(ms(2), 1, &looking(2, 0, 2, 0));
    assert_eq!(f.next_deadline(), Some(ms(52)));
    let acts = f.receive(ms(10), 3, &looking(3, 0, 1, 0));
    assert_eq!(
        acts,
        vec![Action::Send {
            to: 3,
            msg: looking(2, 0, 2, 0)
        }]
    );
    assert_eq!(f.proposal(), p(2, 0, 0));
    assert_eq!(f.next_deadline(), Some(ms(210)));
    // The re-send on timeout loops back and re-establishes the quorum.
    let acts = f.on_timeout(ms(210), true);
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(2, 0, 2, 0)));
    f.receive(ms(211), 2, &looking(2, 0, 2, 0));
    let d = decision(&f.on_timeout(ms(261), true)).unwrap();
    assert_eq!(d.state, Leading);
}

#[test]
fn finalize_wait_zero_decides_immediately() {
    let mut f = eager(3, three());
    f.start(ms(0), 0, 0);
    assert!(f.receive(ms(1), 3, &looking(3, 0, 1, 0)).is_empty());
    let d = decision(&f.receive(ms(2), 2, &looking(3, 0, 1, 0))).unwrap();
    assert_eq!(d.state, Leading);
    assert_eq!(d.elapsed, ms(2));
}

// ---------------------------------------------------------------- 5.4 b

#[test]
fn notification_timeout_doubles_from_min_to_max() {
    let mut f = peer(1, three());
    f.start(ms(0), 0, 0);
    assert_eq!(f.next_deadline(), Some(ms(200)));
    assert!(f.on_timeout(ms(199), true).is_empty(), "early wake-up");
    assert_eq!(f.next_deadline(), Some(ms(200)));
    // have_delivered: re-send the proposal to every voter.
    let acts = f.on_timeout(ms(200), true);
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(1, 0, 1, 0)));
    assert_eq!(f.next_deadline(), Some(ms(600)), "200 then 400");
    // Nothing delivered: connect instead of sending.
    let acts = f.on_timeout(ms(600), false);
    assert_eq!(acts, vec![Action::ConnectAll]);
    assert_eq!(f.next_deadline(), Some(ms(1400)), "then 800");
    f.on_timeout(ms(1400), true);
    assert_eq!(f.next_deadline(), Some(ms(2400)), "capped at 1000");
    f.on_timeout(ms(2400), true);
    assert_eq!(f.next_deadline(), Some(ms(3400)));
    // A message restarts the poll with the current interval, not the minimum.
    f.receive(ms(2500), 2, &looking(2, 0, 0, 0));
    assert_eq!(f.next_deadline(), Some(ms(3500)));
    assert_eq!(f.logicalclock(), 1, "timeouts never start a new round");
}

// ---------------------------------------------------------------- zxid -1

#[test]
fn my_zxid_minus_one_ignores_looking_notifications() {
    let mut f = eager(1, three());
    let acts = f.start(ms(0), -1, 0);
    // It still announces its own (abstaining) vote.
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(1, -1, 1, 0)));
    assert!(sends(&f.receive(ms(1), 2, &looking(2, 5, 1, 1))).is_empty());
    assert_eq!(f.proposal(), p(1, -1, 0));
    f.receive(ms(1), 3, &looking(3, 0, 4, 0));
    assert_eq!(f.logicalclock(), 1, "no round jump either");
    // It can still learn an established leader.
    f.receive(ms(2), 2, &following(3, 0, 7, 1));
    let d = decision(&f.receive(ms(2), 3, &leading(3, 0, 7, 1))).unwrap();
    assert_eq!((d.state, d.vote.leader), (Following, 3));
}

#[test]
fn notification_with_zxid_minus_one_is_ignored() {
    let mut f = eager(1, three());
    f.start(ms(0), 0, 0);
    assert!(f.receive(ms(1), 2, &looking(2, -1, 1, 5)).is_empty());
    assert_eq!(f.proposal(), p(1, 0, 0));
    assert!(f.receive(ms(1), 2, &looking(2, -1, 9, 0)).is_empty());
    assert_eq!(f.logicalclock(), 1);
}

/// ZooKeeper checks `getInitLastLoggedZxid() == -1`, which is
/// `Long.MIN_VALUE` for an observer (spec 5.2), so an observer whose data
/// tree reports -1 does not abstain.
#[test]
fn observer_with_zxid_minus_one_does_not_abstain() {
    let mut f = observer(4, maj(&[1, 2, 3], &[4]), ms(50));
    f.start(ms(0), -1, 0);
    f.receive(ms(1), 1, &looking(3, 0, 1, 0));
    assert_eq!(f.proposal(), p(3, 0, 0));
}

// ---------------------------------------------------------------- validity

#[test]
fn invalid_sender_is_ignored_by_election_and_answered() {
    let mut f = eager(1, maj(&[1, 2, 3], &[4]));
    f.start(ms(0), 0, 0);
    for from in [4, 9] {
        // Through the reply rules: answered with my current vote and round.
        let acts = f.receive(ms(1), from, &looking(3, 0, 1, 0));
        assert_eq!(
            acts,
            vec![Action::Send {
                to: from,
                msg: looking(1, 0, 1, 0)
            }]
        );
        // Straight to the election step: still ignored.
        assert!(f
            .on_notification(ms(1), from, &looking(3, 0, 1, 0))
            .is_empty());
        assert_eq!(f.proposal(), p(1, 0, 0));
    }
    // Nor are non-voters counted: own vote + two non-voters copying it.
    f.on_notification(ms(2), 1, &looking(1, 0, 1, 0));
    f.on_notification(ms(2), 4, &looking(1, 0, 1, 0));
    f.on_notification(ms(2), 9, &looking(1, 0, 1, 0));
    assert_eq!(f.state(), Looking);
}

#[test]
fn invalid_leader_is_ignored_by_election() {
    let mut f = eager(1, maj(&[1, 2, 3], &[4]));
    f.start(ms(0), 0, 0);
    for leader in [4, 9, NO_VOTE] {
        assert!(f.receive(ms(1), 2, &looking(leader, 9, 1, 9)).is_empty());
        assert!(f.receive(ms(1), 2, &looking(leader, 9, 6, 9)).is_empty());
        assert_eq!(f.proposal(), p(1, 0, 0));
        assert_eq!(f.logicalclock(), 1);
    }
    // A "quorum" following a non-voter is no quorum.
    f.receive(ms(2), 2, &following(4, 0, 1, 0));
    f.receive(ms(2), 3, &leading(4, 0, 1, 0));
    assert_eq!(f.state(), Looking);
}

// ---------------------------------------------------------------- 5.10

#[test]
fn end_state_leading_with_proposal_and_logicalclock() {
    let mut f = eager(3, three());
    f.start(ms(0), 0x2_0000_0004, 2);
    f.receive(ms(1), 1, &looking(1, 0, 4, 0)); // jump to round 4
    f.receive(ms(1), 3, &looking(3, 0x2_0000_0004, 4, 2));
    let d = decision(&f.receive(ms(1), 1, &looking(3, 0x2_0000_0004, 4, 2))).unwrap();
    assert_eq!(d.state, Leading);
    assert_eq!(
        (
            d.vote.leader,
            d.vote.zxid,
            d.vote.election_epoch,
            d.vote.peer_epoch
        ),
        (3, 0x2_0000_0004, 4, 2)
    );
    assert_eq!(f.state(), Leading);
    assert_eq!(f.current_vote(), d.vote);
    assert_eq!(f.next_deadline(), None);
}

#[test]
fn end_state_following_with_proposal_and_logicalclock() {
    let mut f = eager(1, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 3, &looking(3, 9, 2, 1)); // jump to round 2, adopt 3
    let d = decision(&f.receive(ms(1), 1, &looking(3, 9, 2, 1))).unwrap();
    assert_eq!(d.state, Following);
    assert_eq!(
        (
            d.vote.leader,
            d.vote.zxid,
            d.vote.election_epoch,
            d.vote.peer_epoch
        ),
        (3, 9, 2, 1)
    );
}

#[test]
fn end_state_observing_on_looking_path() {
    let mut f = observer(4, maj(&[1, 2, 3], &[4]), Duration::ZERO);
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 1, &looking(3, 0, 1, 0));
    assert_eq!(f.proposal(), p(3, 0, 0));
    let d = decision(&f.receive(ms(1), 3, &looking(3, 0, 1, 0))).unwrap();
    assert_eq!(d.state, Observing);
    assert_eq!(d.vote.leader, 3);
}

#[test]
fn end_state_observing_out_of_election_with_ns_fields_and_round() {
    let mut f = observer(4, maj(&[1, 2, 3], &[4]), ms(50));
    f.start(ms(0), 0, 0);
    assert!(decision(&f.receive(ms(1), 1, &following(3, 0x5_0000_0002, 8, 5))).is_none());
    let d = decision(&f.receive(ms(1), 3, &leading(3, 0x5_0000_0001, 8, 5))).unwrap();
    assert_eq!(d.state, Observing);
    assert_eq!(
        (
            d.vote.leader,
            d.vote.zxid,
            d.vote.election_epoch,
            d.vote.peer_epoch
        ),
        (3, 0x5_0000_0001, 8, 5)
    );
    assert_eq!(f.logicalclock(), 8, "out-of-election adopts n's round");
}

// ---------------------------------------------------------------- FOLLOWING / LEADING

#[test]
fn following_votes_in_current_round_count_via_recvset_on_id_only() {
    // Out-of-election these two would not match (both version 2, peer
    // epochs 9 and 10); in recvset they are stored with version 0.
    let mut f = peer(1, three());
    f.start(ms(0), 0, 0);
    assert!(decision(&f.receive(ms(1), 2, &following(3, 7, 1, 9))).is_none());
    let d = decision(&f.receive(ms(2), 3, &leading(3, 8, 1, 10))).unwrap();
    assert_eq!(d.state, Following);
    assert_eq!(
        (
            d.vote.leader,
            d.vote.zxid,
            d.vote.election_epoch,
            d.vote.peer_epoch
        ),
        (3, 8, 1, 10),
        "the returned vote is the deciding notification's"
    );
    assert_eq!(f.logicalclock(), 1);
}

#[test]
fn check_leader_requires_leaders_own_leading_entry() {
    let mut f = peer(1, five());
    f.start(ms(0), 0, 0);
    for from in [2, 4, 5] {
        assert!(decision(&f.receive(ms(1), from, &following(3, 0, 1, 0))).is_none());
    }
    assert_eq!(
        f.state(),
        Looking,
        "quorum of FOLLOWING but 3 never said LEADING"
    );
    // Someone else claiming LEADING for 3 does not do either.
    assert!(decision(&f.receive(ms(1), 2, &leading(3, 0, 1, 0))).is_none());
    // Nor does an entry from 3 that is not LEADING (3 following someone).
    assert!(decision(&f.receive(ms(1), 3, &following(1, 0, 1, 0))).is_none());
    assert!(decision(&f.receive(ms(1), 4, &following(3, 0, 1, 0))).is_none());
    assert_eq!(
        f.state(),
        Looking,
        "3's own entry says FOLLOWING, not LEADING"
    );
    let d = decision(&f.receive(ms(2), 3, &leading(3, 0, 1, 0))).unwrap();
    assert_eq!((d.state, d.vote.leader), (Following, 3));
}

#[test]
fn out_of_election_joiner_learns_established_leader() {
    let z = 0x2_0000_0003;
    let mut f = peer(4, five());
    f.start(ms(0), 0, 0);
    assert!(decision(&f.receive(ms(1), 1, &following(3, z, 7, 2))).is_none());
    assert!(decision(&f.receive(ms(1), 2, &following(3, z, 7, 2))).is_none());
    let d = decision(&f.receive(ms(1), 3, &leading(3, z, 7, 2))).unwrap();
    assert_eq!(d.state, Following);
    assert_eq!(
        (
            d.vote.leader,
            d.vote.zxid,
            d.vote.election_epoch,
            d.vote.peer_epoch
        ),
        (3, z, 7, 2)
    );
    assert_eq!(f.logicalclock(), 7);
}

#[test]
fn out_of_election_needs_matching_peer_epoch_between_modern_votes() {
    let mut f = peer(4, five());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 1, &following(3, 0, 7, 1));
    f.receive(ms(1), 2, &following(3, 0, 7, 1));
    assert!(decision(&f.receive(ms(1), 3, &leading(3, 0, 7, 2))).is_none());
    // A legacy (version 0) follower matches on id alone.
    let legacy = Message {
        version: 0,
        ..following(3, 0, 7, 1)
    };
    let d = decision(&f.receive(ms(2), 5, &legacy));
    assert_eq!(d.map(|d| (d.state, d.vote.leader)), Some((Following, 3)));
}

#[test]
fn joiner_with_best_vote_does_not_lead_established_ensemble() {
    // ZOOKEEPER-975: sid 5 has the highest zxid and sid, and the ensemble
    // it joins is in its own round 1.
    let mut f = eager(5, five());
    f.start(ms(0), 0x9_0000_0000, 9);
    f.receive(ms(1), 5, &looking(5, 0x9_0000_0000, 1, 9));
    f.receive(ms(1), 1, &following(3, 0, 1, 0));
    f.receive(ms(1), 2, &following(3, 0, 1, 0));
    let d = decision(&f.receive(ms(1), 3, &leading(3, 0, 1, 0))).unwrap();
    assert_eq!((d.state, d.vote.leader), (Following, 3));
}

#[test]
fn backward_election_round_no_leadership_from_older_round_followers() {
    // ZOOKEEPER-1514 (FLEBackwardElectionRoundTest): sid 0 in round 2 hears
    // FOLLOWING votes for itself from round 1.
    let qv = maj(&[0, 1, 2], &[]);
    let mut f = peer(0, qv.clone());
    f.start(ms(0), 0, 0);
    f.start(ms(0), 0, 0);
    assert!(decision(&f.receive(ms(1), 1, &following(0, 0, 1, 0))).is_none());
    assert!(decision(&f.receive(ms(1), 2, &following(0, 0, 1, 0))).is_none());
    assert_eq!(f.state(), Looking);
    // Control: the same votes in my own round do make me leader.
    let mut g = peer(0, qv);
    g.start(ms(0), 0, 0);
    g.receive(ms(1), 1, &following(0, 0, 1, 0));
    let d = decision(&g.receive(ms(1), 2, &following(0, 0, 1, 0))).unwrap();
    assert_eq!(d.state, Leading);
}

// ---------------------------------------------------------------- spec 4

#[test]
fn update_peer_epoch_changes_only_peer_epoch_of_current_vote() {
    let mut f = eager(1, three());
    f.start(ms(0), 0x1_0000_0009, 1);
    f.receive(ms(1), 3, &looking(3, 0x1_0000_0009, 1, 1));
    f.receive(ms(1), 2, &looking(3, 0x1_0000_0009, 1, 1));
    let before = f.current_vote();
    let (state, round, proposal) = (f.state(), f.logicalclock(), f.proposal());
    f.update_peer_epoch(2);
    assert_eq!(
        f.current_vote(),
        Vote {
            peer_epoch: 2,
            ..before
        }
    );
    assert_eq!(
        (f.state(), f.logicalclock(), f.proposal()),
        (state, round, proposal)
    );
    // What a joiner hears from me now.
    let acts = f.receive(ms(2), 2, &looking(2, 0, 5, 0));
    assert_eq!(
        acts,
        vec![Action::Send {
            to: 2,
            msg: following(3, 0x1_0000_0009, 1, 2)
        }]
    );
}

#[test]
fn decided_peer_answers_looking_voters_and_ignores_decided_ones() {
    let mut f = eager(1, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    f.receive(ms(1), 2, &looking(3, 0, 1, 0));
    assert_eq!(f.state(), Following);
    assert!(f.receive(ms(2), 3, &leading(3, 0, 1, 0)).is_empty());
    assert!(f.receive(ms(2), 2, &looking(2, 5, 9, 9)).len() == 1);
    assert!(f.on_timeout(ms(5000), true).is_empty());
    assert_eq!(f.state(), Following);
}

#[test]
fn restart_keeps_current_vote_until_next_decision() {
    let mut f = eager(1, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    f.receive(ms(1), 2, &looking(3, 0, 1, 0));
    let won = f.current_vote();
    f.start(ms(2), 0x1_0000_0000, 1);
    assert_eq!(f.state(), Looking);
    assert_eq!(f.current_vote(), won);
    // A probe (non-voter) hears the old vote with my new round.
    let acts = f.receive(ms(3), 9, &looking(0, 0, 0, 0));
    assert_eq!(
        acts,
        vec![Action::Send {
            to: 9,
            msg: looking(3, 0, 2, 0)
        }]
    );
}

// ---------------------------------------------------------------- weights, reconfig

fn weighted_zero_three() -> Arc<QuorumVerifier> {
    let groups: BTreeMap<i64, BTreeSet<Sid>> =
        [(1, [1, 2, 3].into_iter().collect())].into_iter().collect();
    let weights: BTreeMap<Sid, u64> = [(1, 1), (2, 1), (3, 0)].into_iter().collect();
    Arc::new(QuorumVerifier::Hierarchical(Hierarchical::new(
        [1, 2, 3],
        [],
        groups,
        weights,
        0,
    )))
}

#[test]
fn zero_weight_vote_is_never_adopted_but_zero_weight_peer_adopts() {
    let mut f = peer(1, weighted_zero_three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 3, &looking(3, 100, 1, 100));
    assert_eq!(f.proposal(), p(1, 0, 0));
    // The zero-weight server starts by proposing itself...
    let mut z = peer(3, weighted_zero_three());
    z.start(ms(0), 0, 0);
    assert_eq!(z.proposal(), p(3, 0, 0));
    // ...keeps it against a lower (epoch, zxid, sid)...
    z.receive(ms(1), 2, &looking(2, 0, 1, 0));
    assert_eq!(z.proposal(), p(3, 0, 0));
    // ...and adopts a better weighted vote.
    z.receive(ms(1), 1, &looking(1, 1, 1, 0));
    assert_eq!(z.proposal(), p(1, 1, 0));
}

#[test]
fn next_config_needs_quorum_in_both() {
    let mut f = eager(3, maj(&[1, 2, 3], &[]));
    let next = Arc::new(QuorumVerifier::Majority(Majority::new([3, 4, 5], [], 1)));
    f.set_next_config(Some(next));
    let acts = f.start(ms(0), 0, 0);
    assert_eq!(
        sends(&acts).iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    assert!(decision(&f.receive(ms(1), 1, &looking(3, 0, 1, 0))).is_none());
    assert!(decision(&f.receive(ms(1), 2, &looking(3, 0, 1, 0))).is_none());
    let d = decision(&f.receive(ms(1), 4, &looking(3, 0, 1, 0))).unwrap();
    assert_eq!(d.state, Leading);
}

// ---------------------------------------------------------------- early finalize

/// The finalize wait of [`peer`].
const WAIT: Duration = Duration::from_millis(50);

#[test]
fn early_finalize_all_voters_agree_decides_without_the_wait() {
    // 3 has a quorum {3, 1} at 2 ms and waits for 2; 2's equal vote at 5 ms
    // completes the set and 3 leads then, not at 52 ms.
    let mut f = waiting_leader();
    let d = decision(&f.receive(ms(5), 2, &looking(3, 0, 1, 0))).expect("decides at once");
    assert_eq!(d.state, Leading);
    assert_eq!(d.elapsed, ms(5));
    assert!(d.elapsed < WAIT);
    assert_eq!(
        (d.vote.leader, d.vote.zxid, d.vote.election_epoch),
        (3, 0, 1)
    );
    assert_eq!(f.next_deadline(), None);
}

#[test]
fn early_finalize_one_voter_missing_waits_the_full_wait() {
    let mut f = waiting_leader();
    // 2 never speaks: nothing happens before the wait passes.
    assert!(f.on_timeout(ms(51), true).is_empty());
    assert_eq!(f.state(), Looking);
    let d = decision(&f.on_timeout(ms(52), true)).expect("decides when the wait passes");
    assert_eq!(d.state, Leading);
    assert_eq!(d.elapsed, ms(52));
}

#[test]
fn early_finalize_missing_voter_known_down_decides_at_once() {
    // Marked before the quorum appears: the quorum decides, no wait starts.
    let mut f = peer(3, three());
    f.start(ms(0), 0, 0);
    assert!(f.set_known_down(ms(0), 2, true).is_empty(), "no wait runs");
    assert_eq!(f.known_down(), &BTreeSet::from([2]));
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    let d = decision(&f.receive(ms(2), 1, &looking(3, 0, 1, 0))).expect("decides at once");
    assert_eq!((d.state, d.elapsed), (Leading, ms(2)));

    // Marked while the wait runs: the setter decides at its `now`.
    let mut f = waiting_leader();
    let d = decision(&f.set_known_down(ms(7), 2, true)).expect("decides when marked");
    assert_eq!((d.state, d.elapsed), (Leading, ms(7)));
    assert_eq!(f.next_deadline(), None);

    // Clearing the mark never decides, nor does marking a voter that
    // already agrees while another one is missing.
    let mut f = peer(3, five());
    f.start(ms(0), 0, 0);
    for from in [3, 1, 2] {
        f.receive(ms(1), from, &looking(3, 0, 1, 0));
    }
    assert_eq!(f.next_deadline(), Some(ms(51)), "waiting for 4 and 5");
    assert!(f.set_known_down(ms(2), 4, true).is_empty(), "5 is missing");
    assert!(f.set_known_down(ms(2), 4, false).is_empty());
    assert!(
        f.set_known_down(ms(3), 1, true).is_empty(),
        "4 and 5 missing"
    );
    assert!(f.set_known_down(ms(4), 4, true).is_empty(), "5 missing");
    let d = decision(&f.set_known_down(ms(5), 5, true)).expect("only down voters are missing");
    assert_eq!(d.elapsed, ms(5));
}

#[test]
fn early_finalize_known_down_voter_that_speaks_is_no_longer_known_down() {
    // 2 is marked before the election, then speaks with a worse vote of
    // this round: it is up and does not agree, so the wait runs its course.
    let mut f = peer(3, three());
    f.start(ms(0), 0, 0);
    assert!(f.set_known_down(ms(0), 2, true).is_empty());
    f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    f.receive(ms(1), 2, &looking(2, 0, 1, 0));
    assert!(f.known_down().is_empty(), "2 spoke");
    assert_eq!(decision(&f.receive(ms(2), 1, &looking(3, 0, 1, 0))), None);
    assert_eq!(f.next_deadline(), Some(ms(52)));
    assert!(f.on_timeout(ms(51), true).is_empty());
    // Marked again (it announced it stops, say): the mark decides.
    let d = decision(&f.set_known_down(ms(51), 2, true)).expect("decides when marked");
    assert_eq!((d.state, d.elapsed), (Leading, ms(51)));

    // A message the election does not count clears the mark too: here a
    // FOLLOWING vote of an older round.
    let mut g = peer(3, three());
    g.start(ms(0), 0, 0);
    assert!(g.set_known_down(ms(0), 2, true).is_empty());
    g.receive(ms(1), 2, &following(1, 0, 0, 0));
    assert!(g.known_down().is_empty());
    g.receive(ms(2), 3, &looking(3, 0, 1, 0));
    assert_eq!(decision(&g.receive(ms(2), 1, &looking(3, 0, 1, 0))), None);
    assert_eq!(g.next_deadline(), Some(ms(52)), "2 is up and silent");

    // So does the election step on its own, even while decided.
    let mut k = eager(1, three());
    k.start(ms(0), 0, 0);
    k.receive(ms(1), 3, &looking(3, 0, 1, 0));
    k.receive(ms(1), 2, &looking(3, 0, 1, 0));
    assert_eq!(k.state(), Following);
    assert!(k.set_known_down(ms(2), 3, true).is_empty());
    assert_eq!(k.known_down(), &BTreeSet::from([3]));
    assert!(k.on_notification(ms(3), 3, &leading(3, 0, 1, 0)).is_empty());
    assert!(k.known_down().is_empty());
    // Marking myself is ignored.
    assert!(k.set_known_down(ms(4), 1, true).is_empty());
    assert!(k.known_down().is_empty());
}

#[test]
fn early_finalize_needs_an_equal_vote_and_later_words_do_not_undo_it() {
    let mut f = waiting_leader();
    // 2's worse vote is no agreement: the wait goes on.
    assert!(f.receive(ms(3), 2, &looking(2, 0, 1, 0)).is_empty());
    assert_eq!(f.next_deadline(), Some(ms(52)));
    // 1 already sent an equal vote; what it says after (here it has decided
    // and answers FOLLOWING, then an older round) does not take it back: its
    // initial vote is below mine either way.
    assert!(f.receive(ms(4), 1, &following(3, 0, 1, 0)).is_empty());
    assert!(
        f.receive(ms(5), 1, &looking(1, 0, 0, 0)).len() == 1,
        "answered"
    );
    assert_eq!(f.next_deadline(), Some(ms(52)));
    let d = decision(&f.receive(ms(6), 2, &looking(3, 0, 1, 0))).expect("all agree");
    assert_eq!((d.state, d.elapsed), (Leading, ms(6)));
}

#[test]
fn early_finalize_better_vote_during_the_wait_still_interrupts() {
    // 2 of three waits on {2, 1} for itself with 3 marked down; 3 speaks
    // with a better vote: the mark goes, the wait ends, 3's vote is adopted.
    let mut f = peer(2, three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 2, &looking(2, 0, 1, 0));
    assert!(f.set_known_down(ms(1), 1, true).is_empty(), "no quorum yet");
    assert!(f.set_known_down(ms(1), 1, false).is_empty());
    let acts = f.receive(ms(2), 1, &looking(2, 0, 1, 0));
    assert_eq!(decision(&acts), None, "3 is missing");
    assert_eq!(f.next_deadline(), Some(ms(52)));
    let acts = f.receive(ms(10), 3, &looking(3, 0, 1, 0));
    assert_eq!(decision(&acts), None);
    assert_eq!(f.proposal(), p(3, 0, 0));
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(3, 0, 1, 0)));
    assert_eq!(f.next_deadline(), Some(ms(210)), "back to polling");
    // 1's late equal vote for the old proposal counts for nothing.
    assert!(decision(&f.receive(ms(11), 1, &looking(2, 0, 1, 0))).is_none());
    // The new proposal: {3, 2} is a quorum, 1 still names 2: wait; 1's vote
    // for 3 then completes the set.
    assert!(f.receive(ms(12), 2, &looking(3, 0, 1, 0)).is_empty());
    assert_eq!(f.next_deadline(), Some(ms(62)));
    let d = decision(&f.receive(ms(13), 1, &looking(3, 0, 1, 0))).expect("all agree on 3");
    assert_eq!((d.state, d.vote.leader, d.elapsed), (Following, 3, ms(13)));

    // A better vote from a voter marked down interrupts as well: 1 of five
    // waits on {1, 2, 3} for 2, with 4 missing and 5 marked down.
    let mut f = peer(1, five());
    f.start(ms(0), 0, 0);
    assert!(f.set_known_down(ms(0), 5, true).is_empty());
    for from in [2, 1, 3] {
        assert_eq!(
            decision(&f.receive(ms(1), from, &looking(2, 0, 1, 0))),
            None
        );
    }
    assert_eq!(f.next_deadline(), Some(ms(51)), "waiting for 4");
    let acts = f.receive(ms(3), 5, &looking(5, 0, 1, 0));
    assert_eq!(decision(&acts), None);
    assert!(f.known_down().is_empty(), "5 spoke");
    assert_eq!(f.proposal(), p(5, 0, 0));
    assert_eq!(f.next_deadline(), Some(ms(203)), "back to polling");
}

#[test]
fn early_finalize_discarded_equal_vote_completes_the_set() {
    // 1 of three adopts 3's vote; the quorum {2, 3} for 3 appears before my
    // own loopback of it. The wait discards that loopback (it does not beat
    // the proposal), but it is my agreement and completes the set.
    let mut f = peer(1, three());
    f.start(ms(0), 0, 0);
    let acts = f.receive(ms(1), 3, &looking(3, 0, 1, 0));
    assert_eq!(sends(&acts), to_all(&[1, 2, 3], looking(3, 0, 1, 0)));
    assert!(f.receive(ms(2), 2, &looking(3, 0, 1, 0)).is_empty());
    assert_eq!(
        f.next_deadline(),
        Some(ms(52)),
        "waiting: my own vote is missing"
    );
    let d = decision(&f.receive(ms(3), 1, &looking(3, 0, 1, 0))).expect("my loopback completes it");
    assert_eq!((d.state, d.vote.leader, d.elapsed), (Following, 3, ms(3)));
}

#[test]
fn early_finalize_does_not_wait_for_zero_weight_voters() {
    // Weights 1, 1, 0 in one group: {1, 2} is the quorum and 3 can never
    // originate a vote that beats mine, so 2 decides without hearing it.
    let mut f = peer(2, weighted_zero_three());
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 2, &looking(2, 0, 1, 0));
    let d = decision(&f.receive(ms(2), 1, &looking(2, 0, 1, 0))).expect("3 weighs nothing");
    assert_eq!((d.state, d.elapsed), (Leading, ms(2)));
    // A weighted voter is still required: 1 waits for 2's word... which
    // here is the vote that makes the quorum, and 3 is not needed.
    let mut g = peer(1, weighted_zero_three());
    g.start(ms(0), 0, 0);
    g.receive(ms(1), 2, &looking(2, 0, 1, 0));
    assert!(decision(&g.receive(ms(2), 3, &looking(2, 0, 1, 0))).is_none());
    let d = decision(&g.receive(ms(3), 1, &looking(2, 0, 1, 0))).expect("1 and 2 agree");
    assert_eq!((d.state, d.vote.leader, d.elapsed), (Following, 2, ms(3)));
}

#[test]
fn early_finalize_requires_the_voters_of_the_next_config() {
    let mut f = peer(3, maj(&[1, 2, 3], &[]));
    f.set_next_config(Some(Arc::new(QuorumVerifier::Majority(Majority::new(
        [3, 4, 5],
        [],
        1,
    )))));
    f.start(ms(0), 0, 0);
    for from in [3, 1, 2, 4] {
        assert!(decision(&f.receive(ms(1), from, &looking(3, 0, 1, 0))).is_none());
    }
    assert_eq!(f.next_deadline(), Some(ms(51)), "quorum in both, 5 missing");
    let d = decision(&f.receive(ms(2), 5, &looking(3, 0, 1, 0))).expect("all five agree");
    assert_eq!(d.elapsed, ms(2));
}

#[test]
fn early_finalize_observer_decides_when_all_voters_agree() {
    let mut f = observer(4, maj(&[1, 2, 3], &[4]), ms(50));
    f.start(ms(0), 0, 0);
    f.receive(ms(1), 1, &looking(3, 0, 1, 0));
    assert!(f.receive(ms(1), 3, &looking(3, 0, 1, 0)).is_empty());
    assert_eq!(f.next_deadline(), Some(ms(51)));
    let d = decision(&f.receive(ms(2), 2, &looking(3, 0, 1, 0))).unwrap();
    assert_eq!((d.state, d.elapsed), (Observing, ms(2)));
}

#[test]
fn early_finalize_off_keeps_zookeepers_timing() {
    let mut f = peer(3, three());
    f.set_early_finalize(false);
    assert!(!f.early_finalize());
    f.start(ms(0), 0, 0);
    for from in [3, 1, 2] {
        assert!(decision(&f.receive(ms(1), from, &looking(3, 0, 1, 0))).is_none());
    }
    assert!(f.set_known_down(ms(2), 2, true).is_empty());
    assert!(f.on_timeout(ms(50), true).is_empty());
    let d = decision(&f.on_timeout(ms(51), true)).unwrap();
    assert_eq!(d.elapsed, ms(51));
}

// ------------------------------------------------------------ follow-only

use super::{is_follow_only_vote, FOLLOW_ONLY_EPOCH, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_ZXID};

/// A follow-only participant's own vote is (me, -2, -1): every real vote
/// (peer epoch 0 and up) beats it, and it is not the abstaining zxid -1.
#[test]
fn follow_only_vote_is_below_every_real_vote_and_still_counts() {
    let mut f = eager(5, five());
    let _ = f.set_follow_only(Some(FOLLOW_ONLY_ZXID));
    let acts = f.start(ms(0), 0x1_0000_0007, 3);
    let msg = looking(5, FOLLOW_ONLY_ZXID, 1, FOLLOW_ONLY_EPOCH);
    assert_eq!(sends(&acts), to_all(&[1, 2, 3, 4, 5], msg));
    assert!(is_follow_only_vote(msg.zxid, msg.peer_epoch));
    assert_ne!(msg.zxid, -1, "ZooKeeper ignores zxid -1 (spec 5.4 c 1)");
    // A fresh real server's vote beats it by the total order, so a real
    // server never adopts it.
    let q = five();
    assert!(crate::election::total_order(
        &q,
        p(1, 0, 0),
        p(5, FOLLOW_ONLY_ZXID, FOLLOW_ONLY_EPOCH)
    ));
    // Another peer counts it as a LOOKING vote of my round (not ignored).
    let mut other = peer(1, five());
    let _ = other.start(ms(0), 0, 0);
    let _ = other.on_notification(ms(1), 5, &msg);
    assert_eq!(other.proposal(), p(1, 0, 0), "nobody adopts it");
}

/// A follow-only peer adopts real votes, never a vote naming itself nor
/// another follow-only peer's own vote, and never decides to lead, even on
/// a quorum of votes for itself.
#[test]
fn follow_only_never_adopts_itself_and_never_leads() {
    let mut f = eager(5, five());
    let _ = f.set_follow_only(Some(FOLLOW_ONLY_MIXED_ZXID));
    let _ = f.start(ms(0), 0, 0);
    // Another follow-only peer (sid 4) is not adopted...
    let _ = f.on_notification(ms(1), 4, &looking(4, FOLLOW_ONLY_ZXID, 1, -1));
    assert_eq!(
        f.proposal(),
        p(5, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_EPOCH)
    );
    // ... nor a vote naming me from an earlier life, however good.
    let _ = f.on_notification(ms(2), 1, &looking(5, 0x9_0000_0000, 1, 9));
    assert_eq!(
        f.proposal(),
        p(5, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_EPOCH)
    );
    // A quorum for me decides nothing (eager: it would decide at once).
    for from in [1, 2, 3, 5] {
        let acts = f.on_notification(ms(3), from, &looking(5, FOLLOW_ONLY_MIXED_ZXID, 1, -1));
        assert!(decision(&acts).is_none(), "{acts:?}");
    }
    // Decided peers naming me do not make me lead either.
    for from in [1, 2] {
        let acts = f.on_notification(ms(4), from, &following(5, 0, 1, 0));
        assert!(decision(&acts).is_none(), "{acts:?}");
    }
    let acts = f.on_notification(ms(4), 5, &leading(5, 0, 1, 0));
    assert!(decision(&acts).is_none(), "{acts:?}");
    // A real vote is adopted and sent on; a quorum for it decides.
    let acts = f.on_notification(ms(5), 3, &looking(3, 0, 1, 0));
    assert_eq!(f.proposal(), p(3, 0, 0));
    assert!(!sends(&acts).is_empty());
    let mut d = None;
    for from in [1, 2, 3, 4] {
        d = d.or(decision(&f.on_notification(
            ms(6),
            from,
            &looking(3, 0, 1, 0),
        )));
    }
    let d = d.expect("a decision for the real vote");
    assert_eq!((d.state, d.vote.leader), (Following, 3));
}

/// Set during an election: my own vote is replaced at once (and sent), a
/// proposal already adopted from someone else is kept.
#[test]
fn follow_only_set_while_looking_replaces_my_own_vote() {
    let mut f = peer(5, five());
    let _ = f.start(ms(0), 0, 0);
    let acts = f.set_follow_only(Some(FOLLOW_ONLY_MIXED_ZXID));
    assert_eq!(
        f.proposal(),
        p(5, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_EPOCH)
    );
    assert_eq!(
        sends(&acts),
        to_all(&[1, 2, 3, 4, 5], looking(5, FOLLOW_ONLY_MIXED_ZXID, 1, -1))
    );
    let mut g = peer(2, five());
    let _ = g.start(ms(0), 0, 0);
    let _ = g.on_notification(ms(1), 3, &looking(3, 0, 1, 0));
    assert!(g.set_follow_only(Some(FOLLOW_ONLY_ZXID)).is_empty());
    assert_eq!(g.proposal(), p(3, 0, 0));
    // An observer is not affected.
    let mut o = observer(6, maj(&[1, 2, 3], &[6]), ms(50));
    let _ = o.set_follow_only(Some(FOLLOW_ONLY_ZXID));
    let _ = o.start(ms(0), 0, 0);
    assert_eq!(o.proposal(), p(NO_VOTE, NO_VOTE, NO_VOTE));
}
