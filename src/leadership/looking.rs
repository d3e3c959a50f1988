//! The election part of [`Core`]: starting an election round, feeding FLE's
//! actions back, the decision's hand-off to a term, and what a LOOKING peer
//! does beside FLE (re-sending its proposal while heartbeats starve FLE's
//! timeout, answering hellos, an observer's polls).

use super::core::{Core, Output, Term};
use super::event::{Event, Leader};
use super::follow::FollowOnly;
use crate::election::{Action, Decision};
use crate::types::{ServerState, Sid};
use std::time::Duration;

impl Core {
    /// A new election round, reporting the larger of the host's epoch and
    /// the accepted one, so that a quorum's next leader proposes above it.
    pub(super) fn begin(&mut self, now: Duration, out: &mut Vec<Output>) {
        self.accepted = self.accepted.max(self.host_epoch);
        let old = self.fle.state();
        let acts = self.fle.start(now, self.zxid, self.accepted);
        self.term = Term::Looking;
        self.mixed.looking_since = now;
        self.leading_seen.clear();
        self.beats.clear();
        // A peer starts LOOKING: its first election is no state change.
        if old != ServerState::Looking {
            Self::emit(
                out,
                Event::StateChanged {
                    old,
                    new: ServerState::Looking,
                },
            );
        }
        self.apply_fle(now, acts, false, out);
        for (from, msg) in std::mem::take(&mut self.stash) {
            if matches!(self.term, Term::Looking) {
                let acts = self.fle.on_notification(now, from, &msg);
                self.apply_fle(now, acts, false, out);
            }
        }
        self.want_persist(out);
    }

    pub(super) fn apply_fle(
        &mut self,
        now: Duration,
        acts: Vec<Action>,
        backed: bool,
        out: &mut Vec<Output>,
    ) {
        for a in acts {
            match a {
                Action::Send { to, msg } => {
                    if msg.state == ServerState::Looking.as_i32() {
                        self.looking_sent = now;
                    }
                    out.push(Output::Send { to, msg })
                }
                Action::ConnectAll => out.push(Output::ConnectAll),
                Action::Decided(d) => self.decided(now, d, backed, out),
            }
        }
    }

    /// FLE decided: the host hears of it, and a term as leader
    /// ([`Core::lead`]) or as follower or observer ([`Core::follow`])
    /// begins.
    fn decided(&mut self, now: Duration, d: Decision, backed: bool, out: &mut Vec<Output>) {
        if d.state != ServerState::Leading && self.mixed.gone.contains(&d.vote.leader) {
            // A leader whose connection broke and whose reconnect was
            // refused: gone. (Real servers that are still looking answer an
            // observer with their last vote, which names the dead leader.)
            // No term for it: I look again at once, and the host sees
            // nothing of this decision.
            let n = out.len();
            self.begin(now, out);
            let tail: Vec<Output> = out.drain(n..).collect();
            out.extend(
                tail.into_iter()
                    .filter(|o| !matches!(o, Output::Event(Event::StateChanged { .. }))),
            );
            return;
        }
        self.stash.clear();
        Self::emit(
            out,
            Event::StateChanged {
                old: ServerState::Looking,
                new: d.state,
            },
        );
        Self::emit(
            out,
            Event::Elected(Leader {
                leader: d.vote.leader,
                zxid: d.vote.zxid,
                election_epoch: d.vote.election_epoch,
                peer_epoch: d.vote.peer_epoch,
                state: d.state,
                elapsed: d.elapsed,
            }),
        );
        match d.state {
            ServerState::Leading => self.lead(now, d, out),
            ServerState::Following | ServerState::Observing => self.follow(now, d, backed, out),
            ServerState::Looking => {}
        }
    }

    /// FLE re-sends its notifications only when its poll times out, and any
    /// notification restarts that poll: a leader's heartbeats, every half tick,
    /// would keep a LOOKING peer from ever asking again, and it needs the
    /// followers' answers to join. So while heartbeats come in, I send my
    /// current proposal myself, as FLE's timeout would, every two ticks; but
    /// not to myself: my own copy could start a finalize wait on stale
    /// votes, which would swallow the very answers I ask for.
    pub(super) fn nudge(&mut self, now: Duration, out: &mut Vec<Output>) {
        if now < self.looking_sent + self.timing.tick * 2 {
            return;
        }
        let msg = self.fle.proposal().looking(self.fle.logicalclock());
        let me = self.me();
        for &to in self.fle.voters().iter().filter(|&&s| s != me) {
            out.push(Output::Send { to, msg });
        }
        self.looking_sent = now;
    }

    /// A peer that takes me for its leader while I look: tell it so, with
    /// my proposal, at most once a tick per peer. FLE would only answer a
    /// LOOKING peer, and my own re-sends may be starved (see `nudge`).
    pub(super) fn answer_hello(&mut self, now: Duration, from: Sid, out: &mut Vec<Output>) {
        let last = self.answered.get(&from).copied();
        if last.is_some_and(|t| now < t + self.timing.tick) {
            return;
        }
        self.answered.insert(from, now);
        out.push(Output::Send {
            to: from,
            msg: self.fle.proposal().looking(self.fle.logicalclock()),
        });
    }

    /// A follow-only election (auto) that found no leader for `initLimit`
    /// ticks: whatever made me take the ensemble for mixed (a lost
    /// heartbeat answer, a real server that has gone) leaves it without
    /// anyone to follow. I give that knowledge up and propose myself again;
    /// real members, if any, teach it again. The same for a follow-only
    /// election after my failed confirmation ([`Mixed::shy`]).
    pub(super) fn looking_timers(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.unlearn_at().is_some_and(|u| now >= u) {
            self.mixed.learned = false;
            self.mixed.shy = false;
            let _ = self.fle.set_follow_only(self.follow_only_zxid());
            self.begin(now, out);
            return;
        }
        if self.observer_poll_at().is_some_and(|p| now >= p) {
            // Nobody tells an observer of a decision (real servers notify
            // voters only): it asks, every probe period, instead of at
            // FLE's doubling notification timeout.
            self.looking_sent = now;
            let msg = self.fle.proposal().looking(self.fle.logicalclock());
            for &to in self.fle.voters() {
                out.push(Output::Send { to, msg });
            }
        }
    }

    /// Until when a follow-only election that learned of real members, or
    /// that follows a failed confirmation ([`Mixed::shy`]), may run before
    /// I give that up ([`Core::looking_timers`]).
    fn unlearn_at(&self) -> Option<Duration> {
        (self.started
            && ((self.mixed.learned && self.mixed.follow_only == FollowOnly::Auto)
                || self.mixed.shy)
            && matches!(self.term, Term::Looking))
        .then(|| self.mixed.looking_since + self.timing.confirm_timeout())
    }

    /// An observer in an ensemble with real ZooKeeper members, looking:
    /// when it asks the voters again (during the first `initLimit` ticks of
    /// the election).
    fn observer_poll_at(&self) -> Option<Duration> {
        let poll = self.started
            && self.mixed.learned
            && matches!(self.term, Term::Looking)
            && !self.fle.voters().contains(&self.me())
            && self.looking_sent < self.mixed.looking_since + self.timing.confirm_timeout();
        poll.then(|| self.looking_sent.max(self.mixed.looking_since) + self.probe_period())
    }

    /// When the timers of an election are due next.
    pub(super) fn looking_deadline(&self) -> Option<Duration> {
        match (self.unlearn_at(), self.observer_poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
