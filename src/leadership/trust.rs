//! Following a leader that sends no heartbeats (a real ZooKeeper server):
//! asking it for its vote, and taking that vote for its confirmation once it
//! carries the epoch of the leader's sync.

use super::core::{Core, Output, Term};
use super::phase::Phase;
use crate::election::Message;
use crate::types::ServerState;
use std::time::Duration;

impl Core {
    /// The one question of a follower that decided on LOOKING votes alone
    /// (not yet trusting the leader's vote): its vote, as a LOOKING
    /// notification, which a leader that decided (a real ZooKeeper server
    /// too) answers with its LEADING vote: the backing that spares me a
    /// look again at initLimit.
    pub(super) fn probe_if_due(&mut self, now: Duration, out: &mut Vec<Output>) {
        let Term::Following(f) = &mut self.term else {
            return;
        };
        let asks = matches!(f.phase, Phase::Unbacked | Phase::Backed);
        if !asks || !f.probe_at.is_some_and(|p| now >= p) {
            return;
        }
        f.probe_at = None;
        if f.phase == Phase::Backed {
            return;
        }
        let v = f.vote;
        out.push(Output::Send {
            to: f.leader,
            msg: Message::outgoing(
                ServerState::Looking,
                v.leader,
                v.zxid,
                v.election_epoch,
                v.peer_epoch,
            ),
        });
    }

    /// A finalize wait and a half: how long after my decision the leader,
    /// which may have been in its own finalize wait (restarted by every
    /// notification in ZooKeeper), has decided if nothing disturbed it.
    pub(super) fn quiet_wait(&self) -> Duration {
        self.timing.finalize_wait + self.timing.finalize_wait / 2
    }

    /// The leader's own LEADING vote stands for its confirmation (a leader
    /// that sends no heartbeats: a real ZooKeeper server). I accept its
    /// epoch, so that a later zkelect leader proposes above it, and fire
    /// `Following` with it, but only if that epoch is a fencing token: above
    /// every epoch I reported for another leader. A ZooKeeper leader's vote
    /// from its election carries its epoch from before its sync (ZooKeeper
    /// rewrites it only after, spec 4), so a vote gathered during the
    /// election can show the previous leader's epoch again. Then I ask the
    /// leader for its current vote with a LOOKING notification (a decided
    /// ZooKeeper server answers it with its vote, whose peer epoch is the
    /// new one after its sync), once a tick, until its epoch is above.
    pub(super) fn trust_vote(&mut self, now: Duration, out: &mut Vec<Output>) {
        let period = self.probe_period();
        let quiet = self.quiet_wait();
        let give_up = self.timing.heartbeat_wait();
        let (leader, epoch, fresh, observer) = match &self.term {
            Term::Following(f) => (
                f.leader,
                f.vote_epoch,
                // A ZooKeeper leader's sync takes tens to hundreds of ms; one
                // that still shows its old epoch two ticks after I began to
                // trust it does not rewrite its vote (a server without the
                // rewrite), and that epoch is all there is.
                match f.phase {
                    Phase::Trusted { since, .. } => {
                        f.fresh_epoch(f.vote_epoch) || now >= since + give_up
                    }
                    _ => true,
                },
                f.observer,
            ),
            _ => return,
        };
        // Behind a real ZooKeeper leader, only the epoch of its sync.
        let allowed = self.may_fire(leader, epoch) && fresh;
        let Term::Following(f) = &mut self.term else {
            return;
        };
        if !allowed {
            // Every probe period once the leader said LEADING (it decided:
            // my questions cannot disturb its election); before, one per
            // quiet wait and a half, so that ZooKeeper's finalize wait,
            // which every notification restarts, still ends.
            let p = if now >= f.decided_at + self.timing.confirm_timeout() {
                self.timing.tick
            } else if f.phase.backed() {
                period
            } else {
                quiet + quiet / 2
            };
            if f.probe_at.map_or(true, |at| now >= at) {
                f.probe_at = Some(now + p);
                let v = f.vote;
                out.push(Output::Send {
                    to: leader,
                    msg: Message::outgoing(
                        ServerState::Looking,
                        v.leader,
                        v.zxid,
                        v.election_epoch,
                        v.peer_epoch,
                    ),
                });
            }
            return;
        }
        if epoch > self.accepted && !observer {
            self.accept(leader, epoch, out);
        }
        if self.fire(leader, epoch, out) {
            // As after a confirmed heartbeat: joiners match votes on the
            // peer epoch, and a later heartbeat fires nothing new.
            self.fle.update_peer_epoch(epoch);
        }
    }

    /// How often a follower asks a trusted leader for its current vote
    /// while that vote shows no epoch it may report: half a finalize wait
    /// (a real leader's sync takes tens to hundreds of ms) during the first
    /// `initLimit` ticks after the decision, then once a tick.
    pub(super) fn probe_period(&self) -> Duration {
        (self.timing.finalize_wait / 2)
            .max(Duration::from_millis(1))
            .min(self.timing.tick)
    }
}
