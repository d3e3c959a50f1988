//! The election thread: drives the election and leadership state machine
//! ([`Core`]) with real time, messages, connection events and host commands.

use super::messenger::{Forwarded, Outgoing};
use super::state::PeerState;
use super::store::Store;
use crate::clock;
use crate::cnx::{CnxEvent, CnxManager};
use crate::leadership::{Core, Durable, Event, Output};
use crate::log;
use crate::logging::Level;
use crossbeam_channel::{after, never, select, Receiver, Sender};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

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
    /// Connection events, relayed by the notifier thread.
    pub connections: Receiver<CnxEvent>,
    pub control: Receiver<Control>,
    pub stop: Receiver<()>,
    pub out: Sender<Outgoing>,
    pub events: Sender<Event>,
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
                    if let Err(e) = crate::election::check_range(&msg) {
                        log!(Level::Warn, "dropping notification from sid {sid}: {e}");
                        continue;
                    }
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
        let outs = self.core.stop(self.now());
        self.apply(outs);
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
                    let _ = self.out.send((to, msg));
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
                    let _ = self.events.send(e);
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
