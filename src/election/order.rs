//! The total order on votes ("totalOrderPredicate", spec 5.5), and the
//! [`Proposal`] it compares.

use super::message::Message;
use crate::quorum::QuorumVerifier;
use crate::types::{ServerState, Sid, Zxid};

/// A vote as FLE proposes and compares it: the proposed leader, its last
/// zxid and its peer epoch (ZooKeeper's `proposedLeader`, `proposedZxid`,
/// `proposedEpoch`). The round travels beside it (`logicalclock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    /// The proposed leader's sid.
    pub leader: Sid,
    /// The proposed leader's last zxid.
    pub zxid: Zxid,
    /// The proposed leader's peer epoch.
    pub epoch: i64,
}

impl Proposal {
    /// The "unset" proposal (-1, -1, -1) of a machine that has not started
    /// or has stopped (spec 3.3).
    pub const UNSET: Proposal = Proposal::new(-1, -1, -1);

    /// The proposal `(leader, zxid, epoch)`.
    pub const fn new(leader: Sid, zxid: Zxid, epoch: i64) -> Proposal {
        Proposal {
            leader,
            zxid,
            epoch,
        }
    }

    /// The vote a notification carries: its leader, zxid and peer epoch.
    pub fn of(msg: &Message) -> Proposal {
        Proposal::new(msg.leader, msg.zxid, msg.peer_epoch)
    }

    /// This proposal as my LOOKING notification of round `round`.
    pub fn looking(self, round: i64) -> Message {
        Message::outgoing(
            ServerState::Looking,
            self.leader,
            self.zxid,
            round,
            self.epoch,
        )
    }
}

/// Whether the `new` vote beats the current one `cur`: a non-zero weight
/// for `new.leader` and a greater (epoch, zxid, leader), compared in that
/// order as signed 64-bit numbers. ZOOKEEPER-1419 fixed the grouping;
/// ZOOKEEPER-491 added the weight check so zero-weight servers never win.
pub fn total_order(qv: &QuorumVerifier, new: Proposal, cur: Proposal) -> bool {
    if qv.weight(new.leader) == 0 {
        return false;
    }
    (new.epoch, new.zxid, new.leader) > (cur.epoch, cur.zxid, cur.leader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::{Hierarchical, Majority};
    use std::collections::{BTreeMap, BTreeSet};

    fn maj() -> QuorumVerifier {
        QuorumVerifier::Majority(Majority::new(0..5, [], 0))
    }

    /// `total_order` on `(id, zxid, epoch)` triples, as the upstream tests
    /// write them.
    fn beats(q: &QuorumVerifier, new: (Sid, Zxid, i64), cur: (Sid, Zxid, i64)) -> bool {
        total_order(
            q,
            Proposal::new(new.0, new.1, new.2),
            Proposal::new(cur.0, cur.1, cur.2),
        )
    }

    /// The cases of upstream FLEPredicateTest (spec 5.5 examples).
    #[test]
    fn fle_predicate_cases() {
        let q = maj();
        // (id, zxid, epoch)
        assert!(!beats(&q, (4, 0, 0), (3, 0, 2)));
        assert!(beats(&q, (0, 0, 1), (1, 0, 0)));
        assert!(beats(&q, (0, 1, 0), (1, 0, 0)));
        assert!(beats(&q, (1, 1, 0), (0, 1, 0)));
    }

    /// ZOOKEEPER-1419: a higher id with equal zxid but lower epoch must lose.
    #[test]
    fn epoch_dominates_id_and_zxid() {
        let q = maj();
        assert!(!beats(&q, (4, 5, 1), (1, 0, 2)));
        assert!(beats(&q, (1, 0, 2), (4, 5, 1)));
        assert!(!beats(&q, (2, 0, 0), (2, 0, 0)), "equal votes do not beat");
    }

    #[test]
    fn signed_comparison_and_min_value_loses() {
        let q = maj();
        assert!(beats(&q, (1, 0, 0), (i64::MIN, i64::MIN, i64::MIN)));
        assert!(!beats(&q, (1, -1, 0), (1, 0, 0)));
    }

    /// ZOOKEEPER-491 (FLEZeroWeightTest's rule): a zero-weight server is never
    /// adopted, however good its vote.
    #[test]
    fn zero_weight_never_beats() {
        let groups: BTreeMap<i64, BTreeSet<i64>> =
            [(1, [1, 2, 3].into_iter().collect())].into_iter().collect();
        let weights: BTreeMap<i64, u64> = [(1, 1), (2, 1), (3, 0)].into_iter().collect();
        let q = QuorumVerifier::Hierarchical(Hierarchical::new([1, 2, 3], [], groups, weights, 0));
        assert!(!beats(&q, (3, 100, 100), (1, 0, 0)));
        assert!(beats(&q, (2, 100, 100), (1, 0, 0)));
    }

    #[test]
    fn proposal_helpers_keep_the_fields() {
        let p = Proposal::new(3, 7, 2);
        let m = p.looking(9);
        assert_eq!(m, Message::outgoing(ServerState::Looking, 3, 7, 9, 2));
        assert_eq!(Proposal::of(&m), p);
        assert_eq!(Proposal::UNSET, Proposal::new(-1, -1, -1));
    }
}
