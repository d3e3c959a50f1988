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
    /// a decided peer's leadership layer reads (any valid notification from a
    /// voter), which ZooKeeper's receive thread would drop.
    pub forward: bool,
}

/// Spec 5.11's reply rules, plus forwarding of voters' notifications while
/// I am decided: heartbeats and reports, and LOOKING notifications (a
/// follower that looks again, or a leader that started a new election).
pub fn route(view: &View, sender_is_voter: bool, msg: &Message) -> Route {
    let r = respond(view, sender_is_voter, msg);
    let forward = r.deliver
        || (sender_is_voter && msg.server_state().is_some() && view.state != ServerState::Looking);
    Route {
        reply: r.reply,
        deliver: r.deliver,
        forward,
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
/// echoes. `epoch` equal to the heartbeat's is an acknowledgement; higher,
/// a refusal that tells the leader what I accepted.
pub fn report(leader: Sid, echo: Zxid, round: i64, epoch: i64) -> Message {
    Message::outgoing(ServerState::Following, leader, echo, round, epoch)
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
            proposal: (3, 0, 0),
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
        let r = route(&view(ServerState::Following), true, &hb);
        assert_eq!((r.reply, r.deliver, r.forward), (None, false, true));
        let looking = Message::outgoing(ServerState::Looking, 1, 0, 4, 0);
        let r = route(&view(ServerState::Leading), true, &looking);
        assert!(r.reply.is_some() && !r.deliver && r.forward);
        // Non-voters are answered and never forwarded; invalid states dropped.
        let r = route(&view(ServerState::Leading), false, &looking);
        assert!(r.reply.is_some() && !r.forward);
        let bad = Message { state: 7, ..hb };
        assert!(!route(&view(ServerState::Leading), true, &bad).forward);
        // While LOOKING, exactly what the election gets.
        let r = route(&view(ServerState::Looking), true, &hb);
        assert!(r.deliver && r.forward);
    }
}
