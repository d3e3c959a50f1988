//! A follower's (or observer's) term, and what [`Core`] does in it:
//! heartbeats, the leader's votes and LOOKING notifications, hellos, and
//! the `Following`/`Observing` event.
//!
//! Just over 500 lines on purpose: a follower's whole term, from the
//! decision to the loss, reads best in one place.

use super::core::{Core, Output, Term};
use super::durable::Refusal;
use super::event::{Event, LossReason};
use super::phase::Phase;
use super::signal::{report, says_confirmed};
use crate::election::{Decision, Message};
use crate::types::{ServerState, Sid, Vote};
use std::time::Duration;

/// One decided period as follower or observer.
#[derive(Debug, Clone)]
pub(crate) struct FollowTerm {
    /// The elected leader.
    pub leader: Sid,
    /// The vote that won.
    pub vote: Vote,
    /// Observer: never acknowledges. Fixed for the term (FLE decided
    /// OBSERVING), beside the phase: observers pass through the phases too.
    pub observer: bool,
    /// What I know of the leader.
    pub phase: Phase,
    pub decided_at: Duration,
    /// The epoch of the `Following`/`Observing` event fired in this term.
    pub fired: Option<i64>,
    /// Since when the connection to the leader is down.
    pub down_since: Option<Duration>,
    /// A heartbeat I accepted but may not acknowledge yet (an earlier
    /// promise still runs); answered when it ends.
    pub pending: Option<Message>,
    /// When I last sent my vote to a leader that sends no heartbeats.
    pub last_hello: Option<Duration>,
    /// The highest peer epoch of the leader's own LEADING votes in this
    /// term (from the decided vote on): a ZooKeeper leader's vote carries
    /// its new epoch only after its sync.
    pub vote_epoch: i64,
    /// When I ask the leader for its current vote next (a LOOKING
    /// notification, which a decided leader answers with its vote).
    pub probe_at: Option<Duration>,
    /// I decided on LOOKING votes of my round (FLE's LOOKING path): the
    /// decided vote's peer epoch is the leader's from before its sync.
    pub looking_path: bool,
}

impl FollowTerm {
    pub(crate) fn new(vote: Vote, observer: bool, phase: Phase, now: Duration) -> FollowTerm {
        FollowTerm {
            leader: vote.leader,
            vote,
            observer,
            phase,
            decided_at: now,
            fired: None,
            down_since: None,
            pending: None,
            last_hello: None,
            vote_epoch: vote.peer_epoch,
            probe_at: None,
            looking_path: false,
        }
    }

    /// Whether `epoch`, the peer epoch of a real ZooKeeper leader's own
    /// vote, is the epoch it leads and not the one from before its sync.
    /// ZooKeeper rewrites its vote's peer epoch to the new epoch only after
    /// the sync (spec 4). The new epoch is above the leader's currentEpoch
    /// before the election, which is at least the epoch of the zxid it
    /// voted with; and if I took part in that election (LOOKING path), the
    /// decided vote carries that earlier currentEpoch itself.
    pub(crate) fn fresh_epoch(&self, epoch: i64) -> bool {
        epoch > crate::types::epoch_of_zxid(self.vote.zxid)
            && (!self.looking_path || epoch > self.vote.peer_epoch)
    }

    /// The round that identifies the leader's term.
    pub(crate) fn term_round(&self) -> i64 {
        match self.phase {
            Phase::Beating { round, .. } => round,
            _ => self.vote.election_epoch,
        }
    }
}

impl Core {
    /// FLE decided that `d.vote.leader` leads: my term as its follower (or
    /// observer) begins. `backed` says whether a decided peer's vote (not
    /// LOOKING votes alone) made the decision.
    pub(super) fn follow(
        &mut self,
        now: Duration,
        d: Decision,
        backed: bool,
        out: &mut Vec<Output>,
    ) {
        let observer = d.state == ServerState::Observing;
        let looking_path = !backed;
        let backed = backed || self.leading_seen.contains(&d.vote.leader);
        let real = self.believed_real(d.vote.leader);
        let phase = if real {
            // A real ZooKeeper leader sends no heartbeats: its own
            // LEADING vote with the epoch of its sync is all the
            // confirmation there is, so I ask for it at once
            // (trust_vote) instead of waiting for heartbeats.
            Phase::Trusted { backed, since: now }
        } else if backed {
            Phase::Backed
        } else {
            Phase::Unbacked
        };
        let mut term = FollowTerm::new(d.vote, observer, phase, now);
        term.looking_path = looking_path;
        if self.mixed.conn_down.contains(&d.vote.leader) {
            // Decided for a leader whose connection is down (a late
            // vote of a dead leader, say): the reconnect grace runs
            // from now, and a refused reconnect ends it at once.
            term.down_since = Some(now);
            out.push(Output::Connect(d.vote.leader));
        }
        if real {
            // The leader may still be in its finalize wait, which
            // ZooKeeper restarts on every notification it gets: my
            // first question waits for that wait to end.
            term.probe_at = Some(now + self.quiet_wait());
        } else if !backed {
            // Nothing said the leader leads: if no heartbeat comes
            // by the time a zkelect leader would have sent several,
            // I ask it once (probe_if_due).
            term.probe_at = Some(now + self.timing.heartbeat_wait());
        }
        self.term = Term::Following(term);
        let beat = self.beats.remove(&d.vote.leader);
        // Not one of an earlier term of that leader (a round below
        // the one it won in now): its acknowledgement counts for
        // nothing, and its round would make the leader's next
        // LOOKING notification of this round look like a new one.
        if let Some(m) = beat.filter(|m| m.election_epoch >= d.vote.election_epoch) {
            // Its heartbeat (or vote) that came while I looked.
            self.follower_message(now, d.vote.leader, &m, out);
        }
        let due = matches!(&self.term, Term::Following(f)
            if matches!(f.phase, Phase::Trusted { backed: true, .. }) && f.fired.is_none());
        if due {
            self.trust_vote(now, out);
        }
        let hello =
            matches!(&self.term, Term::Following(f) if f.fired.is_none() && !f.phase.trusted());
        if !observer && hello {
            // Not yet following a confirmed leader: say hello at
            // once, so that a leader that took me for one looking
            // elsewhere (and heartbeats me only now and then) sends
            // me its latest heartbeat now; a peer that does not
            // lead answers so.
            self.hello(now, out);
        }
        self.beats.clear();
    }

    pub(super) fn follower_timers(&mut self, now: Duration, out: &mut Vec<Output>) {
        let t = self.timing;
        let Term::Following(f) = &mut self.term else {
            return;
        };
        if f.down_since.is_some_and(|s| now >= s + t.reconnect_grace()) {
            self.leave(now, LossReason::Disconnected, out);
            return;
        }
        match f.phase {
            Phase::Beating { last, .. } => {
                if now >= last + t.follower_deadline() {
                    self.leave(now, LossReason::Silent, out);
                    return;
                }
            }
            phase if !phase.backed() && now >= f.decided_at + t.confirm_timeout() => {
                // Decided on LOOKING votes alone and no heartbeat within
                // initLimit: nothing says this peer leads (FLE can decide
                // a quorum on a peer that then decided otherwise). Behind a
                // ZooKeeper leader this costs one extra election, which
                // then finds the leader's own LEADING vote.
                self.leave(now, LossReason::Silent, out);
                return;
            }
            _ => {
                // Without any heartbeat there is no silence deadline: the
                // connection, the leader's LOOKING notifications, an answer
                // to my hello and other leaders' confirmed heartbeats end
                // the term.
                let last = f.last_hello.unwrap_or(f.decided_at);
                let hello = !f.observer && now >= last + t.follower_deadline();
                let trust = f.phase == Phase::Backed && now >= f.decided_at + t.trust_wait();
                if trust {
                    // No heartbeat although the leader said LEADING itself,
                    // and no answer to my hello: a leader that sends none (a
                    // real ZooKeeper server), whose LEADING vote stands for
                    // its confirmation. The ensemble has real members.
                    f.phase = Phase::Trusted {
                        backed: true,
                        since: now,
                    };
                    let leader = f.leader;
                    self.mixed.real.insert(leader);
                    self.mixed.zkelect.remove(&leader);
                }
                let due = matches!(&self.term, Term::Following(f) if f.phase.trusted() && f.fired.is_none());
                if due {
                    self.trust_vote(now, out);
                }
                if hello {
                    self.hello(now, out);
                }
                self.probe_if_due(now, out);
            }
        }
        self.flush_pending(now, out);
    }

    pub(super) fn follower_message(
        &mut self,
        now: Duration,
        from: Sid,
        msg: &Message,
        out: &mut Vec<Output>,
    ) {
        let Term::Following(f) = &self.term else {
            return;
        };
        let leader = f.leader;
        match msg.server_state() {
            Some(ServerState::Leading) if msg.leader == from => {
                if from == leader && msg.zxid == f.vote.zxid {
                    // The leader's election vote (its answer to a LOOKING
                    // notification of mine), not a heartbeat: a heartbeat's
                    // zxid carries its counter. A ZooKeeper leader only ever
                    // sends this; it says LEADING itself.
                    let limit = self.epoch_limit(f.vote.peer_epoch);
                    let mut retry = false;
                    let fast = now + self.probe_period();
                    if let Term::Following(f) = &mut self.term {
                        match f.phase {
                            Phase::Unbacked => f.phase = Phase::Backed,
                            Phase::Trusted {
                                backed: false,
                                since,
                            } => {
                                // It decided: my questions can no longer
                                // delay its election, so ask at the fast
                                // pace now.
                                f.probe_at = f.probe_at.map(|p| p.min(fast));
                                f.phase = Phase::Trusted {
                                    backed: true,
                                    since,
                                };
                            }
                            Phase::Backed | Phase::Trusted { .. } | Phase::Beating { .. } => {}
                        }
                        if msg.peer_epoch > f.vote_epoch && msg.peer_epoch <= limit {
                            // Its vote after its sync: the epoch it leads.
                            f.vote_epoch = msg.peer_epoch;
                        }
                        retry = f.phase.trusted() && f.fired.is_none();
                    }
                    if retry {
                        self.trust_vote(now, out);
                    }
                } else if from == leader && msg.election_epoch >= f.vote.election_epoch {
                    // (One of a round below the term's is a heartbeat of
                    // an earlier term, late.)
                    self.heartbeat(now, msg, out);
                } else if says_confirmed(msg)
                    && (msg.peer_epoch > self.accepted.max(self.top_epoch)
                        || (f.fired.is_none()
                            && f.phase.last_heartbeat().is_none()
                            && msg.peer_epoch >= self.accepted.max(self.top_epoch)))
                    && msg.peer_epoch <= self.epoch_limit(f.vote.peer_epoch)
                {
                    // Another leader is confirmed above anything I know of:
                    // mine cannot be confirmed any more. Also at an epoch I
                    // already know, when my own leader has said nothing in
                    // this term (an observer decided on a stale vote, which
                    // nothing else would end: observers send no hellos).
                    self.leave(now, LossReason::Superseded, out);
                }
            }
            Some(ServerState::Looking) if from == leader => {
                // After heartbeats, FIFO order makes any LOOKING notification
                // newer than them: the leader looks again. Before, one from
                // another round than the one I decided in means the leader
                // is in another election (a restarted process starts again
                // at round 1); one of that same round may be the tail of the
                // election that just ended, but not two ticks later: a
                // leader that decided would be sending heartbeats by then.
                let late = now >= f.decided_at + self.timing.heartbeat_wait();
                let beating = f.phase.last_heartbeat().is_some();
                // One of an earlier round than mine, before any heartbeat,
                // on a connection that stayed up since my decision, was
                // sent before the leader joined my round (FIFO): stale. (My
                // round can be ahead: a decision for a gone leader starts
                // another election at once, and the others then join my
                // round, while what they sent in theirs is still on its
                // way.) A restarted process starts again at round 1 too,
                // but its connection broke and came up in between.
                let restarted = self
                    .mixed
                    .reconnected
                    .get(&leader)
                    .is_some_and(|&r| msg.election_epoch < r);
                let stale = msg.election_epoch < f.term_round() && !restarted;
                if beating || late || (msg.election_epoch != f.term_round() && !stale) {
                    self.leave(now, LossReason::LeaderLooking, out);
                }
            }
            Some(ServerState::Following | ServerState::Observing)
                if from == leader && msg.leader != from =>
            {
                // My leader says it follows someone else (its answer to my
                // hello): it does not lead.
                self.leave(now, LossReason::LeaderLooking, out);
            }
            Some(ServerState::Following) if msg.leader == self.me() => {
                // A hello from a peer that takes me for its leader: tell it
                // whom I follow, as ZooKeeper's reply rules would tell a
                // LOOKING peer.
                let v = self.fle.current_vote();
                out.push(Output::Send {
                    to: from,
                    msg: Message::outgoing(
                        self.fle.state(),
                        v.leader,
                        v.zxid,
                        v.election_epoch,
                        v.peer_epoch,
                    ),
                });
            }
            _ => {}
        }
    }

    /// When I decide to follow a leader I have heard nothing from, and
    /// then after `syncLimit` ticks without a heartbeat (and again every
    /// `syncLimit` ticks): send my vote to the leader. A ZooKeeper leader
    /// ignores it (decided peers ignore decided peers), a zkelect leader
    /// answers with its latest heartbeat, but a peer that does not lead
    /// (FLE can leave peers decided on one that decided otherwise) answers
    /// with its own vote, and I look again. It never passes for an
    /// acknowledgement: a report's zxid is inverted ([`report`]).
    fn hello(&mut self, now: Duration, out: &mut Vec<Output>) {
        let Term::Following(f) = &mut self.term else {
            return;
        };
        f.last_hello = Some(now);
        let v = self.fle.current_vote();
        out.push(Output::Send {
            to: f.leader,
            msg: Message::outgoing(
                ServerState::Following,
                v.leader,
                v.zxid,
                v.election_epoch,
                v.peer_epoch,
            ),
        });
    }

    fn heartbeat(&mut self, now: Duration, msg: &Message, out: &mut Vec<Output>) {
        let Term::Following(f) = &self.term else {
            return;
        };
        let (leader, observer) = (f.leader, f.observer);
        let epoch = msg.peer_epoch;
        let limit = self.epoch_limit(f.vote.peer_epoch);
        if epoch > limit {
            // Not my leader's next epoch but a jump no leader makes (its
            // epoch is one above what the quorum that elected it knew):
            // forged, or from a leader that I should not follow. Not even
            // a sign of life.
            out.push(Output::Refused(Refusal {
                from: leader,
                epoch,
                limit,
            }));
            return;
        }
        let Term::Following(f) = &mut self.term else {
            return;
        };
        // A heartbeat: the leader is a zkelect peer, confirmed by them.
        f.phase = Phase::Beating {
            last: now,
            round: msg.election_epoch,
        };
        self.mixed.zkelect.insert(leader);
        self.mixed.real.remove(&leader);
        let confirmed = says_confirmed(msg);
        if !observer {
            if epoch > self.accepted {
                self.accept(leader, epoch, out);
            }
            if self.acked == Some((leader, epoch)) {
                // Again after a failed store; acknowledged once stored and
                // no earlier promise forbids it.
                self.want_persist(out);
                if let Term::Following(f) = &mut self.term {
                    f.pending = Some(*msg);
                }
                self.flush_pending(now, out);
            } else if self.accepted > epoch {
                // Refused: I accepted a higher epoch. The refusal names it,
                // so the leader proposes above it; it cannot pass for an
                // acknowledgement. (This very epoch accepted for another
                // leader, or in an earlier life, gets no answer: the
                // leader's next epoch will be above it.)
                let round = self.fle.current_vote().election_epoch;
                out.push(Output::Send {
                    to: leader,
                    msg: report(leader, msg.zxid, round, self.accepted),
                });
            }
        }
        if confirmed && self.mixed.shy {
            // A confirmed zkelect leader: the ensemble works, and my failed
            // confirmation was a passing fault.
            self.mixed.shy = false;
            let _ = self.fle.set_follow_only(self.follow_only_zxid());
        }
        if confirmed && self.fire(leader, epoch, out) {
            // As a ZooKeeper follower after UPTODATE (spec 4).
            self.fle.update_peer_epoch(epoch);
        }
    }

    /// Whether `Following`/`Observing` may fire for `leader` with `epoch`:
    /// never below an epoch I reported before, and equal only for the same
    /// leader, so that the epoch is a fencing token.
    pub(super) fn may_fire(&self, leader: Sid, epoch: i64) -> bool {
        epoch > self.top_epoch || (epoch == self.top_epoch && self.top_leader == Some(leader))
    }

    /// Fires `Following`/`Observing` for `epoch` once per term, if
    /// [`Core::may_fire`].
    pub(super) fn fire(&mut self, leader: Sid, epoch: i64, out: &mut Vec<Output>) -> bool {
        if !self.may_fire(leader, epoch) {
            return false;
        }
        let Term::Following(f) = &mut self.term else {
            return false;
        };
        if f.fired == Some(epoch) {
            return false;
        }
        f.fired = Some(epoch);
        self.top_epoch = epoch;
        self.top_leader = Some(leader);
        let e = if f.observer {
            Event::Observing { leader, epoch }
        } else {
            Event::Following { leader, epoch }
        };
        Self::emit(out, e);
        true
    }

    /// When the timers of my term as follower or observer are due next.
    pub(super) fn follow_deadline(&self, f: &FollowTerm) -> Option<Duration> {
        let t = &self.timing;
        let mut d = match f.phase {
            Phase::Beating { last, .. } => last + t.follower_deadline(),
            _ if f.observer => Duration::MAX,
            _ => f.last_hello.unwrap_or(f.decided_at) + t.follower_deadline(),
        };
        if !f.phase.backed() {
            // Unbacked, or trusted without the leader's own vote.
            d = d.min(f.decided_at + t.confirm_timeout());
        }
        if f.phase == Phase::Backed {
            d = d.min(f.decided_at + t.trust_wait());
        }
        if let Some(s) = f.down_since {
            d = d.min(s + t.reconnect_grace());
        }
        let probes = match f.phase {
            Phase::Unbacked | Phase::Backed => true,
            Phase::Trusted { .. } => f.fired.is_none(),
            Phase::Beating { .. } => false,
        };
        if probes {
            if let Some(p) = f.probe_at {
                d = d.min(p);
            }
        }
        if f.pending.is_some() {
            if let Some(p) = self.promise {
                d = d.min(p.until);
            }
        }
        (d != Duration::MAX).then_some(d)
    }
}
