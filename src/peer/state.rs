//! State a peer's threads publish for the host and for each other.

use super::event::Leader;
use crate::election::{Fle, View};
use crate::types::{ServerState, Vote, Zxid};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the host reads: my state, my vote, and the last decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Status {
    pub state: ServerState,
    pub vote: Vote,
    pub leader: Option<Leader>,
    pub running: bool,
}

/// Shared between the host's handle and the runtime threads.
pub(crate) struct PeerState {
    zxid: AtomicI64,
    epoch: AtomicI64,
    status: Mutex<Status>,
    changed: Condvar,
    /// The view the receive thread answers from (spec 5.11).
    pub view: Arc<Mutex<View>>,
}

impl PeerState {
    pub(crate) fn new(my_vote: Vote) -> PeerState {
        PeerState {
            zxid: AtomicI64::new(0),
            epoch: AtomicI64::new(0),
            status: Mutex::new(Status {
                state: ServerState::Looking,
                vote: my_vote,
                leader: None,
                running: false,
            }),
            changed: Condvar::new(),
            view: Arc::new(Mutex::new(View {
                state: ServerState::Looking,
                current_vote: my_vote,
                logicalclock: 0,
                proposal: (-1, -1, -1),
            })),
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

    pub(crate) fn status(&self) -> Status {
        *self.status.lock()
    }

    pub(crate) fn set_running(&self, running: bool) {
        let mut s = self.status.lock();
        s.running = running;
        if !running {
            s.leader = None;
        }
        self.changed.notify_all();
    }

    /// Marks a new election as begun before the election thread gets to it.
    pub(crate) fn clear_leader(&self) {
        let mut s = self.status.lock();
        s.leader = None;
        s.state = ServerState::Looking;
    }

    /// Publishes the machine's state; `leader` is set on a decision and
    /// cleared when a new election starts.
    pub(crate) fn publish(&self, fle: &Fle, leader: Option<Leader>) {
        {
            let mut s = self.status.lock();
            s.state = fle.state();
            s.vote = if fle.state() == ServerState::Looking {
                let (l, z, e) = fle.proposal();
                Vote::looking(l, z, fle.logicalclock(), e)
            } else {
                fle.current_vote()
            };
            s.leader = leader;
            self.changed.notify_all();
        }
        self.publish_view(fle);
    }

    pub(crate) fn publish_view(&self, fle: &Fle) {
        *self.view.lock() = fle.view();
    }

    /// Waits until a leader is known, the peer stops, or the timeout passes.
    pub(crate) fn wait_for_leader(&self, timeout: Duration) -> Option<Leader> {
        let deadline = Instant::now() + timeout;
        let mut s = self.status.lock();
        loop {
            if let Some(l) = s.leader {
                return Some(l);
            }
            if !s.running {
                return None;
            }
            if self.changed.wait_until(&mut s, deadline).timed_out() {
                return s.leader;
            }
        }
    }
}
