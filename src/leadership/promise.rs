//! The promise an acknowledgement makes (see the lease argument in
//! [`crate::leadership`]), the acknowledgement itself, and what releases a
//! promise early.

use super::core::{Core, Output, Term};
use super::mode::Mode;
use super::signal::report;
use crate::election::Message;
use crate::types::Sid;
use std::time::Duration;

/// What an acknowledgement promises: not to acknowledge any other leader,
/// nor to count myself for my own leadership, before `until`. The same
/// leader may move to a higher epoch: it counts acknowledgements of one
/// epoch at a time, and a new epoch of its own means the old one is over.
/// `leader: None` is the quarantine after a start with an epoch (an earlier
/// process may have acknowledged someone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Promise {
    pub leader: Option<Sid>,
    /// The round of the leader's heartbeats: a LOOKING notification from it
    /// with a later round proves it stepped down, which releases the promise.
    pub round: i64,
    /// The epoch acknowledged (`i64::MAX` for the quarantine): proof that
    /// the process that accepted at least this epoch for `leader` is dead
    /// releases the promise.
    pub epoch: i64,
    pub until: Duration,
}

impl Promise {
    /// Whether this promise forbids acknowledging `leader` now.
    pub(crate) fn forbids(&self, leader: Sid, now: Duration) -> bool {
        now < self.until && self.leader != Some(leader)
    }
}

impl Core {
    /// A LOOKING notification from the leader I promised to, of a round
    /// after its heartbeats': it started a new election, so it no longer
    /// leads that term and the promise has nothing left to protect.
    pub(super) fn maybe_release(
        &mut self,
        now: Duration,
        from: Sid,
        msg: &Message,
        out: &mut Vec<Output>,
    ) {
        let Some(p) = self.promise else { return };
        if p.leader == Some(from) && msg.election_epoch > p.round {
            self.promise = None;
            match &self.term {
                Term::Leading(_) => self.check_confirm(now, out),
                Term::Following(_) => self.flush_pending(now, out),
                Term::Looking => {}
            }
        }
    }

    /// Acknowledges heartbeat `hb` of my leader, and promises not to
    /// acknowledge anyone else for `syncLimit` ticks from now: the leader
    /// counts it for `syncLimit − 1` ticks from the heartbeat's sending,
    /// which is earlier.
    fn ack(&mut self, now: Duration, hb: &Message, out: &mut Vec<Output>) {
        let d_f = self.timing.follower_deadline();
        let round = self.fle.current_vote().election_epoch;
        let Term::Following(f) = &mut self.term else {
            return;
        };
        f.pending = None;
        let leader = f.leader;
        out.push(Output::Send {
            to: leader,
            msg: report(leader, hb.zxid, round, hb.peer_epoch),
        });
        if self.mode == Mode::Lease {
            let changed = self.promise.map_or(true, |p| {
                (p.leader, p.epoch) != (Some(leader), hb.peer_epoch)
            });
            self.promise = Some(Promise {
                leader: Some(leader),
                round: hb.election_epoch,
                epoch: hb.peer_epoch,
                until: now + d_f,
            });
            if changed {
                out.push(Output::Promised {
                    leader,
                    epoch: hb.peer_epoch,
                });
            }
        }
    }

    pub(super) fn flush_pending(&mut self, now: Duration, out: &mut Vec<Output>) {
        let Term::Following(f) = &self.term else {
            return;
        };
        let Some(hb) = f.pending else { return };
        if !self.promise.is_some_and(|p| p.forbids(f.leader, now)) && self.is_stored(hb.peer_epoch)
        {
            self.ack(now, &hb, out);
        }
    }
}
