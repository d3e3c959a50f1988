//! State a peer's threads publish for the host and for each other.

use crate::election::View;
use crate::leadership::{Event, Leader};
use crate::types::{ServerState, Sid, Vote, Zxid};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A confirmed leadership as this peer knows it: the last `Leading`,
/// `Following` or `Observing` event, until it was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed {
    /// My role: LEADING, FOLLOWING or OBSERVING.
    pub state: ServerState,
    /// The leader (my own sid when leading).
    pub leader: Sid,
    /// Its confirmed epoch: the fencing token.
    pub epoch: i64,
}

/// One consistent reading of a peer's leadership ([`crate::Peer::leadership`]):
/// taken under one lock, with one reading of the clock, so that its fields
/// agree with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leadership {
    /// My state, as the election sees it.
    pub state: ServerState,
    /// The election's decision while it holds: not yet something to act on.
    pub elected: Option<Leader>,
    /// The confirmed leadership, if any; my own only while its lease holds
    /// at `now`.
    pub confirmed: Option<Confirmed>,
    /// Until when I lead confirmed, on [`crate::clock::now`]'s clock; `Some`
    /// only when `confirmed` is my own leadership and its lease holds at
    /// `now`.
    pub lease_deadline: Option<Duration>,
    /// The reading of [`crate::clock::now`] the snapshot was taken at.
    pub now: Duration,
    /// Whether the peer runs.
    pub running: bool,
    /// Whether my vote is follow-only now (I vote, but never win the
    /// election): `followOnly=true`, `auto` once I learned of real
    /// ZooKeeper members, or the back-off after a failed confirmation.
    pub follow_only: bool,
    /// Whether I learned that the ensemble has real ZooKeeper servers (a
    /// ZooKeeper learner tried to sync with me, or a zkelect peer's vote
    /// said it learned it).
    pub real_members: bool,
}

impl Leadership {
    /// Whether I led confirmed at `now`.
    pub fn leads_now(&self) -> bool {
        self.lease_deadline.is_some()
    }

    /// How long from `now` my lease holds; `None` unless I led confirmed.
    pub fn lease_remaining(&self) -> Option<Duration> {
        self.lease_deadline.map(|d| d.saturating_sub(self.now))
    }
}

/// What the host reads: my state, my vote, and the last decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Status {
    pub state: ServerState,
    pub vote: Vote,
    pub leader: Option<Leader>,
    pub confirmed: Option<Confirmed>,
    pub running: bool,
    /// Whether my vote is follow-only ([`Leadership::follow_only`]).
    pub follow_only: bool,
    /// Whether I learned of real members ([`Leadership::real_members`]).
    pub real_members: bool,
}

/// Shared between the host's handle and the runtime threads.
pub(crate) struct PeerState {
    my_sid: Sid,
    zxid: AtomicI64,
    epoch: AtomicI64,
    /// The highest epoch accepted in this process, kept across stop/start.
    accepted: AtomicI64,
    status: Mutex<Status>,
    changed: Condvar,
    /// Until when (on [`crate::clock::now`]) I lead confirmed, as the
    /// election thread last computed it: nanoseconds, 0 for none. The lease
    /// only shrinks between two updates, so a host that compares it with
    /// the clock at the call never sees leadership the election thread has
    /// not yet had time to give up (a paused process, a busy thread).
    lease_nanos: std::sync::atomic::AtomicU64,
    /// The view the receive thread answers from (spec 5.11).
    pub view: Arc<Mutex<View>>,
    /// What the runtime counts ([`super::stats`]).
    pub stats: super::stats::Counters,
}

impl PeerState {
    pub(crate) fn new(my_vote: Vote) -> PeerState {
        PeerState {
            my_sid: my_vote.leader,
            zxid: AtomicI64::new(0),
            epoch: AtomicI64::new(0),
            accepted: AtomicI64::new(0),
            status: Mutex::new(Status {
                state: ServerState::Looking,
                vote: my_vote,
                leader: None,
                confirmed: None,
                running: false,
                follow_only: false,
                real_members: false,
            }),
            changed: Condvar::new(),
            lease_nanos: std::sync::atomic::AtomicU64::new(0),
            view: Arc::new(Mutex::new(View {
                state: ServerState::Looking,
                current_vote: my_vote,
                logicalclock: 0,
                proposal: crate::election::Proposal::UNSET,
            })),
            stats: super::stats::Counters::default(),
        }
    }

    /// The zxid and epoch the host reports, read at the start of each election.
    pub(crate) fn reported(&self) -> (Zxid, i64) {
        (
            self.zxid.load(Ordering::Acquire),
            self.epoch.load(Ordering::Acquire),
        )
    }

    pub(crate) fn set_zxid(&self, z: Zxid) {
        self.zxid.store(z, Ordering::Release);
    }

    pub(crate) fn set_epoch(&self, e: i64) {
        self.epoch.store(e, Ordering::Release);
    }

    /// The highest epoch accepted by this peer in this process.
    pub(crate) fn accepted(&self) -> i64 {
        self.accepted.load(Ordering::Acquire)
    }

    pub(crate) fn set_accepted(&self, e: i64) {
        self.accepted.fetch_max(e, Ordering::AcqRel);
    }

    pub(crate) fn status(&self) -> Status {
        *self.status.lock()
    }

    /// Publishes the lease of the machine ([`crate::leadership::Core::lease_until`]).
    pub(crate) fn publish_lease(&self, until: Option<Duration>) {
        let n = until.map_or(0, |u| {
            u64::try_from(u.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.lease_nanos.store(n, Ordering::Release);
    }

    /// Until when I lead confirmed, on [`crate::clock::now`]'s clock.
    pub(crate) fn lease_deadline(&self) -> Option<Duration> {
        match self.lease_nanos.load(Ordering::Acquire) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// Whether the lease holds at the moment of the call.
    pub(crate) fn leads_now(&self) -> bool {
        self.lease_deadline()
            .is_some_and(|u| crate::clock::now() < u)
    }

    /// One consistent reading of the leadership: the status under its lock,
    /// the lease and the clock read while holding it.
    pub(crate) fn leadership(&self) -> Leadership {
        let s = self.status.lock();
        let now = crate::clock::now();
        let lease = self.lease_deadline().filter(|d| now < *d);
        let confirmed = s
            .confirmed
            .filter(|c| c.state != ServerState::Leading || lease.is_some());
        let mine = confirmed.is_some_and(|c| c.state == ServerState::Leading);
        Leadership {
            state: s.state,
            elected: s.leader,
            confirmed,
            lease_deadline: lease.filter(|_| mine),
            now,
            running: s.running,
            follow_only: s.follow_only,
            real_members: s.real_members,
        }
    }

    /// The confirmed leadership, with a leader's own past its lease removed.
    pub(crate) fn confirmed(&self, s: &Status) -> Option<Confirmed> {
        let c = s.confirmed?;
        if c.state == ServerState::Leading && !self.leads_now() {
            return None;
        }
        Some(c)
    }

    pub(crate) fn set_running(&self, running: bool) {
        let mut s = self.status.lock();
        s.running = running;
        if !running {
            self.publish_lease(None);
            s.leader = None;
            s.confirmed = None;
            // A stopped peer votes nothing; a new start learns anew.
            s.follow_only = false;
            s.real_members = false;
        }
        self.changed.notify_all();
    }

    /// Marks a new election as begun before the election thread gets to it.
    pub(crate) fn clear_leader(&self) {
        let mut s = self.status.lock();
        s.leader = None;
        s.confirmed = None;
        s.state = ServerState::Looking;
        // Giving leadership up early is always safe.
        self.publish_lease(None);
    }

    /// Folds an event into what the host reads: the decision is set by
    /// `Elected` and cleared when a new election starts; the confirmed
    /// leadership is set by `Leading`/`Following`/`Observing` and cleared by
    /// any loss.
    pub(crate) fn on_event(&self, e: &Event) {
        self.stats.on_event(e);
        let mut s = self.status.lock();
        match *e {
            // The state goes with the decision, so that a host woken by the
            // decision reads a state that agrees with it.
            Event::Elected(l) => {
                s.leader = Some(l);
                s.state = l.state;
                s.vote = Vote {
                    version: 0,
                    leader: l.leader,
                    zxid: l.zxid,
                    election_epoch: l.election_epoch,
                    peer_epoch: l.peer_epoch,
                    state: l.state,
                };
            }
            Event::StateChanged { new, .. } => {
                s.state = new;
                if new == ServerState::Looking {
                    s.leader = None;
                    s.confirmed = None;
                }
            }
            Event::Leading { epoch } => {
                s.confirmed = Some(Confirmed {
                    state: ServerState::Leading,
                    leader: self.my_sid,
                    epoch,
                })
            }
            Event::Following { leader, epoch } => {
                s.confirmed = Some(Confirmed {
                    state: ServerState::Following,
                    leader,
                    epoch,
                })
            }
            Event::Observing { leader, epoch } => {
                s.confirmed = Some(Confirmed {
                    state: ServerState::Observing,
                    leader,
                    epoch,
                })
            }
            Event::LeadershipLost { .. } | Event::LeaderLost { .. } => s.confirmed = None,
            Event::EpochAccepted { epoch } => {
                self.accepted.fetch_max(epoch, Ordering::AcqRel);
            }
            _ => {}
        }
    }

    /// Publishes the machine's state and vote, and wakes waiters.
    /// What the receive thread answers from once the peer departs (a
    /// graceful stop): LOOKING, proposing `me` with zxid −1, so that its
    /// answers are departure notices too, never the vote that just ended
    /// (which would let a released follower decide on me again).
    pub(crate) fn publish_departed(&self, me: Sid, notice: &crate::election::Message) {
        let mut v = self.view.lock();
        v.state = ServerState::Looking;
        v.logicalclock = notice.election_epoch;
        v.proposal = crate::election::Proposal::new(me, -1, notice.peer_epoch);
    }

    /// Publishes the machine's election state and vote, and what it says
    /// of a mixed ensemble ([`crate::leadership::Core::follows_only`],
    /// [`crate::leadership::Core::knows_real_members`]). Those two are
    /// ignored once the peer stops: a stopping election thread's last
    /// outputs must not undo what [`PeerState::set_running`] cleared.
    pub(crate) fn publish(&self, core: &crate::leadership::Core) {
        let fle = core.fle();
        {
            let mut s = self.status.lock();
            if s.running {
                s.follow_only = core.follows_only();
                s.real_members = core.knows_real_members();
            }
            s.state = fle.state();
            s.vote = if fle.state() == ServerState::Looking {
                let p = fle.proposal();
                Vote::looking(p.leader, p.zxid, fle.logicalclock(), p.epoch)
            } else {
                fle.current_vote()
            };
            self.changed.notify_all();
        }
        *self.view.lock() = fle.view();
    }

    /// Waits until `pick` finds something in the status, the peer stops, or
    /// the timeout passes.
    fn wait_for<T>(&self, timeout: Duration, pick: impl Fn(&Status) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut s = self.status.lock();
        loop {
            if let Some(v) = pick(&s) {
                return Some(v);
            }
            if !s.running {
                return None;
            }
            if self.changed.wait_until(&mut s, deadline).timed_out() {
                return pick(&s);
            }
        }
    }

    /// Waits until a leader is known, the peer stops, or the timeout passes.
    pub(crate) fn wait_for_leader(&self, timeout: Duration) -> Option<Leader> {
        self.wait_for(timeout, |s| s.leader)
    }

    /// Waits until a leadership is confirmed, the peer stops, or the
    /// timeout passes.
    pub(crate) fn wait_for_confirmed(&self, timeout: Duration) -> Option<Confirmed> {
        self.wait_for(timeout, |s| self.confirmed(s))
    }
}
