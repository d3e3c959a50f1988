//! What the receive thread (WorkerReceiver) does with each incoming message
//! (spec 5.11), as a pure function.

use super::message::Message;
use super::order::Proposal;
use crate::types::{ServerState, Vote};

/// The parts of a peer's election state that the reply rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// My state.
    pub state: ServerState,
    /// My current vote: the last election's result, or my initial vote.
    pub current_vote: Vote,
    /// My round.
    pub logicalclock: i64,
    /// My current proposal (leader, zxid, peer epoch) while LOOKING.
    pub proposal: Proposal,
}

/// The outcome of the reply rules for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// A notification to send straight back to the sender.
    pub reply: Option<Message>,
    /// Whether the message goes on to the election (only while LOOKING).
    pub deliver: bool,
}

/// Spec 5.11. `sender_is_voter` means the sender is in the current-and-next
/// voters. A non-voter (observer, unknown sid, probe) always gets my state and
/// current vote back and is never counted; a voter's message is delivered to
/// the election while I am LOOKING, and a LOOKING voter is told my current vote
/// once I have decided, which is how joiners learn an established leader.
pub fn respond(view: &View, sender_is_voter: bool, msg: &Message) -> Response {
    let cv = &view.current_vote;
    if !sender_is_voter {
        return Response {
            reply: Some(Message::outgoing(
                view.state,
                cv.leader,
                cv.zxid,
                view.logicalclock,
                cv.peer_epoch,
            )),
            deliver: false,
        };
    }
    let Some(sender_state) = msg.server_state() else {
        return Response {
            reply: None,
            deliver: false,
        };
    };
    if view.state == ServerState::Looking {
        let reply = (sender_state == ServerState::Looking
            && msg.election_epoch < view.logicalclock)
            .then(|| view.proposal.looking(view.logicalclock));
        Response {
            reply,
            deliver: true,
        }
    } else {
        let reply = (sender_state == ServerState::Looking).then(|| {
            Message::outgoing(
                view.state,
                cv.leader,
                cv.zxid,
                cv.election_epoch,
                cv.peer_epoch,
            )
        });
        Response {
            reply,
            deliver: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Sid;

    fn msg(state: i32, leader: Sid, round: i64) -> Message {
        Message {
            state,
            leader,
            zxid: 0,
            election_epoch: round,
            peer_epoch: 0,
            version: 2,
        }
    }

    fn following() -> View {
        View {
            state: ServerState::Following,
            current_vote: Vote {
                version: 0,
                leader: 3,
                zxid: 0x100000002,
                election_epoch: 1,
                peer_epoch: 2,
                state: ServerState::Following,
            },
            logicalclock: 4,
            proposal: Proposal::new(3, 0x100000002, 1),
        }
    }

    fn looking() -> View {
        View {
            state: ServerState::Looking,
            current_vote: Vote::looking(1, 0, -1, 0),
            logicalclock: 5,
            proposal: Proposal::new(3, 7, 1),
        }
    }

    #[test]
    fn non_voter_gets_current_vote_with_logicalclock_even_if_state_invalid() {
        let r = respond(&following(), false, &msg(9, i64::MIN, 0));
        assert!(!r.deliver);
        assert_eq!(
            r.reply,
            Some(Message::outgoing(
                ServerState::Following,
                3,
                0x100000002,
                4,
                2
            ))
        );
    }

    #[test]
    fn voter_with_invalid_state_is_dropped() {
        let r = respond(&looking(), true, &msg(4, 1, 5));
        assert_eq!(
            r,
            Response {
                reply: None,
                deliver: false
            }
        );
    }

    #[test]
    fn looking_delivers_and_answers_older_round_with_proposal() {
        let r = respond(&looking(), true, &msg(0, 1, 4));
        assert!(r.deliver);
        assert_eq!(
            r.reply,
            Some(Message::outgoing(ServerState::Looking, 3, 7, 5, 1))
        );
        let same = respond(&looking(), true, &msg(0, 1, 5));
        assert_eq!(
            same,
            Response {
                reply: None,
                deliver: true
            }
        );
        let following = respond(&looking(), true, &msg(1, 1, 1));
        assert_eq!(
            following,
            Response {
                reply: None,
                deliver: true
            }
        );
    }

    /// A decided peer answers a LOOKING voter with the vote that won
    /// (election-time zxid and round), which is how joiners find the leader.
    #[test]
    fn decided_answers_looking_voter_with_current_vote() {
        let r = respond(&following(), true, &msg(0, 2, 9));
        assert!(!r.deliver);
        assert_eq!(
            r.reply,
            Some(Message::outgoing(
                ServerState::Following,
                3,
                0x100000002,
                1,
                2
            ))
        );
    }

    #[test]
    fn decided_ignores_decided_voters() {
        let r = respond(&following(), true, &msg(2, 3, 1));
        assert_eq!(
            r,
            Response {
                reply: None,
                deliver: false
            }
        );
    }
}
