//! The election thread: drives the election and leadership state machine
//! ([`Core`]) with real time, messages, connection events and host commands.

use super::messenger::{send_or_stop, Forwarded, Outgoing};
use super::state::PeerState;
use super::store::Store;
use crate::clock;
use crate::cnx::{CnxEvent, CnxManager};
use crate::leadership::{Core, Durable, Event, Output};
use crate::log;
use crate::logging::Level;
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

/// Commands from the host.
pub(crate) enum Control {
    /// Start a new election round (the leader is gone).
    Restart,
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
            let wake = match self.core.next_deadline() {
                Some(d) => after(clock::sleep_slice(d)),
                None => after(clock::MAX_SLEEP),
            };
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
                        Ok(CnxEvent::ListenerFailed(_)) => continue,
                        Err(_) => { connections_open = false; continue; }
                    };
                    // The host hears of the connection before of anything
                    // it causes (e.g. `LeaderLost` a tick later).
                    self.notify(peer_event(sid, up));
                    self.sync_reported();
                    let outs = self.core.on_connection(self.now(), sid, up);
                    self.apply(outs);
                }
                recv(wake) -> _ => {
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
                CnxEvent::Connected(s) => self.notify(peer_event(s, true)),
                CnxEvent::Disconnected(s) => self.notify(peer_event(s, false)),
                CnxEvent::ListenerFailed(_) => {}
            }
        }
        let outs = self.core.stop(self.now());
        self.apply(outs);
    }

    /// Hands an event to the notifier, waiting while its queue is full
    /// ([`EVENT_CAPACITY`]): events are never dropped while they can still
    /// be delivered. Once nothing more may be delivered (`live` is false
    /// after stop from a callback, whose own thread is the notifier), the
    /// event is dropped instead of waiting for a notifier that will not
    /// read again.
    fn notify(&self, mut e: Event) {
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
                Output::Event(e) => {
                    // The lease and the view the receive thread answers
                    // from first, then what the host reads: a host woken by
                    // a decision finds the peer already answering with it.
                    self.state.publish_lease(self.core.lease_until());
                    self.state.publish(self.core.fle());
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
        self.state.publish(self.core.fle());
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
