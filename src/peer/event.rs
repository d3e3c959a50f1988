//! Events a peer reports to its host.

use crate::types::{ServerState, Sid, Zxid};
use std::time::Duration;

/// The outcome of an election, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leader {
    /// The elected leader's sid.
    pub leader: Sid,
    /// The leader's zxid at election time.
    pub zxid: Zxid,
    /// The round in which it was elected.
    pub election_epoch: i64,
    /// The leader's epoch.
    pub peer_epoch: i64,
    /// My role: LEADING, FOLLOWING or OBSERVING.
    pub state: ServerState,
    /// Time from the start of this election to the decision.
    pub elapsed: Duration,
}

/// Something that happened to a peer. Events are delivered in order, one at a
/// time, on the peer's notifier thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// My state changed.
    StateChanged {
        /// The state before.
        old: ServerState,
        /// The state now.
        new: ServerState,
    },
    /// An election ended.
    Elected(Leader),
    /// The host restarted the election while a leader was known: that
    /// leader no longer counts.
    LeaderLost {
        /// The leader that was given up.
        leader: Sid,
    },
    /// An election connection to a peer came up.
    PeerConnected(Sid),
    /// The election connection to a peer went down.
    PeerDisconnected(Sid),
}
