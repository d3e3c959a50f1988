//! The entry points of [`Core`]: every input the driver gives (start, stop,
//! a notification, a timeout, a connection's change, the store's answer,
//! proofs about peers). Each runs the timers that are due first
//! ([`Core::advance`]), then hands the input to the term I am in.

use super::core::{Core, Output, Term};
use super::durable::Durable;
use super::event::{Event, LossReason};
use super::mode::Mode;
use super::promise::Promise;
use super::signal::route;
use crate::election::{check_range, Message};
use crate::types::{ServerState, Sid};
use std::time::Duration;

impl Core {
    /// Starts the first election. A peer that starts with an accepted epoch
    /// above 0 may have acknowledged a leader in an earlier life: it
    /// acknowledges nobody (itself included) for `syncLimit` ticks.
    pub fn start(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        if self.started {
            self.leave(now, LossReason::Restarted, &mut out);
            return out;
        }
        self.started = true;
        self.accepted = self.accepted.max(self.host_epoch);
        if self.mode == Mode::Lease && (!self.durable || self.accepted > 0) {
            let earlier = self
                .earlier_promise
                .filter(|&l| self.durable && l != self.me());
            self.promise = Some(Promise {
                leader: earlier,
                round: i64::MAX,
                epoch: if earlier.is_some() {
                    self.accepted
                } else {
                    i64::MAX
                },
                until: now + self.timing.follower_deadline(),
            });
            if let Some(l) = earlier {
                self.acked = Some((l, self.accepted));
            }
        }
        self.begin(now, &mut out);
        out
    }

    /// The host restarts the election (`restart_election`).
    pub fn restart(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        self.advance(now, &mut out);
        if matches!(self.term, Term::Looking) {
            self.begin(now, &mut out);
        } else {
            self.leave(now, LossReason::Restarted, &mut out);
        }
        out
    }

    /// The host stops the peer (a graceful hand-off): first the last
    /// events (loss of leadership and of the leader, reason `Stopped`),
    /// then, in this order, a *departure notice* to every voter and
    /// observer: a LOOKING notification of a round after my current one,
    /// with zxid −1 ([`Core::departure`]). For my followers it is my LOOKING
    /// notification of a later round, sent after I stepped down, which
    /// releases their promises ([`Core::on_message`]): they elect at once
    /// instead of waiting `syncLimit` ticks. FLE ignores a LOOKING vote with
    /// zxid −1 (spec 5.4 c), in zkelect as in a real ZooKeeper server, so
    /// it is not a vote. The driver sends it before it closes its sockets.
    /// Later calls return nothing.
    pub fn stop(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        self.advance(now, &mut out);
        // Whatever `advance` sent is superseded by the departure notice.
        out.retain(|o| !matches!(o, Output::Send { .. }));
        self.end_term(LossReason::Stopped, &mut out);
        if self.started {
            let msg = self.departure();
            for &to in &self.targets {
                out.push(Output::Send { to, msg });
            }
        }
        self.fle.stop();
        self.stopped = true;
        out
    }

    /// My departure notice ([`Core::stop`]): `(LOOKING, me, zxid −1, my
    /// round + 1, my accepted epoch)`.
    pub fn departure(&self) -> Message {
        Message::outgoing(
            ServerState::Looking,
            self.me(),
            -1,
            self.fle
                .logicalclock()
                .saturating_add(1)
                .min(crate::election::MAX_ROUND),
            self.accepted.max(0),
        )
    }

    /// A connection attempt to `sid` was refused. Not proof that it is
    /// dead (a REJECT firewall rule refuses while it lives), so no promise
    /// is released; but a follower whose connection to its leader is down
    /// gives the leader up at once instead of waiting out the reconnect
    /// grace.
    pub fn on_refused(&mut self, now: Duration, sid: Sid) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        self.advance(now, &mut out);
        if self.mixed.conn_down.contains(&sid) {
            self.mixed.gone.insert(sid);
        }
        if matches!(&self.term, Term::Following(f) if f.leader == sid && f.down_since.is_some()) {
            self.leave(now, LossReason::Disconnected, &mut out);
        }
        // Went away (it was up before): an election need not wait for it.
        // One that has not started yet is not marked, so that it still
        // gets its say when it comes (the best voter often starts last).
        if self.seen_up.contains(&sid) {
            self.known_down(now, sid, &mut out);
        }
        self.want_persist(&mut out);
        out
    }

    /// Proof that the process of `sid` that accepted `epoch` (and every
    /// earlier epoch) is dead: on one host, the lock it held in `dataDir`
    /// while it ran could be taken, and it recorded `epoch` there. A
    /// promise to `sid` for an epoch up to `epoch` has nothing left to
    /// protect and ends; a follower of `sid` gives it up at once.
    pub fn on_peer_dead(&mut self, now: Duration, sid: Sid, epoch: i64) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped || sid == self.me() {
            return out;
        }
        self.advance(now, &mut out);
        // The epoch I know `sid` by: the one I promised it, else the one
        // of the term I follow it in. A lock that names less was left by an
        // earlier process of `sid`; the one I know may live elsewhere.
        let known = match (&self.promise, &self.term) {
            (Some(p), _) if p.leader == Some(sid) => p.epoch,
            (_, Term::Following(f)) if f.leader == sid => f.fired.unwrap_or(f.vote_epoch),
            _ => i64::MIN,
        };
        if epoch < known {
            return out;
        }
        if self.promise.is_some_and(|p| p.leader == Some(sid)) {
            self.promise = None;
        }
        self.known_down(now, sid, &mut out);
        match &mut self.term {
            Term::Following(f) if f.leader == sid => {
                self.leave(now, LossReason::Disconnected, &mut out);
            }
            Term::Leading(t) => {
                if t.fresh.remove(&sid).is_some() {
                    self.check_lease(now, &mut out);
                }
                self.check_confirm(now, &mut out);
            }
            Term::Following(_) => self.flush_pending(now, &mut out),
            Term::Looking => {}
        }
        self.want_persist(&mut out);
        out
    }

    /// A ZooKeeper learner connected to my quorum (Zab) port: proof that
    /// the ensemble has real ZooKeeper members (no zkelect peer connects
    /// there), which tried to sync with me because I won the election. In
    /// [`FollowOnly::Auto`](super::FollowOnly::Auto) I vote follow-only from now on and, if I lead
    /// unconfirmed, step down at once (`LeadershipFailed`, reason
    /// `NotConfirmed`), so that the real servers elect one of their own;
    /// the votes of my new election tell the other zkelect peers too.
    pub fn on_zab_contact(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped || !self.started {
            return out;
        }
        self.advance(now, &mut out);
        self.learn_mixed(now, &mut out);
        self.want_persist(&mut out);
        out
    }

    /// The store finished the [`Output::Persist`] of `d`: `ok` if it is
    /// written and fsynced. Acknowledgements and my own count that waited
    /// for it go out now. A failed store (disk full, read-only) is reported
    /// with [`Event::EpochStoreFailed`] and acknowledges nothing; the next
    /// heartbeat tries again.
    pub fn on_persisted(&mut self, now: Duration, d: Durable, ok: bool) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        if ok {
            self.stored.epoch = self.stored.epoch.max(d.epoch);
            self.stored.round = self.stored.round.max(d.round);
        } else {
            // Ask again at the next occasion.
            self.requested = self.stored;
            Self::emit(&mut out, Event::EpochStoreFailed { epoch: d.epoch });
        }
        self.advance(now, &mut out);
        match &self.term {
            Term::Leading(_) => self.check_confirm(now, &mut out),
            Term::Following(_) => self.flush_pending(now, &mut out),
            Term::Looking => {}
        }
        out
    }

    /// One notification from `from`, as ZooKeeper's receive thread and the
    /// election thread together would handle it: the reply rules, the
    /// election, and the leadership layer. For drivers without a separate
    /// receive thread (simulations).
    #[doc(hidden)] // only the simulations (tests) drive the machine this way
    pub fn receive(&mut self, now: Duration, from: Sid, msg: &Message) -> Vec<Output> {
        if self.stopped {
            return Vec::new();
        }
        let r = route(&self.fle.view(), from, self.fle.is_voter(from), msg);
        let mut out = Vec::new();
        if let Some(reply) = r.reply {
            out.push(Output::Send {
                to: from,
                msg: reply,
            });
        }
        if r.forward {
            out.extend(self.on_message(now, from, msg, r.deliver));
        }
        out
    }

    /// A notification the receive thread forwarded ([`super::route`]);
    /// `delivered` says whether the reply rules give it to the election.
    pub fn on_message(
        &mut self,
        now: Duration,
        from: Sid,
        msg: &Message,
        delivered: bool,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        if let Err(error) = check_range(msg) {
            // Never used; the driver logs it.
            out.push(Output::OutOfRange { from, error });
            return out;
        }
        self.advance(now, &mut out);
        let state = msg.server_state();
        let voter = self.fle.is_voter(from) && from != self.me();
        if voter {
            // It speaks: not down (whatever FLE is given of it below).
            let _ = self.fle.set_known_down(now, from, false);
        }
        if state == Some(ServerState::Looking) {
            self.maybe_release(now, from, msg, &mut out);
        }
        if from != self.me() {
            // It speaks: its connection is up (whatever events are late).
            if self.mixed.conn_down.remove(&from) {
                self.mixed.reconnected.insert(from, self.fle.logicalclock());
            }
            if self
                .mixed
                .reconnected
                .get(&from)
                .is_some_and(|&r| msg.election_epoch >= r)
            {
                // It reached the round I was in when it came back.
                self.mixed.reconnected.remove(&from);
            }
            self.mixed.gone.remove(&from);
            self.mixed_evidence(now, from, msg, voter, &mut out);
        }
        let was_decided = !matches!(self.term, Term::Looking);
        if was_decided && voter && state == Some(ServerState::Looking) && msg.zxid != -1 {
            self.stash.insert(from, *msg);
        }
        match &self.term {
            Term::Looking => {
                if state == Some(ServerState::Leading) && msg.leader == from {
                    self.leading_seen.insert(from);
                    // Its latest word: heartbeats count up, above its vote.
                    let newer = self.beats.get(&from).map_or(true, |m| msg.zxid > m.zxid);
                    if newer {
                        self.beats.insert(from, *msg);
                    }
                    self.nudge(now, &mut out);
                }
                if state == Some(ServerState::Following)
                    && msg.leader == self.me()
                    && from != self.me()
                {
                    self.answer_hello(now, from, &mut out);
                }
            }
            Term::Leading(_) => self.leader_message(now, from, msg, &mut out),
            Term::Following(_) => self.follower_message(now, from, msg, &mut out),
        }
        // The LOOKING notification that ended my term (my leader's new
        // round) also opens my new election: as if it had arrived just
        // after I went LOOKING, instead of waiting for its sender's next
        // re-send while the others decide without it.
        let reopened = was_decided
            && matches!(self.term, Term::Looking)
            && state == Some(ServerState::Looking)
            && self.fle.is_voter(from);
        // The LEADING notification of the very peer my finalize wait is
        // about, in my round: it leads what I am about to decide (it decided
        // early and heartbeats). To FLE its new epoch would be a "better
        // vote" that ends the wait and, replacing its LOOKING vote, undoes
        // the quorum; kept in `beats` instead, it is taken as soon as I
        // decide to follow it.
        let own_leader = state == Some(ServerState::Leading)
            && msg.leader == from
            && self.fle.finalizing()
            && self.fle.proposal().leader == from
            && msg.election_epoch == self.fle.logicalclock();
        // A voter's notification that reached me while I look goes to FLE
        // even if the receive thread routed it with a view from before I
        // went LOOKING (a vote that raced my own departure from a term
        // would be lost otherwise): while LOOKING the reply rules deliver
        // every voter's notification (spec 5.11).
        let late_for_fle = !was_decided && voter && state.is_some();
        if (delivered || reopened || late_for_fle) && !own_leader {
            let backed = matches!(state, Some(ServerState::Following | ServerState::Leading));
            let acts = self.fle.on_notification(now, from, msg);
            self.apply_fle(now, acts, backed, &mut out);
        }
        if voter && state == Some(ServerState::Looking) && msg.zxid == -1 {
            // A departure notice ([`Core::stop`]): the voter is going away,
            // so an election need not wait for its vote.
            self.known_down(now, from, &mut out);
        }
        self.want_persist(&mut out);
        out
    }

    /// The deadline ([`Core::next_deadline`]) passed. `have_delivered` is
    /// the transport's "some send queue is empty" (spec 5.4 b).
    pub fn on_timeout(&mut self, now: Duration, have_delivered: bool) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        self.advance(now, &mut out);
        if self.fle.next_deadline().is_some_and(|d| d <= now) {
            let acts = self.fle.on_timeout(now, have_delivered);
            self.apply_fle(now, acts, false, &mut out);
        }
        self.want_persist(&mut out);
        out
    }

    /// The election connection to `sid` came up (`up`) or went down.
    ///
    /// When the connection to my leader breaks I try to reconnect at once
    /// ([`Output::Connect`]), so that a refused attempt ends the term
    /// ([`Core::on_refused`]); otherwise the term ends after a tick of
    /// grace. In [`Mode::Fencing`] the term ends at once (nothing waits for
    /// promises there, and a leader that lives is elected again).
    pub fn on_connection(&mut self, now: Duration, sid: Sid, up: bool) -> Vec<Output> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        self.advance(now, &mut out);
        let fencing = self.mode == Mode::Fencing;
        if up {
            self.seen_up.insert(sid);
            if self.mixed.conn_down.remove(&sid) {
                self.mixed.reconnected.insert(sid, self.fle.logicalclock());
            }
            self.mixed.gone.remove(&sid);
            let _ = self.fle.set_known_down(now, sid, false);
        } else {
            self.mixed.conn_down.insert(sid);
        }
        if !up && self.fle.is_voter(sid) {
            // A refused attempt says at once that nothing listens there.
            out.push(Output::Connect(sid));
        }
        match &mut self.term {
            Term::Following(t) if t.leader == sid => {
                if up {
                    t.down_since = None;
                } else if fencing {
                    self.leave(now, LossReason::Disconnected, &mut out);
                } else if t.down_since.is_none() {
                    t.down_since = Some(now);
                }
            }
            Term::Leading(t) if !up => {
                // A follower whose connection broke may give me up within
                // a tick; stop counting it now rather than at its deadline.
                let dropped = t.fresh.remove(&sid).is_some();
                if dropped {
                    self.check_lease(now, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    /// Marks `sid` known down for FLE's early finalize, which may decide at
    /// once.
    fn known_down(&mut self, now: Duration, sid: Sid, out: &mut Vec<Output>) {
        let acts = self.fle.set_known_down(now, sid, true);
        self.apply_fle(now, acts, false, out);
    }
}
