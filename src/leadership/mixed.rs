//! Mixed ensembles (see [`FollowOnly`]): what a peer learns about real
//! ZooKeeper members beside the zkelect peers, and how it votes then.

use super::core::{Core, Output, Term};
use super::event::LossReason;
use super::follow::FollowOnly;
use super::signal::reported_heartbeat;
use crate::election::{is_follow_only_vote, Message, FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_ZXID};
use crate::types::{ServerState, Sid, Zxid};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What a peer learned about real ZooKeeper servers in its ensemble (see
/// [`FollowOnly`]).
#[derive(Debug, Clone, Default)]
pub(super) struct Mixed {
    /// The setting.
    pub(super) follow_only: FollowOnly,
    /// The ensemble has real ZooKeeper members, learned from proof: a
    /// ZooKeeper learner connected to my quorum (Zab) port, which no zkelect
    /// peer ever does ([`Core::on_zab_contact`]), or another zkelect peer's
    /// vote that says it learned so. Sticky, but given up after a
    /// follow-only election that found no leader for `initLimit` ticks.
    pub(super) learned: bool,
    /// Sids taken for real ZooKeeper servers: leaders whose own LEADING
    /// vote came without heartbeats for the trust wait. Only a hint (lost
    /// heartbeats look the same): it speeds up following them, and makes
    /// nobody follow-only.
    pub(super) real: BTreeSet<Sid>,
    /// Sids that sent what only zkelect sends (a heartbeat, a report, a
    /// follow-only vote): not real servers.
    pub(super) zkelect: BTreeSet<Sid>,
    /// Peers whose election connection is down now (it was up before).
    pub(super) conn_down: BTreeSet<Sid>,
    /// Of those, the ones whose reconnect was refused since: gone.
    pub(super) gone: BTreeSet<Sid>,
    /// Peers whose connection broke and came up again, with my round at
    /// that time: until one of their messages carries that round or a
    /// later one, a notification of an earlier round may come from a
    /// restarted process, which starts again at round 1
    /// ([`Core::follower_message`]).
    pub(super) reconnected: BTreeMap<Sid, i64>,
    /// When the current election began.
    pub(super) looking_since: Duration,
    /// My last leadership failed to be confirmed within `initLimit` ticks
    /// (whatever the setting): I vote follow-only, so that I do not propose
    /// myself again and again to voters that cannot confirm me (real
    /// ZooKeeper servers, whose Zab sync with me fails). Given up when a
    /// confirmed zkelect leader's heartbeat reaches me (the ensemble works),
    /// or when a follow-only election finds no leader for `initLimit`
    /// ticks (I may be needed).
    pub(super) shy: bool,
}

impl Core {
    /// With the follow-only setting `f` ([`FollowOnly::Auto`] by default).
    /// Set before [`Core::start`].
    pub fn with_follow_only(mut self, f: FollowOnly) -> Core {
        self.mixed.follow_only = f;
        let _ = self.fle.set_follow_only(self.follow_only_zxid());
        self
    }

    /// The follow-only setting.
    pub fn follow_only_setting(&self) -> FollowOnly {
        self.mixed.follow_only
    }

    /// Whether this peer currently votes follow-only (never wins FLE).
    pub fn follows_only(&self) -> bool {
        self.fle.follow_only().is_some()
    }

    /// Whether this peer learned that its ensemble has real ZooKeeper
    /// members (see [`FollowOnly::Auto`]).
    pub fn knows_real_members(&self) -> bool {
        self.mixed.learned
    }

    /// The zxid my follow-only vote carries, if I vote follow-only.
    pub(super) fn follow_only_zxid(&self) -> Option<Zxid> {
        match self.mixed.follow_only {
            FollowOnly::On => Some(FOLLOW_ONLY_ZXID),
            FollowOnly::Auto if self.mixed.learned => Some(FOLLOW_ONLY_MIXED_ZXID),
            _ if self.mixed.shy => Some(FOLLOW_ONLY_ZXID),
            _ => None,
        }
    }

    /// Whether `leader` is taken for a real ZooKeeper server: known so, or
    /// the ensemble has real members and it never sent what only zkelect
    /// sends. Its own LEADING vote then stands for its confirmation at once.
    pub(super) fn believed_real(&self, leader: Sid) -> bool {
        self.mixed.real.contains(&leader)
            || ((self.mixed.learned || !self.mixed.real.is_empty())
                && !self.mixed.zkelect.contains(&leader))
    }

    /// I learned that the ensemble has real ZooKeeper members. In auto mode I vote follow-only from now on; an
    /// unconfirmed leader steps down at once, so that the real servers
    /// elect one of their own instead of failing their sync with me again.
    pub(super) fn learn_mixed(&mut self, now: Duration, out: &mut Vec<Output>) {
        if self.mixed.learned {
            return;
        }
        self.mixed.learned = true;
        if self.mixed.follow_only != FollowOnly::Auto {
            return;
        }
        let acts = self.fle.set_follow_only(self.follow_only_zxid());
        self.apply_fle(now, acts, false, out);
        if matches!(&self.term, Term::Leading(t) if !t.confirmed) {
            self.leave(now, LossReason::NotConfirmed, out);
        }
    }

    /// What a notification tells about real ZooKeeper members (see
    /// [`FollowOnly`]), before the term handles it:
    ///
    /// - a report (its zxid inverted) or a follow-only vote comes from a
    ///   zkelect peer; a follow-only vote that says it learned of real
    ///   members (zxid [`FOLLOW_ONLY_MIXED_ZXID`]) teaches me the same;
    /// - as a follower whose connection to its leader is down: a voter
    ///   looking in a later round than my term's has lost the leader too, so
    ///   I give it up now rather than after the reconnect grace.
    pub(super) fn mixed_evidence(
        &mut self,
        now: Duration,
        from: Sid,
        msg: &Message,
        voter: bool,
        out: &mut Vec<Output>,
    ) {
        let state = msg.server_state();
        if state == Some(ServerState::Following) && reported_heartbeat(msg).is_some() {
            self.mixed.zkelect.insert(from);
        }
        if state != Some(ServerState::Looking) || msg.zxid == -1 {
            return;
        }
        if is_follow_only_vote(msg.zxid, msg.peer_epoch) {
            self.mixed.zkelect.insert(from);
            self.mixed.real.remove(&from);
            if voter && msg.zxid == FOLLOW_ONLY_MIXED_ZXID {
                self.learn_mixed(now, out);
            }
            return;
        }
        if !voter {
            return;
        }
        if let Term::Following(f) = &self.term {
            if f.down_since.is_some() && from != f.leader && msg.election_epoch > f.term_round() {
                self.leave(now, LossReason::Disconnected, out);
            }
        }
    }
}
