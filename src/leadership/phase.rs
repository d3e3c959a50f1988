//! A follower's [`Phase`]: what it knows of its leader in a term, from the
//! decision to the first heartbeat (or to the trust in a leader that sends
//! none).

use std::time::Duration;

/// What a follower (or observer) knows of its leader in a term: the
/// states its timers and answers depend on. A term starts in `Unbacked`,
/// `Backed` or `Trusted`; the leader's own LEADING vote moves `Unbacked`
/// to `Backed` (and `Trusted { backed: false }` to `backed: true`); the
/// trust wait without a heartbeat moves `Backed` to `Trusted`; a heartbeat
/// moves any phase to `Beating`, which no other phase follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No heartbeat yet, and I decided on LOOKING votes alone: nothing
    /// says the leader leads. I ask it for its vote once, and look again
    /// after `initLimit` ticks without a heartbeat.
    Unbacked,
    /// No heartbeat yet, but the leader's own LEADING vote came in (during
    /// the election that decided: FLE's checkLeader saw it, or it arrived
    /// during the finalize wait; or since, as an answer): I wait the trust
    /// wait for a heartbeat.
    Backed,
    /// No heartbeat: the leader is taken for a real ZooKeeper server (one
    /// that sends none), and its own LEADING vote stands for its
    /// confirmation once it shows the epoch of the leader's sync
    /// ([`FollowTerm::fresh_epoch`](super::follower::FollowTerm::fresh_epoch)).
    Trusted {
        /// Whether the leader's own LEADING vote came in (as in `Backed`);
        /// without it I still look again after `initLimit` ticks.
        backed: bool,
        /// When I began to trust the leader's vote.
        since: Duration,
    },
    /// Heartbeats come: the leader is a zkelect peer, confirmed by them.
    Beating {
        /// When the last heartbeat arrived; arms the silence deadline.
        last: Duration,
        /// The round the leader's heartbeats carry.
        round: i64,
    },
}

impl Phase {
    /// Whether the leader's own LEADING vote backs the term (`Beating`
    /// counts as backed: heartbeats say more).
    pub(crate) fn backed(self) -> bool {
        !matches!(self, Phase::Unbacked | Phase::Trusted { backed: false, .. })
    }

    /// Whether the leader is taken for a real ZooKeeper server and its
    /// vote for its confirmation.
    pub(crate) fn trusted(self) -> bool {
        matches!(self, Phase::Trusted { .. })
    }

    /// When the last heartbeat arrived, once one did.
    pub(crate) fn last_heartbeat(self) -> Option<Duration> {
        match self {
            Phase::Beating { last, .. } => Some(last),
            _ => None,
        }
    }
}
