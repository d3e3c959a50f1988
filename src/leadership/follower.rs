//! A follower's (or observer's) term, and the promise an acknowledgement
//! makes.

use crate::election::Message;
use crate::types::{Sid, Vote};
use std::time::Duration;

/// What an acknowledgement promises: not to acknowledge any other leader,
/// nor to count myself for my own leadership, before `until`. The same
/// leader may move to a higher epoch: it counts acknowledgements of one
/// epoch at a time, and a new epoch of its own means the old one is over.
/// `leader: None` is the quarantine after a start with an epoch (an earlier
/// process may have acknowledged someone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Promise {
    pub leader: Option<Sid>,
    /// The round of the leader's heartbeats: a LOOKING notification from it
    /// with a later round proves it stepped down, which releases the promise.
    pub round: i64,
    /// The epoch acknowledged (`i64::MAX` for the quarantine): proof that
    /// the process that accepted at least this epoch for `leader` is dead
    /// releases the promise.
    pub epoch: i64,
    pub until: Duration,
}

impl Promise {
    /// Whether this promise forbids acknowledging `leader` now.
    pub(crate) fn forbids(&self, leader: Sid, now: Duration) -> bool {
        now < self.until && self.leader != Some(leader)
    }
}

/// One decided period as follower or observer.
#[derive(Debug, Clone)]
pub(crate) struct FollowTerm {
    /// The elected leader.
    pub leader: Sid,
    /// The vote that won.
    pub vote: Vote,
    /// Observer: never acknowledges.
    pub observer: bool,
    /// The leader's own LEADING vote came in during the election that
    /// decided (FLE's checkLeader saw it, or it arrived during the finalize
    /// wait), not LOOKING votes alone.
    pub backed: bool,
    pub decided_at: Duration,
    /// The round the leader's heartbeats carry.
    pub hb_round: Option<i64>,
    /// When the last heartbeat from the leader arrived; arms the silence
    /// deadline.
    pub last_hb: Option<Duration>,
    /// No heartbeat came within the wait after a backed decision: the
    /// leader is taken for one that sends none (a real ZooKeeper server) and
    /// its vote for confirmation.
    pub trusted_vote: bool,
    /// The epoch of the `Following`/`Observing` event fired in this term.
    pub fired: Option<i64>,
    /// Since when the connection to the leader is down.
    pub down_since: Option<Duration>,
    /// A heartbeat I accepted but may not acknowledge yet (an earlier
    /// promise still runs); answered when it ends.
    pub pending: Option<Message>,
    /// When I last sent my vote to a leader that sends no heartbeats.
    pub last_hello: Option<Duration>,
    /// The highest peer epoch of the leader's own LEADING votes in this
    /// term (from the decided vote on): a ZooKeeper leader's vote carries
    /// its new epoch only after its sync.
    pub vote_epoch: i64,
    /// When I ask the leader for its current vote next (a LOOKING
    /// notification, which a decided leader answers with its vote).
    pub probe_at: Option<Duration>,
    /// The leader is taken for a real ZooKeeper server: its own LEADING
    /// vote stands for its confirmation, once it shows the epoch of the
    /// leader's sync ([`FollowTerm::fresh_epoch`]).
    pub real: bool,
    /// I decided on LOOKING votes of my round (FLE's LOOKING path): the
    /// decided vote's peer epoch is the leader's from before its sync.
    pub looking_path: bool,
    /// When I began to trust the leader's vote.
    pub trusted_at: Option<Duration>,
}

impl FollowTerm {
    pub(crate) fn new(vote: Vote, observer: bool, backed: bool, now: Duration) -> FollowTerm {
        FollowTerm {
            leader: vote.leader,
            vote,
            observer,
            backed,
            decided_at: now,
            hb_round: None,
            last_hb: None,
            trusted_vote: false,
            fired: None,
            down_since: None,
            pending: None,
            last_hello: None,
            vote_epoch: vote.peer_epoch,
            probe_at: None,
            real: false,
            looking_path: false,
            trusted_at: None,
        }
    }

    /// Whether `epoch`, the peer epoch of a real ZooKeeper leader's own
    /// vote, is the epoch it leads and not the one from before its sync.
    /// ZooKeeper rewrites its vote's peer epoch to the new epoch only after
    /// the sync (spec 4). The new epoch is above the leader's currentEpoch
    /// before the election, which is at least the epoch of the zxid it
    /// voted with; and if I took part in that election (LOOKING path), the
    /// decided vote carries that earlier currentEpoch itself.
    pub(crate) fn fresh_epoch(&self, epoch: i64) -> bool {
        epoch > crate::types::epoch_of_zxid(self.vote.zxid)
            && (!self.looking_path || epoch > self.vote.peer_epoch)
    }

    /// The round that identifies the leader's term.
    pub(crate) fn term_round(&self) -> i64 {
        self.hb_round.unwrap_or(self.vote.election_epoch)
    }
}
