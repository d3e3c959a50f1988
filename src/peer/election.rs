//! The election thread: drives the election and leadership state machine
//! ([`Core`]) with real time, messages, connection events and host commands.

use super::messenger::{self, send_or_stop, Forwarded, Outgoing};
use super::notifier::Progress;
use super::state::PeerState;
use super::store::Store;
use crate::clock;
use crate::cnx::{CnxEvent, CnxManager};
use crate::leadership::{Core, Durable, Event, Output};
use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crossbeam_channel::{after, never, select, Receiver, SendTimeoutError, Sender};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Capacity of the connection events queue, from the connection manager
/// straight to the election thread. A full queue makes the connection
/// thread that reports wait; the election thread never waits on it.
pub(crate) const CNX_EVENT_CAPACITY: usize = 256;

/// Capacity of the events queue from the election thread to the notifier
/// (host callbacks and subscribers). Events are never dropped: when the
/// host is this far behind, the election thread waits for it. The bound is
/// far above what a slow callback builds up in practice (a handful of
/// events per election, two per connection change), so a callback that
/// sleeps for seconds delays nothing; only a host that stops taking events
/// altogether ends up holding the election thread, which then behaves as a
/// paused process (the lease argument covers that: its followers' promises
/// run out). Unbounded, the same host would instead let memory grow with
/// every event for as long as it is stuck.
pub(crate) const EVENT_CAPACITY: usize = 1024;

/// How often a wait for room in the events queue checks whether the
/// notifier still delivers.
const NOTIFY_POLL: Duration = Duration::from_millis(20);

/// How long a graceful stop waits for the host to have seen its last
/// events (the step-down) before it releases its followers anyway.
pub(crate) const HANDOFF_EVENTS_WAIT: Duration = Duration::from_secs(1);

/// How long a graceful stop waits for its departure notice to reach the
/// sockets.
pub(crate) const HANDOFF_FLUSH_WAIT: Duration = Duration::from_millis(500);

/// How often a follower whose leader's connection broke looks whether the
/// leader's lock in the shared `dataDir` was released ([`super::lock`]).
const DEATH_POLL: Duration = Duration::from_millis(5);

/// When a broken voter connection is tried again first
/// ([`ElectionLoop::reprobe`]); each later try waits twice as long.
const REPROBE_FIRST: Duration = Duration::from_millis(10);

/// How many times a broken voter connection is tried again.
const REPROBE_TRIES: u32 = 4;

/// Commands from the host.
pub(crate) enum Control {
    /// Start a new election round (the leader is gone).
    Restart,
    /// Stop gracefully ([`Core::stop`]): step down, let the host see it,
    /// send the departure notice and wait until it is written; then the
    /// sender is dropped and the thread ends.
    Stop(Sender<()>),
    /// A ZooKeeper learner connected to my quorum port
    /// ([`Core::on_zab_contact`]).
    ZabContact,
}

/// Everything the election thread works with.
pub(crate) struct ElectionLoop {
    pub core: Core,
    /// The durable store; `None` keeps nothing (the restart quarantine
    /// then always applies).
    pub store: Option<Store>,
    pub cnx: Arc<CnxManager>,
    pub state: Arc<PeerState>,
    /// Notifications from the receive thread.
    pub delivered: Receiver<Forwarded>,
    /// Connection events, straight from the connection manager (never
    /// through the notifier, so a slow callback cannot delay them).
    pub connections: Receiver<CnxEvent>,
    pub control: Receiver<Control>,
    pub stop: Receiver<()>,
    pub out: Sender<Outgoing>,
    pub events: Sender<Event>,
    /// False once nothing more may be delivered (stop from a callback).
    pub live: Arc<AtomicBool>,
    /// How far the notifier got.
    pub progress: Arc<Progress>,
    /// Events handed to the notifier so far.
    pub queued: u64,
    /// My config text, for the messages a graceful stop writes itself.
    pub config_text: Arc<[u8]>,
    /// A peer whose connection broke and whose death I look for in its
    /// lock ([`ElectionLoop::watch_death`]).
    pub watch: Option<Sid>,
    /// Voters whose connection just broke, with the next reconnect try
    /// and how many are left ([`ElectionLoop::reprobe`]).
    pub probes: Vec<(Sid, Duration, u32)>,
    /// Warns when the peer stays LOOKING ([`super::stuck`]).
    pub stuck: super::stuck::StuckWatch,
}

impl ElectionLoop {
    /// The clock every timer of the machine runs on: CLOCK_BOOTTIME,
    /// which counts suspend ([`crate::clock`]).
    fn now(&self) -> Duration {
        clock::now()
    }

    /// Runs until stopped; the last events (reason `Stopped`) are queued
    /// before the thread ends, so `stop()` delivers them before it returns.
    pub(crate) fn run(mut self) {
        self.sync_reported();
        let outs = self.core.start(self.now());
        self.apply(outs);
        let mut connections_open = true;
        loop {
            // Sleep in slices: the monotonic timer does not count suspend,
            // the machine's clock does.
            self.reprobe();
            let mut sleep = match self.core.next_deadline() {
                Some(d) => clock::sleep_slice(d),
                None => clock::MAX_SLEEP,
            };
            if self.watch.is_some() {
                sleep = sleep.min(DEATH_POLL);
            }
            if let Some(at) = self.probes.iter().map(|p| p.1).min() {
                sleep = sleep.min(at.saturating_sub(self.now()));
            }
            let now = self.now();
            let cnx = &self.cnx;
            if let Some(at) = self.stuck.check(now, self.core.fle(), || cnx.connected()) {
                sleep = sleep.min(at.saturating_sub(now));
            }
            let wake = after(sleep);
            let closed = never();
            let connections = if connections_open {
                &self.connections
            } else {
                &closed
            };
            select! {
                recv(self.stop) -> _ => break,
                recv(self.control) -> c => match c {
                    Ok(Control::Restart) => {
                        self.sync_reported();
                        let outs = self.core.restart(self.now());
                        self.apply(outs);
                    }
                    Ok(Control::ZabContact) => {
                        self.sync_reported();
                        let outs = self.core.on_zab_contact(self.now());
                        self.apply(outs);
                    }
                    Ok(Control::Stop(done)) => {
                        self.hand_off();
                        drop(done);
                        break;
                    }
                    Err(_) => break,
                },
                recv(self.delivered) -> m => {
                    let Ok((sid, msg, delivered)) = m else { break };
                    self.sync_reported();
                    let outs = self.core.on_message(self.now(), sid, &msg, delivered);
                    self.apply(outs);
                }
                recv(connections) -> c => {
                    let (sid, up) = match c {
                        Ok(CnxEvent::Connected(s)) => (s, true),
                        Ok(CnxEvent::Disconnected(s)) => (s, false),
                        Ok(CnxEvent::Refused(s)) => {
                            self.probes.retain(|p| p.0 != s);
                            self.sync_reported();
                            let outs = self.core.on_refused(self.now(), s);
                            self.apply(outs);
                            continue;
                        }
                        Ok(CnxEvent::ListenerFailed(_)) => continue,
                        Err(_) => { connections_open = false; continue; }
                    };
                    // The host hears of the connection before of anything
                    // it causes (e.g. `LeaderLost` a tick later).
                    self.notify_connection(sid, up);
                    self.sync_reported();
                    let outs = self.core.on_connection(self.now(), sid, up);
                    self.apply(outs);
                    if up {
                        self.probes.retain(|p| p.0 != sid);
                    } else if self.core.fle().is_voter(sid) {
                        self.probes.retain(|p| p.0 != sid);
                        self.probes.push((sid, self.now() + REPROBE_FIRST, REPROBE_TRIES));
                    }
                    if up && self.watch == Some(sid) {
                        self.watch = None;
                    } else if !up && self.cares_about(sid) {
                        self.watch = Some(sid);
                        self.watch_death();
                    }
                }
                recv(wake) -> _ => {
                    self.watch_death();
                    let now = self.now();
                    if self.core.next_deadline().is_some_and(|d| d <= now) {
                        self.sync_reported();
                        let outs = self.core.on_timeout(now, self.cnx.have_delivered());
                        self.apply(outs);
                    }
                }
            }
        }
        // Connection changes reported before the stop still reach the host.
        while let Ok(c) = self.connections.try_recv() {
            match c {
                CnxEvent::Connected(s) => self.notify_connection(s, true),
                CnxEvent::Disconnected(s) => self.notify_connection(s, false),
                CnxEvent::ListenerFailed(_) | CnxEvent::Refused(_) => {}
            }
        }
        let outs = self.core.stop(self.now());
        self.apply(outs);
    }

    /// Tries again to connect to voters whose connection broke a moment
    /// ago, a few times with growing gaps: the machine's own attempt
    /// ([`crate::leadership::Output::Connect`]) can reach a dying process
    /// whose listener still completes a connection (a poke that "works"),
    /// and only a refused attempt marks it down for early finalize.
    fn reprobe(&mut self) {
        let now = self.now();
        let connected = self.cnx.connected();
        let mut due = Vec::new();
        self.probes.retain_mut(|(sid, at, left)| {
            if connected.contains(sid) || *left == 0 {
                return false;
            }
            if *at <= now {
                due.push(*sid);
                *left -= 1;
                *at = now + REPROBE_FIRST * 2u32.pow(REPROBE_TRIES - *left);
            }
            true
        });
        for sid in due {
            self.cnx.connect(sid);
        }
    }

    /// Whether the death of `sid` would change anything: I follow it or
    /// promised it my acknowledgements.
    fn cares_about(&self, sid: Sid) -> bool {
        self.core.following() == Some(sid)
            || self
                .core
                .promised()
                .is_some_and(|(leader, _)| leader == Some(sid))
    }

    /// Looks whether the watched peer's lock in the shared `dataDir` was
    /// released ([`super::lock`]); if so, tells the machine, which releases
    /// the promise to it. The watch ends with the proof, a reconnection, or
    /// when nothing depends on that peer any more.
    fn watch_death(&mut self) {
        let Some(sid) = self.watch else { return };
        if !self.cares_about(sid) || self.cnx.connected().contains(&sid) {
            self.watch = None;
            return;
        }
        let Some(epoch) = self.store.as_ref().and_then(|s| s.probe_dead(sid)) else {
            return;
        };
        self.watch = None;
        log!(
            Level::Info,
            "sid {}: the lock of sid {sid} is free (it had accepted epoch {epoch}): its process is gone",
            self.core.fle().my_sid()
        );
        self.sync_reported();
        let outs = self.core.on_peer_dead(self.now(), sid, epoch);
        self.apply(outs);
    }

    /// The graceful stop: the machine steps down and emits its last
    /// events; once the host has seen them (at most
    /// [`HANDOFF_EVENTS_WAIT`]), the departure notice that releases my
    /// followers goes straight to the connection manager, and the stop
    /// waits (at most [`HANDOFF_FLUSH_WAIT`]) until it is written, so it
    /// leaves before the sockets close.
    fn hand_off(&mut self) {
        let notice = self.core.departure();
        let outs = self.core.stop(self.now());
        let (sends, rest): (Vec<Output>, Vec<Output>) = outs
            .into_iter()
            .partition(|o| matches!(o, Output::Send { .. }));
        self.apply(rest);
        self.state
            .publish_departed(self.core.fle().my_sid(), &notice);
        if self.live.load(Ordering::Acquire) {
            self.progress.wait_for(self.queued, HANDOFF_EVENTS_WAIT);
        }
        for o in sends {
            if let Output::Send { to, msg } = o {
                self.cnx
                    .send(to, messenger::encode(&msg, &self.config_text));
            }
        }
        if !self.cnx.flush(HANDOFF_FLUSH_WAIT) {
            log!(
                Level::Debug,
                "sid {}: departure notice not written to every peer within {:?}",
                self.core.fle().my_sid(),
                HANDOFF_FLUSH_WAIT
            );
        }
    }

    /// Hands an event to the notifier, waiting while its queue is full
    /// ([`EVENT_CAPACITY`]): events are never dropped while they can still
    /// be delivered. Once nothing more may be delivered (`live` is false
    /// after stop from a callback, whose own thread is the notifier), the
    /// event is dropped instead of waiting for a notifier that will not
    /// read again.
    fn notify(&mut self, mut e: Event) {
        self.queued += 1;
        loop {
            match self.events.send_timeout(e, NOTIFY_POLL) {
                Ok(()) | Err(SendTimeoutError::Disconnected(_)) => return,
                Err(SendTimeoutError::Timeout(back)) => {
                    if !self.live.load(Ordering::Acquire) {
                        return;
                    }
                    e = back;
                }
            }
        }
    }

    /// Tells the host of a member's connection change. A sid that is not
    /// in the configuration (a `zkelect probe`, a stranger) is no peer of
    /// the host's: it is answered all the same, and only logged, at DEBUG.
    fn notify_connection(&mut self, sid: Sid, up: bool) {
        if self.cnx.is_member(sid) {
            self.notify(peer_event(sid, up));
        } else {
            let what = if up { "connected" } else { "disconnected" };
            log!(
                Level::Debug,
                "sid {}: sid {sid}, not in the configuration (a probe?), {what}",
                self.core.fle().my_sid()
            );
        }
    }

    /// The zxid and epoch the host set, for the next election start.
    fn sync_reported(&mut self) {
        let (zxid, epoch) = self.state.reported();
        self.core.set_reported(zxid, epoch);
    }

    fn apply(&mut self, outs: Vec<Output>) {
        let mut queue: VecDeque<Output> = outs.into();
        while let Some(o) = queue.pop_front() {
            match o {
                Output::Send { to, msg } => {
                    // Dropped only when stopping (the send thread is gone).
                    send_or_stop(&self.out, (to, msg), &self.stop);
                }
                Output::ConnectAll => self.cnx.connect_all(),
                Output::Connect(sid) => self.cnx.connect(sid),
                Output::Event(e) => {
                    // The lease and the view the receive thread answers
                    // from first, then what the host reads: a host woken by
                    // a decision finds the peer already answering with it.
                    self.state.publish_lease(self.core.lease_until());
                    self.state.publish(&self.core);
                    self.state.on_event(&e);
                    if let Event::EpochStoreFailed { epoch } = e {
                        log!(
                            Level::Error,
                            "sid {}: epoch {epoch} not stored; not acknowledging it",
                            self.core.fle().my_sid()
                        );
                    }
                    self.notify(e);
                }
                Output::Persist(d) => {
                    // Outputs that depend on it come from on_persisted,
                    // after the store returned.
                    let ok = self.persist(d);
                    let more = self.core.on_persisted(self.now(), d, ok);
                    for m in more.into_iter().rev() {
                        queue.push_front(m);
                    }
                }
                Output::Promised { leader, epoch } => {
                    if let Some(store) = &self.store {
                        if let Err(why) = store.note_promise(leader, epoch) {
                            // Only the next restart's quarantine is longer.
                            log!(Level::Debug, "cannot record my promise: {why}");
                        }
                    }
                }
                Output::Refused(r) => log!(Level::Warn, "{r}"),
                Output::OutOfRange { from, error } => {
                    log!(
                        Level::Warn,
                        "dropping notification from sid {from}: {error}"
                    )
                }
            }
        }
        self.state.publish_lease(self.core.lease_until());
        self.state.publish(&self.core);
        self.state.set_accepted(self.core.accepted_epoch());
    }

    /// Stores `d` durably; false (with a log line) if the store failed.
    fn persist(&self, d: Durable) -> bool {
        let Some(store) = &self.store else {
            return true;
        };
        match store.save(d) {
            Ok(()) => true,
            Err(why) => {
                log!(
                    Level::Error,
                    "sid {}: cannot store acceptedEpoch={} round={}: {why}",
                    self.core.fle().my_sid(),
                    d.epoch,
                    d.round
                );
                false
            }
        }
    }
}

/// The host event for a connection change.
fn peer_event(sid: crate::types::Sid, up: bool) -> Event {
    if up {
        Event::PeerConnected(sid)
    } else {
        Event::PeerDisconnected(sid)
    }
}
