//! Hierarchical quorums: groups of weighted servers (spec 7.2).

use crate::types::Sid;
use std::collections::{BTreeMap, BTreeSet};

/// A majority of groups, where a group counts when the summed weight of its
/// acknowledging members exceeds half of the group's weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchical {
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
    /// group id -> member sids.
    groups: BTreeMap<i64, BTreeSet<Sid>>,
    /// sid -> group id.
    group_of: BTreeMap<Sid, i64>,
    /// sid -> weight (participants without a `weight.N` line weigh 1).
    weights: BTreeMap<Sid, u64>,
    /// group id -> total weight.
    group_weight: BTreeMap<i64, u64>,
    /// Groups whose total weight is non-zero.
    num_groups: usize,
    version: u64,
}

impl Hierarchical {
    /// Builds a verifier. `groups` must be disjoint and `weights` gives the
    /// weight of each participant (missing participants weigh 1). The config
    /// parser checks the structural rules and names the offending line; this
    /// constructor trusts its input.
    pub fn new(
        voters: impl IntoIterator<Item = Sid>,
        observers: impl IntoIterator<Item = Sid>,
        groups: BTreeMap<i64, BTreeSet<Sid>>,
        weights: BTreeMap<Sid, u64>,
        version: u64,
    ) -> Hierarchical {
        let voters: BTreeSet<Sid> = voters.into_iter().collect();
        let mut w = weights;
        for v in &voters {
            w.entry(*v).or_insert(1);
        }
        let mut group_of = BTreeMap::new();
        let mut group_weight = BTreeMap::new();
        for (gid, members) in &groups {
            let mut total = 0u64;
            for m in members {
                group_of.insert(*m, *gid);
                total = total.saturating_add(*w.get(m).unwrap_or(&0));
            }
            group_weight.insert(*gid, total);
        }
        let num_groups = group_weight.values().filter(|t| **t > 0).count();
        Hierarchical {
            voters,
            observers: observers.into_iter().collect(),
            groups,
            group_of,
            weights: w,
            group_weight,
            num_groups,
            version,
        }
    }

    /// The participants.
    pub fn voters(&self) -> &BTreeSet<Sid> {
        &self.voters
    }

    /// The observers.
    pub fn observers(&self) -> &BTreeSet<Sid> {
        &self.observers
    }

    /// The groups, by group id.
    pub fn groups(&self) -> &BTreeMap<i64, BTreeSet<Sid>> {
        &self.groups
    }

    /// The configured weights, by sid (participants default to 1).
    pub fn weights(&self) -> &BTreeMap<Sid, u64> {
        &self.weights
    }

    /// The configuration version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The weight of `sid`, 0 when it has none.
    pub fn weight(&self, sid: Sid) -> u64 {
        self.weights.get(&sid).copied().unwrap_or(0)
    }

    /// Spec 7.2: the set is a quorum iff more than `numGroups / 2` groups have
    /// a weighted majority of acknowledgements. An empty set never is.
    pub fn contains_quorum(&self, acks: &BTreeSet<Sid>) -> bool {
        if acks.is_empty() {
            return false;
        }
        let mut partial: BTreeMap<i64, u64> = BTreeMap::new();
        for sid in acks {
            if let Some(g) = self.group_of.get(sid) {
                *partial.entry(*g).or_insert(0) += self.weight(*sid);
            }
        }
        let majority_groups = partial
            .iter()
            .filter(|(g, sum)| **sum > self.group_weight.get(g).copied().unwrap_or(0) / 2)
            .count();
        majority_groups > self.num_groups / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &[Sid]) -> BTreeSet<Sid> {
        s.iter().copied().collect()
    }

    fn groups(g: &[&[Sid]]) -> BTreeMap<i64, BTreeSet<Sid>> {
        g.iter()
            .enumerate()
            .map(|(i, m)| (i as i64 + 1, set(m)))
            .collect()
    }

    /// Spec 7.2 example: only group 1 has weight, so any 2 of {0,1,2} is a quorum.
    #[test]
    fn zero_weight_groups_do_not_count() {
        let mut w = BTreeMap::new();
        for s in 0..9 {
            w.insert(s, if s < 3 { 1 } else { 0 });
        }
        let q = Hierarchical::new(
            0..9,
            [],
            groups(&[&[0, 1, 2], &[3, 4, 5], &[6, 7, 8]]),
            w,
            0,
        );
        assert!(q.contains_quorum(&set(&[0, 1])));
        assert!(!q.contains_quorum(&set(&[0, 3, 4, 5, 6, 7, 8])));
        assert_eq!(q.weight(4), 0);
        assert_eq!(q.weight(1), 1);
    }

    /// Spec 7.2 example: 3 groups of 3, all weight 1: need 2 of 3 in 2 groups.
    #[test]
    fn two_of_three_groups() {
        let q = Hierarchical::new(
            1..=9,
            [],
            groups(&[&[1, 2, 3], &[4, 5, 6], &[7, 8, 9]]),
            BTreeMap::new(),
            0,
        );
        assert!(q.contains_quorum(&set(&[1, 2, 4, 5])));
        assert!(!q.contains_quorum(&set(&[1, 2, 3, 4, 7])));
        assert!(!q.contains_quorum(&set(&[])));
        assert!(!q.contains_quorum(&set(&[1, 2, 3])));
    }

    #[test]
    fn unknown_sid_weighs_zero() {
        let q = Hierarchical::new([1, 2, 3], [], groups(&[&[1, 2, 3]]), BTreeMap::new(), 0);
        assert_eq!(q.weight(7), 0);
        assert!(!q.contains_quorum(&set(&[7, 8])));
        assert!(q.contains_quorum(&set(&[1, 2])));
    }
}
