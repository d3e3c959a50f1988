//! The peer runtime and the public Rust API.
//!
//! A [`Peer`] runs one member of an ensemble: the connection manager, the
//! messenger's send and receive threads, the election thread and a notifier
//! thread for events. Several peers can run in one process.
//!
//! ```no_run
//! use std::time::Duration;
//! let cfg = "tickTime=2000\ninitLimit=5\nsyncLimit=2\n\
//!            server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n";
//! let peer = zkelect::Peer::from_config_text(cfg, Some(1)).unwrap();
//! peer.start().unwrap();
//! if let Some(l) = peer.wait_for_leader(Duration::from_secs(10)) {
//!     println!("leader {} ({})", l.leader, l.state);
//! }
//! peer.stop();
//! ```

mod builder;
mod election;
mod error;
mod lock;
mod messenger;
mod notifier;
mod state;
mod stats;
mod store;
mod stuck;
mod zab_watch;

pub use crate::leadership::{Durable, Event, Leader, LossReason};
pub use builder::PeerBuilder;
pub use error::Error;
pub use notifier::Callback;
pub use state::{Confirmed, Leadership};
pub use stats::Stats;
pub use store::{FileStore, StoreHook};

use crate::cnx::threads::ThreadSet;
use crate::cnx::{CnxManager, CnxSettings};
use crate::config::{Config, QuorumServer};
use crate::election::{Fle, Settings};
use crate::leadership::{Core, Mode, Timing};
use crate::logging::{self, Level};
use crate::types::{ServerState, Sid, Vote, Zxid};
use crate::wire::{HostPort, ProtocolVersion};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use election::{Control, ElectionLoop};
use notifier::Listeners;
use parking_lot::{Condvar, Mutex};
use state::PeerState;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

/// One member of an election ensemble. All methods take `&self` and are
/// safe to call from any thread, including from an event callback.
pub struct Peer {
    inner: Arc<PeerInner>,
}

struct PeerInner {
    config: Config,
    my_sid: Sid,
    server: QuorumServer,
    config_text: Arc<[u8]>,
    state: Arc<PeerState>,
    listeners: Arc<Listeners>,
    life: Mutex<Life>,
    life_changed: Condvar,
    /// The host's store hook and what its store held when it was set.
    hook: Mutex<Option<(Durable, StoreHook)>>,
    /// Threads of earlier runs that the stop ending their run could not
    /// join because it ran on them (an event callback, or the store hook,
    /// stopped its own peer): the next stop or free from another thread
    /// joins them, so that it returns only once that callback has returned.
    unjoined: Mutex<Vec<JoinHandle<()>>>,
    /// The pid of the process that last started this peer (0: never
    /// started). Another pid means this is a forked child, in which the
    /// peer's threads do not exist ([`PeerInner::abandon_in_child`]).
    started_in: AtomicU32,
}

enum Life {
    Idle,
    Running(Runtime),
    Stopping,
}

/// The threads and channels of one run.
struct Runtime {
    cnx: Arc<CnxManager>,
    control: Sender<Control>,
    /// Dropping it stops the election and messenger threads.
    stop: Sender<()>,
    threads: ThreadSet,
    live: Arc<AtomicBool>,
    notifier: ThreadId,
    /// The data-dir lock, if the durable state is kept in `dataDir`: its
    /// file is closed by a forked child that stops the peer.
    lock: Option<Arc<lock::Lock>>,
}

impl Peer {
    /// A peer for `my_sid` from a parsed config. The sid must be in the
    /// server list.
    pub fn new(config: Config, my_sid: Sid) -> Result<Peer, Error> {
        let server = config.server(my_sid)?.clone();
        let config_text: Arc<[u8]> = config.render_dynamic().into_bytes().into();
        let state = Arc::new(PeerState::new(Vote::looking(my_sid, 0, -1, 0)));
        for w in &config.warnings {
            logging::emit_as(my_sid, Level::Warn, &w.to_string());
        }
        if let Some(line) = config.ignored_summary() {
            logging::emit_as(my_sid, Level::Info, &line);
        }
        Ok(Peer {
            inner: Arc::new(PeerInner {
                config,
                my_sid,
                server,
                config_text,
                state,
                listeners: Arc::new(Listeners::default()),
                life: Mutex::new(Life::Idle),
                life_changed: Condvar::new(),
                hook: Mutex::new(None),
                unjoined: Mutex::new(Vec::new()),
                started_in: AtomicU32::new(0),
            }),
        })
    }

    /// A peer from zoo.cfg text; without `my_sid` the `myid` file in
    /// `dataDir` is read.
    pub fn from_config_text(text: &str, my_sid: Option<Sid>) -> Result<Peer, Error> {
        Peer::builder().sid(my_sid).parse(text)
    }

    /// A peer from a zoo.cfg file; without `my_sid` the `myid` file in
    /// `dataDir` is read.
    pub fn from_file(path: &Path, my_sid: Option<Sid>) -> Result<Peer, Error> {
        Peer::builder().sid(my_sid).load(path)
    }

    /// A builder, for options such as strict config checking.
    pub fn builder() -> PeerBuilder {
        PeerBuilder::default()
    }

    /// My sid.
    pub fn my_sid(&self) -> Sid {
        self.inner.my_sid
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sets the last zxid this peer reports; read at the start of each
    /// election.
    pub fn set_zxid(&self, zxid: Zxid) {
        self.inner.state.set_zxid(zxid);
    }

    /// Sets the current epoch this peer reports; read at the start of each
    /// election (the peer reports the larger of this and the epoch it
    /// accepted). Give back the last [`Event::EpochAccepted`] here before
    /// starting a new process, so that epochs stay unique across restarts.
    pub fn set_epoch(&self, epoch: i64) {
        self.inner.state.set_epoch(epoch);
    }

    /// The highest epoch this peer accepted (or proposed as leader) in this
    /// process, or the epoch set with [`Peer::set_epoch`] if higher.
    pub fn accepted_epoch(&self) -> i64 {
        self.inner
            .state
            .accepted()
            .max(self.inner.state.reported().1)
    }

    /// Registers an event callback. It runs on the notifier thread, in
    /// order, never under an internal lock. Returns an id for
    /// [`Peer::remove_callback`].
    pub fn on_event(&self, cb: impl Fn(&Event) + Send + Sync + 'static) -> u64 {
        self.inner.listeners.add(Arc::new(cb))
    }

    /// Removes a callback; false if the id is unknown.
    pub fn remove_callback(&self, id: u64) -> bool {
        self.inner.listeners.remove(id)
    }

    /// A channel that receives every event the notifier delivers from now
    /// on. Events are delivered asynchronously, so one raised just before
    /// the call (e.g. the decision a `wait_for_leader` just returned) may
    /// still arrive on it; subscribe before `start` to see every event.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = unbounded();
        self.inner.listeners.subscribe(tx);
        rx
    }

    /// My state.
    pub fn state(&self) -> ServerState {
        self.inner.state.status().state
    }

    /// My vote: the current proposal while LOOKING, else the elected vote.
    pub fn vote(&self) -> Vote {
        self.inner.state.status().vote
    }

    /// The current leader, if an election has ended and no new one started.
    pub fn leader(&self) -> Option<Leader> {
        self.inner.state.status().leader
    }

    /// Whether the peer runs.
    pub fn is_running(&self) -> bool {
        matches!(*self.inner.life.lock(), Life::Running(_))
    }

    /// Waits for a decision; `None` on timeout or when the peer stops.
    pub fn wait_for_leader(&self, timeout: Duration) -> Option<Leader> {
        self.inner.state.wait_for_leader(timeout)
    }

    /// The confirmed leadership (the last `Leading`, `Following` or
    /// `Observing` event, until it was lost), if any. A leader's own is
    /// returned only within its lease ([`Peer::leads_now`]), even when the
    /// election thread has not yet stepped down.
    pub fn confirmed(&self) -> Option<Confirmed> {
        let s = self.inner.state.status();
        self.inner.state.confirmed(&s)
    }

    /// Whether I am the confirmed leader at the moment of the call: a
    /// `Leading` event holds and its lease ([`Peer::lease_deadline`]) has not
    /// run out on the clock read now. Check it right before acting as
    /// leader; events arrive asynchronously and may be late. The lease
    /// bounds who *believes* it leads; it does not make writes safe by
    /// itself: tag every write with the epoch and have the resource refuse
    /// older epochs (see the README's fencing section).
    pub fn leads_now(&self) -> bool {
        self.inner.state.leads_now()
    }

    /// Until when I lead confirmed if no new acknowledgement arrives, on the
    /// clock of [`crate::clock::now`] (CLOCK_BOOTTIME: counts suspend, is
    /// comparable between processes of one machine); `None` unless I lead
    /// confirmed. Before this instant no other peer can be confirmed as
    /// leader. It moves forward as followers acknowledge heartbeats.
    pub fn lease_deadline(&self) -> Option<Duration> {
        self.inner.state.lease_deadline()
    }

    /// How long the lease still holds from now (zero when it ran out),
    /// `None` unless I lead confirmed.
    pub fn lease_remaining(&self) -> Option<Duration> {
        self.lease_deadline()
            .map(|u| u.saturating_sub(crate::clock::now()))
    }

    /// Keeps the durable state ([`Durable`]: the accepted epoch and a round
    /// high-water mark) through `store` instead of the file in `dataDir`.
    /// `held` is what the host's store holds now (its last successful
    /// write, or the default if none). `store` runs on the election thread
    /// and must return only once the state is durable; nothing that depends
    /// on it is sent before it returns `Ok`, and an `Err` emits
    /// [`Event::EpochStoreFailed`]. Takes effect at the next [`Peer::start`].
    pub fn set_epoch_store(
        &self,
        held: Durable,
        store: impl Fn(Durable) -> Result<(), String> + Send + Sync + 'static,
    ) {
        *self.inner.hook.lock() = Some((held, Arc::new(store)));
    }

    /// My leadership as one consistent snapshot: state, decision, confirmed
    /// leadership and lease, all from one reading of the peer's state and
    /// of the clock (separate calls to [`Peer::state`], [`Peer::confirmed`]
    /// and [`Peer::lease_deadline`] may each see a different moment).
    pub fn leadership(&self) -> Leadership {
        self.inner.state.leadership()
    }

    /// Waits until a leadership is confirmed; `None` on timeout or when the
    /// peer stops.
    pub fn wait_for_confirmed(&self, timeout: Duration) -> Option<Confirmed> {
        self.inner.state.wait_for_confirmed(timeout)
    }

    /// Starts a new election round. Not needed to recover from a dead or
    /// cut-off leader (the peer notices and re-elects by itself), but still
    /// the host's way of saying "the leader is gone". Emits `LeaderLost`
    /// (reason `Restarted`) if a leader was known, and, on a leader,
    /// `LeadershipLost` or `LeadershipFailed` before it.
    pub fn restart_election(&self) -> Result<(), Error> {
        match &*self.inner.life.lock() {
            Life::Running(rt) => {
                // Forget the leader now, so a wait that follows this call
                // waits for the new decision.
                self.inner.state.clear_leader();
                let _ = rt.control.send(Control::Restart);
                Ok(())
            }
            _ => Err(Error::NotRunning),
        }
    }

    /// My statistics as one snapshot ([`Stats`]): state, vote, round,
    /// confirmed leadership, and what the runtime counted (elections and
    /// their durations, LOOKING periods, leadership changes, connection
    /// errors, dropped frames). Cheap: a few atomics and short locks.
    pub fn stats(&self) -> Stats {
        let status = self.inner.state.status();
        let connected_peers = match &*self.inner.life.lock() {
            Life::Running(rt) => rt
                .cnx
                .connected()
                .into_iter()
                .filter(|s| rt.cnx.is_member(*s))
                .collect(),
            _ => Vec::new(),
        };
        let mut s = Stats {
            running: status.running,
            uptime: Duration::ZERO,
            state: status.state,
            vote: status.vote,
            zxid: self.inner.state.reported().0,
            round: self.inner.state.view.lock().logicalclock,
            confirmed: self.inner.state.confirmed(&status),
            confirmed_for: None,
            accepted_epoch: self.accepted_epoch(),
            looking_count: 0,
            elections: 0,
            last_election_time: None,
            min_election_time: None,
            max_election_time: None,
            total_election_time: Duration::ZERO,
            leadership_changes: 0,
            connected_peers,
            connection_errors: 0,
            frames_dropped: 0,
            frames_received: 0,
            frames_sent: 0,
        };
        self.inner.state.stats.fill(&mut s);
        s
    }

    /// Binds the election port(s) and starts the election. A stopped peer
    /// can be started again; it then restarts like a new process
    /// (logicalclock from 0).
    pub fn start(&self) -> Result<(), Error> {
        // Name resolution can take as long as DNS likes: not under the life
        // lock, which `stop()` takes.
        if self.inner.forked() {
            return Err(Error::io(
                format!("starting sid {}", self.inner.my_sid),
                std::io::Error::other(format!(
                    "this peer was started in process {}; a forked child cannot use it (create a new peer in the child)",
                    self.inner.started_in.load(Ordering::Acquire)
                )),
            ));
        }
        let settings = self.inner.cnx_settings()?;
        let mut life = self.inner.life.lock();
        match *life {
            Life::Idle => {}
            _ => return Err(Error::AlreadyRunning),
        }
        let rt = self.inner.launch(settings)?;
        self.inner
            .started_in
            .store(std::process::id(), Ordering::Release);
        *life = Life::Running(rt);
        // Not under the life lock: a host's log sink may call back.
        drop(life);
        let sid = self.inner.my_sid;
        logging::emit_as(sid, Level::Info, &self.inner.config.describe(sid));
        Ok(())
    }

    /// Stops the peer: closes every socket and joins every thread it
    /// started, except a host-name lookup still in progress (it holds no
    /// socket and no callback, and ends by itself when the resolver
    /// answers; IP literals never start one), so a black-holed DNS name
    /// cannot make `stop` block. Events queued before the call are
    /// delivered first, then the last ones (`LeadershipLost` / `LeaderLost`
    /// with reason `Stopped` if it led or followed); none is delivered after
    /// it returns. Idempotent.
    ///
    /// Called from an event callback of this peer (or its store hook) it
    /// cannot wait for the callback it runs in: it returns while that
    /// callback runs, and nothing more is delivered. A later `stop` (or
    /// drop) from any other thread then waits until that callback has
    /// returned and its thread has ended, so the promise above holds for
    /// the caller of that later `stop`.
    ///
    /// In a forked child (the process is not the one that started the
    /// peer), where none of the peer's threads exists, it joins nothing,
    /// delivers nothing and `shutdown()`s no socket (the sockets are shared
    /// with the parent): it only closes the child's copies of the sockets
    /// and of the `dataDir` lock file, leaving the parent's peer, its
    /// connections and its lock undisturbed. The peer cannot be started
    /// again in the child.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.inner.stop();
    }
}

/// Resolves a host to one IP, preferring the literal itself.
fn resolve_ip(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.next()
}

impl PeerInner {
    fn cnx_settings(&self) -> Result<CnxSettings, Error> {
        let c = &self.config;
        let mut listen = Vec::new();
        let mut advertise = Vec::new();
        for a in &self.server.addrs {
            let resolved = resolve_ip(&a.host, a.election_port).ok_or_else(|| {
                Error::io(
                    format!("election address of sid {}", self.my_sid),
                    std::io::Error::other(format!("cannot resolve host {}", a.host)),
                )
            })?;
            let bind = if c.quorum_listen_on_all_ips {
                let any = if resolved.is_ipv6() {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
                SocketAddr::new(any, a.election_port)
            } else {
                resolved
            };
            if !listen.contains(&bind) {
                listen.push(bind);
            }
            // ZooKeeper advertises the resolved IP literal of its configured address.
            advertise.push(HostPort {
                host: resolved.ip().to_string(),
                port: a.election_port,
            });
        }
        let peers: HashMap<Sid, Vec<HostPort>> = c
            .servers
            .values()
            .filter(|s| s.sid != self.my_sid)
            .map(|s| {
                let addrs = s
                    .addrs
                    .iter()
                    .map(|a| HostPort {
                        host: a.host.clone(),
                        port: a.election_port,
                    })
                    .collect();
                (s.sid, addrs)
            })
            .collect();
        Ok(CnxSettings {
            my_sid: self.my_sid,
            listen,
            advertise,
            protocol: if c.multi_address_enabled {
                ProtocolVersion::V2
            } else {
                ProtocolVersion::V1
            },
            peers,
            connect_timeout: Duration::from_millis(c.cnx_timeout_ms),
            handshake_timeout: Duration::from_millis(c.handshake_timeout_ms()),
            keep_alive: c.tcp_keep_alive,
            bind_retry: c.election_port_bind_retry,
            resolver: crate::cnx::Resolver::system(),
            tls: match &c.tls {
                Some(t) => Some(Arc::new(
                    crate::tls::TlsContext::load(t).map_err(Error::Config)?,
                )),
                None => None,
            },
        })
    }

    /// The durable store and what it holds: the host's hook, else the file
    /// in `dataDir`, else none.
    fn durable_store(&self) -> Result<Option<(Durable, store::Store)>, Error> {
        if let Some((held, h)) = self.hook.lock().clone() {
            return Ok(Some((held, store::Store::Hook(h))));
        }
        let Some(dir) = &self.config.data_dir else {
            return Ok(None);
        };
        let file = FileStore::new(dir, self.my_sid);
        // The lock first: a second process of my sid must not read a state
        // that the first one is still changing.
        let lock = Arc::new(file.lock()?);
        Ok(Some((file.load()?, store::Store::File(file, lock))))
    }

    fn launch(&self, settings: CnxSettings) -> Result<Runtime, Error> {
        let c = &self.config;
        let durable = self.durable_store()?;
        // Every queue of a run is bounded (see their capacities); connection
        // events go straight to the election thread.
        let (cnx_events_tx, cnx_events_rx) = bounded(election::CNX_EVENT_CAPACITY);
        let cnx = Arc::new(
            CnxManager::start_counted(settings, cnx_events_tx, self.state.stats.cnx.clone())
                .map_err(|e| Error::io(format!("starting sid {}", self.my_sid), e))?,
        );
        let settings = Settings {
            my_sid: self.my_sid,
            learner_type: self.server.role,
            min_notification_interval: Duration::from_millis(c.min_notification_interval_ms),
            max_notification_interval: Duration::from_millis(c.max_notification_interval_ms),
            finalize_wait: Duration::from_millis(c.finalize_wait_ms),
        };
        let fle = Fle::new(settings, Arc::new(c.quorum.clone()));
        let voters = fle.voters().clone();
        let timing = Timing::new(
            Duration::from_millis(c.tick_time_ms),
            c.init_limit,
            c.sync_limit,
        )
        .with_finalize_wait(Duration::from_millis(c.finalize_wait_ms));
        let mode = c.leadership_mode;
        let (core, store) = match durable {
            Some((mut held, store)) => {
                let stored = held.epoch;
                // An epoch accepted earlier in this process counts too.
                held.epoch = held.epoch.max(self.state.accepted());
                let mut core = Core::durable(fle, timing, held);
                if held.epoch == stored {
                    if let Some(l) = store.earlier_promise(stored) {
                        core = core.with_earlier_promise(l);
                    }
                }
                (core, Some(store))
            }
            None if mode == Mode::Fencing => {
                return Err(Error::io(
                    format!("starting sid {}", self.my_sid),
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "leadershipMode=fencing needs a durable store: set dataDir in the config or an epoch store hook",
                    ),
                ));
            }
            None => (Core::new(fle, timing, self.state.accepted()), None),
        };
        let core = core.with_mode(mode).with_follow_only(c.follow_only);
        let lock = match &store {
            Some(store::Store::File(_, l)) => Some(l.clone()),
            _ => None,
        };
        // Follow-only (auto) learns of real ZooKeeper members from their
        // learners connecting to my quorum port (see zab_watch).
        let zab = if c.follow_only == crate::leadership::FollowOnly::Auto
            && self.server.role == crate::types::LearnerType::Participant
        {
            let addrs: Vec<SocketAddr> = self
                .server
                .addrs
                .iter()
                .filter_map(|a| resolve_ip(&a.host, a.quorum_port))
                .collect();
            zab_watch::bind(&addrs, self.my_sid)
        } else {
            Vec::new()
        };
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let (control_tx, control_rx) = unbounded();
        let (out_tx, out_rx) = bounded(messenger::OUT_CAPACITY);
        let (deliver_tx, deliver_rx) = bounded(messenger::DELIVER_CAPACITY);
        let (events_tx, events_rx) = bounded(election::EVENT_CAPACITY);
        let live = Arc::new(AtomicBool::new(true));
        let progress = Arc::new(notifier::Progress::default());
        let threads = ThreadSet::default();
        self.state.stats.on_start();
        self.state.set_running(true);
        let sid = self.my_sid;
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            // Each thread's log lines carry my sid.
            let f = move || {
                logging::set_thread_sid(Some(sid));
                f()
            };
            threads
                .spawn(name.to_string(), f)
                .map_err(|e| Error::io(format!("spawning thread {name}"), e))
        };
        let mut notifier = std::thread::current().id();
        let result = (|| {
            let (listeners, l, p) = (self.listeners.clone(), live.clone(), progress.clone());
            notifier = spawn(
                "zkelect-notify",
                Box::new(move || notifier::run(events_rx, listeners, l, p)),
            )?;
            let (frames, stop, view) = (
                cnx.receiver().clone(),
                stop_rx.clone(),
                self.state.view.clone(),
            );
            let (replies, deliver) = (out_tx.clone(), deliver_tx);
            spawn(
                "zkelect-worker-receiver",
                Box::new(move || {
                    messenger::receive_loop(frames, stop, view, voters, replies, deliver)
                }),
            )?;
            let (stop, c2, text) = (stop_rx.clone(), cnx.clone(), self.config_text.clone());
            spawn(
                "zkelect-worker-sender",
                Box::new(move || messenger::send_loop(out_rx, stop, c2, text)),
            )?;
            if !zab.is_empty() {
                let (stop, control) = (stop_rx.clone(), control_tx.clone());
                spawn(
                    "zkelect-zab-watch",
                    Box::new(move || zab_watch::run(zab, stop, control)),
                )?;
            }
            let el = ElectionLoop {
                core,
                store,
                cnx: cnx.clone(),
                state: self.state.clone(),
                delivered: deliver_rx,
                connections: cnx_events_rx,
                control: control_rx,
                stop: stop_rx,
                out: out_tx,
                events: events_tx,
                live: live.clone(),
                progress,
                queued: 0,
                config_text: self.config_text.clone(),
                watch: None,
                probes: Vec::new(),
                stuck: stuck::StuckWatch::new(c),
            };
            // My sid counts as running (for the log lines of threads that
            // do not know it) until the election thread ends.
            let running = logging::PeerScope::register(sid);
            spawn(
                "zkelect-election",
                Box::new(move || {
                    let _running = running;
                    el.run()
                }),
            )?;
            Ok::<(), Error>(())
        })();
        let rt = Runtime {
            cnx,
            control: control_tx,
            stop: stop_tx,
            threads,
            live,
            notifier,
            lock,
        };
        if let Err(e) = result {
            // On the caller's thread, which is none of the run's.
            let _ = self.shutdown(rt);
            return Err(e);
        }
        Ok(rt)
    }

    fn stop(&self) {
        if self.forked() {
            self.abandon_in_child();
            return;
        }
        let rt = {
            let mut life = self.life.lock();
            loop {
                match std::mem::replace(&mut *life, Life::Stopping) {
                    Life::Running(rt) => {
                        if rt.notifier == std::thread::current().id() {
                            // Called from a callback: nothing more may be delivered.
                            rt.live.store(false, Ordering::Release);
                        }
                        break rt;
                    }
                    Life::Idle => {
                        *life = Life::Idle;
                        drop(life);
                        // A callback that stopped its own peer may still run.
                        self.join_unjoined();
                        return;
                    }
                    Life::Stopping => {
                        if self.on_runtime_thread() {
                            return;
                        }
                        self.life_changed.wait(&mut life);
                        if matches!(*life, Life::Stopping) {
                            continue;
                        }
                    }
                }
            }
        };
        if let Some(own) = self.shutdown(rt) {
            // Before the peer is idle: a stop that waits for this one (or
            // comes after it) must find the handle to join.
            self.unjoined.lock().push(own);
        }
        *self.life.lock() = Life::Idle;
        self.life_changed.notify_all();
        self.join_unjoined();
    }

    /// Joins the threads of earlier runs that their stop could not join,
    /// except the caller's own (it cannot join itself; a later stop from
    /// another thread will).
    fn join_unjoined(&self) {
        let me = std::thread::current().id();
        let others: Vec<JoinHandle<()>> = {
            let mut all = self.unjoined.lock();
            let (others, own) = all.drain(..).partition(|h| h.thread().id() != me);
            *all = own;
            others
        };
        for h in others {
            let _ = h.join();
        }
    }

    /// Whether this is a forked child of the process that started the peer.
    fn forked(&self) -> bool {
        let pid = self.started_in.load(Ordering::Acquire);
        pid != 0 && pid != std::process::id()
    }

    /// The stop of a forked child. The child has only the thread that
    /// forked: the peer's threads, and the parent's thread that may have
    /// been stopping it, are not here, and a lock one of them held at the
    /// fork stays held, so locks are only tried. Nothing is joined (or
    /// detached, which crashes on a thread of the parent), no channel is
    /// touched, no callback runs and no socket is shut down (shutdown()
    /// acts on the socket the parent shares). What the child can reach of
    /// its copies is closed: the listening sockets, the sockets the
    /// connection manager keeps, the `dataDir` lock file (closing the copy
    /// leaves the parent's `flock` held; unlocking would release it). The
    /// rest (threads' memory, the copies only those threads held) is
    /// leaked until the child exits or execs.
    fn abandon_in_child(&self) {
        use crate::cnx::threads::CHILD_LOCK_WAIT;
        if let Some(mut life) = self.life.try_lock_for(CHILD_LOCK_WAIT) {
            // A run being stopped at the fork is on the stack of a thread
            // of the parent: nothing of it is reachable from here.
            if let Life::Running(rt) = std::mem::replace(&mut *life, Life::Idle) {
                let Runtime {
                    cnx,
                    control,
                    stop,
                    threads,
                    live,
                    notifier: _,
                    lock,
                } = rt;
                cnx.close_in_child();
                threads.forget_all_in_child();
                if let Some(l) = &lock {
                    l.close_in_child();
                }
                // Dropping any of these could wait for, wake or free
                // something a thread of the parent uses.
                std::mem::forget((cnx, control, stop, threads, live, lock));
            }
        }
        if let Some(mut unjoined) = self.unjoined.try_lock_for(CHILD_LOCK_WAIT) {
            for h in unjoined.drain(..) {
                std::mem::forget(h);
            }
        }
    }

    fn on_runtime_thread(&self) -> bool {
        std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("zkelect-"))
    }

    /// Stops a run and joins its threads; returns the handle of the
    /// caller's own thread if it is one of them (see [`ThreadSet::join_all`]).
    fn shutdown(&self, rt: Runtime) -> Option<JoinHandle<()>> {
        let Runtime {
            cnx,
            control,
            stop,
            threads,
            live,
            notifier: _,
            lock,
        } = rt;
        // The graceful part first: the election thread steps down, lets
        // the host see it and sends its departure notice (bounded waits).
        let (done_tx, done_rx) = bounded::<()>(0);
        if control.send(Control::Stop(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(
                election::HANDOFF_EVENTS_WAIT
                    + election::HANDOFF_FLUSH_WAIT
                    + Duration::from_secs(1),
            );
        }
        drop(stop);
        drop(control);
        cnx.stop();
        // The notifier drains what is queued and finishes when the election
        // thread, the only producer of events, ends.
        drop(cnx);
        self.state.set_running(false);
        let own = threads.join_all();
        self.state.stats.on_stop();
        live.store(false, Ordering::Release);
        drop(lock);
        own
    }
}

#[cfg(test)]
mod stop_tests {
    use super::*;
    use std::time::Instant;

    fn config() -> String {
        let held: Vec<std::net::TcpListener> = (0..6)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let port = |i: usize| held[i].local_addr().unwrap().port();
        let mut cfg = String::from("tickTime=2000\ninitLimit=5\nsyncLimit=2\n");
        for sid in 1..=3 {
            let i = 2 * (sid - 1);
            cfg += &format!("server.{sid}=127.0.0.1:{}:{}\n", port(i), port(i + 1));
        }
        cfg
    }

    /// Issue 16: a callback stops its own peer and goes on running; a stop
    /// (and a drop) from another thread must return only after it returned.
    #[test]
    fn a_later_stop_waits_for_a_callback_that_stopped_its_own_peer() {
        for drop_it in [false, true] {
            let cfg = config();
            let peer = Arc::new(Peer::from_config_text(&cfg, Some(1)).unwrap());
            // A second peer, so that sid 1 gets events (a connection, an
            // election): a lone peer starts LOOKING and emits none.
            let other = Peer::from_config_text(&cfg, Some(2)).unwrap();
            let (stopped_tx, stopped_rx) = bounded::<()>(1);
            let returned = Arc::new(AtomicBool::new(false));
            let (weak, done) = (Arc::downgrade(&peer), returned.clone());
            let fired = AtomicBool::new(false);
            peer.on_event(move |_| {
                if fired.swap(true, Ordering::AcqRel) {
                    return;
                }
                if let Some(p) = weak.upgrade() {
                    p.stop();
                }
                let _ = stopped_tx.send(());
                // Still running when the other thread stops the peer.
                std::thread::sleep(Duration::from_millis(300));
                done.store(true, Ordering::Release);
            });
            peer.start().unwrap();
            other.start().unwrap();
            stopped_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the callback stopped its peer");
            let t = Instant::now();
            if drop_it {
                // The callback's upgrade may still hold the peer: wait for
                // the last reference to go.
                let mut peer = peer;
                loop {
                    match Arc::try_unwrap(peer) {
                        Ok(p) => {
                            drop(p);
                            break;
                        }
                        Err(p) => {
                            assert!(t.elapsed() < Duration::from_secs(30));
                            peer = p;
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
            } else {
                peer.stop();
            }
            assert!(
                returned.load(Ordering::Acquire),
                "returned while the callback ran (drop: {drop_it})"
            );
            other.stop();
        }
    }
}
