//! [`Core`]: one peer's FastLeaderElection and leadership layer together,
//! as a sans-I/O machine.

use super::durable::{Durable, Refusal, EPOCH_STEP, ROUND_RESERVE};
use super::event::{Event, Leader, LossReason};
use super::follow::FollowOnly;
use super::follower::{FollowTerm, Promise};
use super::leader::LeaderTerm;
use super::mode::Mode;
use super::signal::{heartbeat, heartbeat_zxid, report, reported_heartbeat, route, says_confirmed};
use super::timing::Timing;
use crate::election::{
    check_range, is_follow_only_vote, Action, Decision, Fle, Message, RangeError,
    FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_ZXID, MAX_EPOCH,
};
use crate::types::{ServerState, Sid, Zxid};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the machine asks its driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Send `msg` (with our config text) to `to`; `to` may be my own sid
    /// (the driver loops it back, spec 5.3).
    Send {
        /// Destination sid.
        to: Sid,
        /// The notification's vote fields.
        msg: Message,
    },
    /// (Re)connect to every known peer (ZooKeeper's `connectAll`).
    ConnectAll,
    /// Try to connect to `sid` now (its connection broke: a refused
    /// attempt is then reported at once, [`Core::on_refused`]).
    Connect(Sid),
    /// Tell the host.
    Event(Event),
    /// I promised `leader` (acknowledged it, for `epoch`): a store that
    /// can keep this cheaply (no fsync; the dataDir lock file) records it,
    /// so that a restart after a crash of the process knows whom its
    /// quarantine protects ([`Core::with_earlier_promise`]).
    Promised {
        /// The leader acknowledged.
        leader: Sid,
        /// The epoch acknowledged.
        epoch: i64,
    },
    /// Store this durably (fsync) and then call [`Core::on_persisted`].
    /// Nothing that depends on it (an acknowledgement of the epoch, my own
    /// count for it as leader) leaves the machine before that call.
    Persist(Durable),
    /// A notification was not used because it would move an epoch further
    /// than one sender may (see [`crate::leadership`], "Hostile input"); the
    /// driver logs it.
    Refused(Refusal),
    /// A notification with an epoch or round outside ZooKeeper's range
    /// ([`check_range`]) was dropped unused; the driver logs it.
    OutOfRange {
        /// The sender.
        from: Sid,
        /// What was out of range.
        error: RangeError,
    },
}

/// My role as the host should see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An election runs (or the machine has not started).
    Looking,
    /// Elected leader; `confirmed` once `Leading { epoch }` fired.
    Leading {
        /// The proposed or confirmed epoch.
        epoch: i64,
        /// Whether a quorum confirmed it.
        confirmed: bool,
    },
    /// Following `leader`; `epoch` once `Following` fired in this term.
    Following {
        /// The elected leader.
        leader: Sid,
        /// The confirmed epoch, once known.
        epoch: Option<i64>,
    },
    /// Observing `leader`; `epoch` once `Observing` fired in this term.
    Observing {
        /// The elected leader.
        leader: Sid,
        /// The confirmed epoch, once known.
        epoch: Option<i64>,
    },
}

#[derive(Debug, Clone)]
enum Term {
    Looking,
    Leading(LeaderTerm),
    Following(FollowTerm),
}

/// A peer's election and leadership: FLE ([`Fle`]) decides, then the
/// leadership layer confirms the leader with a new epoch, keeps it alive
/// with heartbeats, and goes back to LOOKING when it fails. See
/// [`crate::leadership`] for the protocol and its guarantees.
///
/// Every input takes `now` (time since an arbitrary origin, the same for
/// all inputs) and first runs the timers that are due, so that a peer that
/// was paused gives up what expired before it acts on anything else.
#[derive(Debug, Clone)]
pub struct Core {
    fle: Fle,
    timing: Timing,
    term: Term,
    /// Where heartbeats go: every voter and observer but me.
    targets: Vec<Sid>,
    zxid: Zxid,
    host_epoch: i64,
    /// The highest epoch accepted; never decreases.
    accepted: i64,
    /// The (leader, epoch) I acknowledged under `accepted`.
    acked: Option<(Sid, i64)>,
    promise: Option<Promise>,
    /// The highest epoch of a Leading/Following/Observing event I fired.
    top_epoch: i64,
    /// The leader of that event (my own sid for `Leading`).
    top_leader: Option<Sid>,
    /// Whether a durable store keeps `accepted` across restarts.
    durable: bool,
    /// What the store holds (known written and fsynced).
    stored: Durable,
    /// The newest state asked to be persisted.
    requested: Durable,
    /// Peers whose own LEADING notification arrived during the current
    /// election, even if FLE consumed it in its finalize wait: a decision
    /// for one of them is backed by the leader's word.
    leading_seen: BTreeSet<Sid>,
    /// The latest LOOKING vote of each voter that reached me while I was
    /// decided (so FLE did not see it): given to my next election as soon
    /// as it starts, as if it had arrived just after. Without it, a peer
    /// that started its new election a moment before me waits for its
    /// notification timeout to tell me its vote again.
    stash: BTreeMap<Sid, Message>,
    /// The latest LEADING notification of each peer that says it leads,
    /// heard during the current election: when I decide to follow one of
    /// them I take its heartbeat at once instead of waiting for the next
    /// (a leader that decided early heartbeats while I may still look).
    beats: BTreeMap<Sid, Message>,
    /// When I last sent my LOOKING notifications (see `nudge`).
    looking_sent: Duration,
    /// When I last answered each peer's hello while looking.
    answered: BTreeMap<Sid, Duration>,
    started: bool,
    /// `stop` ran: nothing more is sent.
    stopped: bool,
    /// Whom my earlier life last promised, for the stored epoch, when the
    /// store knows ([`Core::with_earlier_promise`]): the restart quarantine
    /// then only forbids acknowledging anyone else.
    earlier_promise: Option<Sid>,
    /// Peers whose connection was up at some time in this run: a refused
    /// reconnect then means that one went away, not that it has not
    /// started yet (see [`Core::on_refused`]).
    seen_up: BTreeSet<Sid>,
    mode: Mode,
    /// Mixed ensembles: what the peer knows of real ZooKeeper members.
    mixed: Mixed,
}

/// What a peer learned about real ZooKeeper servers in its ensemble (see
/// [`FollowOnly`]).
#[derive(Debug, Clone, Default)]
struct Mixed {
    /// The setting.
    follow_only: FollowOnly,
    /// The ensemble has real ZooKeeper members, learned from proof: a
    /// ZooKeeper learner connected to my quorum (Zab) port, which no zkelect
    /// peer ever does ([`Core::on_zab_contact`]), or another zkelect peer's
    /// vote that says it learned so. Sticky, but given up after a
    /// follow-only election that found no leader for `initLimit` ticks.
    learned: bool,
    /// Sids taken for real ZooKeeper servers: leaders whose own LEADING
    /// vote came without heartbeats for the trust wait. Only a hint (lost
    /// heartbeats look the same): it speeds up following them, and makes
    /// nobody follow-only.
    real: BTreeSet<Sid>,
    /// Sids that sent what only zkelect sends (a heartbeat, a report, a
    /// follow-only vote): not real servers.
    zkelect: BTreeSet<Sid>,
    /// Peers whose election connection is down now (it was up before).
    conn_down: BTreeSet<Sid>,
    /// Of those, the ones whose reconnect was refused since: gone.
    gone: BTreeSet<Sid>,
    /// When the current election began.
    looking_since: Duration,
}

impl Core {
    /// A machine around an unstarted [`Fle`]. `accepted` is an epoch this
    /// peer accepted in an earlier run of the same process (0 if none); the
    /// host's epoch is added with [`Core::set_reported`].
    ///
    /// Without a durable store the restart quarantine always applies: the
    /// peer acknowledges nobody, itself included, for `syncLimit` ticks after
    /// [`Core::start`], as it cannot know whether an earlier process
    /// acknowledged someone just before it died. See [`Core::durable`].
    pub fn new(fle: Fle, timing: Timing, accepted: i64) -> Core {
        Core::build(fle, timing, accepted, None)
    }

    /// A machine whose accepted epoch and round high-water mark are kept in
    /// a durable store that held `stored` at start. Every new accepted epoch
    /// is sent out as [`Output::Persist`] and only acknowledged (or counted
    /// for myself) after [`Core::on_persisted`] says it is stored, as
    /// ZooKeeper writes `acceptedEpoch` before it sends ACKEPOCH. The first
    /// election's round is above `stored.round`. A peer that starts with a
    /// stored epoch above 0 is quarantined as in [`Core::new`]; one with 0
    /// never acknowledged anything and is not.
    pub fn durable(mut fle: Fle, timing: Timing, stored: Durable) -> Core {
        fle.resume_round(stored.round.clamp(0, crate::election::MAX_ROUND));
        Core::build(fle, timing, stored.epoch, Some(stored))
    }

    fn build(fle: Fle, timing: Timing, accepted: i64, stored: Option<Durable>) -> Core {
        let me = fle.my_sid();
        let mut targets: Vec<Sid> = fle
            .voters()
            .iter()
            .chain(fle.quorum().observers().iter())
            .copied()
            .filter(|&s| s != me)
            .collect();
        targets.sort_unstable();
        targets.dedup();
        Core {
            fle,
            timing,
            term: Term::Looking,
            targets,
            zxid: 0,
            host_epoch: 0,
            accepted,
            acked: None,
            promise: None,
            top_epoch: i64::MIN,
            top_leader: None,
            durable: stored.is_some(),
            stored: stored.unwrap_or_default(),
            requested: stored.unwrap_or_default(),
            leading_seen: BTreeSet::new(),
            stash: BTreeMap::new(),
            beats: BTreeMap::new(),
            looking_sent: Duration::ZERO,
            answered: BTreeMap::new(),
            started: false,
            stopped: false,
            earlier_promise: None,
            seen_up: BTreeSet::new(),
            mode: Mode::Lease,
            mixed: Mixed::default(),
        }
    }

    /// With the follow-only setting `f` ([`FollowOnly::Auto`] by default).
    /// Set before [`Core::start`].
    pub fn with_follow_only(mut self, f: FollowOnly) -> Core {
        self.mixed.follow_only = f;
        let _ = self.fle.set_follow_only(self.follow_only_zxid());
        self
    }

    /// The follow-only setting.
    pub fn follow_only_setting(&self) -> FollowOnly {
        self.mixed.follow_only
    }

    /// Whether this peer currently votes follow-only (never wins FLE).
    pub fn follows_only(&self) -> bool {
        self.fle.follow_only().is_some()
    }

    /// Whether this peer learned that its ensemble has real ZooKeeper
    /// members (see [`FollowOnly::Auto`]).
    pub fn knows_real_members(&self) -> bool {
        self.mixed.learned
    }

    /// The zxid my follow-only vote carries, if I vote follow-only.
    fn follow_only_zxid(&self) -> Option<Zxid> {
        match self.mixed.follow_only {
            FollowOnly::On => Some(FOLLOW_ONLY_ZXID),
            FollowOnly::Auto if self.mixed.learned => Some(FOLLOW_ONLY_MIXED_ZXID),
            _ => None,
        }
    }

    /// Whether `leader` is taken for a real ZooKeeper server: known so, or
    /// the ensemble has real members and it never sent what only zkelect
    /// sends. Its own LEADING vote then stands for its confirmation at once.
    fn believed_real(&self, leader: Sid) -> bool {
        self.mixed.real.contains(&leader)
            || ((self.mixed.learned || !self.mixed.real.is_empty())
                && !self.mixed.zkelect.contains(&leader))
    }

    /// I learned that the ensemble has real ZooKeeper members. In auto mode I vote follow-only from now on; an
    /// unconfirmed leader steps down at once, so that the real servers
    /// elect one of their own instead of failing their sync with me again.
    fn learn_mixed(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.mixed.learned {
            return;
        }
        self.mixed.learned = true;
        if self.mixed.follow_only != FollowOnly::Auto {
            return;
        }
        let acts = self.fle.set_follow_only(self.follow_only_zxid());
        self.apply_fle(now, acts, false, out);
        if matches!(&self.term, Term::Leading(t) if !t.confirmed) {
            self.leave(now, LossReason::NotConfirmed, out);
        }
    }

    /// What a store in `dataDir` can also tell after a crash of the
    /// process: my earlier life's last promise was to `leader`, for my
    /// stored epoch ([`Output::Promised`], recorded in the lock file). A
    /// promise runs in one slot (a new one to another leader only once the
    /// last ran out), so the restart quarantine need only keep me from
    /// acknowledging anyone but `leader` (and from counting myself); a
    /// proof of its death or its new round releases it. Set before
    /// [`Core::start`].
    pub fn with_earlier_promise(mut self, leader: Sid) -> Core {
        self.earlier_promise = Some(leader);
        self
    }

    /// In `mode` ([`Mode::Lease`] by default). Set before [`Core::start`].
    pub fn with_mode(mut self, mode: Mode) -> Core {
        self.mode = mode;
        self
    }

    /// The leadership mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The election machine (read-only: its view feeds the reply rules).
    pub fn fle(&self) -> &Fle {
        &self.fle
    }

    /// The timers in use.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The last zxid and the epoch the host reports; read at the start of
    /// every election (the epoch FLE reports is the larger of this and the
    /// accepted epoch).
    pub fn set_reported(&mut self, zxid: Zxid, epoch: i64) {
        self.zxid = zxid;
        self.host_epoch = epoch;
    }

    /// The highest epoch this peer accepted (or proposed as leader).
    pub fn accepted_epoch(&self) -> i64 {
        self.accepted
    }

    /// What the durable store is known to hold (the default when there is
    /// no store).
    pub fn stored(&self) -> Durable {
        self.stored
    }

    /// My role.
    pub fn role(&self) -> Role {
        match &self.term {
            Term::Looking => Role::Looking,
            Term::Leading(t) => Role::Leading {
                epoch: t.epoch,
                confirmed: t.confirmed,
            },
            Term::Following(t) if t.observer => Role::Observing {
                leader: t.leader,
                epoch: t.fired,
            },
            Term::Following(t) => Role::Following {
                leader: t.leader,
                epoch: t.fired,
            },
        }
    }

    /// For a confirmed leader, until when its quorum of acknowledgements
    /// holds if nothing new arrives: it steps down at that instant.
    pub fn lease_until(&self) -> Option<Duration> {
        match &self.term {
            Term::Leading(t) if t.confirmed => Some(
                t.quorum_until(
                    self.fle.quorum(),
                    self.fle.my_sid(),
                    true,
                    self.timing.leader_deadline(),
                )
                .unwrap_or(Duration::ZERO),
            ),
            _ => None,
        }
    }

    /// Whether I am the confirmed leader at `now` (confirmed and within
    /// the lease), whatever inputs are still unprocessed.
    pub fn leads_at(&self, now: Duration) -> bool {
        self.lease_until().is_some_and(|u| now < u)
    }

    /// Until when an earlier acknowledgement (or the quarantine after a
    /// start with an epoch) keeps me from acknowledging anyone else.
    pub fn promise_until(&self) -> Option<Duration> {
        self.promise.map(|p| p.until)
    }

    /// When the driver must call [`Core::on_timeout`] next.
    pub fn next_deadline(&self) -> Option<Duration> {
        let role = self.role_deadline();
        match (self.fle.next_deadline(), role) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

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
    /// [`FollowOnly::Auto`] I vote follow-only from now on and, if I lead
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

    /// To whom and for which epoch my promise runs, if one does (`None`
    /// as leader: the restart quarantine).
    pub fn promised(&self) -> Option<(Option<Sid>, i64)> {
        self.promise.map(|p| (p.leader, p.epoch))
    }

    /// The leader I follow or observe, if any.
    pub fn following(&self) -> Option<Sid> {
        match &self.term {
            Term::Following(f) => Some(f.leader),
            _ => None,
        }
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
            self.mixed.conn_down.remove(&from);
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

    /// What a notification tells about real ZooKeeper members (see
    /// [`FollowOnly`]), before the term handles it:
    ///
    /// - a report (its zxid inverted) or a follow-only vote comes from a
    ///   zkelect peer; a follow-only vote that says it learned of real
    ///   members (zxid [`FOLLOW_ONLY_MIXED_ZXID`]) teaches me the same;
    /// - as a follower whose connection to its leader is down: a voter
    ///   looking in a later round than my term's has lost the leader too, so
    ///   I give it up now rather than after the reconnect grace.
    fn mixed_evidence(
        &mut self,
        now: Duration,
        from: Sid,
        msg: &Message,
        voter: bool,
        out: &mut Vec<Output>,
    ) {
        let state = msg.server_state();
        if state == Some(ServerState::Following) && reported_heartbeat(msg).is_some() {
            self.mixed.zkelect.insert(from);
        }
        if state != Some(ServerState::Looking) || msg.zxid == -1 {
            return;
        }
        if is_follow_only_vote(msg.zxid, msg.peer_epoch) {
            self.mixed.zkelect.insert(from);
            self.mixed.real.remove(&from);
            if voter && msg.zxid == FOLLOW_ONLY_MIXED_ZXID {
                self.learn_mixed(now, out);
            }
            return;
        }
        if !voter {
            return;
        }
        if let Term::Following(f) = &self.term {
            if f.down_since.is_some() && from != f.leader && msg.election_epoch > f.term_round() {
                self.leave(now, LossReason::Disconnected, out);
            }
        }
    }

    /// Marks `sid` known down for FLE's early finalize, which may decide at
    /// once.
    fn known_down(&mut self, now: Duration, sid: Sid, out: &mut Vec<Output>) {
        let acts = self.fle.set_known_down(now, sid, true);
        self.apply_fle(now, acts, false, out);
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
            self.mixed.conn_down.remove(&sid);
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

    // ------------------------------------------------------------ common

    fn me(&self) -> Sid {
        self.fle.my_sid()
    }

    fn emit(out: &mut Vec<Output>, e: Event) {
        out.push(Output::Event(e));
    }

    /// A new election round, reporting the larger of the host's epoch and
    /// the accepted one, so that a quorum's next leader proposes above it.
    fn begin(&mut self, now: Duration, out: &mut Vec<Output>) {
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

    /// Asks the store to keep the accepted epoch once it rose, and a round
    /// reservation once the election's round reached the last one, so that
    /// a restarted process starts above every round it used before.
    fn want_persist(&mut self, out: &mut Vec<Output>) {
        if !self.durable {
            return;
        }
        let round = self.fle.logicalclock();
        let epoch_due = self.accepted > self.requested.epoch;
        let round_due = round >= self.requested.round;
        if !epoch_due && !round_due {
            return;
        }
        let reserve = if round_due {
            round.saturating_add(ROUND_RESERVE)
        } else {
            self.requested.round
        };
        self.requested = Durable {
            epoch: self.accepted.max(self.requested.epoch),
            round: reserve,
        };
        out.push(Output::Persist(self.requested));
    }

    /// Whether epoch `e` is as durable as it must be before anything
    /// depends on it.
    fn is_stored(&self, e: i64) -> bool {
        !self.durable || self.stored.epoch >= e
    }

    /// The highest epoch a notification from my leader may move me to: a
    /// bounded step above what I know, where what I know includes the
    /// decided vote's peer epoch (a quorum agreed on that vote).
    fn epoch_limit(&self, vote_epoch: i64) -> i64 {
        self.accepted
            .max(self.top_epoch)
            .max(vote_epoch)
            .max(0)
            .saturating_add(EPOCH_STEP)
            .min(MAX_EPOCH)
    }

    /// The loss events for the current term; the term ends.
    fn end_term(&mut self, reason: LossReason, out: &mut Vec<Output>) {
        let me = self.me();
        match std::mem::replace(&mut self.term, Term::Looking) {
            Term::Looking => {}
            Term::Leading(t) => {
                let e = if t.confirmed {
                    Event::LeadershipLost {
                        epoch: t.epoch,
                        reason,
                    }
                } else {
                    Event::LeadershipFailed {
                        epoch: t.epoch,
                        reason,
                    }
                };
                Self::emit(out, e);
                Self::emit(out, Event::LeaderLost { leader: me, reason });
            }
            Term::Following(t) => Self::emit(
                out,
                Event::LeaderLost {
                    leader: t.leader,
                    reason,
                },
            ),
        }
    }

    /// Ends the term and looks for a leader again.
    fn leave(&mut self, now: Duration, reason: LossReason, out: &mut Vec<Output>) {
        self.end_term(reason, out);
        self.begin(now, out);
    }

    /// FLE re-sends its notifications only when its poll times out, and any
    /// notification restarts that poll: a leader's heartbeats, every half tick,
    /// would keep a LOOKING peer from ever asking again, and it needs the
    /// followers' answers to join. So while heartbeats come in, I send my
    /// current proposal myself, as FLE's timeout would, every two ticks; but
    /// not to myself: my own copy could start a finalize wait on stale
    /// votes, which would swallow the very answers I ask for.
    fn nudge(&mut self, now: Duration, out: &mut Vec<Output>) {
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
    fn answer_hello(&mut self, now: Duration, from: Sid, out: &mut Vec<Output>) {
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

    fn apply_fle(&mut self, now: Duration, acts: Vec<Action>, backed: bool, out: &mut Vec<Output>) {
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
            ServerState::Leading => {
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
            ServerState::Following | ServerState::Observing => {
                let observer = d.state == ServerState::Observing;
                let looking_path = !backed;
                let backed = backed || self.leading_seen.contains(&d.vote.leader);
                let real = self.believed_real(d.vote.leader);
                let mut term = FollowTerm::new(d.vote, observer, backed, now);
                term.looking_path = looking_path;
                if real {
                    // A real ZooKeeper leader sends no heartbeats: its own
                    // LEADING vote with the epoch of its sync is all the
                    // confirmation there is, so I ask for it at once
                    // (trust_vote) instead of waiting for heartbeats.
                    term.real = true;
                    term.trusted_vote = true;
                    term.trusted_at = Some(now);
                }
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
                if matches!(&self.term, Term::Following(f) if f.real && f.backed && f.fired.is_none())
                {
                    self.trust_vote(now, out);
                }
                let hello =
                    matches!(&self.term, Term::Following(f) if f.fired.is_none() && !f.real);
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
            ServerState::Looking => {}
        }
    }

    /// The timers that are due, before anything else is handled.
    fn advance(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.promise.is_some_and(|p| now >= p.until) {
            self.promise = None;
        }
        match &self.term {
            Term::Looking => self.looking_timers(now, out),
            Term::Leading(_) => self.leader_timers(now, out),
            Term::Following(_) => self.follower_timers(now, out),
        }
    }

    /// Until when a follow-only election that learned of real members may
    /// run before I give that knowledge up ([`Core::looking_timers`]).
    fn unlearn_at(&self) -> Option<Duration> {
        (self.started
            && self.mixed.learned
            && self.mixed.follow_only == FollowOnly::Auto
            && matches!(self.term, Term::Looking))
        .then(|| self.mixed.looking_since + self.timing.confirm_timeout())
    }

    /// A follow-only election (auto) that found no leader for `initLimit`
    /// ticks: whatever made me take the ensemble for mixed (a lost
    /// heartbeat answer, a real server that has gone) leaves it without
    /// anyone to follow. I give that knowledge up and propose myself again;
    /// real members, if any, teach it again.
    fn looking_timers(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.unlearn_at().is_some_and(|u| now >= u) {
            self.mixed.learned = false;
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

    fn role_deadline(&self) -> Option<Duration> {
        let t = &self.timing;
        match &self.term {
            Term::Looking => match (self.unlearn_at(), self.observer_poll_at()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Term::Leading(l) => {
                let end = if l.confirmed {
                    self.lease_until().unwrap_or(Duration::ZERO)
                } else {
                    // An unexpired promise keeps me from counting myself:
                    // look again when it ends (`advance` clears it then).
                    let d = l.started + t.confirm_timeout();
                    self.promise.map_or(d, |p| d.min(p.until))
                };
                Some(end.min(l.next_beat))
            }
            Term::Following(f) => {
                let mut d = match f.last_hb {
                    Some(h) => h + t.follower_deadline(),
                    None if f.observer => Duration::MAX,
                    None => f.last_hello.unwrap_or(f.decided_at) + t.follower_deadline(),
                };
                if f.last_hb.is_none() && !f.backed {
                    d = d.min(f.decided_at + t.confirm_timeout());
                }
                if f.last_hb.is_none() && f.backed && !f.trusted_vote {
                    d = d.min(f.decided_at + t.trust_wait());
                }
                if let Some(s) = f.down_since {
                    d = d.min(s + t.reconnect_grace());
                }
                if f.last_hb.is_none() && (f.fired.is_none() || !f.trusted_vote) {
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
    }

    /// A LOOKING notification from the leader I promised to, of a round
    /// after its heartbeats': it started a new election, so it no longer
    /// leads that term and the promise has nothing left to protect.
    fn maybe_release(&mut self, now: Duration, from: Sid, msg: &Message, out: &mut Vec<Output>) {
        let Some(p) = self.promise else { return };
        if p.leader == Some(from) && msg.election_epoch > p.round {
            self.promise = None;
            match &self.term {
                Term::Leading(_) => self.check_confirm(now, out),
                Term::Following(_) => self.flush_pending(now, out),
                Term::Looking => {}
            }
        }
    }

    // ------------------------------------------------------------ leader

    /// I accept my own new epoch before anyone else may: a peer never
    /// acknowledges an epoch it does not exceed.
    fn propose(&mut self, epoch: i64, out: &mut Vec<Output>) {
        self.accept(self.me(), epoch, out);
    }

    /// Accepts `epoch` (above the one accepted before) for `leader`: it is
    /// reported to the host and sent to the store; nothing depends on it
    /// before the store says so ([`Core::is_stored`]).
    fn accept(&mut self, leader: Sid, epoch: i64, out: &mut Vec<Output>) {
        self.accepted = epoch;
        self.acked = Some((leader, epoch));
        Self::emit(out, Event::EpochAccepted { epoch });
        self.want_persist(out);
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

    fn check_confirm(&mut self, now: Duration, out: &mut Vec<Output>) {
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

    fn check_lease(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.lease_until().is_some_and(|u| now >= u) {
            self.leave(now, LossReason::NoQuorum, out);
        }
    }

    fn leader_timers(&mut self, now: Duration, out: &mut Vec<Output>) {
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
                self.leave(now, LossReason::NotConfirmed, out);
                return;
            }
        }
        if matches!(&self.term, Term::Leading(t) if now >= t.next_beat) {
            self.beat(now, out);
        }
    }

    fn leader_message(&mut self, now: Duration, from: Sid, msg: &Message, out: &mut Vec<Output>) {
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

    // ------------------------------------------------------------ follower

    fn follower_timers(&mut self, now: Duration, out: &mut Vec<Output>) {
        let t = self.timing;
        let Term::Following(f) = &mut self.term else {
            return;
        };
        if f.down_since.is_some_and(|s| now >= s + t.reconnect_grace()) {
            self.leave(now, LossReason::Disconnected, out);
            return;
        }
        match f.last_hb {
            Some(h) => {
                if now >= h + t.follower_deadline() {
                    self.leave(now, LossReason::Silent, out);
                    return;
                }
            }
            None if !f.backed && now >= f.decided_at + t.confirm_timeout() => {
                // Decided on LOOKING votes alone and no heartbeat within
                // initLimit: nothing says this peer leads (FLE can decide
                // a quorum on a peer that then decided otherwise). Behind a
                // ZooKeeper leader this costs one extra election, which
                // then finds the leader's own LEADING vote.
                self.leave(now, LossReason::Silent, out);
                return;
            }
            None => {
                // Without any heartbeat there is no silence deadline: the
                // connection, the leader's LOOKING notifications, an answer
                // to my hello and other leaders' confirmed heartbeats end
                // the term.
                let last = f.last_hello.unwrap_or(f.decided_at);
                let hello = !f.observer && now >= last + t.follower_deadline();
                let trust = f.backed && !f.trusted_vote && now >= f.decided_at + t.trust_wait();
                if trust {
                    // No heartbeat although the leader said LEADING itself,
                    // and no answer to my hello: a leader that sends none (a
                    // real ZooKeeper server), whose LEADING vote stands for
                    // its confirmation. The ensemble has real members.
                    f.trusted_vote = true;
                    f.trusted_at = Some(now);
                    f.real = true;
                    let leader = f.leader;
                    self.mixed.real.insert(leader);
                    self.mixed.zkelect.remove(&leader);
                }
                let due =
                    matches!(&self.term, Term::Following(f) if f.trusted_vote && f.fired.is_none());
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

    /// The one question of a follower that decided on LOOKING votes alone
    /// (not yet trusting the leader's vote): its vote, as a LOOKING
    /// notification, which a leader that decided (a real ZooKeeper server
    /// too) answers with its LEADING vote: the backing that spares me a
    /// look again at initLimit.
    fn probe_if_due(&mut self, now: Duration, out: &mut Vec<Output>) {
        let Term::Following(f) = &mut self.term else {
            return;
        };
        if f.trusted_vote || f.last_hb.is_some() || !f.probe_at.is_some_and(|p| now >= p) {
            return;
        }
        f.probe_at = None;
        if f.backed {
            return;
        }
        let v = f.vote;
        out.push(Output::Send {
            to: f.leader,
            msg: Message::outgoing(
                ServerState::Looking,
                v.leader,
                v.zxid,
                v.election_epoch,
                v.peer_epoch,
            ),
        });
    }

    /// A finalize wait and a half: how long after my decision the leader,
    /// which may have been in its own finalize wait (restarted by every
    /// notification in ZooKeeper), has decided if nothing disturbed it.
    fn quiet_wait(&self) -> Duration {
        self.timing.finalize_wait + self.timing.finalize_wait / 2
    }

    /// The leader's own LEADING vote stands for its confirmation (a leader
    /// that sends no heartbeats: a real ZooKeeper server). I accept its
    /// epoch, so that a later zkelect leader proposes above it, and fire
    /// `Following` with it, but only if that epoch is a fencing token: above
    /// every epoch I reported for another leader. A ZooKeeper leader's vote
    /// from its election carries its epoch from before its sync (ZooKeeper
    /// rewrites it only after, spec 4), so a vote gathered during the
    /// election can show the previous leader's epoch again. Then I ask the
    /// leader for its current vote with a LOOKING notification (a decided
    /// ZooKeeper server answers it with its vote, whose peer epoch is the
    /// new one after its sync), once a tick, until its epoch is above.
    fn trust_vote(&mut self, now: Duration, out: &mut Vec<Output>) {
        let period = self.probe_period();
        let quiet = self.quiet_wait();
        let give_up = self.timing.heartbeat_wait();
        let (leader, epoch, fresh, observer) = match &self.term {
            Term::Following(f) => (
                f.leader,
                f.vote_epoch,
                // A ZooKeeper leader's sync takes tens to hundreds of ms; one
                // that still shows its old epoch two ticks after I began to
                // trust it does not rewrite its vote (a server without the
                // rewrite), and that epoch is all there is.
                !f.real
                    || f.fresh_epoch(f.vote_epoch)
                    || f.trusted_at.is_some_and(|t| now >= t + give_up),
                f.observer,
            ),
            _ => return,
        };
        // Behind a real ZooKeeper leader, only the epoch of its sync.
        let allowed = self.may_fire(leader, epoch) && fresh;
        let Term::Following(f) = &mut self.term else {
            return;
        };
        if !allowed {
            // Every probe period once the leader said LEADING (it decided:
            // my questions cannot disturb its election); before, one per
            // quiet wait and a half, so that ZooKeeper's finalize wait,
            // which every notification restarts, still ends.
            let p = if now >= f.decided_at + self.timing.confirm_timeout() {
                self.timing.tick
            } else if f.backed {
                period
            } else {
                quiet + quiet / 2
            };
            if f.probe_at.map_or(true, |at| now >= at) {
                f.probe_at = Some(now + p);
                let v = f.vote;
                out.push(Output::Send {
                    to: leader,
                    msg: Message::outgoing(
                        ServerState::Looking,
                        v.leader,
                        v.zxid,
                        v.election_epoch,
                        v.peer_epoch,
                    ),
                });
            }
            return;
        }
        if epoch > self.accepted && !observer {
            self.accept(leader, epoch, out);
        }
        if self.fire(leader, epoch, out) {
            // As after a confirmed heartbeat: joiners match votes on the
            // peer epoch, and a later heartbeat fires nothing new.
            self.fle.update_peer_epoch(epoch);
        }
    }

    /// How often a follower asks a trusted leader for its current vote
    /// while that vote shows no epoch it may report: half a finalize wait
    /// (a real leader's sync takes tens to hundreds of ms) during the first
    /// `initLimit` ticks after the decision, then once a tick.
    fn probe_period(&self) -> Duration {
        (self.timing.finalize_wait / 2)
            .max(Duration::from_millis(1))
            .min(self.timing.tick)
    }

    /// Whether `Following`/`Observing` may fire for `leader` with `epoch`:
    /// never below an epoch I reported before, and equal only for the same
    /// leader, so that the epoch is a fencing token.
    fn may_fire(&self, leader: Sid, epoch: i64) -> bool {
        epoch > self.top_epoch || (epoch == self.top_epoch && self.top_leader == Some(leader))
    }

    /// Fires `Following`/`Observing` for `epoch` once per term, if
    /// [`Core::may_fire`].
    fn fire(&mut self, leader: Sid, epoch: i64, out: &mut Vec<Output>) -> bool {
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

    fn follower_message(&mut self, now: Duration, from: Sid, msg: &Message, out: &mut Vec<Output>) {
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
                        if !f.backed && f.trusted_vote {
                            // It decided: my questions can no longer delay
                            // its election, so ask at the fast pace now.
                            f.probe_at = f.probe_at.map(|p| p.min(fast));
                        }
                        f.backed = true;
                        if msg.peer_epoch > f.vote_epoch && msg.peer_epoch <= limit {
                            // Its vote after its sync: the epoch it leads.
                            f.vote_epoch = msg.peer_epoch;
                        }
                        retry = f.trusted_vote && f.fired.is_none();
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
                            && f.last_hb.is_none()
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
                if msg.election_epoch != f.term_round() || f.last_hb.is_some() || late {
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
        f.last_hb = Some(now);
        f.hb_round = Some(msg.election_epoch);
        // A heartbeat: the leader is a zkelect peer, confirmed by them.
        f.real = false;
        f.trusted_vote = false;
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
        if confirmed && self.fire(leader, epoch, out) {
            // As a ZooKeeper follower after UPTODATE (spec 4).
            self.fle.update_peer_epoch(epoch);
        }
    }

    /// Acknowledges heartbeat `hb` of my leader, and promises not to
    /// acknowledge anyone else for `syncLimit` ticks from now: the leader
    /// counts it for `syncLimit − 1` ticks from the heartbeat's sending,
    /// which is earlier.
    fn ack(&mut self, now: Duration, hb: &Message, out: &mut Vec<Output>) {
        let d_f = self.timing.follower_deadline();
        let round = self.fle.current_vote().election_epoch;
        let Term::Following(f) = &mut self.term else {
            return;
        };
        f.pending = None;
        let leader = f.leader;
        out.push(Output::Send {
            to: leader,
            msg: report(leader, hb.zxid, round, hb.peer_epoch),
        });
        if self.mode == Mode::Lease {
            let changed = self.promise.map_or(true, |p| {
                (p.leader, p.epoch) != (Some(leader), hb.peer_epoch)
            });
            self.promise = Some(Promise {
                leader: Some(leader),
                round: hb.election_epoch,
                epoch: hb.peer_epoch,
                until: now + d_f,
            });
            if changed {
                out.push(Output::Promised {
                    leader,
                    epoch: hb.peer_epoch,
                });
            }
        }
    }

    fn flush_pending(&mut self, now: Duration, out: &mut Vec<Output>) {
        let Term::Following(f) = &self.term else {
            return;
        };
        let Some(hb) = f.pending else { return };
        if !self.promise.is_some_and(|p| p.forbids(f.leader, now)) && self.is_stored(hb.peer_epoch)
        {
            self.ack(now, &hb, out);
        }
    }
}
