//! Plain-data types of the C ABI.
#![allow(non_camel_case_types)]

use crate::peer::{Event, Leader, LossReason};
use crate::types::{ServerState, Vote};

/// Result code of every fallible function. `ZKELECT_OK` (0) is success; the
/// numbers of the other codes are stable and never reused.
pub type zkelect_result = i32;

/// Success.
pub const ZKELECT_OK: zkelect_result = 0;
/// A required pointer argument was NULL.
pub const ZKELECT_ERR_NULL: zkelect_result = 1;
/// The configuration is invalid; the detailed message names the line or key.
pub const ZKELECT_ERR_CONFIG: zkelect_result = 2;
/// A socket, file or thread operation failed (e.g. the election port is taken).
pub const ZKELECT_ERR_IO: zkelect_result = 3;
/// `zkelect_peer_start` on a running peer.
pub const ZKELECT_ERR_ALREADY_RUNNING: zkelect_result = 4;
/// The operation needs a running peer.
pub const ZKELECT_ERR_NOT_RUNNING: zkelect_result = 5;
/// The wait ended before an election was decided.
pub const ZKELECT_ERR_TIMEOUT: zkelect_result = 6;
/// An argument is out of range or a string is not UTF-8.
pub const ZKELECT_ERR_INVALID_ARGUMENT: zkelect_result = 7;
/// The library caught an internal panic; the call had no effect or only part
/// of it. Please report it with the detailed message.
pub const ZKELECT_ERR_PANIC: zkelect_result = 99;

/// Server state: looking for a leader.
pub const ZKELECT_STATE_LOOKING: i32 = 0;
/// Server state: following the leader.
pub const ZKELECT_STATE_FOLLOWING: i32 = 1;
/// Server state: leading.
pub const ZKELECT_STATE_LEADING: i32 = 2;
/// Server state: observing (a non-voting member that knows the leader).
pub const ZKELECT_STATE_OBSERVING: i32 = 3;

/// Pass as `my_sid` to read the sid from the `myid` file in `dataDir`.
pub const ZKELECT_MYID_FROM_DATADIR: i64 = -1;

/// Event kind: my state changed (`old_state` -> `new_state`).
pub const ZKELECT_EVENT_STATE_CHANGED: i32 = 1;
/// Event kind: an election ended; `leader`, `zxid`, `election_epoch`,
/// `peer_epoch`, `new_state` (my role) and `elapsed_ms` are set.
pub const ZKELECT_EVENT_LEADER_ELECTED: i32 = 2;
/// Event kind: the leader decided by the last election no longer counts
/// (`leader`; my own sid if I led), for the reason in `reason`
/// (`ZKELECT_REASON_*`); a new election starts unless the reason is
/// `ZKELECT_REASON_STOPPED`. Follows every LEADER_ELECTED exactly once
/// before the next one.
pub const ZKELECT_EVENT_LEADER_LOST: i32 = 3;
/// Event kind: an election connection to `peer_sid` came up.
pub const ZKELECT_EVENT_PEER_CONNECTED: i32 = 4;
/// Event kind: the election connection to `peer_sid` went down.
pub const ZKELECT_EVENT_PEER_DISCONNECTED: i32 = 5;
/// Event kind: a quorum confirmed me as leader with epoch `epoch`, the
/// fencing token (strictly greater than any epoch confirmed before it).
/// `leader` is my sid. Never emitted while already leading.
pub const ZKELECT_EVENT_LEADING: i32 = 6;
/// Event kind: I no longer lead epoch `epoch` (reason in `reason`). Follows
/// every LEADING exactly once before the next LEADING, and comes before any
/// other peer can be confirmed as leader.
pub const ZKELECT_EVENT_LEADERSHIP_LOST: i32 = 7;
/// Event kind: I was elected but gave up before a quorum confirmed epoch
/// `epoch` (reason in `reason`); no LEADING was emitted for it.
pub const ZKELECT_EVENT_LEADERSHIP_FAILED: i32 = 8;
/// Event kind: my leader `leader` is confirmed with epoch `epoch`.
pub const ZKELECT_EVENT_FOLLOWING: i32 = 9;
/// Event kind: as FOLLOWING, for an observer.
pub const ZKELECT_EVENT_OBSERVING: i32 = 10;
/// Event kind: I accepted epoch `epoch`. Store it and pass it to
/// `zkelect_peer_set_epoch` before the next start of this peer, so epochs
/// stay unique across process restarts.
pub const ZKELECT_EVENT_EPOCH_ACCEPTED: i32 = 11;
/// The durable store could not keep an accepted epoch (`epoch`); nothing
/// that depends on it was sent.
pub const ZKELECT_EVENT_EPOCH_STORE_FAILED: i32 = 12;

/// Loss reason: none (the event kind has no reason).
pub const ZKELECT_REASON_NONE: i32 = 0;
/// Loss reason: the host called `zkelect_peer_restart_election`.
pub const ZKELECT_REASON_RESTARTED: i32 = 1;
/// Loss reason: no heartbeat from the leader for `syncLimit` ticks (or none
/// within `initLimit` ticks of a decision the leader's own vote did not
/// back).
pub const ZKELECT_REASON_SILENT: i32 = 2;
/// Loss reason: the connection to the leader broke and was not back within
/// one tick.
pub const ZKELECT_REASON_DISCONNECTED: i32 = 3;
/// Loss reason: the leader does not lead any more (it started a new
/// election, or follows another peer).
pub const ZKELECT_REASON_LEADER_LOOKING: i32 = 4;
/// Loss reason: the leader no longer holds acknowledgements from a quorum.
pub const ZKELECT_REASON_NO_QUORUM: i32 = 5;
/// Loss reason: no quorum confirmed the new epoch within `initLimit` ticks.
pub const ZKELECT_REASON_NOT_CONFIRMED: i32 = 6;
/// Loss reason: the peer was stopped.
pub const ZKELECT_REASON_STOPPED: i32 = 7;
/// Loss reason: another leader is confirmed with a higher epoch.
pub const ZKELECT_REASON_SUPERSEDED: i32 = 8;
/// Loss reason (LEADERSHIP_LOST only): a follower had accepted a higher
/// epoch; the leader proposes a higher one at once and emits LEADING again
/// when a quorum confirms it, without a new election.
pub const ZKELECT_REASON_EPOCH_RAISED: i32 = 9;

/// Log level: every message.
pub const ZKELECT_LOG_TRACE: i32 = 0;
/// Log level: diagnostic detail.
pub const ZKELECT_LOG_DEBUG: i32 = 1;
/// Log level: milestones.
pub const ZKELECT_LOG_INFO: i32 = 2;
/// Log level: handled problems (the default threshold).
pub const ZKELECT_LOG_WARN: i32 = 3;
/// Log level: failures.
pub const ZKELECT_LOG_ERROR: i32 = 4;

/// Major version of this header and library.
pub const ZKELECT_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const ZKELECT_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const ZKELECT_VERSION_PATCH: u32 = 0;

/// A peer's state and vote: while LOOKING, its current proposal; once
/// decided, the vote that won (election-time zxid and round).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct zkelect_vote {
    /// One of `ZKELECT_STATE_*`.
    pub state: i32,
    /// Proposed or elected leader sid.
    pub leader: i64,
    /// The leader's zxid.
    pub zxid: i64,
    /// The round (logicalclock) of the vote.
    pub election_epoch: i64,
    /// The leader's epoch.
    pub peer_epoch: i64,
}

/// The result of an election.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct zkelect_leader {
    /// The elected leader's sid.
    pub leader: i64,
    /// Its zxid at election time.
    pub zxid: i64,
    /// The round it was elected in.
    pub election_epoch: i64,
    /// Its epoch.
    pub peer_epoch: i64,
    /// My role: `ZKELECT_STATE_LEADING`, `_FOLLOWING` or `_OBSERVING`.
    pub state: i32,
    /// Milliseconds from the start of this election to the decision.
    pub elapsed_ms: u64,
}

/// An event, tagged by `kind` (one of `ZKELECT_EVENT_*`). Fields that a kind
/// does not use are zero. New kinds may be added: ignore kinds you do not
/// know. New fields are only ever added at the end, and `struct_size` says
/// how many bytes of this struct the library filled.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct zkelect_event {
    /// `sizeof(zkelect_event)` as the library knows it.
    pub struct_size: u32,
    /// One of `ZKELECT_EVENT_*`.
    pub kind: i32,
    /// The sid of the peer that raised the event.
    pub my_sid: i64,
    /// STATE_CHANGED: the state before.
    pub old_state: i32,
    /// STATE_CHANGED: the state now; LEADER_ELECTED: my role.
    pub new_state: i32,
    /// LEADER_ELECTED / LEADER_LOST / LEADING / FOLLOWING / OBSERVING: the
    /// leader.
    pub leader: i64,
    /// LEADER_ELECTED: the leader's zxid.
    pub zxid: i64,
    /// LEADER_ELECTED: the round.
    pub election_epoch: i64,
    /// LEADER_ELECTED: the leader's epoch.
    pub peer_epoch: i64,
    /// LEADER_ELECTED: milliseconds from the start of the election.
    pub elapsed_ms: u64,
    /// PEER_CONNECTED / PEER_DISCONNECTED: the other peer's sid.
    pub peer_sid: i64,
    /// LEADING / LEADERSHIP_LOST / LEADERSHIP_FAILED / FOLLOWING / OBSERVING
    /// / EPOCH_ACCEPTED: the epoch. Added after the first layout: read it
    /// only when `struct_size` covers it.
    pub epoch: i64,
    /// LEADER_LOST / LEADERSHIP_LOST / LEADERSHIP_FAILED: one of
    /// `ZKELECT_REASON_*`; `ZKELECT_REASON_NONE` for other kinds. Added
    /// after the first layout: read it only when `struct_size` covers it.
    pub reason: i32,
}

/// A leader's lease as the host should check it right before acting as
/// leader (`zkelect_peer_get_lease`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct zkelect_lease {
    /// 1 if I lead confirmed at the moment of the call (a LEADING event holds
    /// and its lease has not run out), else 0.
    pub leads_now: i32,
    /// The epoch of the LEADING event the lease belongs to, 0 if none.
    pub epoch: i64,
    /// Nanoseconds the lease still holds (0 when `leads_now` is 0).
    pub remaining_ns: u64,
    /// Until when, on the clock of `zkelect_clock_now_ns` (CLOCK_BOOTTIME:
    /// counts suspend, the same for every process of the machine); 0 if none.
    pub deadline_ns: u64,
}

impl From<Vote> for zkelect_vote {
    fn from(v: Vote) -> zkelect_vote {
        zkelect_vote {
            state: v.state.as_i32(),
            leader: v.leader,
            zxid: v.zxid,
            election_epoch: v.election_epoch,
            peer_epoch: v.peer_epoch,
        }
    }
}

impl From<Leader> for zkelect_leader {
    fn from(l: Leader) -> zkelect_leader {
        zkelect_leader {
            leader: l.leader,
            zxid: l.zxid,
            election_epoch: l.election_epoch,
            peer_epoch: l.peer_epoch,
            state: l.state.as_i32(),
            elapsed_ms: l.elapsed.as_millis() as u64,
        }
    }
}

impl zkelect_event {
    /// The C form of an event raised by peer `my_sid`.
    pub fn from_event(my_sid: i64, e: &Event) -> zkelect_event {
        let mut c = zkelect_event {
            struct_size: std::mem::size_of::<zkelect_event>() as u32,
            my_sid,
            ..Default::default()
        };
        match *e {
            Event::StateChanged { old, new } => {
                c.kind = ZKELECT_EVENT_STATE_CHANGED;
                c.old_state = old.as_i32();
                c.new_state = new.as_i32();
            }
            Event::Elected(l) => {
                c.kind = ZKELECT_EVENT_LEADER_ELECTED;
                c.old_state = ServerState::Looking.as_i32();
                c.new_state = l.state.as_i32();
                c.leader = l.leader;
                c.zxid = l.zxid;
                c.election_epoch = l.election_epoch;
                c.peer_epoch = l.peer_epoch;
                c.elapsed_ms = l.elapsed.as_millis() as u64;
            }
            Event::LeaderLost { leader, reason } => {
                c.kind = ZKELECT_EVENT_LEADER_LOST;
                c.leader = leader;
                c.reason = reason_code(reason);
            }
            Event::PeerConnected(s) => {
                c.kind = ZKELECT_EVENT_PEER_CONNECTED;
                c.peer_sid = s;
            }
            Event::PeerDisconnected(s) => {
                c.kind = ZKELECT_EVENT_PEER_DISCONNECTED;
                c.peer_sid = s;
            }
            Event::Leading { epoch } => {
                c.kind = ZKELECT_EVENT_LEADING;
                c.leader = my_sid;
                c.epoch = epoch;
            }
            Event::LeadershipLost { epoch, reason } => {
                c.kind = ZKELECT_EVENT_LEADERSHIP_LOST;
                c.epoch = epoch;
                c.reason = reason_code(reason);
            }
            Event::LeadershipFailed { epoch, reason } => {
                c.kind = ZKELECT_EVENT_LEADERSHIP_FAILED;
                c.epoch = epoch;
                c.reason = reason_code(reason);
            }
            Event::Following { leader, epoch } => {
                c.kind = ZKELECT_EVENT_FOLLOWING;
                c.leader = leader;
                c.epoch = epoch;
            }
            Event::Observing { leader, epoch } => {
                c.kind = ZKELECT_EVENT_OBSERVING;
                c.leader = leader;
                c.epoch = epoch;
            }
            Event::EpochAccepted { epoch } => {
                c.kind = ZKELECT_EVENT_EPOCH_ACCEPTED;
                c.epoch = epoch;
            }
            Event::EpochStoreFailed { epoch } => {
                c.kind = ZKELECT_EVENT_EPOCH_STORE_FAILED;
                c.epoch = epoch;
            }
        }
        c
    }
}

/// The C constant of a loss reason.
fn reason_code(r: LossReason) -> i32 {
    match r {
        LossReason::Restarted => ZKELECT_REASON_RESTARTED,
        LossReason::Silent => ZKELECT_REASON_SILENT,
        LossReason::Disconnected => ZKELECT_REASON_DISCONNECTED,
        LossReason::LeaderLooking => ZKELECT_REASON_LEADER_LOOKING,
        LossReason::NoQuorum => ZKELECT_REASON_NO_QUORUM,
        LossReason::NotConfirmed => ZKELECT_REASON_NOT_CONFIRMED,
        LossReason::Stopped => ZKELECT_REASON_STOPPED,
        LossReason::Superseded => ZKELECT_REASON_SUPERSEDED,
        LossReason::EpochRaised => ZKELECT_REASON_EPOCH_RAISED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_the_crate() {
        assert_eq!(
            format!("{ZKELECT_VERSION_MAJOR}.{ZKELECT_VERSION_MINOR}.{ZKELECT_VERSION_PATCH}"),
            env!("CARGO_PKG_VERSION")
        );
    }

    #[test]
    fn reason_constants_are_the_rust_codes() {
        use LossReason::*;
        for r in [
            Restarted,
            Silent,
            Disconnected,
            LeaderLooking,
            NoQuorum,
            NotConfirmed,
            Stopped,
            Superseded,
            EpochRaised,
        ] {
            assert_eq!(reason_code(r), r.code(), "{r}");
        }
    }

    #[test]
    fn new_fields_are_appended() {
        // Hosts built against the first layout read `struct_size` bytes; the
        // old fields keep their offsets.
        assert_eq!(std::mem::offset_of!(zkelect_event, peer_sid), 64);
        assert_eq!(std::mem::offset_of!(zkelect_event, epoch), 72);
        assert_eq!(std::mem::offset_of!(zkelect_event, reason), 80);
        let e = zkelect_event::from_event(
            2,
            &Event::LeadershipLost {
                epoch: 7,
                reason: LossReason::NoQuorum,
            },
        );
        assert_eq!(
            (e.kind, e.epoch, e.reason),
            (ZKELECT_EVENT_LEADERSHIP_LOST, 7, ZKELECT_REASON_NO_QUORUM)
        );
        assert_eq!(e.struct_size as usize, std::mem::size_of::<zkelect_event>());
    }

    #[test]
    fn state_constants_are_the_wire_ordinals() {
        assert_eq!(ZKELECT_STATE_LOOKING, ServerState::Looking.as_i32());
        assert_eq!(ZKELECT_STATE_FOLLOWING, ServerState::Following.as_i32());
        assert_eq!(ZKELECT_STATE_LEADING, ServerState::Leading.as_i32());
        assert_eq!(ZKELECT_STATE_OBSERVING, ServerState::Observing.as_i32());
    }
}
