//! [`Core`]: one peer's FastLeaderElection and leadership layer together,
//! as a sans-I/O machine: its state, its read-only accessors, and what every
//! role shares (the timer dispatch, accepting an epoch, ending a term).
//!
//! The machine's `impl Core` is split by role, as raft-rs splits `step`
//! into `step_leader`/`step_follower`, each part beside the data it works on:
//!
//! - `input`: the entry points the driver calls (`start`, `on_message`,
//!   `on_timeout`, ...), which dispatch to the term I am in;
//! - `looking`: the election and its hand-off to a term (`begin`,
//!   `decided`);
//! - `leader`: a leader's term ([`LeaderTerm`]) and its methods;
//! - `follower`: a follower's or observer's term ([`FollowTerm`]) and its
//!   methods; `phase`: what the follower knows of its leader (its
//!   [`Phase`](super::phase::Phase)); `promise`: what an acknowledgement
//!   promises, and the acknowledgement; `trust`: following a leader that
//!   sends no heartbeats (a real ZooKeeper server);
//! - `mixed`: what a peer learns about real ZooKeeper members.

use super::durable::{Durable, Refusal, EPOCH_STEP, ROUND_RESERVE};
use super::event::{Event, LossReason};
use super::follower::FollowTerm;
use super::leader::LeaderTerm;
use super::mixed::Mixed;
use super::mode::Mode;
use super::promise::Promise;
use super::timing::Timing;
use crate::election::{Fle, Message, RangeError, MAX_EPOCH};
use crate::types::{Sid, Zxid};
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
    /// ([`check_range`](crate::election::check_range)) was dropped unused; the driver logs it.
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

/// The term I am in: the election, or a decided period as leader or as
/// follower (or observer).
#[derive(Debug, Clone)]
pub(super) enum Term {
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
    pub(super) fle: Fle,
    pub(super) timing: Timing,
    pub(super) term: Term,
    /// Where heartbeats go: every voter and observer but me.
    pub(super) targets: Vec<Sid>,
    pub(super) zxid: Zxid,
    pub(super) host_epoch: i64,
    /// The highest epoch accepted; never decreases.
    pub(super) accepted: i64,
    /// The (leader, epoch) I acknowledged under `accepted`.
    pub(super) acked: Option<(Sid, i64)>,
    pub(super) promise: Option<Promise>,
    /// The highest epoch of a Leading/Following/Observing event I fired.
    pub(super) top_epoch: i64,
    /// The leader of that event (my own sid for `Leading`).
    pub(super) top_leader: Option<Sid>,
    /// Whether a durable store keeps `accepted` across restarts.
    pub(super) durable: bool,
    /// What the store holds (known written and fsynced).
    pub(super) stored: Durable,
    /// The newest state asked to be persisted.
    pub(super) requested: Durable,
    /// Peers whose own LEADING notification arrived during the current
    /// election, even if FLE consumed it in its finalize wait: a decision
    /// for one of them is backed by the leader's word.
    pub(super) leading_seen: BTreeSet<Sid>,
    /// The latest LOOKING vote of each voter that reached me while I was
    /// decided (so FLE did not see it): given to my next election as soon
    /// as it starts, as if it had arrived just after. Without it, a peer
    /// that started its new election a moment before me waits for its
    /// notification timeout to tell me its vote again.
    pub(super) stash: BTreeMap<Sid, Message>,
    /// The latest LEADING notification of each peer that says it leads,
    /// heard during the current election: when I decide to follow one of
    /// them I take its heartbeat at once instead of waiting for the next
    /// (a leader that decided early heartbeats while I may still look).
    pub(super) beats: BTreeMap<Sid, Message>,
    /// When I last sent my LOOKING notifications (see `nudge`).
    pub(super) looking_sent: Duration,
    /// When I last answered each peer's hello while looking.
    pub(super) answered: BTreeMap<Sid, Duration>,
    pub(super) started: bool,
    /// `stop` ran: nothing more is sent.
    pub(super) stopped: bool,
    /// Whom my earlier life last promised, for the stored epoch, when the
    /// store knows ([`Core::with_earlier_promise`]): the restart quarantine
    /// then only forbids acknowledging anyone else.
    pub(super) earlier_promise: Option<Sid>,
    /// Peers whose connection was up at some time in this run: a refused
    /// reconnect then means that one went away, not that it has not
    /// started yet (see [`Core::on_refused`]).
    pub(super) seen_up: BTreeSet<Sid>,
    pub(super) mode: Mode,
    /// Mixed ensembles: what the peer knows of real ZooKeeper members.
    pub(super) mixed: Mixed,
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

    /// When the driver must call [`Core::on_timeout`] next.
    pub fn next_deadline(&self) -> Option<Duration> {
        let role = self.role_deadline();
        match (self.fle.next_deadline(), role) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the timers of my term are due next.
    fn role_deadline(&self) -> Option<Duration> {
        match &self.term {
            Term::Looking => self.looking_deadline(),
            Term::Leading(l) => Some(self.lead_deadline(l)),
            Term::Following(f) => self.follow_deadline(f),
        }
    }

    /// The timers that are due, before anything else is handled.
    pub(super) fn advance(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.promise.is_some_and(|p| now >= p.until) {
            self.promise = None;
        }
        match &self.term {
            Term::Looking => self.looking_timers(now, out),
            Term::Leading(_) => self.leader_timers(now, out),
            Term::Following(_) => self.follower_timers(now, out),
        }
    }

    pub(super) fn me(&self) -> Sid {
        self.fle.my_sid()
    }

    pub(super) fn emit(out: &mut Vec<Output>, e: Event) {
        out.push(Output::Event(e));
    }

    /// Asks the store to keep the accepted epoch once it rose, and a round
    /// reservation once the election's round reached the last one, so that
    /// a restarted process starts above every round it used before.
    pub(super) fn want_persist(&mut self, out: &mut Vec<Output>) {
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
    pub(super) fn is_stored(&self, e: i64) -> bool {
        !self.durable || self.stored.epoch >= e
    }

    /// The highest epoch a notification from my leader may move me to: a
    /// bounded step above what I know, where what I know includes the
    /// decided vote's peer epoch (a quorum agreed on that vote).
    pub(super) fn epoch_limit(&self, vote_epoch: i64) -> i64 {
        self.accepted
            .max(self.top_epoch)
            .max(vote_epoch)
            .max(0)
            .saturating_add(EPOCH_STEP)
            .min(MAX_EPOCH)
    }

    /// Accepts `epoch` (above the one accepted before) for `leader`: it is
    /// reported to the host and sent to the store; nothing depends on it
    /// before the store says so ([`Core::is_stored`]).
    pub(super) fn accept(&mut self, leader: Sid, epoch: i64, out: &mut Vec<Output>) {
        self.accepted = epoch;
        self.acked = Some((leader, epoch));
        Self::emit(out, Event::EpochAccepted { epoch });
        self.want_persist(out);
    }

    /// The loss events for the current term; the term ends.
    pub(super) fn end_term(&mut self, reason: LossReason, out: &mut Vec<Output>) {
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
    pub(super) fn leave(&mut self, now: Duration, reason: LossReason, out: &mut Vec<Output>) {
        self.end_term(reason, out);
        self.begin(now, out);
    }
}
