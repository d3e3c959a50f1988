//! The vote fields of a notification, without the config text.

use crate::types::{ServerState, Sid, Vote, Zxid};

/// A notification as the election sees it: the body minus the config text.
/// `state` stays a raw ordinal because a message from a non-voter is answered
/// even when its state is invalid (spec 5.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// The sender's state ordinal (0..=3 when valid).
    pub state: i32,
    /// Proposed or elected leader.
    pub leader: Sid,
    /// The leader's zxid.
    pub zxid: Zxid,
    /// The sender's round, or the round of its current vote.
    pub election_epoch: i64,
    /// The leader's epoch.
    pub peer_epoch: i64,
    /// The notification format version (0 for 28/40-byte bodies).
    pub version: i32,
}

impl Message {
    /// A message we send: always format version 2.
    pub fn outgoing(
        state: ServerState,
        leader: Sid,
        zxid: Zxid,
        election_epoch: i64,
        peer_epoch: i64,
    ) -> Message {
        Message {
            state: state.as_i32(),
            leader,
            zxid,
            election_epoch,
            peer_epoch,
            version: 2,
        }
    }

    /// The sender's state, if the ordinal is valid.
    pub fn server_state(&self) -> Option<ServerState> {
        ServerState::from_i32(self.state)
    }

    /// The message as a vote with its real version and state (how ZooKeeper
    /// builds the comparison vote and the out-of-election entries).
    pub fn to_vote(&self) -> Option<Vote> {
        Some(Vote {
            version: self.version,
            leader: self.leader,
            zxid: self.zxid,
            election_epoch: self.election_epoch,
            peer_epoch: self.peer_epoch,
            state: self.server_state()?,
        })
    }
}
