//! The one stop mechanism of a connection manager.

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Raised once, by the manager's shutdown. It answers "stopping?" without
/// a lock ([`StopSignal::is_raised`]) and wakes every thread that waits on
/// [`StopSignal::waiter`] (a full event queue, a name lookup, the
/// connector, a bind retry's pause): raising drops the only sender of that
/// channel, so every receive on it returns at once, now and later.
///
/// Threads blocked in the network are not woken through it: shutdown
/// closes their sockets, and they look at the signal when they wake.
pub(super) struct StopSignal {
    raised: AtomicBool,
    /// Never sent on; dropped by [`StopSignal::raise`].
    wake: Mutex<Option<Sender<()>>>,
    waiter: Receiver<()>,
}

impl StopSignal {
    /// A signal not raised yet.
    pub(super) fn new() -> StopSignal {
        let (wake, waiter) = bounded(0);
        StopSignal {
            raised: AtomicBool::new(false),
            wake: Mutex::new(Some(wake)),
            waiter,
        }
    }

    /// Whether the manager is stopping.
    pub(super) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Raises the signal and wakes every waiter; true for the call that
    /// raised it, false if it was raised already.
    pub(super) fn raise(&self) -> bool {
        if self.raised.swap(true, Ordering::AcqRel) {
            return false;
        }
        *self.wake.lock() = None;
        true
    }

    /// In a forked child: marks the signal raised, so that a later
    /// [`StopSignal::raise`] does nothing, without touching the channel
    /// (a thread of the parent may have held its lock at the fork, and no
    /// waiter exists in the child).
    pub(super) fn mark_raised_in_child(&self) {
        self.raised.store(true, Ordering::Release);
    }

    /// A channel that is disconnected once the signal is raised: put it in
    /// a `select!` beside what a thread waits for.
    pub(super) fn waiter(&self) -> &Receiver<()> {
        &self.waiter
    }

    /// Waits up to `d` for the signal; true if it was raised.
    pub(super) fn wait_timeout(&self, d: Duration) -> bool {
        matches!(
            self.waiter.recv_timeout(d),
            Err(RecvTimeoutError::Disconnected) | Ok(())
        )
    }
}
