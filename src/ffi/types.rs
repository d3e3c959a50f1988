//! Plain-data types of the C ABI.
#![allow(non_camel_case_types)]

use crate::peer::{Event, Leader};
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
/// Event kind: the election was restarted while a leader was known;
/// `leader` is the leader given up.
pub const ZKELECT_EVENT_LEADER_LOST: i32 = 3;
/// Event kind: an election connection to `peer_sid` came up.
pub const ZKELECT_EVENT_PEER_CONNECTED: i32 = 4;
/// Event kind: the election connection to `peer_sid` went down.
pub const ZKELECT_EVENT_PEER_DISCONNECTED: i32 = 5;

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
    /// LEADER_ELECTED / LEADER_LOST: the leader.
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
            Event::LeaderLost { leader } => {
                c.kind = ZKELECT_EVENT_LEADER_LOST;
                c.leader = leader;
            }
            Event::PeerConnected(s) => {
                c.kind = ZKELECT_EVENT_PEER_CONNECTED;
                c.peer_sid = s;
            }
            Event::PeerDisconnected(s) => {
                c.kind = ZKELECT_EVENT_PEER_DISCONNECTED;
                c.peer_sid = s;
            }
        }
        c
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
    fn state_constants_are_the_wire_ordinals() {
        assert_eq!(ZKELECT_STATE_LOOKING, ServerState::Looking.as_i32());
        assert_eq!(ZKELECT_STATE_FOLLOWING, ServerState::Following.as_i32());
        assert_eq!(ZKELECT_STATE_LEADING, ServerState::Leading.as_i32());
        assert_eq!(ZKELECT_STATE_OBSERVING, ServerState::Observing.as_i32());
    }
}
