//! The FastLeaderElection state machine (spec 5.1 to 5.10).
//!
//! One file over 500 lines on purpose: [`Fle`] is one loop of upstream's
//! `lookForLeader` whose steps share the round's state (the vote sets, the
//! finalize wait, early finalize's agreement), and close to a third of the
//! file is the documentation that ties each step to its spec section.

use super::message::Message;
use super::order::{total_order, Proposal};
use super::reply::{respond, View};
use super::tracker::{check_leader, has_all_quorums};
use crate::quorum::QuorumVerifier;
use crate::types::{LearnerType, ServerState, Sid, Vote, Zxid, NO_VOTE};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Fixed parameters of one peer's election.
#[derive(Debug, Clone)]
pub struct Settings {
    /// My sid.
    pub my_sid: Sid,
    /// My role from the server list.
    pub learner_type: LearnerType,
    /// First notification timeout (`fastleader.minNotificationInterval`).
    pub min_notification_interval: Duration,
    /// Cap of the doubling timeout (`fastleader.maxNotificationInterval`).
    pub max_notification_interval: Duration,
    /// How long a quorum for my proposal must see no better vote before I
    /// decide (ZooKeeper's fixed 200 ms; our `finalizeWait`).
    pub finalize_wait: Duration,
}

/// What the machine asks its driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send `msg` (with our config text) to `to`. `to` may be my own sid: the
    /// driver loops it back, and only then does my own vote count (spec 5.3).
    Send {
        /// Destination sid.
        to: Sid,
        /// The vote fields to send.
        msg: Message,
    },
    /// Nothing arrived for a whole timeout and every send queue still holds a
    /// message: (re)connect to every known peer (ZooKeeper's `connectAll`).
    ConnectAll,
    /// The election ended.
    Decided(Decision),
}

/// The end of an election (spec 5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// LEADING, FOLLOWING or OBSERVING.
    pub state: ServerState,
    /// The returned vote, which becomes my current vote.
    pub vote: Vote,
    /// Time from the start of this election to the decision.
    pub elapsed: Duration,
    /// Decided by early finalize (every voter that is up agreed), before
    /// the finalize wait ran out: the peers that agree with me need no wait
    /// of theirs either.
    pub early: bool,
}

/// The peer epoch of a follow-only peer's own vote ([`Fle::set_follow_only`]):
/// below every epoch a ZooKeeper server or a zkelect peer reports (0 and
/// up), so every real vote beats it by the total order (spec 5.5), and
/// above `Long.MIN_VALUE`, so it is not a non-voter's placeholder. ZooKeeper
/// only compares a peer epoch (spec 5.4 c, 5.5): it counts the vote.
pub const FOLLOW_ONLY_EPOCH: i64 = -1;

/// The zxid of a follow-only peer's own vote when the operator asked for
/// follow-only (`followOnly=true`). Not −1: a LOOKING server ignores a vote
/// with zxid −1 (spec 5.4 c 1), and the vote must still count.
pub const FOLLOW_ONLY_ZXID: Zxid = -2;

/// The zxid of a follow-only peer's own vote when it learned that the
/// ensemble has real ZooKeeper members (`followOnly=auto`): other zkelect
/// peers in auto mode that see it learn it too.
pub const FOLLOW_ONLY_MIXED_ZXID: Zxid = -3;

/// Whether `(zxid, epoch)` is a follow-only peer's own vote: one that no
/// follow-only peer adopts.
pub fn is_follow_only_vote(zxid: Zxid, epoch: i64) -> bool {
    epoch == FOLLOW_ONLY_EPOCH && (zxid == FOLLOW_ONLY_ZXID || zxid == FOLLOW_ONLY_MIXED_ZXID)
}

/// One `lookForLeader` call in progress.
#[derive(Debug, Clone)]
struct Round {
    /// Votes of my current round (spec 5.1).
    recvset: BTreeMap<Sid, Vote>,
    /// FOLLOWING/LEADING votes of any round.
    outofelection: BTreeMap<Sid, Vote>,
    /// Current notification timeout; doubles on each empty poll.
    not_timeout: Duration,
    /// When the current poll gives up.
    poll_deadline: Duration,
    /// Set while waiting for a better vote after my proposal reached a quorum.
    finalize_deadline: Option<Duration>,
    /// The voters that sent a LOOKING vote equal to `agreed_on` (my
    /// proposal and round when it was noted), whether the election recorded
    /// it or the finalize wait consumed it (spec 5.9). Kept beside `recvset`,
    /// which stays exactly ZooKeeper's, and read only by early finalize; it
    /// counts only while `agreed_on` is still my proposal and round.
    agreed: BTreeSet<Sid>,
    /// (leader, zxid, round, peer epoch) that `agreed` is about.
    agreed_on: (Sid, Zxid, i64, i64),
    started: Duration,
}

/// A peer's FastLeaderElection: its round counter, proposal, state and
/// current vote, and the election in progress, if any.
///
/// # Early finalize
///
/// ZooKeeper decides on the LOOKING path only after a finalize wait
/// (spec 5.9): once my proposal has a quorum, it waits until no better vote
/// has come for the wait's length. This machine decides at once instead, when
/// nothing better can come: every *required* voter has sent me, in my round,
/// a LOOKING vote equal to my current proposal (spec 5.6: leader, zxid, round
/// and peer epoch), me included (my own notification loops back), and those
/// voters form a quorum in every tracked config (spec 5.6, 7.4). The
/// required voters are the current-and-next voters minus
///
/// - those the driver said are known down ([`Fle::set_known_down`]), and
/// - those whose weight in the committed config is 0 (hierarchical quorums).
///   They are voters of the config and they vote, but the total order
///   (spec 5.5) never lets a vote naming them beat another, and the only
///   votes they originate name themselves; whatever else they send was
///   copied from another voter, which is required (or known down). Hearing
///   from them could never interrupt the wait, so early finalize does not
///   wait for them. (ZooKeeper's quorum rule is unchanged: their
///   acknowledgements count as they do there, for their weight, 0.)
///
/// An equal vote counts whether the election recorded it in `recvset` or
/// the finalize wait consumed it unrecorded, as ZooKeeper's wait consumes
/// everything that does not beat the proposal; `recvset` itself stays
/// exactly ZooKeeper's, and the agreements are kept beside it, for the
/// current proposal and round only. The condition is checked when the quorum
/// appears (instead of starting the wait), on every equal vote the wait
/// consumes, and when the driver marks a voter known down during a wait.
/// Nothing else changes: a better vote still interrupts the wait, a required
/// voter not heard from still makes me wait the full finalize wait, and what
/// I send is what ZooKeeper sends, so real servers in a mixed ensemble only
/// see my decision come earlier, as from a server whose wait happened to end
/// sooner. [`Fle::set_early_finalize`] turns it off.
///
/// Why this is safe:
///
/// - FLE's decision is only a proposal. Peers may decide differently (a
///   finalize wait that ends before a late better vote arrives does that in
///   ZooKeeper too); the leadership layer confirms a leader only with a
///   quorum that durably accepts its new epoch, and a peer whose decision
///   goes nowhere looks again.
/// - The finalize wait is a liveness heuristic: it gives a better vote that
///   is on its way the chance to arrive before a quorum settles on a worse
///   one. Only a vote that beats my proposal by the total order ends it, and
///   after it ZooKeeper decides on exactly the proposal I decide on early.
/// - Once every required voter agrees, no better vote of this round can come
///   from a voter that is up. Every vote of a round names a voter `L` and
///   started as `L`'s initial vote of that round: votes are copied, never
///   made up (adoption copies the better vote, a round jump takes the better
///   of the offered and the initial vote). Within a round a voter's proposal
///   only rises in the total order, from its initial vote up. So if a vote
///   naming `L` beat mine, `L`'s initial vote, and every vote `L` sent in
///   this round, would be above mine, and `L` could not have sent a vote
///   equal to mine. Hence `L` is known down, or weighs 0 and its vote cannot
///   beat anything. (One equal vote from each voter is enough for this;
///   what it sent after does not matter.) A better vote of a *later* round,
///   from a voter that restarted its election with new data, is the race
///   ZooKeeper has with a vote that arrives just after its wait. A voter
///   marked down that is in fact up costs what a slow network costs
///   ZooKeeper: a decision the leadership layer does not confirm, or a
///   follower that joins later.
#[derive(Debug, Clone)]
pub struct Fle {
    settings: Settings,
    qv: Arc<QuorumVerifier>,
    /// A proposed config with a higher version, tracked alongside (spec 7.4).
    next_qv: Option<Arc<QuorumVerifier>>,
    /// Current-and-next voters: who gets my notifications and whose count.
    voters: BTreeSet<Sid>,
    state: ServerState,
    current_vote: Vote,
    logicalclock: i64,
    proposal: Proposal,
    /// My initial vote for this election (spec 5.2); its zxid -1 abstains
    /// (spec 5.4).
    init: Proposal,
    round: Option<Round>,
    /// Whether [`Fle::start`] ran once (the first start sets the initial vote).
    started: bool,
    /// Voters the driver said are down; read only by early finalize.
    known_down: BTreeSet<Sid>,
    /// Whether early finalize is on (it is unless the driver turns it off).
    early_finalize: bool,
    /// Follow-only ([`Fle::set_follow_only`]): the zxid my own vote carries.
    follow_only: Option<Zxid>,
}

impl Fle {
    /// A machine that has not started: state LOOKING, logicalclock 0 and the
    /// "unset" proposal (-1, -1, -1) (spec 3.3).
    pub fn new(settings: Settings, qv: Arc<QuorumVerifier>) -> Fle {
        let voters = qv.voters().clone();
        let my = settings.my_sid;
        Fle {
            settings,
            qv,
            next_qv: None,
            voters,
            state: ServerState::Looking,
            current_vote: Vote::looking(my, 0, -1, 0),
            logicalclock: 0,
            proposal: Proposal::UNSET,
            init: Proposal::UNSET,
            round: None,
            started: false,
            known_down: BTreeSet::new(),
            early_finalize: true,
            follow_only: None,
        }
    }

    /// Makes this peer *follow-only* (`Some(zxid)`, with
    /// [`FOLLOW_ONLY_ZXID`] or [`FOLLOW_ONLY_MIXED_ZXID`]) or not (`None`).
    /// A follow-only participant votes as any other, but it never wins:
    ///
    /// - its own vote is `(me, zxid, FOLLOW_ONLY_EPOCH)`, which every vote of
    ///   a ZooKeeper server or an ordinary zkelect peer beats by the total
    ///   order (their peer epochs are 0 and up), so nobody adopts it, and
    ///   ZooKeeper, which only ignores zxid −1, still counts it;
    /// - it adopts neither a vote naming itself (one from an earlier life)
    ///   nor another follow-only peer's own vote;
    /// - it never decides to lead: neither on its own vote (a quorum of
    ///   follow-only peers alone) nor on decided peers naming it.
    ///
    /// What the others compute does not change: they see a voter whose
    /// vote always loses and which then votes as they do. An observer is
    /// not affected. Set during an election, it replaces my own vote at once
    /// (if I still propose myself) and returns the notifications of the new
    /// proposal.
    pub fn set_follow_only(&mut self, zxid: Option<Zxid>) -> Vec<Action> {
        self.follow_only = zxid;
        let my = self.settings.my_sid;
        if self.round.is_none() || !self.follow_only_applies() {
            return Vec::new();
        }
        let was_mine = self.proposal.leader == my;
        self.init = Proposal::new(my, zxid.unwrap_or(NO_VOTE), FOLLOW_ONLY_EPOCH);
        if was_mine && self.proposal != self.init {
            self.proposal = self.init;
            if let Some(r) = self.round.as_mut() {
                r.finalize_deadline = None;
            }
            return self.notifications();
        }
        Vec::new()
    }

    /// The follow-only zxid ([`Fle::set_follow_only`]), if set.
    pub fn follow_only(&self) -> Option<Zxid> {
        self.follow_only
    }

    /// Whether follow-only changes my votes: set, and I am a participant
    /// and a voter.
    fn follow_only_applies(&self) -> bool {
        self.follow_only.is_some()
            && self.settings.learner_type == LearnerType::Participant
            && self.qv.is_voter(self.settings.my_sid)
    }

    /// Whether I may take `p` as my proposal: always, unless follow-only
    /// forbids it (a vote naming me, or another follow-only peer's own
    /// vote).
    fn adoptable(&self, p: Proposal) -> bool {
        !self.follow_only_applies()
            || (p.leader != self.settings.my_sid && !is_follow_only_vote(p.zxid, p.epoch))
    }

    /// Whether a decision to lead is forbidden (follow-only).
    fn may_not_lead(&self, leader: Sid) -> bool {
        self.follow_only.is_some() && leader == self.settings.my_sid
    }

    /// Before the first start: the first election's round will be above
    /// `round` (a round high-water mark kept across restarts), so that
    /// answers to an earlier incarnation of this peer, which name earlier
    /// rounds, are not taken for answers to this one (spec 5.9's
    /// `logicalclock == E` check for my own leadership then rejects them).
    pub fn resume_round(&mut self, round: i64) {
        if !self.started {
            self.logicalclock = self.logicalclock.max(round);
        }
    }

    /// Tracks a proposed config as well (spec 7.4); it only counts when its
    /// version is higher than the committed one.
    pub fn set_next_config(&mut self, next: Option<Arc<QuorumVerifier>>) {
        self.next_qv = next.filter(|n| n.version() > self.qv.version());
        self.voters = self.qv.voters().clone();
        if let Some(n) = &self.next_qv {
            self.voters.extend(n.voters().iter().copied());
        }
    }

    /// My sid.
    pub fn my_sid(&self) -> Sid {
        self.settings.my_sid
    }

    /// My state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// My current vote: the last decision, or my initial vote before the
    /// first one.
    pub fn current_vote(&self) -> Vote {
        self.current_vote
    }

    /// My round counter.
    pub fn logicalclock(&self) -> i64 {
        self.logicalclock
    }

    /// My current proposal (leader, zxid, peer epoch).
    pub fn proposal(&self) -> Proposal {
        self.proposal
    }

    /// The committed quorum verifier.
    pub fn quorum(&self) -> &QuorumVerifier {
        &self.qv
    }

    /// Whether `sid` is in the current-and-next voters.
    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(&sid)
    }

    /// The sids my notifications go to (current-and-next voters, including
    /// me when I vote).
    pub fn voters(&self) -> &BTreeSet<Sid> {
        &self.voters
    }

    /// What the reply rules read (spec 5.11).
    pub fn view(&self) -> View {
        View {
            state: self.state,
            current_vote: self.current_vote,
            logicalclock: self.logicalclock,
            proposal: self.proposal,
        }
    }

    /// When the driver must call [`Fle::on_timeout`], if an election runs.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.round
            .as_ref()
            .map(|r| r.finalize_deadline.unwrap_or(r.poll_deadline))
    }

    /// Rewrites the peer epoch of my current vote after the new epoch is
    /// established, keeping zxid and round (ZooKeeper's `updateElectionVote`,
    /// spec 4).
    pub fn update_peer_epoch(&mut self, epoch: i64) {
        self.current_vote.peer_epoch = epoch;
    }

    /// Marks voter `sid` known down (`down`) or not, for early finalize
    /// only (see [Early finalize](Fle#early-finalize)): a known-down voter
    /// need not have voted like me for me to decide before the finalize wait
    /// ends. Nothing else reads it: the notifications I send, the quorums I
    /// count and the replies I give do not change.
    ///
    /// The leadership layer sets it for a voter that announced it is
    /// stopping, whose death is proven (for example its lock in a shared
    /// `dataDir` could be taken), or whose connection is down and whose
    /// reconnects are refused; it clears it (`down = false`) when that stops
    /// being true. The mark survives elections. Any notification from `sid`
    /// clears it by itself ([`Fle::receive`], [`Fle::on_notification`]): a
    /// voter that speaks is up. A driver that does not pass a voter's
    /// message to either (a message the reply rules do not deliver) should
    /// clear the mark itself, and a driver that takes a voter's message for
    /// its announcement that it stops should mark it *after* passing that
    /// message on.
    ///
    /// Marking a voter down while a finalize wait runs re-checks the early
    /// condition, and may end the election at `now`: the returned actions
    /// are then that [`Action::Decided`], to be applied like those of any
    /// other input. Otherwise, and always when clearing the mark, nothing is
    /// returned. Marking myself is ignored (I am up).
    #[must_use = "marking a voter down may decide the election"]
    pub fn set_known_down(&mut self, now: Duration, sid: Sid, down: bool) -> Vec<Action> {
        if sid == self.settings.my_sid {
            return Vec::new();
        }
        if !down {
            self.known_down.remove(&sid);
            return Vec::new();
        }
        if !self.known_down.insert(sid) || !self.finalizing() {
            return Vec::new();
        }
        if self.early_finalize && self.early_condition() {
            self.decide_early(now)
        } else {
            Vec::new()
        }
    }

    /// The voters marked known down ([`Fle::set_known_down`]) and not heard
    /// from since.
    pub fn known_down(&self) -> &BTreeSet<Sid> {
        &self.known_down
    }

    /// Turns early finalize on (the default) or off. Off, the machine
    /// behaves as ZooKeeper's: every LOOKING-path decision waits the full
    /// finalize wait. It takes effect from the next input.
    pub fn set_early_finalize(&mut self, on: bool) {
        self.early_finalize = on;
    }

    /// Whether early finalize is on ([`Fle::set_early_finalize`]).
    pub fn early_finalize(&self) -> bool {
        self.early_finalize
    }

    /// Starts an election (`lookForLeader`, spec 5.2) with the zxid and epoch
    /// this host reports. The first start also sets my current vote to my
    /// initial vote (spec 4); later starts keep the last decision as current
    /// vote until the next one, as ZooKeeper does.
    pub fn start(&mut self, now: Duration, last_zxid: Zxid, current_epoch: i64) -> Vec<Action> {
        let my = self.settings.my_sid;
        if !self.started {
            self.started = true;
            self.current_vote = Vote::looking(my, last_zxid, -1, current_epoch);
        }
        self.state = ServerState::Looking;
        self.logicalclock = self.logicalclock.saturating_add(1);
        let participant = self.settings.learner_type == LearnerType::Participant;
        self.init = Proposal::new(
            if self.qv.is_voter(my) { my } else { NO_VOTE },
            if participant { last_zxid } else { NO_VOTE },
            if participant { current_epoch } else { NO_VOTE },
        );
        if let Some(z) = self.follow_only.filter(|_| self.follow_only_applies()) {
            self.init = Proposal::new(my, z, FOLLOW_ONLY_EPOCH);
        }
        self.proposal = self.init;
        let t = self.settings.min_notification_interval;
        self.round = Some(Round {
            recvset: BTreeMap::new(),
            outofelection: BTreeMap::new(),
            not_timeout: t,
            poll_deadline: now + t,
            finalize_deadline: None,
            agreed: BTreeSet::new(),
            agreed_on: (NO_VOTE, NO_VOTE, NO_VOTE, NO_VOTE),
            started: now,
        });
        self.notifications()
    }

    /// Stops any election in progress without a decision.
    pub fn stop(&mut self) {
        self.round = None;
        self.proposal = Proposal::UNSET;
    }

    #[doc(hidden)] // only the simulations (tests) drive the machine this way
    /// Handles one incoming message from `from` the way ZooKeeper's receive
    /// thread and election loop together would: the reply rules first, then,
    /// while LOOKING, the election step. Whatever it is, it clears a known-down
    /// mark on `from` ([`Fle::set_known_down`]).
    pub fn receive(&mut self, now: Duration, from: Sid, msg: &Message) -> Vec<Action> {
        self.known_down.remove(&from);
        let resp = respond(&self.view(), self.is_voter(from), msg);
        let mut out = Vec::new();
        if let Some(reply) = resp.reply {
            out.push(Action::Send {
                to: from,
                msg: reply,
            });
        }
        if resp.deliver {
            out.extend(self.on_notification(now, from, msg));
        }
        out
    }

    /// The election loop's step for one notification taken off its queue
    /// (spec 5.4 c, and 5.9 while finalizing). Call it only for messages the
    /// reply rules delivered; it ignores anything while not LOOKING, except
    /// that it clears a known-down mark on `from` ([`Fle::set_known_down`]).
    /// While finalizing it may decide at once ([early
    /// finalize](Fle#early-finalize)).
    pub fn on_notification(&mut self, now: Duration, from: Sid, msg: &Message) -> Vec<Action> {
        self.known_down.remove(&from);
        if self.state != ServerState::Looking {
            return Vec::new();
        }
        // A vote follow-only may not adopt is not "better" for me.
        let offered = Proposal::of(msg);
        let better = total_order(&self.qv, offered, self.proposal) && self.adoptable(offered);
        let agrees = self.agrees(from, msg);
        let early = self.early_finalize;
        let Some(round) = self.round.as_mut() else {
            return Vec::new();
        };
        if round.finalize_deadline.is_some() {
            // Spec 5.9: only a better vote interrupts the wait; anything else
            // is consumed. The wait does not restart on a discarded message
            // (ZooKeeper's poll loop would), so chatter cannot delay a decision.
            if !better {
                if early && agrees {
                    self.note_agreement(from);
                    if self.early_condition() {
                        return self.decide_early(now);
                    }
                }
                return Vec::new();
            }
            round.finalize_deadline = None;
        }
        round.poll_deadline = now + round.not_timeout;
        if !self.is_voter(from) || !self.is_voter(msg.leader) {
            return Vec::new();
        }
        match msg.server_state() {
            Some(ServerState::Looking) => self.on_looking(now, from, msg),
            Some(ServerState::Following) | Some(ServerState::Leading) => {
                self.on_decided_vote(now, from, msg)
            }
            Some(ServerState::Observing) | None => Vec::new(),
        }
    }

    /// The notification timeout fired (spec 5.4 b), or the finalize wait ended
    /// (spec 5.9). `have_delivered` is the transport's "some send queue is
    /// empty".
    pub fn on_timeout(&mut self, now: Duration, have_delivered: bool) -> Vec<Action> {
        let max = self.settings.max_notification_interval;
        let Some(round) = self.round.as_mut() else {
            return Vec::new();
        };
        if let Some(fd) = round.finalize_deadline {
            if now < fd {
                return Vec::new();
            }
            return self.decide_on_proposal(now);
        }
        if now < round.poll_deadline {
            return Vec::new();
        }
        round.not_timeout = (round.not_timeout * 2).min(max);
        round.poll_deadline = now + round.not_timeout;
        if have_delivered {
            self.notifications()
        } else {
            vec![Action::ConnectAll]
        }
    }

    fn notifications(&self) -> Vec<Action> {
        let msg = self.proposal.looking(self.logicalclock);
        self.voters
            .iter()
            .map(|&to| Action::Send { to, msg })
            .collect()
    }

    fn verifiers(&self) -> Vec<Arc<QuorumVerifier>> {
        let mut v = vec![self.qv.clone()];
        v.extend(self.next_qv.clone());
        v
    }

    fn on_looking(&mut self, now: Duration, from: Sid, msg: &Message) -> Vec<Action> {
        // ZooKeeper checks the *initial-vote* zxid: an observer proposes
        // i64::MIN and never abstains.
        if self.init.zxid == -1 || msg.zxid == -1 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let offered = Proposal::of(msg);
        if msg.election_epoch > self.logicalclock {
            self.logicalclock = msg.election_epoch;
            if let Some(r) = self.round.as_mut() {
                r.recvset.clear();
            }
            // Against my *initial* vote, not my current proposal (spec 5.4 c 2).
            self.proposal = if total_order(&self.qv, offered, self.init) && self.adoptable(offered)
            {
                offered
            } else {
                self.init
            };
            out.extend(self.notifications());
        } else if msg.election_epoch < self.logicalclock {
            return out;
        } else {
            if total_order(&self.qv, offered, self.proposal) && self.adoptable(offered) {
                self.proposal = offered;
                out.extend(self.notifications());
            }
        }
        let round_vote = Vote::looking(
            offered.leader,
            offered.zxid,
            msg.election_epoch,
            offered.epoch,
        );
        let p = self.proposal;
        let cmp = Vote::looking(p.leader, p.zxid, self.logicalclock, p.epoch);
        let verifiers = self.verifiers();
        let vrefs: Vec<&QuorumVerifier> = verifiers.iter().map(|v| &**v).collect();
        let quorum = {
            let round = self.round.as_mut().expect("looking without a round");
            round.recvset.insert(from, round_vote);
            has_all_quorums(&vrefs, &round.recvset, &cmp)
        };
        if self.agrees(from, msg) {
            self.note_agreement(from);
        }
        if quorum && !self.may_not_lead(p.leader) {
            let wait = self.settings.finalize_wait;
            if wait.is_zero() {
                out.extend(self.decide_on_proposal(now));
            } else if self.early_finalize && self.early_condition() {
                out.extend(self.decide_early(now));
            } else {
                let round = self.round.as_mut().expect("looking without a round");
                round.finalize_deadline = Some(now + wait);
            }
        }
        out
    }

    /// Whether a finalize wait runs.
    pub fn finalizing(&self) -> bool {
        self.state == ServerState::Looking
            && self
                .round
                .as_ref()
                .is_some_and(|r| r.finalize_deadline.is_some())
    }

    /// Whether `msg` from `from` is what the LOOKING path would record as a
    /// vote equal to my proposal in this round: a valid sender and leader
    /// (spec 5.4 c), neither zxid -1 (5.4 c 1), my round, and leader, zxid
    /// and peer epoch equal to my proposal's (5.6).
    fn agrees(&self, from: Sid, msg: &Message) -> bool {
        msg.server_state() == Some(ServerState::Looking)
            && self.is_voter(from)
            && self.is_voter(msg.leader)
            && self.init.zxid != -1
            && msg.zxid != -1
            && Proposal::of(msg) == self.proposal
            && msg.election_epoch == self.logicalclock
    }

    /// My proposal and round, as `Round::agreed_on` names them.
    fn agreement_key(&self) -> (Sid, Zxid, i64, i64) {
        let p = self.proposal;
        (p.leader, p.zxid, self.logicalclock, p.epoch)
    }

    /// `from` sent a LOOKING vote equal to my proposal in my round.
    fn note_agreement(&mut self, from: Sid) {
        let key = self.agreement_key();
        let Some(round) = self.round.as_mut() else {
            return;
        };
        if round.agreed_on != key {
            round.agreed.clear();
            round.agreed_on = key;
        }
        round.agreed.insert(from);
    }

    /// Early finalize's condition ([`Fle`]'s docs): every required voter
    /// sent a LOOKING vote equal to my proposal in my round, and those that
    /// did are a quorum in every tracked config.
    fn early_condition(&self) -> bool {
        let key = self.agreement_key();
        let Some(agreed) = self
            .round
            .as_ref()
            .filter(|r| r.agreed_on == key)
            .map(|r| &r.agreed)
        else {
            return false;
        };
        let required = self
            .voters
            .iter()
            .filter(|sid| !self.known_down.contains(sid) && self.qv.weight(**sid) != 0);
        for sid in required {
            if !agreed.contains(sid) {
                return false;
            }
        }
        self.verifiers().iter().all(|qv| {
            let mine: BTreeSet<Sid> = agreed.iter().copied().filter(|s| qv.is_voter(*s)).collect();
            qv.contains_quorum(&mine)
        })
    }

    fn on_decided_vote(&mut self, now: Duration, from: Sid, msg: &Message) -> Vec<Action> {
        let Some(full) = msg.to_vote() else {
            return Vec::new();
        };
        if self.may_not_lead(msg.leader) {
            // Follow-only: decided peers naming me (from an earlier life)
            // cannot make me lead.
            return Vec::new();
        }
        let my = self.settings.my_sid;
        let verifiers = self.verifiers();
        let vrefs: Vec<&QuorumVerifier> = verifiers.iter().map(|v| &**v).collect();
        let logicalclock = self.logicalclock;
        let round = self.round.as_mut().expect("looking without a round");
        if msg.election_epoch == logicalclock {
            // Stored with version 0, so it matches the comparison vote on the
            // leader id alone (spec 5.6).
            round.recvset.insert(from, Vote { version: 0, ..full });
            if has_all_quorums(&vrefs, &round.recvset, &full)
                && check_leader(
                    &round.recvset,
                    msg.leader,
                    msg.election_epoch,
                    my,
                    logicalclock,
                )
            {
                return self.decide_on(now, msg);
            }
        }
        round.outofelection.insert(from, full);
        if has_all_quorums(&vrefs, &round.outofelection, &full)
            && check_leader(
                &round.outofelection,
                msg.leader,
                msg.election_epoch,
                my,
                logicalclock,
            )
        {
            self.logicalclock = msg.election_epoch;
            return self.decide_on(now, msg);
        }
        Vec::new()
    }

    fn decide_on_proposal(&mut self, now: Duration) -> Vec<Action> {
        let p = self.proposal;
        let vote = Vote::looking(p.leader, p.zxid, self.logicalclock, p.epoch);
        self.finish(now, vote)
    }

    fn decide_on(&mut self, now: Duration, msg: &Message) -> Vec<Action> {
        let vote = Vote::looking(msg.leader, msg.zxid, msg.election_epoch, msg.peer_epoch);
        self.finish(now, vote)
    }

    /// [`Fle::decide_on_proposal`] by early finalize.
    fn decide_early(&mut self, now: Duration) -> Vec<Action> {
        let mut acts = self.decide_on_proposal(now);
        for a in &mut acts {
            if let Action::Decided(d) = a {
                d.early = true;
            }
        }
        acts
    }

    fn finish(&mut self, now: Duration, vote: Vote) -> Vec<Action> {
        let state = if vote.leader == self.settings.my_sid {
            ServerState::Leading
        } else if self.settings.learner_type == LearnerType::Participant {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        let started = self.round.take().map(|r| r.started).unwrap_or(now);
        self.state = state;
        // The stored vote is reported with my state; ZooKeeper's returned
        // vote is LOOKING-typed but only its fields travel.
        self.current_vote = Vote { state, ..vote };
        vec![Action::Decided(Decision {
            state,
            vote: self.current_vote,
            elapsed: now.saturating_sub(started),
            early: false,
        })]
    }
}
