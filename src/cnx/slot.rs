//! What a connection manager keeps per sid, in one place: [`PeerSlot`].

use super::queue;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

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
