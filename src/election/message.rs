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

    /// Whether the epoch and round fields are inside ZooKeeper's range
    /// ([`check_range`]).
    pub fn in_range(&self) -> bool {
        check_range(self).is_ok()
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

/// The largest epoch: ZooKeeper's epoch is the high 32 bits of a
/// (positive) zxid, so `epoch << 32` must stay a positive `i64`.
pub const MAX_EPOCH: i64 = i32::MAX as i64;

/// The largest round accepted from the network. ZooKeeper's `logicalclock`
/// is a `long` that grows by one per election; this leaves room for 2^62
/// more elections after the largest value a peer may send, so round
/// arithmetic cannot overflow.
pub const MAX_ROUND: i64 = 1 << 62;

/// Why a notification's numbers are out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// `peerEpoch` is neither in `-1..=MAX_EPOCH` nor `Long.MIN_VALUE`
    /// (a non-voter's initial vote, spec 3.3).
    PeerEpoch(i64),
    /// The round is neither in `-1..=MAX_ROUND` (-1: the round of an
    /// initial vote, spec 3.3).
    Round(i64),
}

impl std::fmt::Display for RangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeError::PeerEpoch(e) => {
                write!(f, "peerEpoch {e} outside -1..={MAX_EPOCH}")
            }
            RangeError::Round(r) => write!(f, "round {r} outside -1..={MAX_ROUND}"),
        }
    }
}

/// Checks a notification's epoch and round against ZooKeeper's range
/// before anything uses them: an epoch fits a zxid's high 32 bits, a round
/// leaves room to count up. The zxid itself is not checked (every value is
/// a valid zxid, -1 and `Long.MIN_VALUE` included).
pub fn check_range(m: &Message) -> Result<(), RangeError> {
    let e = m.peer_epoch;
    if e != i64::MIN && !(-1..=MAX_EPOCH).contains(&e) {
        return Err(RangeError::PeerEpoch(e));
    }
    if !(-1..=MAX_ROUND).contains(&m.election_epoch) {
        return Err(RangeError::Round(m.election_epoch));
    }
    Ok(())
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn epochs_and_rounds_outside_zookeepers_range_are_refused() {
        let ok = Message::outgoing(ServerState::Leading, 3, 5 << 32, 1, 5);
        assert!(ok.in_range());
        assert!(Message {
            peer_epoch: i64::MIN,
            ..ok
        }
        .in_range());
        assert!(Message {
            peer_epoch: -1,
            election_epoch: -1,
            ..ok
        }
        .in_range());
        assert!(Message {
            peer_epoch: MAX_EPOCH,
            ..ok
        }
        .in_range());
        for e in [i64::MAX, 1 << 31, 1 << 32, -2, i64::MIN + 1] {
            let m = Message {
                peer_epoch: e,
                ..ok
            };
            assert_eq!(check_range(&m), Err(RangeError::PeerEpoch(e)), "{e}");
        }
        for r in [i64::MAX, MAX_ROUND + 1, -2, i64::MIN] {
            let m = Message {
                election_epoch: r,
                ..ok
            };
            assert_eq!(check_range(&m), Err(RangeError::Round(r)), "{r}");
        }
    }
}
