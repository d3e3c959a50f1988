//! What a peer keeps across restarts, and the bounds that keep one sender
//! from moving epochs and rounds wherever it likes.

use crate::types::Sid;

/// The state a peer stores durably: the highest epoch it accepted (or
/// proposed as leader) and a round high-water mark. Written (and fsynced)
/// before anything depends on it: no acknowledgement of an epoch, and no
/// count of myself for it as leader, leaves the peer before it is stored,
/// as ZooKeeper writes `acceptedEpoch` before it sends ACKEPOCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durable {
    /// The highest accepted epoch.
    pub epoch: i64,
    /// A round above every round this peer used: a restarted process starts
    /// its first election above it (rounds are reserved `ROUND_RESERVE` (16) at
    /// a time, so the store is written once per that many elections).
    pub round: i64,
}

/// How far one notification may move an epoch: a follower accepts from
/// its leader at most this far above the larger of what it accepted and the
/// decided vote's peer epoch (which a quorum agreed on), and a leader raises
/// its proposal at most this far per refusal. A legitimate leader proposes
/// one above what the quorum that elected it knew.
pub const EPOCH_STEP: i64 = 16;

/// Rounds reserved per write of the round high-water mark.
pub const ROUND_RESERVE: i64 = 16;

/// A notification that was not used because it would move an epoch too far
/// ([`EPOCH_STEP`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The sender.
    pub from: Sid,
    /// The epoch it carried.
    pub epoch: i64,
    /// The most it could have moved me to.
    pub limit: i64,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ignoring peerEpoch {} from sid {}: more than {} above what a quorum backs (limit {})",
            self.epoch, self.from, EPOCH_STEP, self.limit
        )
    }
}
