//! A leader's term: the proposed epoch, the heartbeats sent, and which
//! followers acknowledged which of them; and what [`Core`] does as leader
//! (propose, heartbeat, count acknowledgements, confirm, step down).

use super::core::{Core, Output, Term};
use super::durable::{Refusal, EPOCH_STEP};
use super::event::{Event, LossReason};
use super::signal::{heartbeat, heartbeat_zxid, reported_heartbeat, says_confirmed};
use crate::election::{Decision, Message, MAX_EPOCH};
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

impl Core {
    /// I won the election: I propose a new epoch and begin my term as an
    /// unconfirmed leader.
    pub(super) fn lead(&mut self, now: Duration, d: Decision, out: &mut Vec<Output>) {
        let Some(epoch) = self
            .accepted
            .max(d.vote.peer_epoch)
            .max(self.top_epoch)
            .max(0)
            .checked_add(1)
            .filter(|&e| e <= MAX_EPOCH)
        else {
            // Epochs are used up (2^31 − 1): I cannot lead.
            Self::emit(
                out,
                Event::LeadershipFailed {
                    epoch: MAX_EPOCH,
                    reason: LossReason::NotConfirmed,
                },
            );
            Self::emit(
                out,
                Event::LeaderLost {
                    leader: self.me(),
                    reason: LossReason::NotConfirmed,
                },
            );
            self.begin(now, out);
            return;
        };
        self.propose(epoch, out);
        // The first heartbeat waits one finalize wait (at most a
        // heartbeat period): the peers that elected me are finishing
        // theirs, and a heartbeat (its new peer epoch makes it a
        // "better vote") would cut it short and delay them.
        // Decided early, every voter that is up agreed with me:
        // none of them is in a finalize wait to protect.
        let wait = if d.early {
            Duration::ZERO
        } else {
            self.timing
                .finalize_wait
                .min(self.timing.heartbeat_period())
        };
        let first = now + wait;
        self.term = Term::Leading(LeaderTerm::new(d.vote, epoch, now, first));
        self.check_confirm(now, out);
    }

    /// I accept my own new epoch before anyone else may: a peer never
    /// acknowledges an epoch it does not exceed.
    fn propose(&mut self, epoch: i64, out: &mut Vec<Output>) {
        self.accept(self.me(), epoch, out);
    }

    fn beat(&mut self, now: Duration, out: &mut Vec<Output>) {
        let me = self.me();
        let (d_l, period) = (
            self.timing.leader_deadline(),
            self.timing.heartbeat_period(),
        );
        let Term::Leading(t) = &mut self.term else {
            return;
        };
        let msg = heartbeat(me, t.epoch, t.confirmed, t.seq, t.vote.election_epoch);
        let zxid = heartbeat_zxid(t.epoch, t.confirmed, t.seq);
        // Peers looking to elect someone else get a heartbeat only now and
        // then: it cannot help them (they do not follow me), and as a
        // "better vote" it would cut their finalize waits short, which can
        // keep a straggler from ever deciding. Now and then is enough for
        // one that meanwhile decided to follow me to hear from me.
        let wide = now >= t.wide_next;
        if wide {
            t.wide_next = now + self.timing.wide_heartbeat_period();
        }
        for &to in &self.targets {
            if wide || !t.elsewhere.contains(&to) {
                out.push(Output::Send { to, msg });
            }
        }
        t.sent_beat(zxid, now, d_l, period);
    }

    /// Whether no promise keeps me from counting myself.
    fn self_free(&self, now: Duration) -> bool {
        !self.promise.is_some_and(|p| now < p.until)
    }

    pub(super) fn check_confirm(&mut self, now: Duration, out: &mut Vec<Output>) {
        let me = self.me();
        let mine = match &self.term {
            Term::Leading(t) => t.epoch,
            _ => return,
        };
        // I count for myself only once my epoch is stored: a restart must
        // not find an older epoch than one I was confirmed with.
        let me_counts = self.self_free(now) && self.is_stored(mine);
        let d_l = self.timing.leader_deadline();
        let Term::Leading(t) = &mut self.term else {
            return;
        };
        if t.confirmed {
            return;
        }
        let mut acks = t.fresh_at(now, d_l);
        if me_counts {
            acks.insert(me);
        }
        if !self.fle.quorum().contains_quorum(&acks) {
            return;
        }
        t.confirmed = true;
        let epoch = t.epoch;
        // ZooKeeper's updateElectionVote after sync (spec 4): joiners then
        // find my vote and my followers' matching on peer epoch.
        self.fle.update_peer_epoch(epoch);
        self.top_epoch = self.top_epoch.max(epoch);
        self.top_leader = Some(me);
        Self::emit(out, Event::Leading { epoch });
        // Tell followers at once rather than at the next tick.
        self.beat(now, out);
    }

    pub(super) fn check_lease(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.lease_until().is_some_and(|u| now >= u) {
            self.leave(now, LossReason::NoQuorum, out);
        }
    }

    pub(super) fn leader_timers(&mut self, now: Duration, out: &mut Vec<Output>) {
        let Term::Leading(t) = &self.term else {
            return;
        };
        if t.confirmed {
            if self.lease_until().is_some_and(|u| now >= u) {
                self.leave(now, LossReason::NoQuorum, out);
                return;
            }
        } else {
            let gave_up = now >= t.started + self.timing.confirm_timeout();
            self.check_confirm(now, out);
            let confirmed = matches!(&self.term, Term::Leading(t) if t.confirmed);
            if gave_up && !confirmed {
                // No endless self-proposal: I vote follow-only until a
                // confirmed leader's heartbeat or a fruitless election.
                self.mixed.shy = true;
                let _ = self.fle.set_follow_only(self.follow_only_zxid());
                self.leave(now, LossReason::NotConfirmed, out);
                return;
            }
        }
        if matches!(&self.term, Term::Leading(t) if now >= t.next_beat) {
            self.beat(now, out);
        }
    }

    pub(super) fn leader_message(
        &mut self,
        now: Duration,
        from: Sid,
        msg: &Message,
        out: &mut Vec<Output>,
    ) {
        let me = self.me();
        if from == me || !self.fle.is_voter(from) {
            return;
        }
        let superseded = match &self.term {
            Term::Leading(t) => {
                !t.confirmed
                    && msg.server_state() == Some(ServerState::Leading)
                    && msg.leader == from
                    && ((says_confirmed(msg)
                        && msg.peer_epoch > t.epoch
                        && msg.peer_epoch <= self.epoch_limit(t.vote.peer_epoch))
                        // Or another leader that won a later round: FLE's
                        // finalize wait ignores a later round with a worse
                        // vote, so a split decision leaves two unconfirmed
                        // leaders; the one of the earlier round cannot have
                        // its quorum any more (a voter of it went on to the
                        // later round) and gives way, instead of holding its
                        // votes until initLimit.
                        || msg.election_epoch > t.vote.election_epoch)
            }
            _ => false,
        };
        if superseded {
            // Not confirmed, while another leader is confirmed above my
            // epoch or won a later round: a quorum went on without me; I
            // give up now rather than at initLimit (giving up is always
            // safe).
            self.leave(now, LossReason::Superseded, out);
            return;
        }
        let Term::Leading(t) = &mut self.term else {
            return;
        };
        match msg.server_state() {
            Some(ServerState::Looking) => {
                if msg.leader == me {
                    // It votes for me; once it decides it says hello, and
                    // gets my latest heartbeat then (not now: to a peer
                    // still looking, a heartbeat is a "better vote" that
                    // could undo its quorum).
                    t.elsewhere.remove(&from);
                } else {
                    t.elsewhere.insert(from);
                }
                // A follower looking again may follow someone else soon.
                let dropped = t.fresh.remove(&from).is_some();
                if dropped {
                    self.check_lease(now, out);
                }
            }
            Some(ServerState::Following) if msg.leader == me => {
                t.elsewhere.remove(&from);
                if reported_heartbeat(msg).is_none() {
                    // A hello (a vote, not a report): it follows me and
                    // may have no heartbeat to answer; my latest now.
                    if let Some(msg) = t.latest_beat(me) {
                        out.push(Output::Send { to: from, msg });
                    }
                    return;
                }
                if msg.peer_epoch == t.epoch {
                    if reported_heartbeat(msg).is_some_and(|h| t.ack(from, h)) {
                        self.check_confirm(now, out);
                    }
                } else if msg.peer_epoch > t.epoch {
                    // The follower accepted a higher epoch than mine and
                    // cannot acknowledge it: propose above it now (rather
                    // than fail at initLimit, or lead with a follower that
                    // never counts). A confirmed epoch is given up first.
                    // One message moves my epoch by a bounded step only, so
                    // a forged refusal cannot push it anywhere it likes; a
                    // follower that is further ahead refuses again, and
                    // every refusal takes me another step.
                    let limit = self.accepted.max(t.epoch).saturating_add(EPOCH_STEP);
                    let wanted = msg.peer_epoch.max(self.accepted).saturating_add(1);
                    let epoch = wanted.min(limit).min(MAX_EPOCH);
                    if wanted > limit {
                        out.push(Output::Refused(Refusal {
                            from,
                            epoch: msg.peer_epoch,
                            limit,
                        }));
                    }
                    if epoch <= t.epoch {
                        return;
                    }
                    if t.confirmed {
                        Self::emit(
                            out,
                            Event::LeadershipLost {
                                epoch: t.epoch,
                                reason: LossReason::EpochRaised,
                            },
                        );
                        t.confirmed = false;
                        t.started = now;
                    }
                    t.epoch = epoch;
                    t.fresh.clear();
                    t.sent.clear();
                    self.propose(epoch, out);
                    self.beat(now, out);
                    self.check_confirm(now, out);
                }
            }
            _ => {}
        }
    }

    /// When the timers of my term as leader are due next: the end of the
    /// lease (confirmed) or of the confirmation wait, or the next heartbeat.
    pub(super) fn lead_deadline(&self, l: &LeaderTerm) -> Duration {
        let t = &self.timing;
        let end = if l.confirmed {
            self.lease_until().unwrap_or(Duration::ZERO)
        } else {
            // An unexpired promise keeps me from counting myself:
            // look again when it ends (`advance` clears it then).
            let d = l.started + t.confirm_timeout();
            self.promise.map_or(d, |p| d.min(p.until))
        };
        end.min(l.next_beat)
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
