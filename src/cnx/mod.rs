//! The election connection manager (ZooKeeper's QuorumCnxManager, spec 2).
//!
//! Threads, each with one job:
//! - `zkelect-listener-<port>`: accepts connections on one election address;
//!   every accepted socket's handshake is read on its own short-lived
//!   `zkelect-hs-<n>` thread within one deadline, so a silent client never blocks
//!   the listener;
//! - `zkelect-connector`: takes connect requests and starts one
//!   `zkelect-connect-<sid>` attempt per sid, never more than one in flight,
//!   never one after another;
//! - `zkelect-send-<sid>` / `zkelect-recv-<sid>`: one pair per connected peer.
//!
//! Queues are crossbeam channels with ZooKeeper's semantics: one send queue of
//! capacity 1 per peer where the newest message wins, and one receive queue of
//! 100 shared by all peers where the oldest is dropped.
//!
//! Memory is bounded whatever the peers send or how fast they connect:
//! - the receive queue holds at most [`RECV_QUEUE_CAPACITY`] frames, each at
//!   most [`wire::MAX_FRAME_LEN`] bytes (a full queue drops its oldest
//!   frame, it never makes a receive worker wait), and every receive worker
//!   holds at most the frame it is reading;
//! - what is kept per sid (one `PeerSlot`: send queue, last message sent,
//!   live connection, attempt in flight, last poke) is kept for configured
//!   sids; a sid that is not in the configuration (a probe, a legacy
//!   observer's placeholder id, an unknown sid) has a slot only while it
//!   has a live connection or an attempt in flight, never a last message,
//!   and messages for it without a connection are dropped (it cannot be
//!   dialled anyway);
//! - connection events go to a bounded channel the caller provides; a full
//!   one makes the connection thread that reports wait (never under a lock),
//!   so events are never lost;
//! - at most `MAX_PENDING_HANDSHAKES` (64) handshakes are read at once (16
//!   per source address; a newcomer evicts the oldest unfinished one, see
//!   `admission`), each within one deadline for the whole exchange, and at
//!   most `MAX_DIAL_BACKS` (16) connection attempts to unconfigured sids (dial
//!   backs to advertised addresses) run at once.
//!
//! Stopping never waits for the network: one stop signal (`stop`) is
//! raised, blocked accepts, handshake reads (TLS included), connects and
//! receive workers are woken by closing their sockets, threads that wait on
//! a channel (the connector, a full event queue, a bind retry's pause) by
//! the signal, and host names are looked up on threads that stop does not
//! join (see `resolve`). Nothing sleeps or polls a flag.

mod admission;
mod connector;
mod counters;
mod listener;
pub(crate) mod queue;
mod resolve;
mod slot;
mod socket;
mod stop;
mod stream;
pub(crate) mod threads;
mod worker;

pub use counters::CnxCounters;
pub use resolve::Resolver;
pub(crate) use stream::Stream;

use crate::types::Sid;
use crate::wire::{self, HostPort, ProtocolVersion};
use crossbeam_channel::{bounded, select, Receiver, Sender};
use parking_lot::Mutex;
use slot::PeerSlot;
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stop::StopSignal;
use threads::ThreadSet;

/// Capacity of the shared receive queue (spec 2.5).
pub const RECV_QUEUE_CAPACITY: usize = 100;

/// How long a smaller sid waits for the larger sid to dial back after a
/// poke before it pokes again.
const POKE_BACKOFF: Duration = Duration::from_millis(500);

/// A connection younger than this is kept when the smaller sid pokes us: the
/// poke crossed our own fresh connection on the wire, and dropping it would
/// only start the dance again.
const FRESH_CONNECTION: Duration = Duration::from_secs(1);

/// The most handshakes read at once, so a flood cannot exhaust threads; a
/// newer connection evicts the oldest unfinished one (see `admission`).
pub(crate) const MAX_PENDING_HANDSHAKES: usize = 64;

/// The most connection attempts to sids that are not in the configuration
/// (dial-backs to the address a smaller sid advertised) in flight at once;
/// more are refused, so a flood of handshakes with made-up sids cannot
/// start a thread each.
pub(crate) const MAX_DIAL_BACKS: usize = 16;

/// Settings of a connection manager.
#[derive(Debug, Clone)]
pub struct CnxSettings {
    /// My sid.
    pub my_sid: Sid,
    /// Addresses to listen on.
    pub listen: Vec<SocketAddr>,
    /// My election addresses, as advertised in the handshake.
    pub advertise: Vec<HostPort>,
    /// V1 (one address) or V2 (`|`-joined, multi-address).
    pub protocol: ProtocolVersion,
    /// Configured election addresses of every other member.
    pub peers: HashMap<Sid, Vec<HostPort>>,
    /// `cnxTimeout`.
    pub connect_timeout: Duration,
    /// Handshake read timeout (`tickTime * syncLimit`).
    pub handshake_timeout: Duration,
    /// SO_KEEPALIVE.
    pub keep_alive: bool,
    /// `electionPortBindRetry`: bind attempts before giving up (0 = forever).
    pub bind_retry: u32,
    /// How host names of peers are looked up (the system resolver unless a
    /// host plugs in its own); never on a thread that stop waits for.
    pub resolver: Resolver,
    /// Quorum TLS (`sslQuorum=true`): every election connection runs TLS
    /// with these keys; `None` for plain TCP.
    pub tls: Option<Arc<crate::tls::TlsContext>>,
}

/// Connection events for the layer above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CnxEvent {
    /// A connection to `sid` now carries messages.
    Connected(Sid),
    /// The connection to `sid` is gone.
    Disconnected(Sid),
    /// A listener gave up after its bind retries; no more connections are
    /// accepted on that address.
    ListenerFailed(SocketAddr),
    /// Every address of `sid` refused a connection attempt (nothing
    /// listens there now). Not proof that the process is dead: a firewall
    /// may refuse for a live one.
    Refused(Sid),
}

/// A request to connect to a sid at some addresses.
type ConnectRequest = (Sid, Vec<HostPort>);

/// A received frame body and the sid it came from.
pub type Received = (Sid, Vec<u8>);

/// A running connection manager.
pub struct CnxManager {
    inner: Arc<Inner>,
    recv_rx: Receiver<Received>,
}

/// The state shared by a manager and its threads.
///
/// Locks: `slots`, `pending` and `listeners` are each taken alone (no code
/// path holds one of them while taking another), and none is held while
/// waiting for the network, a full channel or a thread. The stop signal's
/// own lock is taken only inside [`StopSignal::raise`].
struct Inner {
    s: CnxSettings,
    handshake: Vec<u8>,
    /// The one stop mechanism: raised by `shutdown`, it answers
    /// "stopping?" and wakes every thread that waits on a channel.
    stop: StopSignal,
    threads: ThreadSet,
    recv_tx: Sender<Received>,
    recv_rx: Receiver<Received>,
    events: Sender<CnxEvent>,
    /// Everything kept per sid: send queue, last message sent, live
    /// connection, attempt in flight and its socket, last poke.
    slots: Mutex<HashMap<Sid, PeerSlot>>,
    /// Connect requests for the connector thread; one per sid at most is
    /// queued or running (`PeerSlot::in_flight`).
    connect_tx: Sender<ConnectRequest>,
    /// A token (capacity 1, never waited on by a writer) left after each
    /// frame written and each connection ended, for [`CnxManager::flush`].
    progress_tx: Sender<()>,
    progress_rx: Receiver<()>,
    /// Sockets whose handshake is being read, so stop can close them.
    pending: Mutex<admission::Pending>,
    listeners: Mutex<Vec<TcpListener>>,
    next_conn: AtomicU64,
    /// Ids handed to legacy observers that used the placeholder sid.
    next_placeholder: AtomicI64,
    /// What this manager counts ([`CnxManager::counters`]).
    counters: Arc<CnxCounters>,
    /// Called by the listener thread at each [`listener::AcceptStage`].
    #[cfg(test)]
    accept_hook: Mutex<Option<AcceptHook>>,
}

#[cfg(test)]
type AcceptHook = Arc<dyn Fn(listener::AcceptStage) + Send + Sync>;

impl CnxManager {
    /// Binds every listen address (with the bind-retry rule) and starts the
    /// listener and connector threads. Connection events go to `events`: in
    /// order per connection, never dropped; give it a bound, as a full
    /// channel only makes the reporting connection thread wait.
    pub fn start(s: CnxSettings, events: Sender<CnxEvent>) -> io::Result<CnxManager> {
        CnxManager::start_counted(s, events, Arc::default())
    }

    /// As [`CnxManager::start`], counting into `counters` (which may outlive
    /// this manager, e.g. across a peer's restarts).
    pub fn start_counted(
        s: CnxSettings,
        events: Sender<CnxEvent>,
        counters: Arc<CnxCounters>,
    ) -> io::Result<CnxManager> {
        let handshake = wire::encode_handshake(s.protocol, s.my_sid, &s.advertise);
        let (recv_tx, recv_rx) = bounded(RECV_QUEUE_CAPACITY);
        // One request per sid at most is queued or running (`in_flight`).
        let (connect_tx, connect_rx) = bounded(s.peers.len() + MAX_DIAL_BACKS + 1);
        let (progress_tx, progress_rx) = bounded(1);
        let owner = s.my_sid;
        let inner = Arc::new(Inner {
            s,
            handshake,
            stop: StopSignal::new(),
            threads: ThreadSet::owned_by(owner),
            recv_tx,
            recv_rx: recv_rx.clone(),
            events,
            slots: Mutex::new(HashMap::new()),
            connect_tx,
            progress_tx,
            progress_rx,
            pending: Mutex::new(admission::Pending::default()),
            listeners: Mutex::new(Vec::new()),
            next_conn: AtomicU64::new(1),
            next_placeholder: AtomicI64::new(-1),
            counters,
            #[cfg(test)]
            accept_hook: Mutex::new(None),
        });
        let mut bound = Vec::new();
        for addr in inner.s.listen.clone() {
            match listener::bind_with_retry(&inner, addr) {
                Ok(l) => bound.push((addr, l)),
                Err(e) => {
                    inner.shutdown();
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot listen on election address {addr}: {e}"),
                    ));
                }
            }
        }
        for (addr, l) in bound {
            let i = inner.clone();
            inner
                .threads
                .spawn(format!("zkelect-listener-{}", addr.port()), move || {
                    listener::run(i, addr, l)
                })?;
        }
        let i = inner.clone();
        inner.threads.spawn("zkelect-connector".into(), move || {
            connector::run(i, connect_rx)
        })?;
        Ok(CnxManager { inner, recv_rx })
    }

    /// What this manager counted so far.
    pub fn counters(&self) -> &Arc<CnxCounters> {
        &self.inner.counters
    }

    /// The shared receive queue: `(sid, frame body)` in arrival order.
    pub fn receiver(&self) -> &Receiver<Received> {
        &self.recv_rx
    }

    /// Queues a frame body for `sid` (newest wins) and connects if needed.
    /// A message to my own sid goes straight to the receive queue.
    pub fn send(&self, sid: Sid, body: Arc<[u8]>) {
        self.inner.send(sid, body)
    }

    /// ZooKeeper's `haveDelivered`: true if any peer's send queue is empty.
    pub fn have_delivered(&self) -> bool {
        self.inner
            .slots
            .lock()
            .values()
            .filter_map(|slot| slot.queue.as_ref())
            .any(|q| q.rx.is_empty())
    }

    /// Connects to every configured sid that has a send queue and no live
    /// connection (a probe's queue is not one to dial: it lives only with
    /// the probe's connection).
    pub fn connect_all(&self) {
        let sids: Vec<Sid> = self
            .inner
            .slots
            .lock()
            .iter()
            .filter(|(sid, slot)| slot.queue.is_some() && self.inner.s.peers.contains_key(sid))
            .map(|(sid, _)| *sid)
            .collect();
        for sid in sids {
            self.inner.connect_one(sid);
        }
    }

    /// Whether `sid` is another member of the configuration (the others
    /// that connect are probes or strangers).
    pub fn is_member(&self, sid: Sid) -> bool {
        self.inner.s.peers.contains_key(&sid)
    }

    /// Sids with a live connection.
    pub fn connected(&self) -> Vec<Sid> {
        let mut v: Vec<Sid> = self
            .inner
            .slots
            .lock()
            .iter()
            .filter(|(_, slot)| slot.worker.is_some())
            .map(|(sid, _)| *sid)
            .collect();
        v.sort_unstable();
        v
    }

    /// Tries to connect to `sid` now, unless a connection is live or in
    /// flight, even if I poked it a moment ago (a poke that crossed its
    /// death proves nothing): a refused attempt is reported as
    /// [`CnxEvent::Refused`]. For a connection that just broke; the rare
    /// extra poke of a live larger sid only makes it dial back again.
    pub fn connect(&self, sid: Sid) {
        if self.inner.is_connected(sid) {
            return;
        }
        if let Some(addrs) = self.inner.s.peers.get(&sid) {
            self.inner.connect_to(sid, addrs.clone());
        }
    }

    /// Waits until every message queued for a connected peer has been
    /// written to its socket, or until `timeout` passes; true if all were.
    /// Used by a graceful stop, so that its last messages (the departure
    /// notice) leave before the sockets close. Peers without a live
    /// connection are not waited for.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let done = loop {
            let pending = self.inner.slots.lock().values().any(|slot| {
                slot.worker.is_some() && slot.queue.as_ref().is_some_and(|q| q.unwritten() > 0)
            });
            if !pending {
                break true;
            }
            // Woken by the next write or connection end (a token left
            // since the check above wakes it at once, so none is missed).
            if self.inner.progress_rx.recv_deadline(deadline).is_err() {
                break false;
            }
        };
        // Passes the wake-up on to another flush, if one waits.
        self.inner.note_progress();
        done
    }

    /// Closes every socket and joins every thread. Idempotent.
    pub fn stop(&self) {
        self.inner.shutdown();
        // Never one of my own threads: they hold the inner state, not the
        // manager, so the handle of the caller cannot come back.
        let _ = self.inner.threads.join_all();
    }

    /// In a forked child (none of the manager's threads exists there):
    /// closes the child's copies of the listening sockets and of the
    /// sockets the manager keeps (one per connection, per connection
    /// attempt and per handshake being read), without `shutdown()`, which
    /// would act on the sockets themselves and so break the parent's
    /// listener and connections. Joins nothing, sends on no channel, wakes
    /// no thread, and stops anything else (a [`CnxManager::stop`] or a
    /// drop) from doing so. Copies held only by the threads of the parent
    /// (their clones of the same sockets) stay open in the child until it
    /// exits or execs (they are close-on-exec); the parent shuts its
    /// sockets down itself when it closes them, so those copies never keep
    /// a connection open for it. Call it at most once, then forget the
    /// manager (`std::mem::forget`): dropping it would wait for the threads.
    pub fn close_in_child(&self) {
        use threads::CHILD_LOCK_WAIT;
        let i = &self.inner;
        // Makes a later shutdown() a no-op.
        i.stop.mark_raised_in_child();
        if let Some(mut l) = i.listeners.try_lock_for(CHILD_LOCK_WAIT) {
            l.clear();
        }
        if let Some(mut p) = i.pending.try_lock_for(CHILD_LOCK_WAIT) {
            // Dropped, not shut down: closes the child's copies only.
            p.drain().for_each(drop);
        }
        if let Some(mut slots) = i.slots.try_lock_for(CHILD_LOCK_WAIT) {
            for slot in slots.values_mut() {
                drop(slot.dialing.take());
                if let Some(w) = slot.worker.take() {
                    drop(w.stream);
                    // Dropping the sender would wake a send worker that is
                    // not here, through a channel whose lock it may hold.
                    std::mem::forget(w.hang_up);
                }
            }
        }
        i.threads.forget_all_in_child();
    }
}

impl Drop for CnxManager {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn stopping(&self) -> bool {
        self.stop.is_raised()
    }

    /// Reports a connection event. The channel is bounded: when it is full
    /// the calling connection thread waits (its socket is not read
    /// meanwhile, which is TCP's own back-pressure) until the layer above
    /// catches up or the manager stops. Never called under a lock, so the
    /// wait cannot hold up the election thread's calls into the manager.
    fn emit(&self, e: CnxEvent) {
        select! {
            send(self.events, e) -> _ => {}
            recv(self.stop.waiter()) -> _ => {}
        }
    }

    /// A frame was written or a connection ended: wakes a waiting
    /// [`CnxManager::flush`]. Never blocks (a token already there is
    /// enough).
    fn note_progress(&self) {
        let _ = self.progress_tx.try_send(());
    }

    fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Raises the stop signal and closes every socket, which wakes every
    /// thread blocked on one. Idempotent.
    fn shutdown(&self) {
        if !self.stop.raise() {
            return;
        }
        for l in self.listeners.lock().drain(..) {
            // Shutting a listening socket down wakes a blocked accept on Linux.
            let _ = socket2::SockRef::from(&l).shutdown(std::net::Shutdown::Both);
        }
        for (_, s) in self.pending.lock().drain() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        for slot in self.slots.lock().values_mut() {
            slot.close_sockets();
        }
    }
}

#[cfg(test)]
mod tests;
