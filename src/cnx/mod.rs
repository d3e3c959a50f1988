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
//! - send queues, last messages sent and poke times are kept per configured
//!   sid; a sid that is not in the configuration (a probe, a legacy
//!   observer's placeholder id, an unknown sid) has a send queue only while
//!   it has a live connection and never a last message, and messages for
//!   it without a connection are dropped (it cannot be dialled anyway);
//! - connection events go to a bounded channel the caller provides; a full
//!   one makes the connection thread that reports wait (never under a lock),
//!   so events are never lost;
//! - at most `MAX_PENDING_HANDSHAKES` (64) handshakes are read at once (16
//!   per source address; a newcomer evicts the oldest unfinished one, see
//!   `admission`), each within one deadline for the whole exchange, and at
//!   most `MAX_DIAL_BACKS` (16) connection attempts to unconfigured sids (dial
//!   backs to advertised addresses) run at once.
//!
//! Stopping never waits for the network: blocked accepts, handshake reads,
//! connects and receive workers are woken by closing their sockets, and host
//! names are looked up on threads that stop does not join (see `resolve`).

mod admission;
mod connector;
mod counters;
mod listener;
pub(crate) mod queue;
mod resolve;
mod socket;
mod stream;
pub(crate) mod threads;
mod worker;

pub use counters::CnxCounters;
pub use resolve::Resolver;
pub(crate) use stream::Stream;

use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crate::wire::{self, HostPort, ProtocolVersion};
use crossbeam_channel::{bounded, select, Receiver, Sender};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use threads::ThreadSet;

/// Frames queued for sending by every connection manager of the process
/// (loopback included): what the benchmarks report as notifications sent.
static FRAMES_SENT: AtomicU64 = AtomicU64::new(0);

/// How many frames all connection managers in this process have queued for
/// sending so far.
pub fn frames_sent() -> u64 {
    FRAMES_SENT.load(Ordering::Relaxed)
}

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

/// The live send/receive worker pair of one peer.
struct WorkerHandle {
    conn: u64,
    /// When this connection started carrying messages.
    since: Instant,
    stream: TcpStream,
    /// Dropping it wakes the send worker.
    _stop: Sender<()>,
}

/// A peer's send queue (capacity 1); both ends kept for drop-oldest.
#[derive(Clone)]
struct SendQueue {
    tx: Sender<Arc<[u8]>>,
    rx: Receiver<Arc<[u8]>>,
    /// Messages queued or taken and not yet written (or failed): counted
    /// before the push, so it never falls below the truth; the send worker
    /// counts down after each write ([`CnxManager::flush`]).
    unwritten: Arc<AtomicU64>,
}

impl SendQueue {
    /// Queues `body`, the newest winning (spec 2.5).
    fn push(&self, body: Arc<[u8]>) {
        self.unwritten.fetch_add(1, Ordering::AcqRel);
        let dropped = queue::push_drop_oldest(&self.tx, &self.rx, body) as u64;
        if dropped > 0 {
            self.unwritten.fetch_sub(dropped, Ordering::AcqRel);
        }
    }

    /// The send worker took one message and wrote it (or failed to).
    fn written(&self) {
        let _ = self
            .unwritten
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

struct Inner {
    s: CnxSettings,
    handshake: Vec<u8>,
    stopping: AtomicBool,
    /// Dropped on shutdown: wakes every thread that waits on `halted`
    /// (a full event queue, a name lookup).
    halt: Mutex<Option<Sender<()>>>,
    halted: Receiver<()>,
    threads: ThreadSet,
    recv_tx: Sender<Received>,
    recv_rx: Receiver<Received>,
    events: Sender<CnxEvent>,
    queues: Mutex<HashMap<Sid, SendQueue>>,
    last_sent: Mutex<HashMap<Sid, Arc<[u8]>>>,
    workers: Mutex<HashMap<Sid, WorkerHandle>>,
    in_flight: Mutex<HashSet<Sid>>,
    /// When each larger sid was last poked.
    poked: Mutex<HashMap<Sid, Instant>>,
    connect_tx: Mutex<Option<Sender<ConnectRequest>>>,
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
        let (halt, halted) = bounded(0);
        let owner = s.my_sid;
        let inner = Arc::new(Inner {
            s,
            handshake,
            stopping: AtomicBool::new(false),
            halt: Mutex::new(Some(halt)),
            halted,
            threads: ThreadSet::owned_by(owner),
            recv_tx,
            recv_rx: recv_rx.clone(),
            events,
            queues: Mutex::new(HashMap::new()),
            last_sent: Mutex::new(HashMap::new()),
            workers: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            poked: Mutex::new(HashMap::new()),
            connect_tx: Mutex::new(Some(connect_tx)),
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
        self.inner.queues.lock().values().any(|q| q.rx.is_empty())
    }

    /// Connects to every configured sid that has a send queue and no live
    /// connection (a probe's queue is not one to dial: it lives only with
    /// the probe's connection).
    pub fn connect_all(&self) {
        let sids: Vec<Sid> = self
            .inner
            .queues
            .lock()
            .keys()
            .copied()
            .filter(|s| self.inner.s.peers.contains_key(s))
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
        let mut v: Vec<Sid> = self.inner.workers.lock().keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Tries to connect to `sid` now, unless a connection is live or in
    /// flight, even if I poked it a moment ago (a poke that crossed its
    /// death proves nothing): a refused attempt is reported as
    /// [`CnxEvent::Refused`]. For a connection that just broke; the rare
    /// extra poke of a live larger sid only makes it dial back again.
    pub fn connect(&self, sid: Sid) {
        if self.inner.workers.lock().contains_key(&sid) {
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
        loop {
            let pending = {
                let workers = self.inner.workers.lock();
                let queues = self.inner.queues.lock();
                workers.keys().any(|sid| {
                    queues
                        .get(sid)
                        .is_some_and(|q| q.unwritten.load(Ordering::Acquire) > 0)
                })
            };
            if !pending {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // A bounded wait on the stop path, for a few frames to reach
            // the kernel: no event to wait on is cheaper than a short poll.
            std::thread::sleep(Duration::from_millis(1));
        }
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
    /// sockets the manager keeps (one per connection and per handshake
    /// being read), without `shutdown()`, which would act on the sockets
    /// themselves and so break the parent's listener and connections.
    /// Joins nothing, sends on no channel, wakes no thread, and stops
    /// anything else (a [`CnxManager::stop`] or a drop) from doing so.
    /// Copies held only by the threads of the parent (their clones of the
    /// same sockets) stay open in the child until it exits or execs
    /// (they are close-on-exec); the parent shuts its sockets down itself
    /// when it closes them, so those copies never keep a connection open
    /// for it. Call it at most once, then forget the manager
    /// (`std::mem::forget`): dropping it would wait for the threads.
    pub fn close_in_child(&self) {
        use threads::CHILD_LOCK_WAIT;
        let i = &self.inner;
        // Makes a later shutdown() a no-op.
        i.stopping.store(true, Ordering::Release);
        if let Some(mut l) = i.listeners.try_lock_for(CHILD_LOCK_WAIT) {
            l.clear();
        }
        if let Some(mut p) = i.pending.try_lock_for(CHILD_LOCK_WAIT) {
            // Dropped, not shut down: closes the child's copies only.
            p.drain().for_each(drop);
        }
        if let Some(mut w) = i.workers.try_lock_for(CHILD_LOCK_WAIT) {
            for (_, WorkerHandle { stream, _stop, .. }) in w.drain() {
                drop(stream);
                // Dropping the sender would wake a send worker that is not
                // here, through a channel whose lock it may hold.
                std::mem::forget(_stop);
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
        self.stopping.load(Ordering::Acquire)
    }

    fn send(self: &Arc<Self>, sid: Sid, body: Arc<[u8]>) {
        if self.stopping() {
            return;
        }
        FRAMES_SENT.fetch_add(1, Ordering::Relaxed);
        self.counters.sent();
        if sid == self.s.my_sid {
            queue::push_drop_oldest(&self.recv_tx, &self.recv_rx, (sid, body.to_vec()));
            return;
        }
        if !self.s.peers.contains_key(&sid) {
            // Not configured: it cannot be dialled, so a message for it only
            // goes out on its live connection, and its queue lives as long
            // as that connection (created and removed under the workers
            // lock, see `forget_unconfigured`).
            let workers = self.workers.lock();
            if !workers.contains_key(&sid) {
                log!(
                    Level::Debug,
                    "dropping a message for sid {sid}: not configured and not connected"
                );
                return;
            }
            let q = self.queue(sid);
            drop(workers);
            q.push(body);
            return;
        }
        let q = self.queue(sid);
        q.push(body);
        self.connect_one(sid);
    }

    /// Drops what is kept for a sid that is not in the configuration once
    /// its connection is gone, so sids that come and go (probes, legacy
    /// placeholders, made-up sids) leave nothing behind. Called with the
    /// workers lock held (lock order: workers, then queues or last_sent).
    fn forget_unconfigured(&self, sid: Sid) {
        if !self.s.peers.contains_key(&sid) {
            self.queues.lock().remove(&sid);
            self.last_sent.lock().remove(&sid);
            self.poked.lock().remove(&sid);
        }
    }

    fn queue(&self, sid: Sid) -> SendQueue {
        self.queues
            .lock()
            .entry(sid)
            .or_insert_with(|| {
                let (tx, rx) = bounded(1);
                SendQueue {
                    tx,
                    rx,
                    unwritten: Arc::new(AtomicU64::new(0)),
                }
            })
            .clone()
    }

    /// Starts a connection to a configured sid unless one is live or in
    /// flight (spec 2.2).
    fn connect_one(self: &Arc<Self>, sid: Sid) {
        if self.workers.lock().contains_key(&sid) {
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
    fn connect_to(self: &Arc<Self>, sid: Sid, addrs: Vec<HostPort>) {
        if self.stopping() {
            return;
        }
        {
            let mut in_flight = self.in_flight.lock();
            if !self.s.peers.contains_key(&sid) {
                let peers = &self.s.peers;
                let others = in_flight.iter().filter(|s| !peers.contains_key(s)).count();
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
            if !in_flight.insert(sid) {
                return;
            }
        }
        let sent = match &*self.connect_tx.lock() {
            Some(tx) => tx.try_send((sid, addrs)).is_ok(),
            None => false,
        };
        if !sent {
            self.in_flight.lock().remove(&sid);
        }
    }

    fn poked_recently(&self, sid: Sid) -> bool {
        self.poked
            .lock()
            .get(&sid)
            .is_some_and(|t| t.elapsed() < POKE_BACKOFF)
    }

    /// Remembers a poke, so no second one goes out while the dial-back is on
    /// its way.
    fn note_poke(&self, sid: Sid) {
        let mut poked = self.poked.lock();
        // Older pokes no longer hold anything back.
        poked.retain(|_, t| t.elapsed() < POKE_BACKOFF);
        poked.insert(sid, Instant::now());
    }

    /// Reports a connection event. The channel is bounded: when it is full
    /// the calling connection thread waits (its socket is not read
    /// meanwhile, which is TCP's own back-pressure) until the layer above
    /// catches up or the manager stops. Never called under a lock, so the
    /// wait cannot hold up the election thread's calls into the manager.
    fn emit(&self, e: CnxEvent) {
        select! {
            send(self.events, e) -> _ => {}
            recv(self.halted) -> _ => {}
        }
    }

    fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether the live connection to `sid` started less than
    /// [`FRESH_CONNECTION`] ago.
    fn has_fresh_connection(&self, sid: Sid) -> bool {
        self.workers
            .lock()
            .get(&sid)
            .is_some_and(|w| w.since.elapsed() < FRESH_CONNECTION)
    }

    /// Closes the live connection to `sid`, if any.
    fn drop_worker(&self, sid: Sid) {
        let old = {
            let mut workers = self.workers.lock();
            let old = workers.remove(&sid);
            if old.is_some() {
                self.forget_unconfigured(sid);
            }
            old
        };
        if let Some(old) = old {
            let _ = old.stream.shutdown(std::net::Shutdown::Both);
            self.emit(CnxEvent::Disconnected(sid));
        }
    }

    fn shutdown(&self) {
        if self.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.connect_tx.lock() = None;
        *self.halt.lock() = None;
        for l in self.listeners.lock().drain(..) {
            // Shutting a listening socket down wakes a blocked accept on Linux.
            let _ = socket2::SockRef::from(&l).shutdown(std::net::Shutdown::Both);
        }
        for (_, s) in self.pending.lock().drain() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        for (_, w) in self.workers.lock().drain() {
            let _ = w.stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests;
