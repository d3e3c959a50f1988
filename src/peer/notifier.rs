//! The notifier thread: delivers events to the host's callbacks and
//! subscribers, one at a time and in order, never under an internal lock.

use crate::leadership::Event;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A host callback.
pub type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

/// Who gets events: callbacks (by id) and channel subscribers.
#[derive(Default)]
pub(crate) struct Listeners {
    callbacks: Mutex<Vec<(u64, Callback)>>,
    subscribers: Mutex<Vec<Sender<Event>>>,
    next: AtomicU64,
}

impl Listeners {
    pub(crate) fn add(&self, cb: Callback) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.callbacks.lock().push((id, cb));
        id
    }

    pub(crate) fn remove(&self, id: u64) -> bool {
        let taken = {
            let mut list = self.callbacks.lock();
            let pos = list.iter().position(|(i, _)| *i == id);
            pos.map(|p| list.remove(p))
        };
        // Dropped here, outside the lock: a C finalizer may call back into
        // the API.
        taken.is_some()
    }

    pub(crate) fn subscribe(&self, tx: Sender<Event>) {
        self.subscribers.lock().push(tx);
    }

    fn deliver(&self, e: &Event, live: &AtomicBool) {
        let cbs: Vec<Callback> = self
            .callbacks
            .lock()
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for cb in cbs {
            if !live.load(Ordering::Acquire) {
                return;
            }
            cb(e);
        }
        self.subscribers.lock().retain(|s| s.send(*e).is_ok());
    }
}

/// How many events the notifier has finished with (delivered, or skipped
/// once nothing more may be delivered), so that a graceful stop can wait
/// until the host has seen its step-down before it releases the followers.
#[derive(Default)]
pub(crate) struct Progress {
    done: Mutex<u64>,
    changed: Condvar,
}

impl Progress {
    fn finished_one(&self) {
        *self.done.lock() += 1;
        self.changed.notify_all();
    }

    /// Waits until `n` events are finished with, or `timeout` passes; true
    /// if they are.
    pub(crate) fn wait_for(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut done = self.done.lock();
        while *done < n {
            if self.changed.wait_until(&mut done, deadline).timed_out() {
                return *done >= n;
            }
        }
        true
    }
}

/// Runs until the election thread, the only producer of `events`, is gone,
/// delivering while `live` holds. Every event comes from the election
/// thread, `PeerConnected`/`PeerDisconnected` included (it gets connection
/// events straight from the connection manager and passes them on), so all
/// of them arrive in one order, and a slow callback delays no input of the
/// election.
pub(crate) fn run(
    events: Receiver<Event>,
    listeners: Arc<Listeners>,
    live: Arc<AtomicBool>,
    progress: Arc<Progress>,
) {
    for e in events.iter() {
        if live.load(Ordering::Acquire) {
            listeners.deliver(&e, &live);
        }
        progress.finished_one();
    }
}
