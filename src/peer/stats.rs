//! What a peer counts about itself, for operators: elections, their
//! durations, leadership changes, and what its connection manager counts.
//! The runtime bumps the counters where things happen (relaxed atomics and
//! one small lock, never held across anything else); [`crate::Peer::stats`]
//! reads them as one [`Stats`] snapshot. `zkelect run` serves them as
//! ZooKeeper's four-letter words and as Prometheus metrics
//! ([`crate::admin`]).

use crate::cnx::CnxCounters;
use crate::leadership::Event;
use crate::types::ServerState;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A peer's statistics at one moment ([`crate::Peer::stats`]). Counters
/// count since the [`crate::Peer`] was created, across its restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Whether the peer runs.
    pub running: bool,
    /// How long the current run has lasted (zero when not running).
    pub uptime: Duration,
    /// My state.
    pub state: ServerState,
    /// My vote: my proposal while LOOKING, else the elected vote.
    pub vote: crate::types::Vote,
    /// The last zxid I report ([`crate::Peer::set_zxid`]).
    pub zxid: crate::types::Zxid,
    /// My election round (ZooKeeper's logicalclock).
    pub round: i64,
    /// The confirmed leadership, if any ([`crate::Peer::confirmed`]).
    pub confirmed: Option<super::Confirmed>,
    /// How long the current confirmed leadership has held, if any.
    pub confirmed_for: Option<Duration>,
    /// The highest epoch accepted ([`crate::Peer::accepted_epoch`]).
    pub accepted_epoch: i64,
    /// Times I went LOOKING (ZooKeeper's `looking_count`): each start and
    /// each new election.
    pub looking_count: u64,
    /// Elections that ended in a decision.
    pub elections: u64,
    /// The duration of the last election, from LOOKING to the decision.
    pub last_election_time: Option<Duration>,
    /// The shortest election.
    pub min_election_time: Option<Duration>,
    /// The longest election.
    pub max_election_time: Option<Duration>,
    /// All elections' durations added up (with `elections`, the mean).
    pub total_election_time: Duration,
    /// Confirmed leaderships begun (`Leading`, `Following` or `Observing`
    /// events): each one is a new leader or a new epoch.
    pub leadership_changes: u64,
    /// Members of the configuration with a live connection now.
    pub connected_peers: Vec<crate::types::Sid>,
    /// Failed connection attempts and connections closed for a bad frame.
    pub connection_errors: u64,
    /// Received frames dropped because the receive queue was full.
    pub frames_dropped: u64,
    /// Frames received from peers.
    pub frames_received: u64,
    /// Frames queued for sending.
    pub frames_sent: u64,
    /// Whether my vote is follow-only now ([`super::Leadership::follow_only`]).
    pub follow_only: bool,
    /// Whether I learned that the ensemble has real ZooKeeper servers
    /// ([`super::Leadership::real_members`]).
    pub real_members: bool,
}

/// Election durations in ms.
#[derive(Debug, Default, Clone, Copy)]
struct Elections {
    count: u64,
    last: Option<Duration>,
    min: Option<Duration>,
    max: Option<Duration>,
    total: Duration,
}

/// The counters behind [`Stats`], shared by the runtime's threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub cnx: Arc<CnxCounters>,
    looking: AtomicU64,
    changes: AtomicU64,
    elections: Mutex<Elections>,
    started: Mutex<Option<Instant>>,
    confirmed_at: Mutex<Option<Instant>>,
}

impl Counters {
    /// A run starts: it starts LOOKING.
    pub(crate) fn on_start(&self) {
        *self.started.lock() = Some(Instant::now());
        *self.confirmed_at.lock() = None;
        self.looking.fetch_add(1, Ordering::Relaxed);
    }

    /// The run ended.
    pub(crate) fn on_stop(&self) {
        *self.started.lock() = None;
        *self.confirmed_at.lock() = None;
    }

    /// Folds an event in (called on the election thread as it emits it).
    pub(crate) fn on_event(&self, e: &Event) {
        match e {
            Event::StateChanged { old, new }
                if *new == ServerState::Looking && *old != ServerState::Looking =>
            {
                self.looking.fetch_add(1, Ordering::Relaxed);
                *self.confirmed_at.lock() = None;
            }
            Event::Elected(l) => {
                let mut el = self.elections.lock();
                el.count += 1;
                el.last = Some(l.elapsed);
                el.min = Some(el.min.map_or(l.elapsed, |m| m.min(l.elapsed)));
                el.max = Some(el.max.map_or(l.elapsed, |m| m.max(l.elapsed)));
                el.total += l.elapsed;
            }
            Event::Leading { .. } | Event::Following { .. } | Event::Observing { .. } => {
                self.changes.fetch_add(1, Ordering::Relaxed);
                *self.confirmed_at.lock() = Some(Instant::now());
            }
            Event::LeadershipLost { .. } | Event::LeaderLost { .. } => {
                *self.confirmed_at.lock() = None;
            }
            _ => {}
        }
    }

    /// Fills the counter part of a snapshot.
    pub(crate) fn fill(&self, s: &mut Stats) {
        let el = *self.elections.lock();
        let started = *self.started.lock();
        s.uptime = started.map_or(Duration::ZERO, |t| t.elapsed());
        s.confirmed_for = self
            .confirmed_at
            .lock()
            .filter(|_| s.confirmed.is_some())
            .map(|t| t.elapsed());
        s.looking_count = self.looking.load(Ordering::Relaxed);
        s.elections = el.count;
        s.last_election_time = el.last;
        s.min_election_time = el.min;
        s.max_election_time = el.max;
        s.total_election_time = el.total;
        s.leadership_changes = self.changes.load(Ordering::Relaxed);
        s.connection_errors = self.cnx.connection_errors();
        s.frames_dropped = self.cnx.frames_dropped();
        s.frames_received = self.cnx.frames_received();
        s.frames_sent = self.cnx.frames_sent();
    }
}
