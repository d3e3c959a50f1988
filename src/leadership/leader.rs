//! A leader's term: the proposed epoch, the heartbeats sent, and which
//! followers acknowledged which of them.

use crate::election::Message;
use crate::quorum::QuorumVerifier;
use crate::types::{ServerState, Sid, Vote, Zxid};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// One term of leadership, from the decision to the step-down.
#[derive(Debug, Clone)]
pub(crate) struct LeaderTerm {
    /// The vote that won (its round goes into every heartbeat).
    pub vote: Vote,
    /// The proposed (later: confirmed) epoch.
    pub epoch: i64,
    /// Whether a quorum confirmed `epoch` and `Leading` fired.
    pub confirmed: bool,
    /// When the term (or the current epoch proposal) began.
    pub started: Duration,
    /// Counter of the next heartbeat.
    pub seq: u32,
    /// When the next heartbeat is due.
    pub next_beat: Duration,
    /// Recent heartbeats: zxid and when it was sent. An acknowledgement
    /// counts from the send time of the heartbeat it echoes, never from its
    /// own arrival, so a late or replayed one cannot stretch the lease.
    pub sent: VecDeque<(Zxid, Duration)>,
    /// Per follower, the send time of the newest heartbeat it acknowledged.
    pub fresh: BTreeMap<Sid, Duration>,
    /// Voters whose last notification was a LOOKING one for another leader.
    pub elsewhere: BTreeSet<Sid>,
    /// When heartbeats next go to those too.
    pub wide_next: Duration,
}

/// The first heartbeat counter of a term won in `round`: the round's low
/// 16 bits above 16 bits of counter, never 0.
pub(crate) fn first_seq(round: i64) -> u32 {
    ((round as u32) << 16) | 1
}

impl LeaderTerm {
    pub(crate) fn new(vote: Vote, epoch: i64, now: Duration, first_beat: Duration) -> LeaderTerm {
        LeaderTerm {
            vote,
            epoch,
            confirmed: false,
            started: now,
            // Never 0: heartbeat 0 of epoch 1 would have zxid 0, the zxid
            // every fresh peer votes with, and followers tell heartbeats
            // from the leader's election vote by the zxid. The counter
            // starts from the round the term was won in, so that a report
            // still in flight from an earlier life of mine (which may have
            // proposed this same epoch, then crashed before its store)
            // names none of this term's heartbeats: rounds only grow
            // across lives with a store.
            seq: first_seq(vote.election_epoch),
            next_beat: first_beat,
            sent: VecDeque::new(),
            fresh: BTreeMap::new(),
            elsewhere: BTreeSet::new(),
            wide_next: now,
        }
    }

    /// The heartbeat I sent last, again (for a peer that just turned to
    /// me): an acknowledgement of it counts from its first sending.
    pub(crate) fn latest_beat(&self, me: Sid) -> Option<Message> {
        let &(zxid, _) = self.sent.back()?;
        Some(Message::outgoing(
            ServerState::Leading,
            me,
            zxid,
            self.vote.election_epoch,
            self.epoch,
        ))
    }

    /// Records a heartbeat sent now, forgetting those too old to count.
    pub(crate) fn sent_beat(&mut self, zxid: Zxid, now: Duration, d_l: Duration, period: Duration) {
        self.sent.push_back((zxid, now));
        while self.sent.front().is_some_and(|(_, t)| *t + d_l <= now) {
            self.sent.pop_front();
        }
        self.seq = self.seq.wrapping_add(1);
        self.next_beat = now + period;
    }

    /// An acknowledgement of `epoch` echoing `zxid` from `from`; true if it
    /// named a heartbeat of mine that still counts.
    pub(crate) fn ack(&mut self, from: Sid, zxid: Zxid) -> bool {
        let Some(&(_, at)) = self.sent.iter().find(|(z, _)| *z == zxid) else {
            return false;
        };
        let e = self.fresh.entry(from).or_insert(at);
        *e = (*e).max(at);
        true
    }

    /// The sids whose acknowledgement still counts at `now`.
    pub(crate) fn fresh_at(&self, now: Duration, d_l: Duration) -> BTreeSet<Sid> {
        self.fresh
            .iter()
            .filter(|(_, at)| **at + d_l > now)
            .map(|(s, _)| *s)
            .collect()
    }

    /// Until when the acknowledgements I hold keep a quorum, with me counted
    /// when `me_counts` ([`Duration::MAX`] if I am a quorum alone). At or
    /// after the returned instant I must not lead on them.
    pub(crate) fn quorum_until(
        &self,
        qv: &QuorumVerifier,
        me: Sid,
        me_counts: bool,
        d_l: Duration,
    ) -> Option<Duration> {
        let mut set = BTreeSet::new();
        if me_counts {
            set.insert(me);
            if qv.contains_quorum(&set) {
                return Some(Duration::MAX);
            }
        }
        // Adding followers by latest expiry first: the quorum formed by the
        // longest-lasting acknowledgements decides (quorums are monotone).
        let mut by_expiry: Vec<(Duration, Sid)> =
            self.fresh.iter().map(|(s, at)| (*at + d_l, *s)).collect();
        by_expiry.sort_unstable_by(|a, b| b.cmp(a));
        for (until, sid) in by_expiry {
            set.insert(sid);
            if qv.contains_quorum(&set) {
                return Some(until);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leadership::signal::heartbeat_zxid;

    /// A report naming a heartbeat of an earlier life's term (same epoch,
    /// earlier round) does not count for this term.
    #[test]
    fn a_report_from_an_earlier_lifes_term_does_not_count() {
        let ms = Duration::from_millis;
        let d_l = ms(400);
        let mut old = LeaderTerm::new(Vote::looking(3, 1, 35, 4), 5, ms(0), ms(0));
        old.sent_beat(heartbeat_zxid(5, false, old.seq), ms(0), d_l, ms(50));
        let stale = old.sent[0].0;
        let mut new = LeaderTerm::new(Vote::looking(3, 1, 52, 4), 5, ms(900), ms(900));
        new.sent_beat(heartbeat_zxid(5, false, new.seq), ms(900), d_l, ms(50));
        assert!(!new.ack(1, stale), "a stale report counted");
        let fresh = new.sent[0].0;
        assert!(new.ack(1, fresh));
        assert_ne!(first_seq(35), first_seq(52));
        assert_ne!(first_seq(0), 0);
    }
}
