//! Events a peer reports to its host: the election's (state changes,
//! decisions) and the leadership layer's (confirmation, loss, epochs).

use crate::types::{ServerState, Sid, Zxid};
use std::fmt;
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

/// Why a decided peer gave its leader up, or why a leader stopped leading.
/// The numbers are the C ABI's `ZKELECT_REASON_*` values and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum LossReason {
    /// The host called `restart_election`.
    Restarted = 1,
    /// Follower: no heartbeat from the leader for `syncLimit` ticks (or
    /// none at all within `initLimit` ticks of a decision that the leader's
    /// own vote did not back).
    Silent = 2,
    /// Follower: the election connection to the leader broke and was not
    /// back within one tick, or at once when the reconnect was refused, the
    /// leader's lock proved it dead, or in fencing mode.
    Disconnected = 3,
    /// Follower: the leader does not lead: it sent a LOOKING notification
    /// (one of the round I decided in counts only from two ticks after the
    /// decision), or answered that it follows another peer.
    LeaderLooking = 4,
    /// Leader: the acknowledgements of a quorum are older than the leader's
    /// deadline (`syncLimit - 1` ticks), or followers left.
    NoQuorum = 5,
    /// Leader: no quorum confirmed the new epoch within `initLimit` ticks.
    NotConfirmed = 6,
    /// The host stopped the peer.
    Stopped = 7,
    /// Follower: another leader sends confirmed heartbeats with an epoch
    /// above anything this peer accepted. Unconfirmed leader: another
    /// leader is confirmed above its epoch, or leads a later election round.
    Superseded = 8,
    /// Leader: a follower had accepted a higher epoch than the one I lead,
    /// so it can never acknowledge it; I give my epoch up and propose a
    /// higher one at once (a new `Leading` follows when a quorum confirms
    /// it; I stay elected meanwhile).
    EpochRaised = 9,
}

impl LossReason {
    /// A short lower-case name (`"silent"`, `"no_quorum"`, ...), as printed
    /// by `zkelect run`.
    pub fn name(self) -> &'static str {
        match self {
            LossReason::Restarted => "restarted",
            LossReason::Silent => "silent",
            LossReason::Disconnected => "disconnected",
            LossReason::LeaderLooking => "leader_looking",
            LossReason::NoQuorum => "no_quorum",
            LossReason::NotConfirmed => "not_confirmed",
            LossReason::Stopped => "stopped",
            LossReason::Superseded => "superseded",
            LossReason::EpochRaised => "epoch_raised",
        }
    }

    /// The stable number (the C ABI's `ZKELECT_REASON_*`).
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something that happened to a peer. Events are delivered in order, one at a
/// time, on the peer's notifier thread.
///
/// Two layers of events:
/// - the election's: [`Event::StateChanged`], [`Event::Elected`] (FLE
///   decided) and [`Event::LeaderLost`] (the decision no longer holds);
/// - the leadership layer's, which hosts act on: [`Event::Leading`] /
///   [`Event::LeadershipLost`], [`Event::Following`], [`Event::Observing`],
///   [`Event::LeadershipFailed`] and [`Event::EpochAccepted`].
///
/// # Order guarantees (per peer)
///
/// - [`Event::Leading`] is never emitted while leading: every `Leading` is
///   followed by exactly one [`Event::LeadershipLost`] before the next
///   `Leading` (also on `stop`, with reason `Stopped`).
/// - Every [`Event::Elected`] is followed by exactly one
///   [`Event::LeaderLost`] before the next `Elected` (`leader` is my own sid
///   when I led); leadership events of a term come between the two.
/// - Epochs in `Leading`, `Following` and `Observing` events never decrease;
///   `Leading` epochs strictly increase.
/// - `stop()` emits nothing after it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// My state changed.
    StateChanged {
        /// The state before.
        old: ServerState,
        /// The state now.
        new: ServerState,
    },
    /// An election ended. This is FLE's decision, not yet a confirmed
    /// leadership: act on [`Event::Leading`] and [`Event::Following`].
    Elected(Leader),
    /// The leader decided by the last election no longer counts for me (it
    /// may be my own sid when I led); a new election starts, unless `reason`
    /// is [`LossReason::Stopped`].
    LeaderLost {
        /// The leader that was given up.
        leader: Sid,
        /// Why.
        reason: LossReason,
    },
    /// An election connection to a peer came up.
    PeerConnected(Sid),
    /// The election connection to a peer went down.
    PeerDisconnected(Sid),
    /// A quorum confirmed me as leader with this epoch: the fencing token
    /// for everything I do while leading. Strictly greater than every epoch
    /// confirmed before it anywhere in the ensemble.
    Leading {
        /// The new epoch.
        epoch: i64,
    },
    /// I no longer lead the epoch of the last [`Event::Leading`]. Emitted
    /// before any other peer can be confirmed as leader (the lease
    /// argument in the leadership module's source, `src/leadership/mod.rs`,
    /// shows why).
    LeadershipLost {
        /// The epoch I led.
        epoch: i64,
        /// Why.
        reason: LossReason,
    },
    /// I was elected but gave up before a quorum confirmed my epoch (no
    /// [`Event::Leading`] was emitted for it).
    LeadershipFailed {
        /// The epoch I proposed.
        epoch: i64,
        /// Why.
        reason: LossReason,
    },
    /// My leader is confirmed with this epoch.
    Following {
        /// The leader.
        leader: Sid,
        /// Its confirmed epoch.
        epoch: i64,
    },
    /// As [`Event::Following`], for an observer.
    Observing {
        /// The leader.
        leader: Sid,
        /// Its confirmed epoch.
        epoch: i64,
    },
    /// I accepted a new epoch (as follower, or proposed it as leader). A host
    /// that wants the guarantees to survive a process restart stores it and
    /// passes it back with `set_epoch` before the next start.
    EpochAccepted {
        /// The accepted epoch.
        epoch: i64,
    },
    /// The durable store (the file in `dataDir`, or the host's store hook)
    /// could not keep this accepted epoch: nothing that depends on it was
    /// sent (no acknowledgement, no count of myself as leader); the next
    /// heartbeat tries again.
    EpochStoreFailed {
        /// The epoch that was not stored.
        epoch: i64,
    },
}
