//! Quorum counting over vote maps ("SyncedLearnerTracker", spec 5.6) and the
//! leader check (spec 5.7).

use crate::quorum::QuorumVerifier;
use crate::types::{ServerState, Sid, Vote};
use std::collections::{BTreeMap, BTreeSet};

/// Whether the sids whose vote [matches](Vote::matches) `comparison` form a
/// quorum in **every** tracked verifier (the committed one, plus a newer
/// proposed one during reconfiguration, spec 7.4).
pub fn has_all_quorums(
    verifiers: &[&QuorumVerifier],
    votes: &BTreeMap<Sid, Vote>,
    comparison: &Vote,
) -> bool {
    let acks: BTreeSet<Sid> = votes
        .iter()
        .filter(|(_, v)| comparison.matches(v))
        .map(|(sid, _)| *sid)
        .collect();
    !verifiers.is_empty()
        && verifiers.iter().all(|qv| {
            // Only voters of that verifier are added to its ack set.
            let mine: BTreeSet<Sid> = acks.iter().copied().filter(|s| qv.is_voter(*s)).collect();
            qv.contains_quorum(&mine)
        })
}

/// checkLeader (spec 5.7): a leader other than me must itself have said
/// LEADING in `votes` (ZOOKEEPER-480/975); if I am the leader, the vote must
/// be from my current round (ZOOKEEPER-1514).
pub fn check_leader(
    votes: &BTreeMap<Sid, Vote>,
    leader: Sid,
    election_epoch: i64,
    my_sid: Sid,
    logicalclock: i64,
) -> bool {
    if leader != my_sid {
        votes
            .get(&leader)
            .is_some_and(|v| v.state == ServerState::Leading)
    } else {
        logicalclock == election_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::Majority;

    fn vote(version: i32, leader: Sid, zxid: i64, round: i64, pe: i64, s: ServerState) -> Vote {
        Vote {
            version,
            leader,
            zxid,
            election_epoch: round,
            peer_epoch: pe,
            state: s,
        }
    }

    fn five() -> QuorumVerifier {
        QuorumVerifier::Majority(Majority::new(0..5, [], 0))
    }

    use ServerState::*;

    /// TV13 / FLEOutOfElectionTest "outofelection quorum with leader check":
    /// version mismatch compares ids only; sid 5 is not a voter.
    #[test]
    fn tv13_out_of_election_mixed_versions() {
        let mut m = BTreeMap::new();
        m.insert(1, vote(0, 5, 0xf00000000, 0xa, 0x17, Following));
        m.insert(2, vote(0, 5, 0xf00000000, 0xa, 0x17, Following));
        m.insert(4, vote(1, 5, 0xf00000000, 0xa, 0x18, Following));
        m.insert(5, vote(1, 5, 0xf00000000, 0xa, 0x18, Leading));
        let cmp = vote(1, 5, 0xf00000000, 0xa, 0x18, Leading);
        assert!(has_all_quorums(&[&five()], &m, &cmp));
        assert!(check_leader(&m, 5, 0xa, 3, 1));
        m.remove(&5);
        assert!(!check_leader(&m, 5, 0xa, 3, 1), "leader never said LEADING");
    }

    /// TV13 / FLEOutOfElectionTest "LOOKING votes in different rounds": all four
    /// fields must match.
    #[test]
    fn tv13_looking_votes_need_all_fields() {
        let mut m = BTreeMap::new();
        m.insert(0, vote(0, 4, 0x100000001, 1, 1, Looking));
        m.insert(1, vote(0, 4, 0x200000001, 2, 2, Looking));
        m.insert(3, vote(0, 4, 0x200000001, 3, 2, Looking));
        m.insert(4, vote(0, 4, 0x200000001, 3, 2, Leading));
        let cmp = vote(0, 4, 0x200000001, 2, 2, Looking);
        assert!(!has_all_quorums(&[&five()], &m, &cmp));
    }

    /// TV13 / FLEOutOfElectionTest "ignore zxid and round of non-LOOKING votes".
    #[test]
    fn tv13_non_looking_votes_ignore_zxid_and_round() {
        let mut m = BTreeMap::new();
        m.insert(0, vote(1, 4, 0x100000001, 1, 2, Following));
        m.insert(1, vote(1, 4, 0x200000001, 2, 2, Following));
        m.insert(3, vote(1, 4, 0x300000001, 3, 2, Following));
        m.insert(4, vote(1, 4, 0x400000001, 4, 2, Leading));
        assert!(has_all_quorums(
            &[&five()],
            &m,
            &vote(0, 4, 0, 0, 0, Following)
        ));
        assert!(has_all_quorums(
            &[&five()],
            &m,
            &vote(1, 4, 0, 0, 2, Following)
        ));
        assert!(!has_all_quorums(
            &[&five()],
            &m,
            &vote(1, 4, 0, 0, 3, Following)
        ));
    }

    #[test]
    fn check_leader_on_myself_needs_current_round() {
        let m = BTreeMap::new();
        assert!(check_leader(&m, 3, 7, 3, 7));
        assert!(!check_leader(&m, 3, 6, 3, 7));
    }

    #[test]
    fn two_verifiers_both_need_quorum() {
        let old = QuorumVerifier::Majority(Majority::new([1, 2, 3], [], 0));
        let new = QuorumVerifier::Majority(Majority::new([3, 4, 5], [], 1));
        let mut m = BTreeMap::new();
        for s in [1, 2, 3] {
            m.insert(s, vote(0, 3, 0, 1, 0, Looking));
        }
        let cmp = vote(0, 3, 0, 1, 0, Looking);
        assert!(has_all_quorums(&[&old], &m, &cmp));
        assert!(!has_all_quorums(&[&old, &new], &m, &cmp));
        m.insert(4, vote(0, 3, 0, 1, 0, Looking));
        assert!(has_all_quorums(&[&old, &new], &m, &cmp));
    }
}
