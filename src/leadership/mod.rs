//! Leadership after the election: confirmation with a new epoch, liveness,
//! automatic re-election, step-down and fencing epochs (a sans-I/O state
//! machine, [`Core`], that wraps the FLE machine).
//!
//! FastLeaderElection only picks a leader. In ZooKeeper the Zab sync phase
//! then confirms it with a quorum and a new epoch, and the followers' and
//! leader's timeouts notice when it dies or loses its quorum. This module
//! does the same with nothing but valid version-2 notifications on the
//! election port, so real ZooKeeper servers in the ensemble are not
//! disturbed: a decided ZooKeeper server ignores notifications from decided
//! peers (spec 5.11), and a LOOKING one takes them for ordinary
//! out-of-election votes.
//!
//! # Protocol
//!
//! - **Heartbeat** (leader → every voter and observer, every half tick as
//!   a ZooKeeper leader pings; the first one a finalize wait after the
//!   election, at most half a tick, so as not to cut short the finalize
//!   waits of the peers that elected it; one at once on confirmation; to a
//!   voter whose last notification was a LOOKING one for another leader
//!   only every two ticks (at most `syncLimit − 1`), as a heartbeat's new
//!   peer epoch makes it a "better vote" that would cut its finalize waits
//!   short):
//!   `(LEADING, me, zxid, round, peerEpoch = E)`, where `round` is the
//!   round I was elected in and
//!   `zxid = ((E − 1) << 32) | seq` before confirmation, `(E << 32) | seq`
//!   after ([`heartbeat_zxid`]): a zxid inside epoch E is how a ZooKeeper
//!   leader looks after NEWLEADER, and the counter `seq` names the
//!   heartbeat. It starts at `(round << 16) | 1` (the round's low 16 bits),
//!   so that a report still in flight from an earlier life of the leader,
//!   which may have proposed the same epoch and crashed before storing it,
//!   names none of this term's heartbeats (rounds grow across lives with a
//!   store). A follower takes a LEADING notification from its leader for
//!   a heartbeat only if its zxid differs from the vote it decided on;
//!   otherwise it is the leader's election vote (an answer to a LOOKING
//!   notification), all a ZooKeeper leader ever sends.
//! - **Epoch**: a new leader proposes `E = max(accepted epoch, its vote's
//!   peerEpoch) + 1` and accepts it itself. A follower accepts an epoch only
//!   above the one it accepted before (then emits [`Event::EpochAccepted`]),
//!   and acknowledges one epoch for one leader. Every election starts with
//!   the larger of the host's epoch and the accepted one as the peer's FLE
//!   epoch, so a quorum's next leader proposes above what it accepted.
//! - **Report** (follower → its leader, only in reaction to a heartbeat, at
//!   once): `(FOLLOWING, leader, zxid = !(the heartbeat's), round,
//!   peerEpoch)`; the inverted zxid (below −1) tells it from the
//!   follower's FOLLOWING vote ([`report`]).
//!   `peerEpoch = E` acknowledges E; a higher value is a refusal carrying
//!   the epoch the follower accepted, and the leader then proposes above it
//!   at once. No report while the follower may not acknowledge yet (its
//!   promise, below; it answers when that ends), nor when it accepted E
//!   itself for another leader or in an earlier life (the leader's next
//!   epoch will be above it).
//! - **Confirmation**: when the acknowledgements that still count (below)
//!   plus myself form a quorum of the verifier. The leader then rewrites
//!   its FLE vote's peerEpoch to E
//!   ([`Fle::update_peer_epoch`](crate::election::Fle::update_peer_epoch),
//!   as ZooKeeper does after sync, so that joiners find a matching quorum),
//!   emits [`Event::Leading`], and its heartbeats say "confirmed". Followers
//!   that see a confirmed heartbeat for their leader update their vote too
//!   and emit [`Event::Following`] (observers [`Event::Observing`]; they
//!   never acknowledge). A leader not confirmed within `initLimit` ticks
//!   gives up ([`Event::LeadershipFailed`], reason `NotConfirmed`).
//! - **Liveness**: a follower gives its leader up ([`Event::LeaderLost`])
//!   after `syncLimit` ticks without a heartbeat (`Silent`); when the
//!   connection to it broke and is not back within a tick, or at once if
//!   a reconnect is refused, a same-host lock proves it dead, or in
//!   [`Mode::Fencing`] (`Disconnected`); when the leader sends a LOOKING notification (of
//!   the round the follower decided in only counts from two ticks after
//!   the decision, as it may be the tail of that election), or answers
//!   that it follows another peer (`LeaderLooking`); or when another
//!   leader's confirmed heartbeat carries an epoch above anything it
//!   accepted (`Superseded`). A leader steps
//!   down ([`Event::LeadershipLost`], `NoQuorum`) when the acknowledgements
//!   that count no longer form a quorum; a LOOKING notification from a
//!   follower, or its connection breaking, stops its acknowledgements from
//!   counting at once. Every step-down and every loss starts a new election
//!   by itself: the host never has to call `restart_election`.
//! - **Leaders that send no heartbeats** (real ZooKeeper servers): a
//!   follower arms the silence deadline only after the first heartbeat of a
//!   term; before that it relies on the connection, the leader's LOOKING
//!   notifications and other leaders' confirmed heartbeats, so it never
//!   flaps behind such a leader. Every `syncLimit` ticks without a heartbeat
//!   it sends its vote (FOLLOWING) to the leader, a *hello*: a decided
//!   ZooKeeper server ignores it, but a zkelect peer that does not lead (FLE
//!   can leave peers decided on one that decided otherwise) answers with
//!   its own vote (or, while looking, its proposal), and the follower looks
//!   again. If the decision came with the leader's own LEADING vote (FLE's
//!   checkLeader, or a LEADING notification from the leader during that
//!   election that FLE's finalize wait consumed) and neither a heartbeat
//!   nor an answer came within `syncLimit + 1` ticks, the follower takes
//!   that vote for the confirmation: it accepts the vote's peerEpoch,
//!   puts it in its own vote (as after a confirmed heartbeat) and emits
//!   `Following { epoch: the vote's peerEpoch }` (observers, which accept
//!   nothing, `Observing`). A decision from LOOKING votes alone is not
//!   evidence that the leader leads: such a follower emits no `Following`
//!   until a heartbeat comes, asks the leader for its vote once if none came
//!   within two ticks, and looks again after `initLimit` ticks without one
//!   (`Silent`); behind a ZooKeeper leader that costs one extra election,
//!   which then finds the leader's own LEADING vote.
//! - **Mixed ensembles** (real ZooKeeper servers beside zkelect peers;
//!   see [`FollowOnly`]): a peer in `auto` mode learns that the ensemble has
//!   real members when a ZooKeeper learner connects to its quorum port
//!   ([`Core::on_zab_contact`]; no zkelect peer ever does), or from another
//!   peer's follow-only vote that says so. It then votes follow-only
//!   ([`crate::election::Fle::set_follow_only`]) and, if it leads
//!   unconfirmed, gives up at once (`LeadershipFailed`, `NotConfirmed`), so
//!   that the real servers elect one of their own. Behind a leader taken for
//!   a real server (the ensemble is known mixed and the leader never sent a
//!   zkelect-only message, or it sent no heartbeat for the trust wait in an
//!   earlier term) there is no trust wait: the follower asks the leader for
//!   its vote (a LOOKING notification) a finalize wait and a half after its
//!   decision, then every half finalize wait once the leader said LEADING,
//!   and fires `Following`/`Observing` (observers too) as soon as that vote
//!   carries the epoch of the leader's sync: above the epoch of the zxid it
//!   voted with and, after a decision on LOOKING votes, above the decided
//!   vote's peer epoch (ZooKeeper rewrites its vote's peer epoch only after
//!   the sync, spec 4). A leader still showing the old epoch two ticks after
//!   the trust began is taken at its word. A follower whose connection to
//!   its leader is down gives it up at once when another voter looks in a
//!   later round; a decision for a leader whose connection is down runs the
//!   reconnect grace from the decision, and one for a leader whose
//!   reconnect was refused is dropped unseen (a fresh election at once).
//! - **An unconfirmed leader** that hears another leader's confirmed
//!   heartbeat above its epoch gives up at once (`Superseded`).
//! - **Raising the epoch**: a refusal (a report with a higher peerEpoch)
//!   makes the leader propose above it at once; if its epoch was confirmed
//!   it first emits `LeadershipLost` (`EpochRaised`), then `Leading` again
//!   once a quorum confirms the new epoch, without a new election.
//! - **Keeping FLE going**: FLE re-sends its votes only when its poll times
//!   out, and any notification restarts the poll, so heartbeats would keep
//!   a LOOKING peer from ever asking again; while they come in, a LOOKING
//!   peer sends its proposal to the others itself every two ticks (not to
//!   itself: its own copy could start a finalize wait on stale votes that
//!   would swallow the answers). A LOOKING peer answers a hello with its
//!   proposal (once a tick per peer). The LOOKING notification that ends a
//!   follower's term (its leader's new round) is also given to its new
//!   election, as if it had come just after.
//!
//! # The lease argument
//!
//! Claim: **at no instant do two peers both lead confirmed** (hold
//! [`Event::Leading`] without having emitted [`Event::LeadershipLost`], and
//! within their lease, [`Core::leads_at`]). Let D_F = `syncLimit × tick`
//! and D_L = D_F − tick.
//!
//! 1. A leader counts follower `f` at time `t` only if `f` acknowledged a
//!    heartbeat that the leader *sent* at `h` with `t < h + D_L` (leader's
//!    clock). It counts from the send time of the heartbeat the report
//!    echoes, not from the report's arrival, so message delay, a report
//!    stuck in a queue, a paused leader that reads old reports on resuming,
//!    or a replayed message can only shorten what it counts. A leader leads
//!    only while those plus itself form a quorum, and runs its timers before
//!    any other input, so on resuming from a pause it steps down first.
//! 2. `f` acknowledges only in reaction to a heartbeat it processes at
//!    `s ≥ h`, and then *promises* not to acknowledge any other leader, nor
//!    to count itself as a leader, before `s + D_F` (its clock). The promise
//!    holds whatever else happens: `f` may give the leader up earlier
//!    (disconnection, restart) and even vote, but it stays silent toward
//!    other leaders. The only releases are the leader's own LOOKING
//!    notification of a later round, sent after it stepped down (its
//!    departure notice on a clean stop, or a restarted process's first
//!    notification: the dataDir lock keeps it from running while the
//!    earlier one lives), and proof that the process that led the promised
//!    epoch is dead (its released lock on the same host). A refused
//!    connection releases nothing. (The same
//!    leader may move `f` to a higher epoch: it counts one epoch at a
//!    time, and a new epoch of its own means the old one is over.)
//! 3. With clocks running at the same rate, `h + D_L < s + D_F` because
//!    `h ≤ s` and D_L < D_F: the old leader has stopped counting `f` before
//!    `f` may acknowledge anyone else. A quorum for a new leader intersects
//!    the old leader's quorum in some `f`, so the old leader has stepped
//!    down before the new one can count that quorum. No bound on message
//!    delay is needed for safety; the one tick between D_L and D_F is the
//!    margin for clock-rate drift (up to 1/`syncLimit` relative drift over a
//!    lease). Liveness needs a heartbeat period (half a tick) plus a round
//!    trip below D_L, which is one tick when `syncLimit` is 2.
//! 4. Across restarts: every accepted epoch is stored durably
//!    ([`Output::Persist`], answered by [`Core::on_persisted`]) before an
//!    acknowledgement of it, or my own count for it as leader, leaves the
//!    machine, as ZooKeeper writes `acceptedEpoch` before ACKEPOCH. A peer
//!    that starts with a stored epoch above 0 might have acknowledged
//!    someone just before it died, so it acknowledges nobody (itself
//!    included) for D_F after the start (quarantine); one whose store holds
//!    0 never acknowledged anything. A peer without a store cannot tell, so
//!    its every start is a quarantine ([`Core::new`]).
//! 5. Hostile or broken input: epochs and rounds outside ZooKeeper's range
//!    ([`crate::election::check_range`]) are never used, epoch arithmetic is
//!    checked, and one message moves an epoch by at most [`EPOCH_STEP`]
//!    above what a quorum backs (the decided vote's peer epoch, or what I
//!    accepted). The host sees the lease through `Peer::leads_now`, which
//!    compares [`Core::lease_until`] with the clock at the call, so a paused
//!    process's host threads cannot act on a lease that ran out.
//!
//! The same intersection gives the fencing guarantees: every follower
//! acknowledges an epoch value for one leader only and only increasing
//! values, so **no two leaders are ever confirmed with the same epoch**, and
//! since a confirmation needs a quorum that counts at that instant (so
//! every earlier confirmed leader has stepped down), **confirmed epochs
//! strictly increase in time**.
//!
//! Cost: after a leader crashes, its followers give it up within a tick of
//! the disconnection (or after D_F of silence) and elect a successor at
//! once, but that successor is confirmed only when the promises to the dead
//! leader expire, about D_F after their last acknowledgement.
//!
//! # Event order guarantees (per peer)
//!
//! Listed on [`Event`], where hosts read them.

mod core;
mod durable;
mod event;
mod follow;
mod follower;
mod input;
mod leader;
mod looking;
mod mixed;
mod mode;
mod phase;
mod promise;
mod signal;
mod timing;
mod trust;

pub use self::core::{Core, Output, Role};
pub use durable::{Durable, Refusal, EPOCH_STEP, ROUND_RESERVE};
pub use event::{Event, Leader, LossReason};
pub use follow::FollowOnly;
pub use mode::Mode;
pub use signal::{
    heartbeat, heartbeat_zxid, report, reported_heartbeat, route, says_confirmed, Route,
};
pub use timing::{Timing, DEFAULT_FINALIZE_WAIT_MS, DEFAULT_INIT_LIMIT, DEFAULT_SYNC_LIMIT};

#[cfg(test)]
mod tests;
