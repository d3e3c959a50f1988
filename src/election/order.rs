//! The total order on votes ("totalOrderPredicate", spec 5.5).

use crate::quorum::QuorumVerifier;
use crate::types::{Sid, Zxid};

/// Whether the new vote `(new_id, new_zxid, new_epoch)` beats the current one:
/// a non-zero weight for `new_id` and a greater (epoch, zxid, id), compared in
/// that order as signed 64-bit numbers. ZOOKEEPER-1419 fixed the grouping;
/// ZOOKEEPER-491 added the weight check so zero-weight servers never win.
pub fn total_order(
    qv: &QuorumVerifier,
    new_id: Sid,
    new_zxid: Zxid,
    new_epoch: i64,
    cur_id: Sid,
    cur_zxid: Zxid,
    cur_epoch: i64,
) -> bool {
    if qv.weight(new_id) == 0 {
        return false;
    }
    (new_epoch, new_zxid, new_id) > (cur_epoch, cur_zxid, cur_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::{Hierarchical, Majority};
    use std::collections::{BTreeMap, BTreeSet};

    fn maj() -> QuorumVerifier {
        QuorumVerifier::Majority(Majority::new(0..5, [], 0))
    }

    /// The cases of upstream FLEPredicateTest (spec 5.5 examples).
    #[test]
    fn fle_predicate_cases() {
        let q = maj();
        // (id, zxid, epoch)
        assert!(!total_order(&q, 4, 0, 0, 3, 0, 2));
        assert!(total_order(&q, 0, 0, 1, 1, 0, 0));
        assert!(total_order(&q, 0, 1, 0, 1, 0, 0));
        assert!(total_order(&q, 1, 1, 0, 0, 1, 0));
    }

    /// ZOOKEEPER-1419: a higher id with equal zxid but lower epoch must lose.
    #[test]
    fn epoch_dominates_id_and_zxid() {
        let q = maj();
        assert!(!total_order(&q, 4, 5, 1, 1, 0, 2));
        assert!(total_order(&q, 1, 0, 2, 4, 5, 1));
        assert!(
            !total_order(&q, 2, 0, 0, 2, 0, 0),
            "equal votes do not beat"
        );
    }

    #[test]
    fn signed_comparison_and_min_value_loses() {
        let q = maj();
        assert!(total_order(&q, 1, 0, 0, i64::MIN, i64::MIN, i64::MIN));
        assert!(!total_order(&q, 1, -1, 0, 1, 0, 0));
    }

    /// ZOOKEEPER-491 (FLEZeroWeightTest's rule): a zero-weight server is never
    /// adopted, however good its vote.
    #[test]
    fn zero_weight_never_beats() {
        let groups: BTreeMap<i64, BTreeSet<i64>> =
            [(1, [1, 2, 3].into_iter().collect())].into_iter().collect();
        let weights: BTreeMap<i64, u64> = [(1, 1), (2, 1), (3, 0)].into_iter().collect();
        let q = QuorumVerifier::Hierarchical(Hierarchical::new([1, 2, 3], [], groups, weights, 0));
        assert!(!total_order(&q, 3, 100, 100, 1, 0, 0));
        assert!(total_order(&q, 2, 100, 100, 1, 0, 0));
    }
}
