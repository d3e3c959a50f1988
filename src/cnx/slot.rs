//! What a connection manager keeps per sid, in one place ([`PeerSlot`]),
//! and the rules that read and change it (sending, connect attempts,
//! pokes, the end of a connection).

use super::{admission, queue, CnxEvent, Inner, FRESH_CONNECTION, MAX_DIAL_BACKS, POKE_BACKOFF};
use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crate::wire::HostPort;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything kept for one sid, under the manager's one `slots` lock.
///
/// A configured sid's slot lives as long as the manager. A sid that is not
/// in the configuration (a probe, a legacy observer's placeholder id, an
/// unknown sid) has a slot only while it has a live connection or a
/// connection attempt in flight, and never a last message (see
/// `Inner::tidy`).
#[derive(Default)]
pub(super) struct PeerSlot {
    /// The send queue (capacity 1, newest wins), from the first message or
    /// connection on.
    pub(super) queue: Option<SendQueue>,
    /// The last message written to this sid (ZOOKEEPER-481: a new
    /// connection repeats it); configured sids only.
    pub(super) last_sent: Option<Arc<[u8]>>,
    /// The live connection, if any.
    pub(super) worker: Option<WorkerHandle>,
    /// A connection attempt is queued or running: never more than one
    /// (spec 2.2).
    pub(super) in_flight: bool,
    /// The socket that attempt is connecting (until it is handed on or
    /// dropped), so that stop can shut it down: an attempt to a
    /// black-holed address then ends at once.
    pub(super) dialing: Option<TcpStream>,
    /// When this (larger) sid was last poked.
    pub(super) poked: Option<Instant>,
}

impl PeerSlot {
    /// The send queue, made on first use.
    pub(super) fn queue(&mut self) -> SendQueue {
        self.queue
            .get_or_insert_with(|| {
                let (tx, rx) = bounded(1);
                SendQueue {
                    tx,
                    rx,
                    unwritten: Arc::new(AtomicU64::new(0)),
                }
            })
            .clone()
    }

    /// Shuts down the live connection's socket and the dialling one, and
    /// lets go of them (dropping the worker handle wakes its send worker).
    pub(super) fn close_sockets(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.stream.shutdown(Shutdown::Both);
        }
        if let Some(d) = self.dialing.take() {
            let _ = d.shutdown(Shutdown::Both);
        }
    }
}

/// The live send/receive worker pair of one peer.
pub(super) struct WorkerHandle {
    /// Which connection this is (a newer one replaces it).
    pub(super) conn: u64,
    /// When this connection started carrying messages.
    pub(super) since: Instant,
    /// The manager's handle on the socket, to shut it down.
    pub(super) stream: TcpStream,
    /// The connection's hang-up: dropped with this handle, when the
    /// connection ends or is replaced, it wakes the send worker (which
    /// waits on the sid's queue, not on the socket).
    pub(super) hang_up: Sender<()>,
}

/// A peer's send queue (capacity 1); both ends kept for drop-oldest.
#[derive(Clone)]
pub(super) struct SendQueue {
    pub(super) tx: Sender<Arc<[u8]>>,
    pub(super) rx: Receiver<Arc<[u8]>>,
    /// Messages queued or taken and not yet written (or failed): counted
    /// before the push, so it never falls below the truth; the send worker
    /// counts down after each write (`CnxManager::flush`).
    pub(super) unwritten: Arc<AtomicU64>,
}

impl SendQueue {
    /// Queues `body`, the newest winning (spec 2.5).
    pub(super) fn push(&self, body: Arc<[u8]>) {
        self.unwritten.fetch_add(1, Ordering::AcqRel);
        let dropped = queue::push_drop_oldest(&self.tx, &self.rx, body) as u64;
        if dropped > 0 {
            self.unwritten.fetch_sub(dropped, Ordering::AcqRel);
        }
    }

    /// The send worker took one message and wrote it (or failed to).
    pub(super) fn written(&self) {
        let _ = self
            .unwritten
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Messages not written yet.
    pub(super) fn unwritten(&self) -> u64 {
        self.unwritten.load(Ordering::Acquire)
    }
}

/// The per-sid rules of the manager, each under the one `slots` lock.
impl Inner {
    /// Queues `body` for `sid` (see [`super::CnxManager::send`]).
    pub(super) fn send(self: &Arc<Self>, sid: Sid, body: Arc<[u8]>) {
        if self.stopping() {
            return;
        }
        self.counters.sent();
        if sid == self.s.my_sid {
            queue::push_drop_oldest(&self.recv_tx, &self.recv_rx, (sid, body.to_vec()));
            return;
        }
        if !self.s.peers.contains_key(&sid) {
            // Not configured: it cannot be dialled, so a message for it only
            // goes out on its live connection, and its queue lives as long
            // as that connection (both made and dropped under the slots
            // lock, see `tidy`).
            let q = self
                .slots
                .lock()
                .get_mut(&sid)
                .filter(|slot| slot.worker.is_some())
                .map(PeerSlot::queue);
            match q {
                Some(q) => q.push(body),
                None => log!(
                    Level::Debug,
                    "dropping a message for sid {sid}: not configured and not connected"
                ),
            }
            return;
        }
        let q = self.slots.lock().entry(sid).or_default().queue();
        q.push(body);
        self.connect_one(sid);
    }

    /// Drops what is kept for a sid that is not in the configuration once
    /// its connection is gone, and its slot once no attempt is in flight
    /// either, so sids that come and go (probes, legacy placeholders,
    /// made-up sids) leave nothing behind. Called with the slots lock held.
    pub(super) fn tidy(&self, slots: &mut HashMap<Sid, PeerSlot>, sid: Sid) {
        if self.s.peers.contains_key(&sid) {
            return;
        }
        if let Some(slot) = slots.get_mut(&sid) {
            if slot.worker.is_none() {
                slot.queue = None;
                slot.last_sent = None;
                slot.poked = None;
                if !slot.in_flight {
                    slots.remove(&sid);
                }
            }
        }
    }

    /// Whether `sid` has a live connection.
    pub(super) fn is_connected(&self, sid: Sid) -> bool {
        self.slots
            .lock()
            .get(&sid)
            .is_some_and(|slot| slot.worker.is_some())
    }

    /// Starts a connection to a configured sid unless one is live or in
    /// flight (spec 2.2).
    pub(super) fn connect_one(self: &Arc<Self>, sid: Sid) {
        if self.is_connected(sid) {
            return;
        }
        if sid > self.s.my_sid && self.poked_recently(sid) {
            // The larger sid is dialling us back; poking again would make it
            // drop that connection and start over (spec 2.4).
            return;
        }
        match self.s.peers.get(&sid) {
            Some(addrs) => self.connect_to(sid, addrs.clone()),
            None => log!(
                Level::Warn,
                "invalid server id {sid}: not in the configuration, not connecting"
            ),
        }
    }

    /// Queues a connect attempt to given addresses (also used for dial-back
    /// to an advertised address, which does not need a configured sid).
    pub(super) fn connect_to(self: &Arc<Self>, sid: Sid, addrs: Vec<HostPort>) {
        if self.stopping() {
            return;
        }
        {
            let mut slots = self.slots.lock();
            let peers = &self.s.peers;
            if !peers.contains_key(&sid) {
                let others = slots
                    .iter()
                    .filter(|(s, slot)| slot.in_flight && !peers.contains_key(s))
                    .count();
                if others >= MAX_DIAL_BACKS {
                    // A flood of handshakes with made-up sids repeats it.
                    static WARN: admission::RateLimit =
                        admission::RateLimit::new(Duration::from_secs(10));
                    WARN.log(Level::Warn, || format!(
                        "not dialling back sid {sid}: {MAX_DIAL_BACKS} attempts to unconfigured sids in flight"
                    ));
                    return;
                }
            }
            let slot = slots.entry(sid).or_default();
            if slot.in_flight {
                return;
            }
            slot.in_flight = true;
        }
        if self.connect_tx.try_send((sid, addrs)).is_err() {
            self.end_attempt(sid);
        }
    }

    /// The attempt to `sid` is over (or never started).
    pub(super) fn end_attempt(&self, sid: Sid) {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.get_mut(&sid) {
            slot.in_flight = false;
            slot.dialing = None;
        }
        self.tidy(&mut slots, sid);
    }

    /// Keeps a handle on the socket an attempt to `sid` is about to
    /// connect, so that stop can shut it down; refused once stopping
    /// (checked under the lock that shutdown closes these sockets with, so
    /// no socket is left out).
    pub(super) fn track_dialing(&self, sid: Sid, sock: TcpStream) -> io::Result<()> {
        let mut slots = self.slots.lock();
        if self.stopping() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopping"));
        }
        slots.entry(sid).or_default().dialing = Some(sock);
        Ok(())
    }

    /// The attempt to `sid` is done with its socket (handed on or failed).
    pub(super) fn untrack_dialing(&self, sid: Sid) {
        let old = self
            .slots
            .lock()
            .get_mut(&sid)
            .and_then(|slot| slot.dialing.take());
        drop(old);
    }

    /// Whether I poked `sid` less than [`POKE_BACKOFF`] ago.
    pub(super) fn poked_recently(&self, sid: Sid) -> bool {
        self.slots
            .lock()
            .get(&sid)
            .and_then(|slot| slot.poked)
            .is_some_and(|t| t.elapsed() < POKE_BACKOFF)
    }

    /// Remembers a poke, so no second one goes out while the dial-back is on
    /// its way.
    pub(super) fn note_poke(&self, sid: Sid) {
        let mut slots = self.slots.lock();
        // Older pokes no longer hold anything back.
        for slot in slots.values_mut() {
            if slot.poked.is_some_and(|t| t.elapsed() >= POKE_BACKOFF) {
                slot.poked = None;
            }
        }
        slots.entry(sid).or_default().poked = Some(Instant::now());
    }

    /// Whether the live connection to `sid` started less than
    /// [`FRESH_CONNECTION`] ago.
    pub(super) fn has_fresh_connection(&self, sid: Sid) -> bool {
        self.slots
            .lock()
            .get(&sid)
            .and_then(|slot| slot.worker.as_ref())
            .is_some_and(|w| w.since.elapsed() < FRESH_CONNECTION)
    }

    /// Closes the live connection to `sid`, if any.
    pub(super) fn drop_worker(&self, sid: Sid) {
        let old = {
            let mut slots = self.slots.lock();
            let old = slots.get_mut(&sid).and_then(|slot| slot.worker.take());
            if old.is_some() {
                self.tidy(&mut slots, sid);
            }
            old
        };
        if let Some(old) = old {
            let _ = old.stream.shutdown(std::net::Shutdown::Both);
            self.note_progress();
            self.emit(CnxEvent::Disconnected(sid));
        }
    }
}
