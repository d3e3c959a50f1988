//! The election thread: drives the election and leadership state machine
//! ([`Core`]) with real time, messages, connection events and host commands.

use super::messenger::{Forwarded, Outgoing};
use super::state::PeerState;
use crate::cnx::{CnxEvent, CnxManager};
use crate::leadership::{Core, Event, Output};
use crossbeam_channel::{after, never, select, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Commands from the host.
pub(crate) enum Control {
    /// Start a new election round (the leader is gone).
    Restart,
}

/// Everything the election thread works with.
pub(crate) struct ElectionLoop {
    pub core: Core,
    pub base: Instant,
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
    fn now(&self) -> Duration {
        self.base.elapsed()
    }

    /// Runs until stopped; the last events (reason `Stopped`) are queued
    /// before the thread ends, so `stop()` delivers them before it returns.
    pub(crate) fn run(mut self) {
        self.sync_reported();
        let outs = self.core.start(self.now());
        self.apply(outs);
        let mut connections_open = true;
        loop {
            let wake = match self.core.next_deadline() {
                Some(d) => after((self.base + d).saturating_duration_since(Instant::now())),
                None => never(),
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
                    self.sync_reported();
                    let outs = self.core.on_connection(self.now(), sid, up);
                    self.apply(outs);
                }
                recv(wake) -> _ => {
                    self.sync_reported();
                    let outs = self.core.on_timeout(self.now(), self.cnx.have_delivered());
                    self.apply(outs);
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
        for o in outs {
            match o {
                Output::Send { to, msg } => {
                    let _ = self.out.send((to, msg));
                }
                Output::ConnectAll => self.cnx.connect_all(),
                Output::Event(e) => {
                    // The view the receive thread answers from first, then
                    // what the host reads: a host woken by a decision finds
                    // the peer already answering with it.
                    self.state.publish(self.core.fle());
                    self.state.on_event(&e);
                    let _ = self.events.send(e);
                }
            }
        }
        self.state.publish(self.core.fle());
        self.state.set_accepted(self.core.accepted_epoch());
    }
}
