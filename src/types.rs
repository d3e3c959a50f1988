//! Identifiers, server states and votes shared by every layer (spec section 1 and 4).

use std::fmt;

/// A server id (`myid`). ZooKeeper uses a Java `long`, so ids are signed 64-bit;
/// the special values `i64::MIN` (no leader) and `i64::MAX` (legacy observer
/// placeholder) appear on the wire.
pub type Sid = i64;

/// A ZooKeeper transaction id: high 32 bits are the epoch, low 32 bits a counter.
pub type Zxid = i64;

/// The value ZooKeeper puts in the leader, zxid and peer-epoch fields of a
/// vote that must lose every comparison (`Long.MIN_VALUE`, spec 3.3).
pub const NO_VOTE: i64 = i64::MIN;

/// The epoch part of a zxid: an arithmetic right shift by 32 (spec 1).
pub fn epoch_of_zxid(zxid: Zxid) -> i64 {
    zxid >> 32
}

/// The state a server reports in every notification (spec 1: enum ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum ServerState {
    /// Looking for a leader (an election runs).
    Looking = 0,
    /// Following the elected leader.
    Following = 1,
    /// Leading.
    Leading = 2,
    /// Observing: knows the leader but does not vote.
    Observing = 3,
}

impl ServerState {
    /// Decodes the wire ordinal; `None` for anything outside 0..=3.
    pub fn from_i32(v: i32) -> Option<ServerState> {
        match v {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }

    /// The wire ordinal.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The upper-case name ZooKeeper logs (`LOOKING`, `FOLLOWING`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        }
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a server votes (`participant`) or only follows (`observer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LearnerType {
    /// A voting member.
    #[default]
    Participant,
    /// A non-voting member that learns the leader.
    Observer,
}

impl LearnerType {
    /// The role word used in `server.N` lines and rendered configs.
    pub fn name(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }
}

/// A vote (spec 4): who leads, with which zxid and epochs, as reported by a
/// server in a given state. `version` is the notification format version the
/// vote arrived with (0 for 28/40-byte bodies, 2 for what 3.8 sends); it only
/// matters for [`Vote::matches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vote {
    /// Notification format version (0 unless the vote came from a v1+ body).
    pub version: i32,
    /// The proposed or elected leader.
    pub leader: Sid,
    /// The leader's zxid, as known when the vote was cast.
    pub zxid: Zxid,
    /// The election round (logicalclock) of the vote.
    pub election_epoch: i64,
    /// The leader's epoch (after sync: the new epoch).
    pub peer_epoch: i64,
    /// The state of the server that holds this vote.
    pub state: ServerState,
}

impl Vote {
    /// A LOOKING vote with format version 0.
    pub fn looking(leader: Sid, zxid: Zxid, election_epoch: i64, peer_epoch: i64) -> Vote {
        Vote {
            version: 0,
            leader,
            zxid,
            election_epoch,
            peer_epoch,
            state: ServerState::Looking,
        }
    }

    /// ZooKeeper's `Vote.equals` (spec 5.6): if either side is LOOKING, leader,
    /// zxid, election epoch and peer epoch must match. Otherwise, when exactly one
    /// side has `version > 0`, only the leader must match; else leader and peer
    /// epoch must match.
    pub fn matches(&self, other: &Vote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            return self.leader == other.leader
                && self.zxid == other.zxid
                && self.election_epoch == other.election_epoch
                && self.peer_epoch == other.peer_epoch;
        }
        if (self.version > 0) != (other.version > 0) {
            self.leader == other.leader
        } else {
            self.leader == other.leader && self.peer_epoch == other.peer_epoch
        }
    }
}

impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} leader={} zxid={:#x} round={:#x} peerEpoch={:#x} version={}",
            self.state, self.leader, self.zxid, self.election_epoch, self.peer_epoch, self.version
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_of_zxid_is_arithmetic_shift() {
        assert_eq!(epoch_of_zxid(0x2_0000_0010), 2);
        assert_eq!(epoch_of_zxid(-1), -1);
        assert_eq!(epoch_of_zxid(i64::MIN), -(1 << 31));
    }

    #[test]
    fn state_ordinals_roundtrip() {
        for v in 0..4 {
            assert_eq!(ServerState::from_i32(v).unwrap().as_i32(), v);
        }
        assert_eq!(ServerState::from_i32(4), None);
        assert_eq!(ServerState::from_i32(-1), None);
    }
}
