//! The election thread: drives the FastLeaderElection state machine with
//! real time, messages and host commands.

use super::event::{Event, Leader};
use super::messenger::Outgoing;
use super::state::PeerState;
use crate::cnx::CnxManager;
use crate::election::{Action, Fle, Message};
use crate::types::{ServerState, Sid};
use crossbeam_channel::{after, never, select, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

/// Commands from the host.
pub(crate) enum Control {
    /// Start a new election round (the leader is gone).
    Restart,
}

/// Everything the election thread works with.
pub(crate) struct ElectionLoop {
    pub fle: Fle,
    pub base: Instant,
    pub cnx: Arc<CnxManager>,
    pub state: Arc<PeerState>,
    pub delivered: Receiver<(Sid, Message)>,
    pub control: Receiver<Control>,
    pub stop: Receiver<()>,
    pub out: Sender<Outgoing>,
    pub events: Sender<Event>,
}

impl ElectionLoop {
    /// Runs until stopped.
    pub(crate) fn run(mut self) {
        self.start_round();
        loop {
            let wake = match self.fle.next_deadline() {
                Some(d) => after((self.base + d).saturating_duration_since(Instant::now())),
                None => never(),
            };
            select! {
                recv(self.stop) -> _ => return,
                recv(self.control) -> c => match c {
                    Ok(Control::Restart) => self.restart(),
                    Err(_) => return,
                },
                recv(self.delivered) -> m => {
                    let Ok((sid, msg)) = m else { return };
                    let now = self.base.elapsed();
                    let actions = self.fle.on_notification(now, sid, &msg);
                    self.apply(actions);
                }
                recv(wake) -> _ => {
                    let now = self.base.elapsed();
                    let actions = self.fle.on_timeout(now, self.cnx.have_delivered());
                    self.apply(actions);
                }
            }
        }
    }

    fn start_round(&mut self) {
        let (zxid, epoch) = self.state.reported();
        let old = self.fle.state();
        let actions = self.fle.start(self.base.elapsed(), zxid, epoch);
        self.state.publish(&self.fle, None);
        if old != ServerState::Looking || self.fle.logicalclock() == 1 {
            let _ = self.events.send(Event::StateChanged {
                old,
                new: ServerState::Looking,
            });
        }
        self.apply(actions);
    }

    fn restart(&mut self) {
        if self.fle.state() != ServerState::Looking {
            let _ = self.events.send(Event::LeaderLost {
                leader: self.fle.current_vote().leader,
            });
        }
        self.start_round();
    }

    fn apply(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send { to, msg } => {
                    let _ = self.out.send((to, msg));
                }
                Action::ConnectAll => self.cnx.connect_all(),
                Action::Decided(d) => {
                    let leader = Leader {
                        leader: d.vote.leader,
                        zxid: d.vote.zxid,
                        election_epoch: d.vote.election_epoch,
                        peer_epoch: d.vote.peer_epoch,
                        state: d.state,
                        elapsed: d.elapsed,
                    };
                    self.state.publish(&self.fle, Some(leader));
                    let _ = self.events.send(Event::StateChanged {
                        old: ServerState::Looking,
                        new: d.state,
                    });
                    let _ = self.events.send(Event::Elected(leader));
                }
            }
        }
        self.state.publish_view(&self.fle);
    }
}
