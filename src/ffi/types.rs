//! Plain-data types of the C ABI.
#![allow(non_camel_case_types)]

pub use super::tables::{zkelect_event_kind, zkelect_reason, zkelect_result, zkelect_state};
use crate::peer::{Event, Leader, Leadership, Stats};
use crate::types::{ServerState, Vote};
use std::time::Duration;

/// Pass as `my_sid` to read the sid from the `myid` file in `dataDir`.
pub const ZKELECT_MYID_FROM_DATADIR: i64 = -1;

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

// The header's constants say what the library does: the log levels are
// `Level`'s numbers and the version is Cargo's. Checked when the crate
// compiles (which is also the Rust side's only use of these C constants).
const _: () = {
    use crate::logging::Level;
    assert!(ZKELECT_LOG_TRACE == Level::Trace as i32);
    assert!(ZKELECT_LOG_DEBUG == Level::Debug as i32);
    assert!(ZKELECT_LOG_INFO == Level::Info as i32);
    assert!(ZKELECT_LOG_WARN == Level::Warn as i32);
    assert!(ZKELECT_LOG_ERROR == Level::Error as i32);
    assert!(ZKELECT_VERSION_MAJOR == decimal(env!("CARGO_PKG_VERSION_MAJOR")));
    assert!(ZKELECT_VERSION_MINOR == decimal(env!("CARGO_PKG_VERSION_MINOR")));
    assert!(ZKELECT_VERSION_PATCH == decimal(env!("CARGO_PKG_VERSION_PATCH")));
};

/// A decimal number's value, at compile time (for the checks above).
const fn decimal(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// A peer's state and vote: while LOOKING, its current proposal; once
/// decided, the vote that won (election-time zxid and round).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zkelect_vote {
    /// My state.
    pub state: zkelect_state,
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
#[derive(Debug, Clone, Copy)]
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
    pub state: zkelect_state,
    /// Milliseconds from the start of this election to the decision.
    pub elapsed_ms: u64,
}

/// An event, tagged by `kind`. Fields that a kind does not use are zero. New
/// kinds may be added: ignore kinds you do not know. New fields are only
/// ever added at the end, and `struct_size` says how many bytes of this
/// struct the library filled.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zkelect_event {
    /// `sizeof(zkelect_event)` as the library knows it.
    pub struct_size: u32,
    /// What happened; says which fields below are set.
    pub kind: zkelect_event_kind,
    /// The sid of the peer that raised the event.
    pub my_sid: i64,
    /// STATE_CHANGED: the state before.
    pub old_state: zkelect_state,
    /// STATE_CHANGED: the state now; LEADER_ELECTED: my role.
    pub new_state: zkelect_state,
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
    /// / EPOCH_ACCEPTED / EPOCH_STORE_FAILED: the epoch. Added after the
    /// first layout: read it only when `struct_size` covers it.
    pub epoch: i64,
    /// LEADER_LOST / LEADERSHIP_LOST / LEADERSHIP_FAILED: why;
    /// `ZKELECT_REASON_NONE` for other kinds. Added after the first layout:
    /// read it only when `struct_size` covers it.
    pub reason: zkelect_reason,
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

/// A peer's leadership, read as one consistent snapshot
/// (`zkelect_peer_get_leadership`, `zkelect_peer_wait_for_confirmed`): all
/// fields come from one reading of the peer's state and one reading of the
/// clock. Act on `role`, `leader` and `epoch` (confirmed by a quorum), not
/// on `elected_leader` (the bare election decision).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zkelect_leadership {
    /// 1 if a leadership is confirmed: the last LEADING, FOLLOWING or
    /// OBSERVING event holds (my own LEADING only within its lease), else 0.
    pub confirmed: i32,
    /// The confirmed role: `ZKELECT_STATE_LEADING`, `_FOLLOWING` or
    /// `_OBSERVING`; `ZKELECT_STATE_LOOKING` when `confirmed` is 0.
    pub role: zkelect_state,
    /// The confirmed leader's sid (mine when leading); -1 when `confirmed`
    /// is 0.
    pub leader: i64,
    /// The confirmed epoch, the fencing token; 0 when `confirmed` is 0.
    pub epoch: i64,
    /// 1 if I lead confirmed at the moment of the snapshot (`role` is
    /// LEADING and the lease holds), else 0.
    pub leads_now: i32,
    /// Milliseconds from the snapshot until my lease ends unless a new
    /// acknowledgement arrives (rounded down); 0 unless `leads_now`.
    pub lease_ms: u64,
    /// When my lease ends, on the clock of `zkelect_clock_now_ns`; 0 unless
    /// `leads_now`.
    pub lease_deadline_ns: u64,
    /// My state as the election sees it.
    pub state: zkelect_state,
    /// The leader the last election decided, if that decision holds; -1 if
    /// none. Not yet something to act on.
    pub elected_leader: i64,
    /// 1 if the peer runs.
    pub running: i32,
    /// 1 if my vote is follow-only now: I vote, but never win the election
    /// (`followOnly=true`; `auto` once I learned of real ZooKeeper members;
    /// the back-off after a failed confirmation), else 0.
    pub follow_only: i32,
    /// 1 if I learned that the ensemble has real ZooKeeper servers, else 0.
    pub real_members: i32,
}

/// A peer's statistics (`zkelect_peer_get_stats`): its state, and what it
/// counted since it was created (across restarts), for monitoring; the
/// same figures `zkelect run` serves as ZooKeeper's four-letter words and
/// as Prometheus metrics. Durations are in milliseconds.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct zkelect_stats {
    /// 1 if the peer runs.
    pub running: i32,
    /// My state as the election sees it.
    pub state: zkelect_state,
    /// The leader: the confirmed one, else the one the election decided;
    /// -1 while LOOKING.
    pub leader: i64,
    /// 1 if a leadership is confirmed (as in `zkelect_leadership`).
    pub confirmed: i32,
    /// The highest epoch this peer accepted.
    pub accepted_epoch: i64,
    /// My election round (logicalclock).
    pub round: i64,
    /// Since the current run started; 0 when not running.
    pub uptime_ms: u64,
    /// How long the current confirmed leadership has held; 0 if none.
    pub confirmed_ms: u64,
    /// Times I went LOOKING (each start and each new election).
    pub looking_count: u64,
    /// Elections that ended in a decision.
    pub elections: u64,
    /// The last election's duration, from LOOKING to the decision.
    pub last_election_ms: u64,
    /// The shortest election; 0 before the first.
    pub min_election_ms: u64,
    /// The longest election; 0 before the first.
    pub max_election_ms: u64,
    /// All elections' durations added up.
    pub total_election_ms: u64,
    /// Confirmed leaderships begun (a new leader or a new epoch).
    pub leadership_changes: u64,
    /// Members of the configuration connected now.
    pub connected_peers: u32,
    /// Failed connection attempts and connections closed for a bad frame.
    pub connection_errors: u64,
    /// Received frames dropped because the receive queue was full.
    pub frames_dropped: u64,
    /// Frames received from peers.
    pub frames_received: u64,
    /// Frames queued for sending.
    pub frames_sent: u64,
}

impl From<&Stats> for zkelect_stats {
    fn from(s: &Stats) -> zkelect_stats {
        let leader = match (s.confirmed, s.state) {
            (Some(c), _) => c.leader,
            (None, ServerState::Looking) => -1,
            (None, _) => s.vote.leader,
        };
        zkelect_stats {
            running: i32::from(s.running),
            state: s.state.into(),
            leader,
            confirmed: i32::from(s.confirmed.is_some()),
            accepted_epoch: s.accepted_epoch,
            round: s.round,
            uptime_ms: ms(s.uptime),
            confirmed_ms: s.confirmed_for.map_or(0, ms),
            looking_count: s.looking_count,
            elections: s.elections,
            last_election_ms: s.last_election_time.map_or(0, ms),
            min_election_ms: s.min_election_time.map_or(0, ms),
            max_election_ms: s.max_election_time.map_or(0, ms),
            total_election_ms: ms(s.total_election_time),
            leadership_changes: s.leadership_changes,
            connected_peers: u32::try_from(s.connected_peers.len()).unwrap_or(u32::MAX),
            connection_errors: s.connection_errors,
            frames_dropped: s.frames_dropped,
            frames_received: s.frames_received,
            frames_sent: s.frames_sent,
        }
    }
}

impl From<Vote> for zkelect_vote {
    fn from(v: Vote) -> zkelect_vote {
        zkelect_vote {
            state: v.state.into(),
            leader: v.leader,
            zxid: v.zxid,
            election_epoch: v.election_epoch,
            peer_epoch: v.peer_epoch,
        }
    }
}

/// Milliseconds or nanoseconds for C, saturating.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl From<Leader> for zkelect_leader {
    fn from(l: Leader) -> zkelect_leader {
        zkelect_leader {
            leader: l.leader,
            zxid: l.zxid,
            election_epoch: l.election_epoch,
            peer_epoch: l.peer_epoch,
            state: l.state.into(),
            elapsed_ms: ms(l.elapsed),
        }
    }
}

impl From<Leadership> for zkelect_leadership {
    fn from(l: Leadership) -> zkelect_leadership {
        let c = l.confirmed;
        zkelect_leadership {
            confirmed: i32::from(c.is_some()),
            role: c.map_or(ServerState::Looking, |c| c.state).into(),
            leader: c.map_or(-1, |c| c.leader),
            epoch: c.map_or(0, |c| c.epoch),
            leads_now: i32::from(l.leads_now()),
            lease_ms: l.lease_remaining().map_or(0, ms),
            lease_deadline_ns: l.lease_deadline.map_or(0, ns),
            state: l.state.into(),
            elected_leader: l.elected.map_or(-1, |e| e.leader),
            running: i32::from(l.running),
            follow_only: i32::from(l.follow_only),
            real_members: i32::from(l.real_members),
        }
    }
}

impl zkelect_event {
    /// The C form of an event raised by peer `my_sid`.
    pub fn from_event(my_sid: i64, e: &Event) -> zkelect_event {
        use zkelect_event_kind::*;
        let base = |kind| zkelect_event {
            struct_size: std::mem::size_of::<zkelect_event>() as u32,
            kind,
            my_sid,
            old_state: zkelect_state::ZKELECT_STATE_LOOKING,
            new_state: zkelect_state::ZKELECT_STATE_LOOKING,
            leader: 0,
            zxid: 0,
            election_epoch: 0,
            peer_epoch: 0,
            elapsed_ms: 0,
            peer_sid: 0,
            epoch: 0,
            reason: zkelect_reason::ZKELECT_REASON_NONE,
        };
        match *e {
            Event::StateChanged { old, new } => zkelect_event {
                old_state: old.into(),
                new_state: new.into(),
                ..base(ZKELECT_EVENT_STATE_CHANGED)
            },
            Event::Elected(l) => zkelect_event {
                new_state: l.state.into(),
                leader: l.leader,
                zxid: l.zxid,
                election_epoch: l.election_epoch,
                peer_epoch: l.peer_epoch,
                elapsed_ms: ms(l.elapsed),
                ..base(ZKELECT_EVENT_LEADER_ELECTED)
            },
            Event::LeaderLost { leader, reason } => zkelect_event {
                leader,
                reason: reason.into(),
                ..base(ZKELECT_EVENT_LEADER_LOST)
            },
            Event::PeerConnected(s) => zkelect_event {
                peer_sid: s,
                ..base(ZKELECT_EVENT_PEER_CONNECTED)
            },
            Event::PeerDisconnected(s) => zkelect_event {
                peer_sid: s,
                ..base(ZKELECT_EVENT_PEER_DISCONNECTED)
            },
            Event::Leading { epoch } => zkelect_event {
                leader: my_sid,
                epoch,
                ..base(ZKELECT_EVENT_LEADING)
            },
            Event::LeadershipLost { epoch, reason } => zkelect_event {
                epoch,
                reason: reason.into(),
                ..base(ZKELECT_EVENT_LEADERSHIP_LOST)
            },
            Event::LeadershipFailed { epoch, reason } => zkelect_event {
                epoch,
                reason: reason.into(),
                ..base(ZKELECT_EVENT_LEADERSHIP_FAILED)
            },
            Event::Following { leader, epoch } => zkelect_event {
                leader,
                epoch,
                ..base(ZKELECT_EVENT_FOLLOWING)
            },
            Event::Observing { leader, epoch } => zkelect_event {
                leader,
                epoch,
                ..base(ZKELECT_EVENT_OBSERVING)
            },
            Event::EpochAccepted { epoch } => zkelect_event {
                epoch,
                ..base(ZKELECT_EVENT_EPOCH_ACCEPTED)
            },
            Event::EpochStoreFailed { epoch } => zkelect_event {
                epoch,
                ..base(ZKELECT_EVENT_EPOCH_STORE_FAILED)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::LossReason;

    #[test]
    fn version_constants_match_the_crate() {
        assert_eq!(
            format!("{ZKELECT_VERSION_MAJOR}.{ZKELECT_VERSION_MINOR}.{ZKELECT_VERSION_PATCH}"),
            env!("CARGO_PKG_VERSION")
        );
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
            (
                zkelect_event_kind::ZKELECT_EVENT_LEADERSHIP_LOST,
                7,
                zkelect_reason::ZKELECT_REASON_NO_QUORUM
            )
        );
        assert_eq!(e.struct_size as usize, std::mem::size_of::<zkelect_event>());
    }

    #[test]
    fn a_snapshot_without_a_leadership_is_all_none() {
        let l = zkelect_leadership::from(Leadership {
            state: ServerState::Looking,
            elected: None,
            confirmed: None,
            lease_deadline: None,
            now: Duration::from_secs(5),
            running: true,
            follow_only: false,
            real_members: true,
        });
        assert_eq!((l.confirmed, l.leader, l.epoch, l.leads_now), (0, -1, 0, 0));
        assert_eq!(
            (l.lease_ms, l.lease_deadline_ns, l.elected_leader),
            (0, 0, -1)
        );
        assert_eq!(
            (l.role, l.running),
            (zkelect_state::ZKELECT_STATE_LOOKING, 1)
        );
        assert_eq!((l.follow_only, l.real_members), (0, 1));
    }
}
