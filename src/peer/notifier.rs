//! The notifier thread: delivers events to the host's callbacks and
//! subscribers, one at a time and in order, never under an internal lock.

use crate::cnx::CnxEvent;
use crate::leadership::Event;
use crossbeam_channel::{select, Receiver, Sender};
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

/// Runs until both event sources are closed, delivering while `live` holds.
/// Connection events are also relayed to the election thread (`relay`),
/// whose leadership layer watches the connection to the leader.
pub(crate) fn run(
    events: Receiver<Event>,
    cnx: Receiver<CnxEvent>,
    relay: Sender<CnxEvent>,
    listeners: Arc<Listeners>,
    live: Arc<AtomicBool>,
) {
    let mut events_open = true;
    let mut cnx_open = true;
    let closed_events = crossbeam_channel::never();
    let closed_cnx = crossbeam_channel::never();
    while events_open || cnx_open {
        let e = select! {
            recv(if events_open { &events } else { &closed_events }) -> e => match e {
                Ok(e) => e,
                Err(_) => { events_open = false; continue; }
            },
            recv(if cnx_open { &cnx } else { &closed_cnx }) -> c => {
                let Ok(c) = c else { cnx_open = false; continue; };
                // The election thread may be gone while stopping.
                let _ = relay.send(c);
                match c {
                    CnxEvent::Connected(s) => Event::PeerConnected(s),
                    CnxEvent::Disconnected(s) => Event::PeerDisconnected(s),
                    CnxEvent::ListenerFailed(_) => continue,
                }
            },
        };
        if !live.load(Ordering::Acquire) {
            continue;
        }
        listeners.deliver(&e, &live);
    }
}
