//! The wiring of a [`Peer`](super::Peer): the state behind the public
//! handle ([`PeerInner`]), the start of a run (its threads and the bounded
//! channels between them) and its stop, including a stop from one of the
//! run's own threads and the stop of a forked child.
//!
//! A run has these threads, each named `zkelect-*`: the connection
//! manager's (see [`crate::cnx`]), the messenger's receiver and sender, the
//! election thread (which owns the [`Core`]), the notifier (which runs the
//! host's callbacks) and, for follow-only (auto), a watch of the quorum
//! port. The election thread is the only producer of events.

use super::election::{self, Control, ElectionLoop};
use super::notifier::{self, Listeners};
use super::settings::{runtime_settings, RuntimeSettings};
use super::state::PeerState;
use super::store::{self, FileStore, StoreHook};
use super::{lock, messenger, stuck, zab_watch, Durable, Error};
use crate::cnx::threads::ThreadSet;
use crate::cnx::CnxManager;
use crate::config::{Config, QuorumServer};
use crate::election::Fle;
use crate::leadership::{Core, Mode};
use crate::logging::{self, Level};
use crate::types::{Sid, Vote};
use crossbeam_channel::{bounded, unbounded, Sender};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

/// What a [`Peer`](super::Peer) holds: its config, its state as the API
/// reads it, and the run, if any.
pub(super) struct PeerInner {
    pub(super) config: Config,
    pub(super) my_sid: Sid,
    pub(super) server: QuorumServer,
    pub(super) config_text: Arc<[u8]>,
    pub(super) state: Arc<PeerState>,
    pub(super) listeners: Arc<Listeners>,
    pub(super) life: Mutex<Life>,
    pub(super) life_changed: Condvar,
    /// The host's store hook and what its store held when it was set.
    pub(super) hook: Mutex<Option<(Durable, StoreHook)>>,
    /// Threads of earlier runs that the stop ending their run could not
    /// join because it ran on them (an event callback, or the store hook,
    /// stopped its own peer): the next stop or free from another thread
    /// joins them, so that it returns only once that callback has returned.
    pub(super) unjoined: Mutex<Vec<JoinHandle<()>>>,
    /// The pid of the process that last started this peer (0: never
    /// started). Another pid means this is a forked child, in which the
    /// peer's threads do not exist ([`PeerInner::abandon_in_child`]).
    pub(super) started_in: AtomicU32,
}

/// Whether a run exists.
pub(super) enum Life {
    /// Not running.
    Idle,
    /// Running.
    Running(Runtime),
    /// A stop is under way.
    Stopping,
}

/// The threads and channels of one run.
pub(super) struct Runtime {
    pub(super) cnx: Arc<CnxManager>,
    pub(super) control: Sender<Control>,
    /// Dropping it stops the election and messenger threads.
    pub(super) stop: Sender<()>,
    pub(super) threads: ThreadSet,
    pub(super) live: Arc<AtomicBool>,
    pub(super) notifier: ThreadId,
    /// The data-dir lock, if the durable state is kept in `dataDir`: its
    /// file is closed by a forked child that stops the peer.
    pub(super) lock: Option<Arc<lock::Lock>>,
}

impl PeerInner {
    /// The state of a peer for `my_sid` (its entry of `config` is
    /// `server`), not running. Logs the config's warnings and its summary
    /// of ignored keys.
    pub(super) fn new(config: Config, my_sid: Sid, server: QuorumServer) -> PeerInner {
        let config_text: Arc<[u8]> = config.render_dynamic().into_bytes().into();
        let state = Arc::new(PeerState::new(Vote::looking(my_sid, 0, -1, 0)));
        for w in &config.warnings {
            logging::emit_as(my_sid, Level::Warn, &w.to_string());
        }
        if let Some(line) = config.ignored_summary() {
            logging::emit_as(my_sid, Level::Info, &line);
        }
        PeerInner {
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
        }
    }

    /// Starts a run (see [`Peer::start`](super::Peer::start)).
    pub(super) fn start(&self) -> Result<(), Error> {
        if self.forked() {
            return Err(Error::io(
                format!("starting sid {}", self.my_sid),
                std::io::Error::other(format!(
                    "this peer was started in process {}; a forked child cannot use it (create a new peer in the child)",
                    self.started_in.load(Ordering::Acquire)
                )),
            ));
        }
        // Name resolution can take as long as DNS likes: not under the life
        // lock, which `stop()` takes.
        let settings = runtime_settings(&self.config, &self.server)?;
        let mut life = self.life.lock();
        match *life {
            Life::Idle => {}
            _ => return Err(Error::AlreadyRunning),
        }
        let rt = self.launch(settings)?;
        self.started_in.store(std::process::id(), Ordering::Release);
        *life = Life::Running(rt);
        // Not under the life lock: a host's log sink may call back.
        drop(life);
        let sid = self.my_sid;
        logging::emit_as(sid, Level::Info, &self.config.describe(sid));
        Ok(())
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

    /// Starts a run: binds the election port(s), opens the durable store
    /// and spawns the run's threads, wired by channels: the connection
    /// manager's events and frames, the messenger's out and deliver queues
    /// and the events to the notifier (all bounded), the control channel
    /// (unbounded) and the stop channel (dropped to stop). On an error every
    /// thread already spawned is stopped and joined.
    fn launch(&self, settings: RuntimeSettings) -> Result<Runtime, Error> {
        let RuntimeSettings {
            election: election_settings,
            timing,
            cnx: cnx_settings,
            quorum,
            mode,
            follow_only,
            zab_watch: zab_addrs,
        } = settings;
        let durable = self.durable_store()?;
        // Every queue of a run is bounded (see their capacities); connection
        // events go straight to the election thread.
        let (cnx_events_tx, cnx_events_rx) = bounded(election::CNX_EVENT_CAPACITY);
        let cnx = Arc::new(
            CnxManager::start_counted(cnx_settings, cnx_events_tx, self.state.stats.cnx.clone())
                .map_err(|e| Error::io(format!("starting sid {}", self.my_sid), e))?,
        );
        let stuck =
            stuck::StuckWatch::new(&self.config, election_settings.min_notification_interval);
        let fle = Fle::new(election_settings, quorum);
        let voters = fle.voters().clone();
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
        let core = core.with_mode(mode).with_follow_only(follow_only);
        let lock = match &store {
            Some(store::Store::File(_, l)) => Some(l.clone()),
            _ => None,
        };
        // Follow-only (auto) learns of real ZooKeeper members from their
        // learners connecting to my quorum port (see zab_watch).
        let zab = zab_watch::bind(&zab_addrs, self.my_sid);
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
                stuck,
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

    /// Stops the run, if any (see [`Peer::stop`](super::Peer::stop)).
    pub(super) fn stop(&self) {
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
