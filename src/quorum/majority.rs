//! Majority quorums (spec 7.1).

use crate::types::Sid;
use std::collections::BTreeSet;

/// Majority of participants: a set is a quorum iff it holds more than
/// `voters / 2` (integer division) voters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Majority {
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
    version: u64,
}

impl Majority {
    /// Builds a majority verifier from the participants and observers.
    pub fn new(
        voters: impl IntoIterator<Item = Sid>,
        observers: impl IntoIterator<Item = Sid>,
        version: u64,
    ) -> Majority {
        Majority {
            voters: voters.into_iter().collect(),
            observers: observers.into_iter().collect(),
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

    /// The configuration version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether `acks` holds more than half of the voters (non-voters ignored).
    pub fn contains_quorum(&self, acks: &BTreeSet<Sid>) -> bool {
        let n = acks.iter().filter(|s| self.voters.contains(s)).count();
        n > self.voters.len() / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &[Sid]) -> BTreeSet<Sid> {
        s.iter().copied().collect()
    }

    /// Spec TV13, first line, and 7.1's sizes.
    #[test]
    fn majority_of_five_voters() {
        let q = Majority::new(1..=5, [], 0);
        assert!(!q.contains_quorum(&set(&[1, 2])));
        assert!(!q.contains_quorum(&set(&[1, 2, 6])));
        assert!(q.contains_quorum(&set(&[1, 2, 3])));
    }

    /// Spec TV13: 3 voters + 2 observers; observers and unknown sids never count
    /// (QuorumMajorityTest).
    #[test]
    fn observers_and_unknown_sids_do_not_count() {
        let q = Majority::new([1, 2, 3], [4, 5], 0);
        assert!(!q.contains_quorum(&set(&[1, 4, 5, 6])));
        assert!(q.contains_quorum(&set(&[1, 2])));
    }

    #[test]
    fn quorum_sizes() {
        for (n, need) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)] {
            let q = Majority::new(1..=n, [], 0);
            let members: Vec<Sid> = (1..=n).collect();
            assert!(q.contains_quorum(&members[..need as usize].iter().copied().collect()));
            assert!(!q.contains_quorum(&members[..need as usize - 1].iter().copied().collect()));
        }
    }
}
