//! The peer runtime and the public Rust API.
//!
//! A [`Peer`] runs one member of an ensemble: the connection manager, the
//! messenger's send and receive threads, the election thread and a notifier
//! thread for events. Several peers can run in one process.
//!
//! This file is the public API; the translation of the config into the
//! run's settings is in `settings`, the start and stop of a run's threads
//! and channels in `runtime`.
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
mod runtime;
mod settings;
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

use crate::config::Config;
use crate::types::{ServerState, Sid, Vote, Zxid};
use crossbeam_channel::{unbounded, Receiver};
use election::Control;
use runtime::{Life, PeerInner};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One member of an election ensemble. All methods take `&self` and are
/// safe to call from any thread, including from an event callback.
pub struct Peer {
    inner: Arc<PeerInner>,
}

impl Peer {
    /// A peer for `my_sid` from a parsed config. The sid must be in the
    /// server list.
    pub fn new(config: Config, my_sid: Sid) -> Result<Peer, Error> {
        let server = config.server(my_sid)?.clone();
        Ok(Peer {
            inner: Arc::new(PeerInner::new(config, my_sid, server)),
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
            follow_only: status.follow_only,
            real_members: status.real_members,
        };
        self.inner.state.stats.fill(&mut s);
        s
    }

    /// Binds the election port(s) and starts the election. A stopped peer
    /// can be started again; it then restarts like a new process
    /// (logicalclock from 0).
    pub fn start(&self) -> Result<(), Error> {
        self.inner.start()
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

#[cfg(test)]
mod stop_tests;
