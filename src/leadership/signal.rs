//! The post-election messages, all ordinary version-2 notifications, and
//! which incoming notifications reach the leadership layer.

use crate::election::{respond, Message, View};
use crate::types::{epoch_of_zxid, ServerState, Sid, Zxid};

/// What happens to one incoming notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Sent straight back to the sender (ZooKeeper's reply rules, spec 5.11,
    /// unchanged).
    pub reply: Option<Message>,
    /// Given to the election (only while LOOKING, spec 5.11).
    pub deliver: bool,
    /// Given to the election thread at all: everything delivered, plus what
    /// a decided peer's leadership layer reads (see [`route`]), which
    /// ZooKeeper's receive thread would drop.
    pub forward: bool,
}

/// Spec 5.11's reply rules, plus forwarding of the voters' notifications
/// that a decided peer's leadership layer reads: every LOOKING one (a
/// follower that looks again, a leader that started a new election, a
/// release), every peer's own LEADING vote (heartbeats, a leader's election
/// vote, another leader's confirmed heartbeat), and the FOLLOWING or
/// OBSERVING ones that may concern me: a report or hello to me as leader,
/// anything from my leader, and, as a follower, any that names a leader
/// other than mine (a hello to me; the view does not hold my sid). The rest
/// (a LEADING vote for someone else, a fellow follower's vote for my own
/// leader, a follower's vote for another leader while I lead) nothing
/// reads, and a flood of them stops at the receive thread.
pub fn route(view: &View, from: Sid, sender_is_voter: bool, msg: &Message) -> Route {
    let r = respond(view, sender_is_voter, msg);
    let forward = r.deliver || (sender_is_voter && needed_when_decided(view, from, msg));
    Route {
        reply: r.reply,
        deliver: r.deliver,
        forward,
    }
}

/// Whether the leadership layer of a decided peer reads this voter's
/// notification from `from` (see [`route`]); `msg.leader` is the sender's
/// vote.
fn needed_when_decided(view: &View, from: Sid, msg: &Message) -> bool {
    let mine = view.current_vote.leader;
    match (view.state, msg.server_state()) {
        (ServerState::Looking, _) | (_, None) => false,
        (_, Some(ServerState::Looking)) => true,
        // A sender that says LEADING for someone else is no leader.
        (_, Some(ServerState::Leading)) => msg.leader == from,
        // I lead: reports and hellos name me.
        (ServerState::Leading, Some(_)) => msg.leader == mine,
        (_, Some(_)) => from == mine || msg.leader != mine,
    }
}

/// The zxid a leader puts in heartbeat number `seq` of epoch `epoch`:
/// `(epoch << 32) | seq` once confirmed, which is how a ZooKeeper leader's
/// zxids look after NEWLEADER (epoch `epoch`, counter growing), and
/// `((epoch − 1) << 32) | seq` before, still in the previous epoch. The
/// counter lets an acknowledgement name the heartbeat it answers.
pub fn heartbeat_zxid(epoch: i64, confirmed: bool, seq: u32) -> Zxid {
    let e = if confirmed { epoch } else { epoch - 1 };
    (e << 32) | i64::from(seq)
}

/// A heartbeat: my LEADING vote with the term's epoch as peer epoch.
pub fn heartbeat(me: Sid, epoch: i64, confirmed: bool, seq: u32, round: i64) -> Message {
    Message::outgoing(
        ServerState::Leading,
        me,
        heartbeat_zxid(epoch, confirmed, seq),
        round,
        epoch,
    )
}

/// Whether a LEADING notification says its epoch is confirmed: its zxid is
/// in the epoch it carries. Never true for a real ZooKeeper leader's
/// election vote, whose zxid is from an earlier epoch.
pub fn says_confirmed(msg: &Message) -> bool {
    epoch_of_zxid(msg.zxid) == msg.peer_epoch
}

/// A follower's report to its leader, answering the heartbeat whose zxid it
/// names. `epoch` equal to the heartbeat's is an acknowledgement; higher,
/// a refusal that tells the leader what I accepted.
///
/// The zxid field carries the heartbeat's zxid inverted (`!echo`, at most
/// −2 as heartbeat zxids are at least 1), so that a report can never be
/// mistaken for the follower's FOLLOWING vote: that vote (an answer of the
/// reply rules to a LOOKING notification, or a hello) has the same leader,
/// round and peer epoch, and its zxid, a host's, may well equal a
/// heartbeat's (`(E − 1) << 32 | seq` is what a host's last zxid looks
/// like); taken for an acknowledgement it would count a follower that has
/// not stored the epoch. A vote's zxid is never below −1.
pub fn report(leader: Sid, echo: Zxid, round: i64, epoch: i64) -> Message {
    Message::outgoing(ServerState::Following, leader, !echo, round, epoch)
}

/// The heartbeat zxid a [`report`] names, or `None` for a FOLLOWING
/// notification that is no report (a vote).
pub fn reported_heartbeat(msg: &Message) -> Option<Zxid> {
    (msg.zxid <= -2 && msg.zxid != i64::MIN).then_some(!msg.zxid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Vote;

    fn view(state: ServerState) -> View {
        View {
            state,
            current_vote: Vote {
                state,
                ..Vote::looking(3, 0, 1, 0)
            },
            logicalclock: 1,
            proposal: crate::election::Proposal::new(3, 0, 0),
        }
    }

    #[test]
    fn confirmed_heartbeat_zxid_is_the_epoch_then_a_counter() {
        assert_eq!(heartbeat_zxid(5, true, 0), 5 << 32);
        assert_eq!(heartbeat_zxid(5, true, 7), (5 << 32) | 7);
        assert_eq!(heartbeat_zxid(5, false, 7), (4 << 32) | 7);
        assert_eq!(heartbeat_zxid(1, true, u32::MAX), (1 << 32) | 0xffff_ffff);
        assert!(says_confirmed(&heartbeat(3, 5, true, 9, 1)));
        assert!(!says_confirmed(&heartbeat(3, 5, false, 9, 1)));
    }

    #[test]
    fn decided_peers_forward_voters_notifications_and_keep_the_replies() {
        let hb = heartbeat(3, 2, false, 0, 1);
        let r = route(&view(ServerState::Following), 3, true, &hb);
        assert_eq!((r.reply, r.deliver, r.forward), (None, false, true));
        let looking = Message::outgoing(ServerState::Looking, 1, 0, 4, 0);
        let r = route(&view(ServerState::Leading), 1, true, &looking);
        assert!(r.reply.is_some() && !r.deliver && r.forward);
        // Non-voters are answered and never forwarded; invalid states dropped.
        let r = route(&view(ServerState::Leading), 1, false, &looking);
        assert!(r.reply.is_some() && !r.forward);
        let bad = Message { state: 7, ..hb };
        assert!(!route(&view(ServerState::Leading), 3, true, &bad).forward);
        // While LOOKING, exactly what the election gets.
        let r = route(&view(ServerState::Looking), 3, true, &hb);
        assert!(r.deliver && r.forward);
    }

    #[test]
    fn decided_peers_forward_only_what_the_leadership_layer_reads() {
        // My view: following 3 (or leading, as 3). Sids 1, 2, 4 are voters.
        let following = view(ServerState::Following);
        let leading = view(ServerState::Leading);
        let msg = |state, leader| Message::outgoing(state, leader, 0, 1, 0);
        let fwd = |v: &View, from, m: &Message| route(v, from, true, m).forward;
        use ServerState::{Following, Leading, Looking, Observing};
        for v in [&following, &leading] {
            // Every LOOKING notification (a new round, a release).
            assert!(fwd(v, 1, &msg(Looking, 1)));
            assert!(fwd(v, 3, &msg(Looking, 4)));
            // A peer's own LEADING vote (heartbeats, another leader), but
            // not a LEADING notification that names someone else.
            assert!(fwd(v, 3, &msg(Leading, 3)));
            assert!(fwd(v, 4, &msg(Leading, 4)));
            assert!(!fwd(v, 4, &msg(Leading, 3)));
        }
        // Leading: reports and hellos to me; not votes for another leader.
        assert!(fwd(&leading, 1, &msg(Following, 3)));
        assert!(!fwd(&leading, 1, &msg(Following, 4)));
        assert!(!fwd(&leading, 1, &msg(Observing, 4)));
        // Following 3: anything from 3 (it follows someone else), a hello
        // naming a leader other than 3 (maybe me), but not a fellow
        // follower's vote for 3.
        assert!(fwd(&following, 3, &msg(Following, 4)));
        assert!(fwd(&following, 3, &msg(Observing, 4)));
        assert!(fwd(&following, 1, &msg(Following, 2)));
        assert!(!fwd(&following, 1, &msg(Following, 3)));
        assert!(!fwd(&following, 1, &msg(Observing, 3)));
        // What is not forwarded is still answered by the reply rules.
        let r = route(&following, 1, true, &msg(Following, 3));
        assert_eq!(r.reply, respond(&following, true, &msg(Following, 3)).reply);
    }
}
