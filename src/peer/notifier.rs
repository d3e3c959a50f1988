//! The notifier thread: delivers events to the host's callbacks and
//! subscribers, one at a time and in order, never under an internal lock.

use crate::leadership::Event;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

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

/// Runs until the election thread, the only producer of `events`, is gone,
/// delivering while `live` holds. Every event comes from the election
/// thread, `PeerConnected`/`PeerDisconnected` included (it gets connection
/// events straight from the connection manager and passes them on), so all
/// of them arrive in one order, and a slow callback delays no input of the
/// election.
pub(crate) fn run(events: Receiver<Event>, listeners: Arc<Listeners>, live: Arc<AtomicBool>) {
    for e in events.iter() {
        if !live.load(Ordering::Acquire) {
            continue;
        }
        listeners.deliver(&e, &live);
    }
}
