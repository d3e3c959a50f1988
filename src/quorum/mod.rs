//! Quorum verifiers (spec 7): majority, and hierarchical with groups and weights.
//!
//! A verifier knows the voting members of one committed configuration and
//! answers "is this set of acknowledging sids a quorum?". It also carries the
//! weights that FastLeaderElection's total order consults (spec 5.5).

mod hierarchical;
mod majority;

pub use hierarchical::Hierarchical;
pub use majority::Majority;

use crate::types::Sid;
use std::collections::BTreeSet;

/// A quorum verifier over one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumVerifier {
    /// Simple majority of participants (spec 7.1).
    Majority(Majority),
    /// Majority of groups, each by weight (spec 7.2).
    Hierarchical(Hierarchical),
}

impl QuorumVerifier {
    /// The voting members (participants).
    pub fn voters(&self) -> &BTreeSet<Sid> {
        match self {
            QuorumVerifier::Majority(m) => m.voters(),
            QuorumVerifier::Hierarchical(h) => h.voters(),
        }
    }

    /// The non-voting members (observers).
    pub fn observers(&self) -> &BTreeSet<Sid> {
        match self {
            QuorumVerifier::Majority(m) => m.observers(),
            QuorumVerifier::Hierarchical(h) => h.observers(),
        }
    }

    /// Whether `sid` is a voting member.
    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters().contains(&sid)
    }

    /// The weight of `sid` for the total order: 1 for every sid under
    /// majority; the configured weight under hierarchical quorums, and 0 for a
    /// sid with no weight entry (ZooKeeper would throw there, spec 5.9; we treat
    /// it as "can never be adopted").
    pub fn weight(&self, sid: Sid) -> u64 {
        match self {
            QuorumVerifier::Majority(_) => 1,
            QuorumVerifier::Hierarchical(h) => h.weight(sid),
        }
    }

    /// Whether the acknowledging set is a quorum. Sids that are not voters
    /// never count.
    pub fn contains_quorum(&self, acks: &BTreeSet<Sid>) -> bool {
        match self {
            QuorumVerifier::Majority(m) => m.contains_quorum(acks),
            QuorumVerifier::Hierarchical(h) => h.contains_quorum(acks),
        }
    }

    /// The configuration version (`version=` in a dynamic config, 0 otherwise).
    pub fn version(&self) -> u64 {
        match self {
            QuorumVerifier::Majority(m) => m.version(),
            QuorumVerifier::Hierarchical(h) => h.version(),
        }
    }
}
