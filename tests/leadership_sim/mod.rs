//! A deterministic discrete-event simulator for `zkelect`'s leadership layer:
//! whole ensembles of [`Core`] machines (FastLeaderElection plus
//! confirmation, heartbeats, step-down and re-election) driven through their
//! public sans-I/O API, the same code the runtime runs.
//!
//! The simulator plays:
//! - **the network**, modelled on the election transport: per directed link
//!   FIFO (TCP) with a random delay per message; while faults last, random
//!   loss (the transport's queues drop messages) and longer delays. A cut
//!   link is a black hole that produces no connection event; it keeps the
//!   newest message (the send queue of one) and delivers it when the link
//!   heals. A link *reset* drops what is in flight and raises
//!   `Disconnected` at both ends (each within `cnx_skew`), then `Connected`
//!   after a random time. A crash closes the crashed peer's sockets:
//!   `Disconnected` at every peer its FIN reaches (links not cut).
//! - **the durable store** of each zkelect peer ([`Core::durable`], booted
//!   with what its disk holds): an [`Output::Persist`] completes after a
//!   random delay (FIFO per peer, [`Params::store_delay`]) as an event of
//!   that incarnation; only then does the disk hold it and the machine
//!   learn it ([`Core::on_persisted`]; while paused, on resuming). A crash
//!   before loses the write (a crash between accept and store), a crash
//!   after keeps it. While faults last a store may fail
//!   ([`Params::store_fail_p`]). Peers without a store ([`Core::new`],
//!   [`Spec::store`]) forget everything in a crash and are quarantined at
//!   every start.
//! - **the hosts**: they report the epoch they booted with first
//!   (`set_epoch`) and sometimes call `restart_election`.
//! - **the clocks**: every call into a machine takes its peer's own clock
//!   ([`Clock`]): a rate ([`Spec::clock_ppm`], drift) and an offset. The
//!   offset is zero (the runtime's CLOCK_BOOTTIME counts suspend) unless
//!   [`Params::monotonic_clock_bug`] simulates a runtime on
//!   CLOCK_MONOTONIC, whose clock falls behind by every suspend, or a
//!   [`Control::Jump`] moves it. Timers fire when the peer's clock reads
//!   their deadline; leases are compared in simulated (real) time.
//! - **the runtime between machine and host**: the lease the host sees
//!   ([`Node::published`], `Peer::lease_deadline`) is what the runtime
//!   publishes, at each event and after acting on an input's outputs;
//!   [`Control::Freeze`] pauses a process part-way through acting on a
//!   decision (between the machine's return and its sends, events and
//!   that publication).
//! - **the fault injector**: crashes and reboots (a new [`Core`]), crashes
//!   at the worst moment (just before or after a store of a new epoch
//!   completes, [`Control::CrashAtStore`]), pauses (SIGSTOP: everything for
//!   the peer waits, then is handled at once on resume, timers first),
//!   system suspends ([`Control::Suspend`]: a pause of a given length that
//!   the clock counts, or not with the clock bug), clean, partial and
//!   one-way partitions, resets, loss, failing stores, and a stranded
//!   leader whose last follower bounces ([`Control::Strand`]: the leader
//!   keeps a smallest quorum, peers without a store first; once the
//!   others' promises ran out, just after one of those followers
//!   acknowledges, the leader is cut off entirely and the followers
//!   without a store crash and are back within a quarter tick, so that a
//!   restart that forgets its promise lets the others confirm a successor
//!   inside the old lease); and attacks aimed at the lease: a follower
//!   that crashes right after an acknowledgement and is back at once
//!   ([`Control::CrashAfterAck`]), a partition that isolates the leader
//!   just after a heartbeat ([`Control::IsolateAfterHeartbeat`]), reports
//!   delayed up to just under D_L and then the leader's links out cut
//!   ([`Control::DelayReports`]).
//! - **the fail-over paths**, each with its real-world meaning:
//!   - *graceful stop* ([`Control::Stop`]): [`Core::stop`]; its last
//!     events and its departure notice go out like any message, then the
//!     process lives on for [`Params::stop_linger`] without taking input
//!     (its lease, if a broken `stop` kept one, still counts) and exits;
//!     a restart waits for the exit;
//!   - *crash and restart* ([`Control::Kill`], [`Control::Crash`]): a peer
//!     with a store boots with what its disk holds, so it starts above its
//!     stored round; never while the earlier process runs;
//!   - *hosts* ([`Spec::host`], [`Control::Move`]): each peer with a store
//!     holds a lock in its host's `dataDir` while it runs, recording the
//!     epoch of its last completed store (0 at boot). When a connection
//!     to a peer it follows or promised breaks, a peer with a store on the
//!     same host tries that lock, at once and then every
//!     [`Params::death_poll`] while the connection is down: free (its
//!     process died, stopped, or runs on another host now and left the file
//!     behind), it gives [`Core::on_peer_dead`] with the recorded epoch;
//!   - *refused connections* ([`Core::on_refused`]): a connection attempt
//!     (a send without a connection, [`Output::Connect`],
//!     [`Output::ConnectAll`]) to a peer whose process is down on a running
//!     host, or that is behind a firewall, comes back refused a round trip
//!     later; a black-holed link lets it time out;
//!   - *firewalls* ([`Control::Wall`]): a live peer's connections break
//!     (it may notice or not) and attempts to it are refused while it runs
//!     on, may keep leading, and cannot be reached.
//! - **the mode** ([`Params::mode`]): lease (the default) or fencing.
//! - **legacy peers**: a plain [`Fle`] with ZooKeeper's reply rules and
//!   nothing else, standing for a real ZooKeeper server (no heartbeats).
//!
//! Checked on every event:
//! - after every event, no two hosts see an unexpired lease (each read on
//!   its machine's clock, compared in real time; lease mode only);
//! - after any input that leaves a peer [leading](Core::leads_at) by its
//!   own clock, no other peer leads at that instant, leases compared in
//!   simulated time (a lease starts at a confirmation and only grows when
//!   its leader handles an input, so no two peers ever lead at once); and
//!   at every confirmation, no other peer leads (lease mode only:
//!   [`Params::check_single_leader`]);
//! - no two leaders are ever confirmed with the same epoch, and confirmed
//!   epochs strictly increase in time (with a store at every peer,
//!   [`Params::check_epochs`]);
//! - every confirmed epoch is on the disk of a quorum (peers without a
//!   store count as holding it, [`Params::check_stored_quorum`]): no
//!   acknowledgement, and no count of myself, before the store;
//! - per peer and incarnation, the event order guarantees; epochs of
//!   `Leading`/`Following`/`Observing` never decrease and strictly
//!   increase when the leader changes; `EpochAccepted` epochs strictly
//!   increase; [`Core::accepted_epoch`] and [`Core::stored`] never go back,
//!   `stored()` never exceeds the disk, and a boot starts from the disk;
//! - a deadline left due after `on_timeout` (the runtime would busy-loop)
//!   is counted, not failed ([`Sim::spins`]);
//! - promises released before they ran out are counted by what released
//!   them ([`Sim::releases`]), not failed: the invariants above are what
//!   must catch a wrong release.
//!
//! Everything is a function of the seed: events are ordered by (time,
//! sequence number) and all randomness comes from seeded splitmix64
//! streams. The event heap, the links and the trace are the shared
//! engine's (`tests/support/sim_engine.rs`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;
use zkelect::election::{Action, Fle, Message, Settings};
use zkelect::leadership::{
    Core, Durable, Event, FollowOnly, LossReason, Mode, Output, Role, Timing,
};
use zkelect::quorum::{Majority, QuorumVerifier};
use zkelect::types::{LearnerType, ServerState, Sid, Zxid};

/// How often a busy election thread calls `on_timeout` in the model.
const SPIN: Duration = Duration::from_millis(1);

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[path = "../support/rng.rs"]
mod rng;
pub use rng::Rng;

#[path = "../support/sim_engine.rs"]
pub mod engine;
pub use engine::Clock;
use engine::{Links, Queue, TraceRing};

impl Rng {
    /// This simulator's stream for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng::salted(seed, 0x1EAD_E125_41B0_0C4D)
    }
}

/// One simulated server.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its sid.
    pub sid: Sid,
    /// An observer (never a voter).
    pub observer: bool,
    /// A legacy peer: FLE only, no leadership layer (a real ZooKeeper).
    pub legacy: bool,
    /// Last logged zxid.
    pub zxid: Zxid,
    /// Epoch at first boot: what its durable store holds (a zkelect peer
    /// with a store), or the epoch its host reports (legacy peers, and the
    /// host's `set_epoch` of a zkelect peer).
    pub epoch: i64,
    /// A zkelect peer with a durable store ([`Core::durable`]); without one
    /// ([`Core::new`]) every start is quarantined and nothing survives a
    /// crash.
    pub store: bool,
    /// When it first boots; `None` leaves it to the test.
    pub boot_at: Option<Duration>,
    /// The machine it runs on at first boot ([`Control::Move`] changes
    /// it). Peers of one host with a store share its `dataDir`, where each
    /// holds its lock while it runs (see [`Sim::probe`]). By default every
    /// peer is on a host of its own (its sid).
    pub host: u32,
    /// How fast its machine's clock runs, in parts per million away from
    /// simulated time (0: exact).
    pub clock_ppm: i64,
    /// A zkelect peer's `followOnly` setting.
    pub follow_only: FollowOnly,
}

impl Spec {
    /// A zkelect participant with zxid 0 and epoch 0, booting at 0.
    pub fn voter(sid: Sid) -> Spec {
        Spec {
            sid,
            observer: false,
            legacy: false,
            zxid: 0,
            epoch: 0,
            store: true,
            boot_at: Some(Duration::ZERO),
            host: sid as u32,
            clock_ppm: 0,
            follow_only: FollowOnly::Auto,
        }
    }
}

/// Timers and network.
#[derive(Debug, Clone)]
pub struct Params {
    /// tickTime.
    pub tick: Duration,
    /// initLimit.
    pub init_limit: u32,
    /// syncLimit.
    pub sync_limit: u32,
    /// finalizeWait.
    pub finalize: Duration,
    /// minNotificationInterval.
    pub min_notification: Duration,
    /// maxNotificationInterval.
    pub max_notification: Duration,
    /// Delay range of a message on a healthy network.
    pub delay: (Duration, Duration),
    /// Delay range while faults last.
    pub fault_delay: (Duration, Duration),
    /// Loss probability per message while faults last.
    pub drop_p: f64,
    /// How late each end sees a connection event.
    pub cnx_skew: Duration,
    /// Faults (loss, long delays) stop here; the test heals the rest.
    pub faults_until: Duration,
    /// A run with more events fails (a storm or a livelock).
    pub max_events: u64,
    /// How long a durable store takes to write and fsync (FIFO per peer).
    pub store_delay: (Duration, Duration),
    /// Probability that a store fails (disk full, read-only) while faults
    /// last.
    pub store_fail_p: f64,
    /// Simulate a broken runtime whose clock stops during system suspend
    /// (CLOCK_MONOTONIC instead of CLOCK_BOOTTIME): a suspended peer's
    /// clock falls behind by the length of the suspend.
    pub monotonic_clock_bug: bool,
    /// Check that every confirmed epoch is stored at a quorum (peers
    /// without a store count as storing it); off to see what the other
    /// invariants catch on their own.
    pub check_stored_quorum: bool,
    /// Check the cross-peer epoch rules (one leader per confirmed epoch,
    /// confirmed epochs increasing). They rest on durable accepted epochs:
    /// an ensemble with peers without a store only keeps "never two
    /// leaders at once".
    pub check_epochs: bool,
    /// Check that no two peers lead at once (the lease). Off in
    /// [`Mode::Fencing`], where two leaders may overlap in time and only
    /// the epoch rules hold.
    pub check_single_leader: bool,
    /// The leadership mode of every zkelect peer.
    pub mode: Mode,
    /// How long a gracefully stopped process lives on after
    /// [`Core::stop`] (the runtime waits for the host to see the last
    /// events and for the departure notice to be written, then exits); it
    /// takes no input meanwhile, and its lease, if a broken `stop` left
    /// one, still counts.
    pub stop_linger: (Duration, Duration),
    /// How often a peer that watches a peer's lock looks again (the
    /// runtime's `DEATH_POLL`).
    pub death_poll: Duration,
    /// Scales every [`Spec::clock_ppm`] (the random runs' tweak for
    /// drift beyond the margin); 1 leaves them.
    pub drift_scale: f64,
    /// Zab behind legacy peers: a legacy peer that decides to follow a
    /// zkelect peer fails its sync this long after (a real ZooKeeper
    /// server's connection to a zkelect peer's quorum port is refused or
    /// never synced) and looks again, as real servers do. `None`: legacy
    /// followers stay (no Zab model).
    pub zab_fail: Option<Duration>,
}

impl Params {
    /// Tick 100 ms, initLimit 10, syncLimit 5, finalize 50 ms, 1..10 ms
    /// delays, no faults.
    pub fn new() -> Params {
        Params {
            tick: ms(100),
            init_limit: 10,
            sync_limit: 5,
            finalize: ms(50),
            min_notification: ms(50),
            max_notification: ms(400),
            delay: (ms(1), ms(10)),
            fault_delay: (ms(1), ms(10)),
            drop_p: 0.0,
            cnx_skew: ms(5),
            faults_until: Duration::ZERO,
            max_events: 3_000_000,
            store_delay: (Duration::ZERO, ms(3)),
            store_fail_p: 0.0,
            monotonic_clock_bug: false,
            check_stored_quorum: true,
            check_epochs: true,
            check_single_leader: true,
            mode: Mode::Lease,
            stop_linger: (Duration::ZERO, ms(20)),
            death_poll: ms(5),
            drift_scale: 1.0,
            zab_fail: None,
        }
    }

    /// The leadership timers these parameters give.
    pub fn timing(&self) -> Timing {
        Timing::new(self.tick, Some(self.init_limit), Some(self.sync_limit))
            .with_finalize_wait(self.finalize)
    }
}

impl Default for Params {
    fn default() -> Params {
        Params::new()
    }
}

/// What tests and the fault injector schedule.
#[derive(Debug, Clone)]
pub enum Control {
    /// Boot with a new machine (ignored if running).
    Boot(Sid),
    /// Crash: the machine is gone, the stored epoch stays.
    Crash(Sid),
    /// kill -9 of a peer (the confirmed leader if `None`; nothing if there
    /// is none), booted again after the given time (a supervisor's
    /// restart), on the host given if any (rescheduled elsewhere: its
    /// store goes with it, its lock file stays behind).
    Kill(Option<Sid>, Duration, Option<u32>),
    /// Graceful stop ([`Core::stop`]) of a peer (the confirmed leader if
    /// `None`): its last events and departure notice go out, the process
    /// lives on for [`Params::stop_linger`] taking no input, then exits
    /// (its sockets close, its lock is released). Booted again that long
    /// after the exit, if given. A legacy peer just crashes.
    Stop(Option<Sid>, Option<Duration>),
    /// The stopped process exits (internal; for the incarnation given).
    Exit(Sid, u64),
    /// A REJECT firewall on a live peer's machine (the confirmed leader if
    /// `None`) for a while: every connection to or from it breaks (the
    /// others see `Disconnected`; it sees it too if the flag is set, else
    /// it notices nothing), nothing gets through, and connection attempts
    /// to it are refused, while it runs on (it may still lead).
    Wall(Option<Sid>, Duration, bool),
    /// The firewall goes: connections come back.
    Unwall(Sid),
    /// A peer that is down moves to another host (its store goes with it;
    /// its lock file stays behind in the old host's `dataDir`).
    Move(Sid, u32),
    /// SIGSTOP.
    Pause(Sid),
    /// SIGCONT (also ends a suspend).
    Resume(Sid),
    /// The next input of the peer that has outputs pauses it (SIGSTOP, a
    /// long GC) for this long part-way through acting on them: between
    /// the machine's decision and the runtime's sends, events and the
    /// lease its host sees.
    Freeze(Option<Sid>, Duration),
    /// Aimed at the lease: the next acknowledgement that a follower (the
    /// one given, else any follower of the confirmed leader) sends its
    /// leader is followed at once by a crash of that follower, which boots
    /// again within a twentieth of a tick.
    CrashAfterAck(Option<Sid>),
    /// Aimed at the lease: just after the confirmed leader's next
    /// heartbeat, every link to and from it is cut (a black hole, no
    /// connection events) for this long.
    IsolateAfterHeartbeat(Duration),
    /// Aimed at the lease: for the first duration, every report the
    /// confirmed leader's followers send it takes extra time in
    /// `lo..=hi` (the second and third; up to just under D_L); then the
    /// leader's own links out are cut for the fourth, while the delayed
    /// reports still arrive.
    DelayReports(Duration, Duration, Duration, Duration),
    /// Cut these links in addition to what is cut (internal).
    CutMore(BTreeSet<(Sid, Sid)>),
    /// Restore these links (internal).
    Uncut(BTreeSet<(Sid, Sid)>),
    /// The delayed reports of [`Control::DelayReports`] end (internal).
    EndDelay,
    /// The peer's clock jumps forward by this much (an NTP step of a
    /// clock that should be monotonic, or a suspend counted at once).
    Jump(Sid, Duration),
    /// System suspend of the peer's machine for a while: like a pause,
    /// but its runtime's clock (CLOCK_BOOTTIME) counts the time, unless
    /// [`Params::monotonic_clock_bug`], where it falls behind by as much.
    Suspend(Sid, Duration),
    /// Crash at the worst moment: at the peer's next store of a new
    /// epoch, crash it shortly before or after the store completes, and
    /// boot it again a little later.
    CrashAtStore(Sid),
    /// The host calls `restart_election`.
    Restart(Sid),
    /// Strand the confirmed leader, then bounce its last follower (see
    /// [`Sim::strand`]): cut the leader off from all but a smallest quorum
    /// of its followers (peers without a store among them first); once the
    /// others' promises have run out, at the next acknowledgement of one
    /// of them, cut the leader off entirely and crash and reboot at once
    /// that follower and every other follower without a store it kept. A
    /// peer that forgets a promise in the crash (no quarantine) would help
    /// the others confirm a successor while the stranded leader still
    /// counts it. Without a confirmed leader it tries again a tick later.
    Strand,
    /// Replace the set of cut directed links.
    Cut(BTreeSet<(Sid, Sid)>),
    /// Reset the connection between two peers.
    Reset(Sid, Sid),
}

#[derive(Debug, Clone)]
enum Ev {
    Deliver {
        from: Sid,
        to: Sid,
        msg: Message,
        inc: u64,
        gen: u64,
        /// The sender's incarnation when it sent.
        src_inc: u64,
    },
    /// A connection attempt of `sid` to `peer` comes back refused (if it
    /// still is: [`Sim::refusing`]).
    Refused {
        sid: Sid,
        peer: Sid,
        inc: u64,
    },
    /// `sid` looks at the lock of the peer it watches ([`Sim::probe`]).
    Probe {
        sid: Sid,
        inc: u64,
        gen: u64,
    },
    Timer {
        sid: Sid,
        inc: u64,
        at: Duration,
    },
    Cnx {
        sid: Sid,
        peer: Sid,
        up: bool,
        inc: u64,
    },
    /// A store of `d` completes (the disk part; the process learns it
    /// when it runs).
    Stored {
        sid: Sid,
        inc: u64,
        d: Durable,
        ok: bool,
    },
    /// The process learns that the store of `d` completed.
    Persisted {
        sid: Sid,
        inc: u64,
        d: Durable,
        ok: bool,
    },
    /// A legacy follower of a zkelect leader fails its Zab sync
    /// ([`Params::zab_fail`]), if it still follows in election `round`.
    ZabFail {
        sid: Sid,
        inc: u64,
        round: i64,
    },
    /// A legacy leader checks that a quorum of legacy peers follows it
    /// (Zab: zkelect peers never sync), as a real leader does after
    /// `initLimit` ticks and every tick after; else it looks again.
    ZabLead {
        sid: Sid,
        inc: u64,
    },
    Control(Control),
}

/// A running machine: zkelect or legacy.
#[derive(Debug, Clone)]
pub enum Machine {
    /// FLE and the leadership layer.
    Zk(Box<Core>),
    /// FLE only (a real ZooKeeper server's election).
    Legacy(Box<Fle>),
}

/// Per-incarnation bookkeeping of the event order guarantees.
#[derive(Debug, Clone, Default)]
struct Order {
    elected_open: bool,
    leading: Option<i64>,
    top_epoch: Option<i64>,
    /// The leader of the last Leading/Following/Observing event (me for
    /// Leading) and its epoch.
    last_leader: Option<(Sid, i64)>,
    /// The highest accepted epoch and stored state the machine reported.
    accepted: i64,
    stored: Durable,
}

/// One simulated server.
#[derive(Debug, Clone)]
pub struct Node {
    /// How it was configured.
    pub spec: Spec,
    /// Its machine while it runs.
    pub machine: Option<Machine>,
    /// Bumped on boot and crash: stale deliveries and timers are dropped.
    pub inc: u64,
    /// Paused (SIGSTOP).
    pub paused: bool,
    backlog: VecDeque<Ev>,
    /// What its durable store holds (written and fsynced); for legacy
    /// peers and peers without a store, the epoch their host reports.
    pub disk: Durable,
    /// When the last store in flight completes (stores are FIFO).
    store_busy: Duration,
    /// Since when its machine is suspended.
    suspended_since: Option<Duration>,
    /// Its machine's clock: a rate ([`Spec::clock_ppm`]), and an offset
    /// that a suspend with [`Params::monotonic_clock_bug`] or a
    /// [`Control::Jump`] moves; kept across crashes (one machine).
    pub clock: Clock,
    /// The lease its host sees ([`Core::lease_until`] as the runtime
    /// publishes it: at each event and after each input's outputs), on its
    /// clock; `None` while it does not run.
    pub published: Option<Duration>,
    /// Armed by [`Control::Freeze`]: the next input with outputs pauses
    /// the process for this long part-way through acting on them.
    freeze: Option<Duration>,
    /// Outputs of a frozen input not acted on yet (acted on first at
    /// resume), and when the machine decided them.
    deferred: VecDeque<Output>,
    deferred_at: Duration,
    /// Armed by [`Control::CrashAtStore`].
    crash_at_store: bool,
    timer_at: Option<Duration>,
    order: Order,
    /// Every event it emitted: (time, incarnation, event).
    pub events: Vec<(Duration, u64, Event)>,
    /// The host it runs on now.
    pub host: u32,
    /// Stopped gracefully, exits at this time ([`Control::Stop`]).
    pub stopping: Option<Duration>,
    /// While down, whether connection attempts to it are refused (its
    /// host runs, nothing listens on the port); a host that is gone would
    /// let them time out instead.
    refuses: bool,
    /// The peers its connection manager holds a live connection to (as
    /// its machine was told).
    view: BTreeSet<Sid>,
    /// The peer whose lock it watches ([`Sim::probe`]), and a counter that
    /// retires earlier polls.
    watch: Option<Sid>,
    watch_gen: u64,
    /// The election round whose Zab sync failure is scheduled
    /// ([`Params::zab_fail`]).
    zab_failing: Option<i64>,
}

impl Node {
    /// Its leadership machine, if it is a running zkelect peer.
    pub fn core(&self) -> Option<&Core> {
        match &self.machine {
            Some(Machine::Zk(c)) => Some(c),
            _ => None,
        }
    }

    /// Its election machine, if it runs.
    pub fn fle(&self) -> Option<&Fle> {
        match &self.machine {
            Some(Machine::Zk(c)) => Some(c.fle()),
            Some(Machine::Legacy(f)) => Some(f),
            None => None,
        }
    }

    /// Whether it runs (paused counts as running, and so does a stopped
    /// process until it exits).
    pub fn live(&self) -> bool {
        self.machine.is_some()
    }

    /// Whether it holds a lock in its host's `dataDir`: a running zkelect
    /// peer with a store.
    fn locks(&self) -> bool {
        self.spec.store && !self.spec.legacy
    }

    /// Its role, for zkelect peers.
    pub fn role(&self) -> Option<Role> {
        self.core().map(|c| c.role())
    }
}

#[derive(Debug, Clone)]
enum Trace {
    Send {
        from: Sid,
        to: Sid,
        msg: Message,
        fate: &'static str,
    },
    Recv {
        from: Sid,
        to: Sid,
        msg: Message,
    },
    Cnx {
        sid: Sid,
        peer: Sid,
        up: bool,
    },
    Event(Sid, Event),
    Control(Control),
    Persist {
        sid: Sid,
        d: Durable,
    },
    Stored {
        sid: Sid,
        d: Durable,
        ok: bool,
    },
    Refused(Sid, String),
    Note(Sid, String),
}

/// Promises released before they ran out ([`Sim::releases`]), by the
/// input that released them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Releases {
    /// A departure notice (LOOKING, zxid −1) of a leader that stopped.
    pub departure: u64,
    /// The first LOOKING notifications of a restarted leader (a later
    /// incarnation than the one acknowledged).
    pub restart: u64,
    /// A LOOKING notification of a later round from the same incarnation
    /// (it stepped down and looks again).
    pub stepped_down: u64,
    /// A proof of death ([`Core::on_peer_dead`]).
    pub lock: u64,
    /// A refused connection ([`Core::on_refused`]): never, unless broken.
    pub refused: u64,
    /// Any other input.
    pub other: u64,
}

/// What released a promise (see [`Releases`]).
#[derive(Debug, Clone, Copy)]
enum Via {
    Message {
        from: Sid,
        msg: Message,
        src_inc: u64,
    },
    Lock,
    Refused,
    Other,
}

/// A confirmed leadership, as recorded at its `Leading` event.
#[derive(Debug, Clone, Copy)]
pub struct Confirmation {
    /// When.
    pub at: Duration,
    /// Who.
    pub sid: Sid,
    /// Its epoch.
    pub epoch: i64,
}

/// An armed [`Control::Strand`].
#[derive(Debug, Clone)]
struct Strand {
    leader: Sid,
    /// The leader's confirmed epoch.
    epoch: i64,
    /// Whose acknowledgement triggers the bounce.
    follower: Sid,
    /// Who crashes and reboots then.
    bounce: Vec<Sid>,
    /// The leader and the followers it kept.
    kept: BTreeSet<Sid>,
    /// The links that cut it off from the others.
    cut: BTreeSet<(Sid, Sid)>,
    /// The bounce waits for an acknowledgement within `after..=until`.
    after: Duration,
    until: Duration,
}

/// The simulator.
pub struct Sim {
    /// The seed everything derives from.
    pub seed: u64,
    /// The random stream.
    pub rng: Rng,
    /// A second stream, for what the fail-over paths draw (refusals'
    /// round trips, a stopped process's linger), so that the first one
    /// draws what it drew before they were modelled.
    rng2: Rng,
    /// Simulated time.
    pub now: Duration,
    /// The committed config.
    pub qv: Arc<QuorumVerifier>,
    /// The servers.
    pub nodes: BTreeMap<Sid, Node>,
    /// Parameters.
    pub params: Params,
    /// Every confirmation, in time order.
    pub confirmations: Vec<Confirmation>,
    /// Events processed.
    pub events: u64,
    /// Messages sent.
    pub messages: u64,
    /// Stores started ([`Output::Persist`]).
    pub stores: u64,
    /// Calls of `on_timeout` that left the deadline due (see
    /// [`Sim::check_spin`]).
    pub spins: u64,
    /// The first of them: when, who, in what role.
    pub first_spin: Option<(Duration, Sid, String)>,
    /// [`Control::Strand`]s that reached their bounce, and those among
    /// them that bounced a peer without a store.
    pub bounces: (u64, u64),
    /// Promises released before they ran out, by what released them.
    pub releases: Releases,
    /// Refused connection attempts handed to a machine
    /// ([`Core::on_refused`]), and proofs of death ([`Core::on_peer_dead`]).
    pub refusals: u64,
    /// Proofs of death handed to a machine.
    pub deaths: u64,
    /// Peers under a firewall ([`Control::Wall`]).
    walls: BTreeSet<Sid>,
    /// The lock file of each sid in each host's `dataDir`: the epoch it
    /// records (held while that sid runs on that host).
    locks: BTreeMap<(u32, Sid), i64>,
    /// Connection attempts whose refusal is on its way.
    attempts: BTreeSet<(Sid, Sid)>,
    /// For (follower, leader), the leader's incarnation the follower's
    /// last acknowledgement went to.
    acked_inc: BTreeMap<(Sid, Sid), u64>,
    strand: Option<Strand>,
    /// An armed [`Control::CrashAfterAck`]: the follower (or any).
    crash_after_ack: Option<Option<Sid>>,
    /// An armed [`Control::IsolateAfterHeartbeat`]: the leader, how long.
    isolate_after_hb: Option<(Sid, Duration)>,
    /// An active [`Control::DelayReports`]: the leader and the extra delay.
    slow_reports: Option<(Sid, Duration, Duration)>,
    /// While acting on a frozen decision's outputs: when it was made.
    acting_late: Option<Duration>,
    /// Lease attacks that found their moment (crash after ack, isolation
    /// after a heartbeat, delayed reports).
    pub attacks: (u64, u64, u64),
    /// A third stream, for the clocks' rates and the freezes, drawn by
    /// the random runs after everything else.
    pub rng3: Rng,
    queue: Queue<Ev>,
    links: Links<Message>,
    trace: TraceRing<Trace>,
}

impl Sim {
    /// An ensemble of `specs` (observers among them) with majority quorums.
    pub fn new(seed: u64, specs: Vec<Spec>, params: Params) -> Sim {
        let voters: Vec<Sid> = specs
            .iter()
            .filter(|s| !s.observer)
            .map(|s| s.sid)
            .collect();
        let observers: Vec<Sid> = specs.iter().filter(|s| s.observer).map(|s| s.sid).collect();
        let qv = Arc::new(QuorumVerifier::Majority(Majority::new(
            voters, observers, 0,
        )));
        let mut sim = Sim {
            seed,
            rng: Rng::new(seed),
            rng2: Rng::salted(seed, 0x0FA1_10FE_12D0_A5E5),
            now: Duration::ZERO,
            qv,
            nodes: BTreeMap::new(),
            params,
            confirmations: Vec::new(),
            events: 0,
            messages: 0,
            spins: 0,
            first_spin: None,
            bounces: (0, 0),
            releases: Releases::default(),
            refusals: 0,
            deaths: 0,
            walls: BTreeSet::new(),
            locks: BTreeMap::new(),
            attempts: BTreeSet::new(),
            acked_inc: BTreeMap::new(),
            strand: None,
            crash_after_ack: None,
            isolate_after_hb: None,
            slow_reports: None,
            attacks: (0, 0, 0),
            acting_late: None,
            stores: 0,
            rng3: Rng::salted(seed, 0x0C10_C4A7_E5D1_F7A1),
            queue: Queue::default(),
            links: Links::default(),
            trace: TraceRing::new(200),
        };
        for spec in specs {
            if let Some(at) = spec.boot_at {
                sim.schedule(at, Control::Boot(spec.sid));
            }
            let node = Node {
                disk: Durable {
                    epoch: spec.epoch,
                    round: 0,
                },
                store_busy: Duration::ZERO,
                suspended_since: None,
                clock: Clock::at_rate(spec.clock_ppm),
                published: None,
                freeze: None,
                deferred: VecDeque::new(),
                deferred_at: Duration::ZERO,
                crash_at_store: false,
                host: spec.host,
                spec,
                machine: None,
                inc: 0,
                paused: false,
                backlog: VecDeque::new(),
                timer_at: None,
                order: Order::default(),
                events: Vec::new(),
                stopping: None,
                refuses: true,
                view: BTreeSet::new(),
                watch: None,
                watch_gen: 0,
                zab_failing: None,
            };
            sim.nodes.insert(node.spec.sid, node);
        }
        sim
    }

    // ------------------------------------------------------------ running

    /// Schedules a control event.
    pub fn schedule(&mut self, at: Duration, c: Control) {
        self.push(at.max(self.now), Ev::Control(c));
    }

    /// Runs every event up to and including `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Duration) {
        while self.queue.due_by(t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Runs until `pred` holds (checked after every event) or `deadline`;
    /// returns the time it first held.
    pub fn run_until_pred(
        &mut self,
        deadline: Duration,
        mut pred: impl FnMut(&Sim) -> bool,
    ) -> Option<Duration> {
        if pred(self) {
            return Some(self.now);
        }
        while self.queue.due_by(deadline) {
            self.step();
            if pred(self) {
                return Some(self.now);
            }
        }
        self.now = self.now.max(deadline);
        None
    }

    fn step(&mut self) {
        let Some((at, ev)) = self.queue.pop() else {
            return;
        };
        self.now = at;
        self.events += 1;
        if self.events > self.params.max_events {
            self.fail("too many events: a message storm or a livelock");
        }
        match ev {
            Ev::Control(c) => self.control(c),
            Ev::Stored { sid, inc, d, ok } => self.stored(sid, inc, d, ok),
            ev => {
                let sid = match &ev {
                    Ev::Deliver { to, .. } => *to,
                    Ev::Timer { sid, .. }
                    | Ev::Cnx { sid, .. }
                    | Ev::Persisted { sid, .. }
                    | Ev::Refused { sid, .. }
                    | Ev::Probe { sid, .. }
                    | Ev::ZabFail { sid, .. }
                    | Ev::ZabLead { sid, .. } => *sid,
                    Ev::Control(_) | Ev::Stored { .. } => unreachable!(),
                };
                let Some(node) = self.nodes.get_mut(&sid) else {
                    return;
                };
                if node.stopping.is_some() {
                    // The stopped process's election thread has ended: it
                    // takes no more input until it exits.
                    if let Ev::Refused { sid, peer, .. } = ev {
                        self.attempts.remove(&(sid, peer));
                    }
                    return;
                }
                if node.paused {
                    // A stopped process: the kernel keeps what arrives.
                    if !matches!(ev, Ev::Timer { .. }) {
                        node.backlog.push_back(ev);
                    }
                    return;
                }
                self.handle(ev);
            }
        }
        if self.params.check_single_leader {
            self.check_host_leases();
        }
    }

    /// After every event: no two hosts see an unexpired lease at this
    /// instant (each read on its own machine's clock, as
    /// `Peer::lease_deadline` is), whatever their machines believe.
    fn check_host_leases(&self) {
        let mut holder: Option<Sid> = None;
        for (&sid, n) in &self.nodes {
            let Some(u) = n.published else { continue };
            if n.clock.local(self.now) >= u {
                continue;
            }
            if let Some(h) = holder {
                let role = |x: Sid| self.nodes[&x].role();
                self.fail(&format!(
                    "SAFETY: the hosts of sids {h} ({:?}, lease until {:?}) and {sid} ({:?}, lease until {:?}) both see a lease",
                    role(h),
                    self.host_lease(h),
                    role(sid),
                    self.host_lease(sid)
                ));
            }
            holder = Some(sid);
        }
    }

    fn push(&mut self, at: Duration, ev: Ev) {
        self.queue.push(at, ev);
    }

    /// `sid`'s clock now.
    pub fn local(&self, sid: Sid) -> Duration {
        self.nodes[&sid].clock.local(self.now)
    }

    /// Whether `sid` leads now by its own clock ([`Core::leads_at`]).
    pub fn leads(&self, sid: Sid) -> bool {
        let now = self.local(sid);
        self.nodes[&sid].core().is_some_and(|c| c.leads_at(now))
    }

    /// `sid`'s lease in simulated time (when its clock reaches
    /// [`Core::lease_until`]).
    pub fn lease(&self, sid: Sid) -> Option<Duration> {
        let n = &self.nodes[&sid];
        n.core()
            .and_then(|c| c.lease_until())
            .map(|u| n.clock.real(u, Duration::ZERO))
    }

    /// Until when (simulated time) `sid`'s host sees a lease, if it sees
    /// one that has not run out now.
    pub fn host_lease(&self, sid: Sid) -> Option<Duration> {
        let n = &self.nodes[&sid];
        let u = n.published?;
        (n.clock.local(self.now) < u).then(|| n.clock.real(u, Duration::ZERO))
    }

    /// A deadline that is still due after `on_timeout` ran for it: the
    /// runtime's election thread would call `on_timeout` again at once, in
    /// a busy loop, until some input moves it. Modelled as a call every
    /// millisecond, counted in [`Sim::spins`].
    fn check_spin(&mut self, sid: Sid, local: Duration) {
        let node = &self.nodes[&sid];
        let due = match &node.machine {
            Some(Machine::Zk(c)) => c.next_deadline().is_some_and(|d| d <= local),
            Some(Machine::Legacy(f)) => f.next_deadline().is_some_and(|d| d <= local),
            None => false,
        };
        if !due || node.paused {
            return;
        }
        if self.spins == 0 {
            self.first_spin = Some((self.now, sid, format!("{:?}", node.role())));
        }
        self.spins += 1;
        let at = self.now + SPIN;
        let node = self.nodes.get_mut(&sid).expect("node");
        node.timer_at = Some(at);
        let inc = node.inc;
        self.push(at, Ev::Timer { sid, inc, at });
    }

    /// The disk part of a store: what the store of an earlier incarnation
    /// had not finished is lost with it.
    fn stored(&mut self, sid: Sid, inc: u64, d: Durable, ok: bool) {
        let node = self.nodes.get_mut(&sid).expect("node");
        if node.inc != inc {
            return;
        }
        if ok {
            node.disk.epoch = node.disk.epoch.max(d.epoch);
            node.disk.round = node.disk.round.max(d.round);
        }
        let (paused, stopping) = (node.paused, node.stopping.is_some());
        if ok && node.locks() {
            // The runtime records the epoch in its lock file once the
            // store is written.
            let host = node.host;
            self.locks.insert((host, sid), d.epoch);
        }
        self.record(Trace::Stored { sid, d, ok });
        let ev = Ev::Persisted { sid, inc, d, ok };
        if stopping {
            return;
        }
        if paused {
            self.nodes
                .get_mut(&sid)
                .expect("node")
                .backlog
                .push_back(ev);
        } else {
            self.handle(ev);
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver {
                from,
                to,
                msg,
                inc,
                gen,
                src_inc,
            } => {
                if self.nodes[&to].inc != inc || self.links.gen(from, to) != gen {
                    return;
                }
                self.record(Trace::Recv { from, to, msg });
                let now = self.local(to);
                let before = self.promise_of(to);
                let outs = match self.nodes.get_mut(&to).and_then(|n| n.machine.as_mut()) {
                    Some(Machine::Zk(c)) => c.receive(now, from, &msg),
                    Some(Machine::Legacy(f)) => legacy(f.receive(now, from, &msg)),
                    None => return,
                };
                self.note_release(to, before, Via::Message { from, msg, src_inc });
                self.process(to, outs);
            }
            Ev::ZabFail { sid, inc, round } => {
                let now = self.local(sid);
                let node = self.nodes.get_mut(&sid).expect("node");
                let (z, e) = (node.spec.zxid, node.disk.epoch);
                let outs = match node.machine.as_mut() {
                    Some(Machine::Legacy(f))
                        if node.inc == inc
                            && f.state() == ServerState::Following
                            && f.logicalclock() == round =>
                    {
                        node.zab_failing = None;
                        legacy(f.start(now, z, e))
                    }
                    _ => return,
                };
                self.record(Trace::Note(
                    sid,
                    "Zab sync with a zkelect leader failed: looking again".to_string(),
                ));
                self.process(sid, outs);
            }
            Ev::ZabLead { sid, inc } => {
                let now = self.local(sid);
                let followers: BTreeSet<Sid> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| {
                        n.spec.legacy
                            && n.fle().is_some_and(|f| {
                                f.state() == ServerState::Following
                                    && f.current_vote().leader == sid
                            })
                    })
                    .map(|(&s, _)| s)
                    .chain([sid])
                    .collect();
                let tick = self.params.tick;
                let node = self.nodes.get_mut(&sid).expect("node");
                let (z, e) = (node.spec.zxid, node.disk.epoch);
                let outs = match node.machine.as_mut() {
                    Some(Machine::Legacy(f))
                        if node.inc == inc && f.state() == ServerState::Leading =>
                    {
                        if f.quorum().contains_quorum(&followers) {
                            self.push(self.now + tick, Ev::ZabLead { sid, inc });
                            return;
                        }
                        node.zab_failing = None;
                        legacy(f.start(now, z, e))
                    }
                    _ => return,
                };
                self.record(Trace::Note(
                    sid,
                    format!("Zab: only {followers:?} follow me: looking again"),
                ));
                self.process(sid, outs);
            }
            Ev::Refused { sid, peer, inc } => {
                self.attempts.remove(&(sid, peer));
                if self.nodes[&sid].inc != inc || !self.refusing(sid, peer) {
                    return;
                }
                let now = self.local(sid);
                let before = self.promise_of(sid);
                let outs = match self.nodes.get_mut(&sid).and_then(|n| n.machine.as_mut()) {
                    Some(Machine::Zk(c)) => c.on_refused(now, peer),
                    _ => return,
                };
                self.refusals += 1;
                self.record(Trace::Note(sid, format!("connection to {peer} refused")));
                self.note_release(sid, before, Via::Refused);
                self.process(sid, outs);
            }
            Ev::Probe { sid, inc, gen } => {
                let n = &self.nodes[&sid];
                if n.inc == inc && n.watch_gen == gen {
                    self.probe(sid);
                }
            }
            Ev::Timer { sid, inc, at } => {
                let hd = self.have_delivered(sid);
                let now = self.local(sid);
                let node = self.nodes.get_mut(&sid).expect("node");
                if node.inc != inc || node.timer_at != Some(at) {
                    return;
                }
                node.timer_at = None;
                let outs = match node.machine.as_mut() {
                    Some(Machine::Zk(c)) => c.on_timeout(now, hd),
                    Some(Machine::Legacy(f)) => legacy(f.on_timeout(now, hd)),
                    None => return,
                };
                self.process(sid, outs);
                self.check_spin(sid, now);
            }
            Ev::Cnx { sid, peer, up, inc } => {
                let now = self.local(sid);
                let node = self.nodes.get_mut(&sid).expect("node");
                if node.inc != inc {
                    return;
                }
                if up {
                    node.view.insert(peer);
                } else {
                    node.view.remove(&peer);
                }
                let outs = match node.machine.as_mut() {
                    Some(Machine::Zk(c)) => c.on_connection(now, peer, up),
                    _ => return,
                };
                self.record(Trace::Cnx { sid, peer, up });
                self.process(sid, outs);
                // The runtime's death watch: a broken connection to a peer
                // I follow or promised looks at its lock at once, then
                // every `death_poll` while that lasts.
                let node = self.nodes.get_mut(&sid).expect("node");
                if up && node.watch == Some(peer) {
                    node.watch = None;
                } else if !up && self.cares(sid, peer) {
                    let node = self.nodes.get_mut(&sid).expect("node");
                    node.watch = Some(peer);
                    node.watch_gen += 1;
                    self.probe(sid);
                }
            }
            Ev::Persisted { sid, inc, d, ok } => {
                let now = self.local(sid);
                let node = self.nodes.get_mut(&sid).expect("node");
                if node.inc != inc {
                    return;
                }
                let before = self.promise_of(sid);
                let node = self.nodes.get_mut(&sid).expect("node");
                let outs = match node.machine.as_mut() {
                    Some(Machine::Zk(c)) => c.on_persisted(now, d, ok),
                    _ => return,
                };
                self.note_release(sid, before, Via::Other);
                self.process(sid, outs);
            }
            Ev::Control(_) | Ev::Stored { .. } => unreachable!(),
        }
    }

    fn control(&mut self, c: Control) {
        self.record(Trace::Control(c.clone()));
        match c {
            Control::Boot(sid) => self.boot(sid),
            Control::Crash(sid) => self.crash(sid),
            Control::Pause(sid) => {
                if let Some(n) = self
                    .nodes
                    .get_mut(&sid)
                    .filter(|n| n.live() && n.stopping.is_none())
                {
                    n.paused = true;
                }
            }
            Control::Suspend(sid, len) => {
                let now = self.now;
                if let Some(n) = self
                    .nodes
                    .get_mut(&sid)
                    .filter(|n| n.live() && n.stopping.is_none())
                {
                    n.paused = true;
                    n.suspended_since.get_or_insert(now);
                    self.schedule(now + len, Control::Resume(sid));
                }
            }
            Control::CrashAtStore(sid) => {
                if let Some(n) = self.nodes.get_mut(&sid).filter(|n| n.live()) {
                    n.crash_at_store = true;
                }
            }
            Control::Resume(sid) => self.resume(sid),
            Control::Freeze(target, len) => {
                if let Some(sid) = self.target(target) {
                    self.nodes.get_mut(&sid).expect("node").freeze = Some(len);
                }
            }
            Control::CrashAfterAck(f) => self.crash_after_ack = Some(f),
            Control::IsolateAfterHeartbeat(len) => {
                if let Some(l) = self.target(None) {
                    self.isolate_after_hb = Some((l, len));
                }
            }
            Control::DelayReports(window, lo, hi, cut) => {
                if let Some(l) = self.target(None) {
                    self.slow_reports = Some((l, lo, hi));
                    self.attacks.2 += 1;
                    let out: BTreeSet<(Sid, Sid)> = self
                        .nodes
                        .keys()
                        .filter(|&&o| o != l)
                        .map(|&o| (l, o))
                        .collect();
                    let at = self.now + window;
                    self.schedule(at, Control::CutMore(out.clone()));
                    self.schedule(at + cut, Control::Uncut(out));
                    self.schedule(at + cut, Control::EndDelay);
                }
            }
            Control::CutMore(links) => {
                let cut = self.links.cut.union(&links).copied().collect();
                self.set_cut(cut);
            }
            Control::Uncut(links) => {
                let cut = self.links.cut.difference(&links).copied().collect();
                self.set_cut(cut);
            }
            Control::EndDelay => self.slow_reports = None,
            Control::Jump(sid, by) => {
                let now = self.now;
                let n = self.nodes.get_mut(&sid).expect("node");
                n.clock.jump(now, by);
                if n.live() && !n.paused && n.stopping.is_none() {
                    // Timers are armed in simulated time: re-arm.
                    n.timer_at = None;
                    self.arm(sid);
                }
            }
            Control::Restart(sid) => {
                let now = self.local(sid);
                let node = self.nodes.get_mut(&sid).expect("node");
                if node.paused || node.stopping.is_some() {
                    return;
                }
                let outs = match node.machine.as_mut() {
                    Some(Machine::Zk(c)) => c.restart(now),
                    Some(Machine::Legacy(f)) => {
                        let (z, e) = (node.spec.zxid, node.disk.epoch);
                        legacy(f.start(now, z, e))
                    }
                    None => return,
                };
                self.process(sid, outs);
            }
            Control::Cut(links) => self.set_cut(links),
            Control::Reset(a, b) => self.reset(a, b),
            Control::Strand => self.strand(),
            Control::Kill(target, back, host) => {
                let Some(sid) = self.target(target) else {
                    return;
                };
                self.crash(sid);
                let at = self.now + back;
                if let Some(h) = host {
                    self.schedule(at, Control::Move(sid, h));
                }
                self.schedule(at, Control::Boot(sid));
            }
            Control::Stop(target, back) => {
                if let Some(sid) = self.target(target) {
                    self.stop(sid, back);
                }
            }
            Control::Exit(sid, inc) => {
                let n = &self.nodes[&sid];
                if n.inc == inc && n.stopping.is_some() {
                    self.crash(sid);
                }
            }
            Control::Wall(target, len, sees) => {
                if let Some(sid) = self.target(target) {
                    self.wall(sid, len, sees);
                }
            }
            Control::Unwall(sid) => self.unwall(sid),
            Control::Move(sid, host) => {
                let n = self.nodes.get_mut(&sid).expect("node");
                if !n.live() {
                    n.host = host;
                }
            }
        }
    }

    /// The peer a fault aims at: `Some` as given if it runs (and is not
    /// paused or stopping), `None` the confirmed leader, if any.
    fn target(&self, target: Option<Sid>) -> Option<Sid> {
        let sid = match target {
            Some(s) => s,
            None => {
                *self
                    .nodes
                    .iter()
                    .find(|(&s, n)| {
                        matches!(
                            n.role(),
                            Some(Role::Leading {
                                confirmed: true,
                                ..
                            })
                        ) && self.leads(s)
                    })?
                    .0
            }
        };
        let n = &self.nodes[&sid];
        (n.live() && !n.paused && n.stopping.is_none()).then_some(sid)
    }

    /// Graceful stop of `sid` ([`Control::Stop`]).
    fn stop(&mut self, sid: Sid, back: Option<Duration>) {
        let now = self.local(sid);
        let node = self.nodes.get_mut(&sid).expect("node");
        let outs = match node.machine.as_mut() {
            Some(Machine::Zk(c)) => c.stop(now),
            _ => {
                // A ZooKeeper server says nothing when it stops.
                self.crash(sid);
                if let Some(b) = back {
                    self.schedule(self.now + b, Control::Boot(sid));
                }
                return;
            }
        };
        self.record(Trace::Note(sid, "stops gracefully".into()));
        self.process(sid, outs);
        let (lo, hi) = self.params.stop_linger;
        let exit = self.now + self.rng2.dur(lo, hi);
        let node = self.nodes.get_mut(&sid).expect("node");
        node.stopping = Some(exit);
        node.timer_at = None;
        let inc = node.inc;
        self.schedule(exit, Control::Exit(sid, inc));
        if let Some(b) = back {
            self.schedule(exit + b, Control::Boot(sid));
        }
    }

    /// A firewall on `sid` ([`Control::Wall`]).
    fn wall(&mut self, sid: Sid, len: Duration, sees: bool) {
        if !self.walls.insert(sid) {
            return;
        }
        self.record(Trace::Note(sid, format!("firewalled (sees it: {sees})")));
        let others: Vec<Sid> = self.nodes.keys().copied().filter(|&s| s != sid).collect();
        for o in others {
            if !self.nodes[&o].live() {
                continue;
            }
            // What was in flight on the broken connections is lost.
            self.links.reset(sid, o);
            self.connection(o, sid, false);
            if sees {
                self.connection(sid, o, false);
            }
        }
        self.schedule(self.now + len, Control::Unwall(sid));
    }

    /// The firewall on `sid` goes: what the queues kept goes out, and
    /// connections come back where no cut stops them.
    fn unwall(&mut self, sid: Sid) {
        if !self.walls.remove(&sid) {
            return;
        }
        let others: Vec<Sid> = self.nodes.keys().copied().filter(|&s| s != sid).collect();
        for o in others {
            if !self.nodes[&o].live() || !self.nodes[&sid].live() {
                continue;
            }
            for (a, b) in [(sid, o), (o, sid)] {
                if !self.blocked(a, b) {
                    if let Some(m) = self.links.held.remove(&(a, b)) {
                        self.transmit(a, b, m);
                    }
                }
            }
            if !self.blocked(sid, o) && !self.blocked(o, sid) {
                self.connection(sid, o, true);
                self.connection(o, sid, true);
            }
        }
    }

    /// Whether `x` follows `s` or promised it its acknowledgements (the
    /// runtime then watches `s`'s lock when the connection breaks).
    fn cares(&self, x: Sid, s: Sid) -> bool {
        self.nodes[&x].core().is_some_and(|c| {
            c.following() == Some(s) || c.promised().is_some_and(|(l, _)| l == Some(s))
        })
    }

    /// The runtime's death watch ([`Core::on_peer_dead`]): `x` tries to
    /// take the lock of the peer it watches in its own host's `dataDir`.
    /// The lock is there only if that sid ran on this host with a store
    /// (and `x` has a `dataDir` there, a store); it is free if no process
    /// of that sid runs on this host now (it died, stopped, or runs
    /// elsewhere: a file left behind), and then names the epoch its last
    /// holder recorded. Watched while `x` cares and the connection is
    /// down; polled every [`Params::death_poll`].
    fn probe(&mut self, x: Sid) {
        let n = &self.nodes[&x];
        let Some(s) = n.watch else { return };
        if !self.cares(x, s) || n.view.contains(&s) {
            self.nodes.get_mut(&x).expect("node").watch = None;
            return;
        }
        let host = n.host;
        let lock = self.locks.get(&(host, s)).copied();
        let t = &self.nodes[&s];
        let held = t.live() && t.host == host && t.locks();
        match lock {
            Some(epoch) if n.locks() && !held => {
                self.nodes.get_mut(&x).expect("node").watch = None;
                let now = self.local(x);
                let before = self.promise_of(x);
                let outs = match self.nodes.get_mut(&x).and_then(|n| n.machine.as_mut()) {
                    Some(Machine::Zk(c)) => c.on_peer_dead(now, s, epoch),
                    _ => return,
                };
                self.deaths += 1;
                self.record(Trace::Note(
                    x,
                    format!("the lock of {s} is free, recording epoch {epoch}"),
                ));
                self.note_release(x, before, Via::Lock);
                self.process(x, outs);
            }
            _ => {
                let at = self.now + self.params.death_poll;
                let (inc, gen) = (n.inc, n.watch_gen);
                self.push(at, Ev::Probe { sid: x, inc, gen });
            }
        }
    }

    /// Whether a connection attempt of `x` to `s` is refused now: nothing
    /// listens on `s`'s port on a host that runs, or a firewall rejects it;
    /// a black-holed link lets it time out instead.
    fn refusing(&self, x: Sid, s: Sid) -> bool {
        let n = &self.nodes[&s];
        !self.links.cut.contains(&(x, s))
            && !self.links.cut.contains(&(s, x))
            && !self.walls.contains(&x)
            && (self.walls.contains(&s) || (!n.live() && n.refuses))
    }

    /// `x`'s connection manager tries to connect to `s` (a send without a
    /// connection, `ConnectAll`, `Connect`): if refused, the refusal comes
    /// back a round trip later (one attempt at a time per peer).
    fn attempt(&mut self, x: Sid, s: Sid) {
        if x == s || !self.nodes.contains_key(&s) || !self.refusing(x, s) {
            return;
        }
        if !self.attempts.insert((x, s)) {
            return;
        }
        let (lo, hi) = self.params.delay;
        let rtt = self.rng2.dur(lo, hi) * 2;
        let inc = self.nodes[&x].inc;
        self.push(
            self.now + rtt,
            Ev::Refused {
                sid: x,
                peer: s,
                inc,
            },
        );
    }

    /// The leader `sid` promised its acknowledgements to, and until when.
    fn promise_of(&self, sid: Sid) -> Option<(Sid, Duration)> {
        let c = self.nodes[&sid].core()?;
        match (c.promised(), c.promise_until()) {
            (Some((Some(l), _)), Some(u)) => Some((l, u)),
            _ => None,
        }
    }

    /// Counts a promise that an input ended before it ran out.
    fn note_release(&mut self, sid: Sid, before: Option<(Sid, Duration)>, via: Via) {
        let Some((leader, until)) = before else {
            return;
        };
        if self.local(sid) >= until || self.promise_of(sid).is_some_and(|(l, _)| l == leader) {
            return;
        }
        let r = &mut self.releases;
        match via {
            Via::Message { from, msg, src_inc } if from == leader => {
                let acked = self.acked_inc.get(&(sid, leader)).copied();
                if msg.zxid == -1 {
                    r.departure += 1;
                } else if acked.is_some_and(|a| src_inc > a) {
                    r.restart += 1;
                } else {
                    r.stepped_down += 1;
                }
            }
            Via::Lock => r.lock += 1,
            Via::Refused => r.refused += 1,
            Via::Message { .. } | Via::Other => r.other += 1,
        }
    }

    /// The first step of [`Control::Strand`]: find the confirmed leader
    /// and a smallest set of its followers that keeps its quorum (peers
    /// without a store first), and cut the leader off from everyone else
    /// (replacing the cut links). The rest stop hearing from it and look
    /// again once their promises to it run out (`syncLimit` ticks), but
    /// cannot elect anyone without one of the followers it kept. The
    /// second step is armed: at the first acknowledgement of that epoch by
    /// the first kept follower after the others' promises ended, see
    /// [`Sim::bounce`].
    fn strand(&mut self) {
        let (tick, d_f) = (self.params.tick, self.params.timing().follower_deadline());
        // Room for the promises to run out, the bounce, and an election.
        if self.now + d_f + tick * 4 > self.params.faults_until {
            return;
        }
        if self.bounces.0 > 0 || self.strand.as_ref().is_some_and(|s| self.now <= s.until) {
            // One bounce per run.
            return;
        }
        let leader = self.nodes.iter().find_map(|(&s, n)| match n.role() {
            Some(Role::Leading {
                epoch,
                confirmed: true,
            }) if self.leads(s) && !n.paused => Some((s, epoch)),
            _ => None,
        });
        let Some((leader, epoch)) = leader else {
            self.schedule(self.now + tick, Control::Strand);
            return;
        };
        let mut followers: Vec<Sid> = self
            .nodes
            .iter()
            .filter(|(_, n)| !n.spec.observer && !n.paused)
            .filter(|(_, n)| {
                matches!(n.role(), Some(Role::Following { leader: l, epoch: Some(e) })
                    if l == leader && e == epoch)
            })
            .map(|(&s, _)| s)
            .collect();
        self.rng.shuffle(&mut followers);
        // Stable: peers without a store first, in random order.
        followers.sort_by_key(|s| self.nodes[s].spec.store);
        let mut kept: BTreeSet<Sid> = BTreeSet::from([leader]);
        for &f in &followers {
            if self.qv.contains_quorum(&kept) {
                break;
            }
            kept.insert(f);
        }
        if !self.qv.contains_quorum(&kept) || kept.len() < 2 {
            self.schedule(self.now + tick, Control::Strand);
            return;
        }
        let first = followers[0];
        let mut bounce: Vec<Sid> = followers
            .iter()
            .copied()
            .filter(|f| kept.contains(f) && !self.nodes[f].spec.store)
            .collect();
        if bounce.is_empty() {
            bounce.push(first);
        }
        if !self.may_succeed(&kept, &bounce) {
            self.schedule(self.now + tick, Control::Strand);
            return;
        }
        let cut: BTreeSet<(Sid, Sid)> = self
            .nodes
            .keys()
            .filter(|s| !kept.contains(s))
            .flat_map(|&s| [(leader, s), (s, leader)])
            .collect();
        self.record(Trace::Control(Control::Cut(cut.clone())));
        self.set_cut(cut.clone());
        // A heartbeat already in flight may still be acknowledged (its
        // report goes nowhere): a delay's margin.
        let after = self.now + d_f + tick;
        // Again if nothing bounced by then (one bounce per run).
        self.schedule(after + tick * 3, Control::Strand);
        self.strand = Some(Strand {
            leader,
            epoch,
            follower: first,
            bounce,
            kept,
            cut,
            after,
            until: after + tick * 2,
        });
    }

    /// Whether the peers outside `kept`, with the ones to `bounce`, could
    /// elect a successor: a quorum of them running (a paused or crashed
    /// one would only spoil the attempt).
    fn may_succeed(&self, kept: &BTreeSet<Sid>, bounce: &[Sid]) -> bool {
        let mut successors: BTreeSet<Sid> = self
            .nodes
            .iter()
            .filter(|(s, n)| !kept.contains(s) && n.live() && !n.paused)
            .map(|(&s, _)| s)
            .collect();
        successors.extend(bounce.iter().copied());
        self.qv.contains_quorum(&successors)
    }

    /// The second step of [`Control::Strand`], right after the
    /// acknowledgement went out: the leader is cut off entirely (it keeps
    /// counting that acknowledgement for `syncLimit − 1` ticks from its
    /// heartbeat), and the followers to bounce crash and are back within
    /// a quarter of a tick.
    fn bounce(&mut self, s: Strand) {
        self.bounces.0 += 1;
        if s.bounce.iter().any(|b| !self.nodes[b].spec.store) {
            self.bounces.1 += 1;
        }
        let now = self.now;
        let mut cut = self.links.cut.clone();
        for &o in self.nodes.keys() {
            if o != s.leader {
                cut.insert((s.leader, o));
                cut.insert((o, s.leader));
            }
        }
        self.schedule(now, Control::Cut(cut));
        let soon = self.params.tick / 4;
        for b in s.bounce {
            self.schedule(now, Control::Crash(b));
            let back = now + self.rng.dur(Duration::ZERO, soon);
            self.schedule(back, Control::Boot(b));
        }
    }

    /// Boots `sid` with a new machine and what its store holds.
    pub fn boot(&mut self, sid: Sid) {
        let now = self.local(sid);
        let p = self.params.clone();
        let qv = self.qv.clone();
        let node = self.nodes.get_mut(&sid).expect("unknown sid");
        if let Some(exit) = node.stopping {
            // A restart never runs while the earlier process does (the
            // lock in dataDir): once it exited.
            self.schedule(exit + Duration::from_micros(1), Control::Boot(sid));
            return;
        }
        if node.live() {
            return;
        }
        node.inc += 1;
        node.paused = false;
        node.backlog.clear();
        node.order = Order::default();
        node.view.clear();
        node.watch = None;
        let fle = Fle::new(
            Settings {
                my_sid: sid,
                learner_type: if node.spec.observer {
                    LearnerType::Observer
                } else {
                    LearnerType::Participant
                },
                min_notification_interval: p.min_notification,
                max_notification_interval: p.max_notification,
                finalize_wait: p.finalize,
            },
            qv,
        );
        let (zxid, disk) = (node.spec.zxid, node.disk);
        let mut problem = None;
        let outs = if node.spec.legacy {
            let mut f = Box::new(fle);
            let outs = legacy(f.start(now, zxid, disk.epoch));
            node.machine = Some(Machine::Legacy(f));
            outs
        } else {
            let mut c = Box::new(
                if node.spec.store {
                    Core::durable(fle, p.timing(), disk)
                } else {
                    Core::new(fle, p.timing(), 0)
                }
                .with_mode(p.mode)
                .with_follow_only(node.spec.follow_only),
            );
            // The host's own epoch (its data's): what it had at first boot.
            c.set_reported(zxid, node.spec.epoch);
            let outs = c.start(now);
            node.order.accepted = c.accepted_epoch();
            node.order.stored = c.stored();
            if node.spec.store && (c.accepted_epoch() < disk.epoch || c.stored() != disk) {
                problem = Some(format!(
                    "sid {sid} booted with {disk:?} on disk but accepted {}, stored {:?}",
                    c.accepted_epoch(),
                    c.stored()
                ));
            }
            let quarantine = c.promise_until();
            node.machine = Some(Machine::Zk(c));
            let note = format!("booted with {disk:?}, quarantine until {quarantine:?}");
            self.trace.record(self.now, Trace::Note(sid, note));
            outs
        };
        if let Some(p) = problem {
            self.fail(&p);
        }
        let node = &self.nodes[&sid];
        if node.locks() {
            // It takes its lock and records epoch 0 until its first store.
            self.locks.insert((node.host, sid), 0);
        }
        // The transport connects to the new process and sends what the
        // others' queues hold for it; both ends see the connection.
        let others: Vec<Sid> = self.nodes.keys().copied().filter(|&s| s != sid).collect();
        for o in others {
            if !self.nodes[&o].live() {
                continue;
            }
            if let Some(m) = self.links.held.remove(&(o, sid)) {
                if !self.blocked(o, sid) {
                    self.transmit(o, sid, m);
                } else {
                    self.links.held.insert((o, sid), m);
                }
            }
            if !self.blocked(o, sid) && !self.blocked(sid, o) {
                self.connection(sid, o, true);
                self.connection(o, sid, true);
            }
        }
        self.process(sid, outs);
    }

    /// Crashes `sid`: its machine is gone, its stored epoch stays, and its
    /// closed sockets reach the peers whose link from it is not cut.
    pub fn crash(&mut self, sid: Sid) {
        let node = self.nodes.get_mut(&sid).expect("unknown sid");
        if !node.live() {
            return;
        }
        node.machine = None;
        node.inc += 1;
        node.paused = false;
        node.backlog.clear();
        node.timer_at = None;
        node.crash_at_store = false;
        node.stopping = None;
        node.view.clear();
        node.watch = None;
        // The machine keeps its clock (and its lag) across a crash of the
        // process; a suspend of a crashed process ends with the crash.
        node.suspended_since = None;
        node.published = None;
        node.freeze = None;
        node.deferred.clear();
        self.links.drop_from(sid);
        let others: Vec<Sid> = self.nodes.keys().copied().filter(|&s| s != sid).collect();
        for o in others {
            if self.nodes[&o].live() && !self.blocked(sid, o) {
                // The FIN comes after what the kernel already sent.
                let sent = self.links.last_delivery(sid, o);
                let skew = self.rng.dur(Duration::ZERO, self.params.cnx_skew);
                let inc = self.nodes[&o].inc;
                let at = sent.max(self.now) + skew;
                self.push(
                    at,
                    Ev::Cnx {
                        sid: o,
                        peer: sid,
                        up: false,
                        inc,
                    },
                );
            }
        }
    }

    fn resume(&mut self, sid: Sid) {
        let hd = self.have_delivered(sid);
        let bug = self.params.monotonic_clock_bug;
        let global = self.now;
        let node = self.nodes.get_mut(&sid).expect("node");
        if !node.paused {
            return;
        }
        node.paused = false;
        if let Some(since) = node.suspended_since.take() {
            if bug {
                // CLOCK_MONOTONIC stood still while the machine slept.
                node.clock.stood_still(since, global);
            }
        }
        let now = node.clock.local(global);
        node.timer_at = None;
        let backlog: Vec<Ev> = node.backlog.drain(..).collect();
        let deferred = std::mem::take(&mut node.deferred);
        let decided = node.deferred_at;
        if !deferred.is_empty() {
            // The runtime finishes acting on the frozen decision first.
            self.acting_late = Some(decided);
            self.act(sid, deferred);
            self.acting_late = None;
            self.publish(sid);
            self.check_machine(sid);
            if !self.nodes[&sid].live() {
                return;
            }
        }
        let node = self.nodes.get_mut(&sid).expect("node");
        // Timers first, as the runtime's machine does on any input.
        let outs = match node.machine.as_mut() {
            Some(Machine::Zk(c)) => c.on_timeout(now, hd),
            Some(Machine::Legacy(f)) => legacy(f.on_timeout(now, hd)),
            None => return,
        };
        self.process(sid, outs);
        for ev in backlog {
            if self.nodes[&sid].paused {
                break;
            }
            self.handle(ev);
        }
        self.arm(sid);
    }

    fn set_cut(&mut self, links: BTreeSet<(Sid, Sid)>) {
        let restored = self.links.set_cut(links);
        for (a, b) in restored {
            if self.blocked(a, b) {
                continue;
            }
            if let Some(m) = self.links.held.remove(&(a, b)) {
                if self.nodes[&a].live() && self.nodes[&b].live() {
                    self.transmit(a, b, m);
                }
            }
        }
    }

    fn reset(&mut self, a: Sid, b: Sid) {
        if a == b || !self.nodes[&a].live() || !self.nodes[&b].live() {
            return;
        }
        self.links.reset(a, b);
        self.connection(a, b, false);
        self.connection(b, a, false);
        let back = self.rng.dur(Duration::ZERO, self.params.tick * 3);
        let at = self.now + back;
        for (x, y) in [(a, b), (b, a)] {
            let inc = self.nodes[&x].inc;
            self.push(
                at,
                Ev::Cnx {
                    sid: x,
                    peer: y,
                    up: true,
                    inc,
                },
            );
        }
    }

    /// `sid` sees the connection to `peer` go up or down, a little later.
    fn connection(&mut self, sid: Sid, peer: Sid, up: bool) {
        let skew = self.rng.dur(Duration::ZERO, self.params.cnx_skew);
        let inc = self.nodes[&sid].inc;
        self.push(self.now + skew, Ev::Cnx { sid, peer, up, inc });
    }

    // ------------------------------------------------------------ network

    fn faulty(&self) -> bool {
        self.now < self.params.faults_until
    }

    /// Whether messages from `a` to `b` are stopped: a cut link, or a
    /// firewall at either end.
    fn blocked(&self, a: Sid, b: Sid) -> bool {
        self.links.cut.contains(&(a, b)) || self.walls.contains(&a) || self.walls.contains(&b)
    }

    /// Whether `a` reaches `b` now.
    pub fn link_up(&self, a: Sid, b: Sid) -> bool {
        !self.blocked(a, b) && self.nodes[&a].live() && self.nodes[&b].live()
    }

    fn have_delivered(&self, sid: Sid) -> bool {
        self.nodes.keys().any(|&o| o != sid && self.link_up(sid, o))
    }

    fn send(&mut self, from: Sid, to: Sid, msg: Message) {
        self.messages += 1;
        if from == to {
            let inc = self.nodes[&to].inc;
            let gen = self.links.gen(from, to);
            let src_inc = inc;
            self.push(
                self.now + Duration::from_micros(10),
                Ev::Deliver {
                    from,
                    to,
                    msg,
                    inc,
                    gen,
                    src_inc,
                },
            );
            return;
        }
        if !self.nodes[&from].view.contains(&to) {
            // No connection: the transport tries to make one.
            self.attempt(from, to);
        }
        if msg.server_state() == Some(ServerState::Following) && msg.leader == to && msg.zxid < -1 {
            // An acknowledgement (or refusal) for this incarnation of `to`.
            let inc = self.nodes[&to].inc;
            self.acked_inc.insert((from, to), inc);
        }
        let fate = match self.nodes.get(&to) {
            None => "nowhere",
            Some(n) if !n.live() => {
                self.links.held.insert((from, to), msg);
                "held"
            }
            Some(_) if self.blocked(from, to) => {
                self.links.held.insert((from, to), msg);
                "held"
            }
            Some(_) => {
                if self.faulty() && self.rng.chance(self.params.drop_p) {
                    "dropped"
                } else {
                    self.transmit(from, to, msg);
                    "sent"
                }
            }
        };
        self.record(Trace::Send {
            from,
            to,
            msg,
            fate,
        });
        if fate == "sent" {
            self.lease_attacks(from, to, &msg);
            let now = self.now;
            let hit = self.strand.as_ref().is_some_and(|s| {
                s.follower == from
                    && s.leader == to
                    && (s.after..=s.until).contains(&now)
                    && msg.server_state() == Some(ServerState::Following)
                    && msg.leader == to
                    && msg.peer_epoch == s.epoch
            });
            if hit && self.leads(to) {
                let s = self.strand.take().expect("strand");
                // Only if other faults left the stranding as it was (then
                // the others' promises have run out); otherwise the next
                // attempt.
                if s.cut.is_subset(&self.links.cut) && self.may_succeed(&s.kept, &s.bounce) {
                    self.bounce(s);
                }
            }
        }
    }

    /// Arms what [`Control::CrashAfterAck`] and
    /// [`Control::IsolateAfterHeartbeat`] wait for, when `from` sends `msg`
    /// to `to`.
    fn lease_attacks(&mut self, from: Sid, to: Sid, msg: &Message) {
        if !self.faulty() {
            return;
        }
        let ack =
            msg.server_state() == Some(ServerState::Following) && msg.leader == to && msg.zxid < -1;
        if let Some(f) = self.crash_after_ack {
            if ack && f.map_or(true, |f| f == from) && self.leads(to) {
                self.crash_after_ack = None;
                self.attacks.0 += 1;
                let back = self.rng3.dur(Duration::ZERO, self.params.tick / 20);
                let now = self.now;
                self.schedule(now, Control::Crash(from));
                self.schedule(now + back, Control::Boot(from));
            }
        }
        if let Some((l, len)) = self.isolate_after_hb {
            if from == l && msg.server_state() == Some(ServerState::Leading) && self.leads(l) {
                self.isolate_after_hb = None;
                self.attacks.1 += 1;
                let links: BTreeSet<(Sid, Sid)> = self
                    .nodes
                    .keys()
                    .filter(|&&o| o != l)
                    .flat_map(|&o| [(l, o), (o, l)])
                    .collect();
                // After the rest of this heartbeat round.
                let at = self.now + Duration::from_micros(1);
                self.schedule(at, Control::CutMore(links.clone()));
                self.schedule(at + len, Control::Uncut(links));
            }
        }
    }

    fn transmit(&mut self, from: Sid, to: Sid, msg: Message) {
        let (lo, hi) = if self.faulty() {
            self.params.fault_delay
        } else {
            self.params.delay
        };
        let mut at = self.now + self.rng.dur(lo, hi);
        if let Some((l, slo, shi)) = self.slow_reports {
            let report = msg.server_state() == Some(ServerState::Following)
                && msg.leader == l
                && msg.zxid < -1;
            if to == l && report && self.faulty() {
                at += self.rng3.dur(slo, shi);
            }
        }
        at = self.links.in_order(from, to, at);
        let inc = self.nodes[&to].inc;
        let gen = self.links.gen(from, to);
        let src_inc = self.nodes[&from].inc;
        self.push(
            at,
            Ev::Deliver {
                from,
                to,
                msg,
                inc,
                gen,
                src_inc,
            },
        );
    }

    // ------------------------------------------------------------ outputs

    fn process(&mut self, sid: Sid, outs: Vec<Output>) {
        let mut outs: VecDeque<Output> = outs.into();
        let freeze = self.nodes[&sid].freeze.filter(|_| !outs.is_empty());
        if let Some(len) = freeze {
            // SIGSTOP part-way through acting on a decision: what comes
            // before the cut is done, the rest waits for the resume.
            let k = self.rng3.below(outs.len() as u64 + 1) as usize;
            let rest = outs.split_off(k);
            let now = self.now;
            self.record(Trace::Note(
                sid,
                format!("frozen for {len:?} after {k} of {} outputs", k + rest.len()),
            ));
            let node = self.nodes.get_mut(&sid).expect("node");
            node.freeze = None;
            node.deferred = rest;
            node.deferred_at = now;
            node.paused = true;
            self.schedule(now + len, Control::Resume(sid));
        }
        self.act(sid, outs);
        if freeze.is_some() {
            // The machine's state is checked once the rest is acted on;
            // whether it leads beside another, now, at its decision.
            if self.params.check_single_leader {
                self.check_single_leader(sid);
            }
            return;
        }
        self.publish(sid);
        self.check_machine(sid);
        if self.params.check_single_leader {
            self.check_single_leader(sid);
        }
        self.arm(sid);
        self.watch_zab(sid);
    }

    /// [`Params::zab_fail`]: a legacy peer that now follows a zkelect
    /// leader fails its Zab sync a while later.
    fn watch_zab(&mut self, sid: Sid) {
        let Some(delay) = self.params.zab_fail else {
            return;
        };
        let node = &self.nodes[&sid];
        let Some(Machine::Legacy(f)) = &node.machine else {
            return;
        };
        let leader = f.current_vote().leader;
        // (A decision on out-of-election votes sets the round to the
        // leader's, so the round alone does not tell one decision from
        // the next: the mark is cleared whenever it is not following.)
        let round = f.logicalclock();
        if f.state() == ServerState::Leading {
            if node.zab_failing.is_none() {
                let inc = node.inc;
                self.nodes.get_mut(&sid).expect("node").zab_failing = Some(round);
                let at = self.now + self.params.tick * self.params.init_limit;
                self.push(at, Ev::ZabLead { sid, inc });
            }
            return;
        }
        if f.state() != ServerState::Following
            || self.nodes.get(&leader).is_some_and(|n| n.spec.legacy)
        {
            self.nodes.get_mut(&sid).expect("node").zab_failing = None;
            return;
        }
        if node.zab_failing.is_some() {
            return;
        }
        let inc = node.inc;
        self.nodes.get_mut(&sid).expect("node").zab_failing = Some(round);
        let at = self.now + delay;
        self.push(at, Ev::ZabFail { sid, inc, round });
    }

    /// The runtime publishes the machine's lease to its host at each event
    /// and after acting on an input's outputs (`peer::election::apply`).
    fn publish(&mut self, sid: Sid) {
        let node = self.nodes.get_mut(&sid).expect("node");
        node.published = node.core().and_then(|c| c.lease_until());
    }

    /// Acts on outputs in order, as the runtime's `apply` does.
    fn act(&mut self, sid: Sid, outs: VecDeque<Output>) {
        for o in outs {
            match o {
                Output::Send { to, msg } => self.send(sid, to, msg),
                // The lock file's promise record is not modelled: a restart
                // here always gets the full quarantine.
                Output::Promised { .. } => {}
                Output::Connect(to) => self.attempt(sid, to),
                Output::ConnectAll => {
                    let down: Vec<Sid> = self
                        .nodes
                        .keys()
                        .copied()
                        .filter(|&o| o != sid && !self.nodes[&sid].view.contains(&o))
                        .collect();
                    for o in down {
                        self.attempt(sid, o);
                    }
                }
                Output::Event(e) => {
                    self.publish(sid);
                    self.on_event(sid, e)
                }
                Output::Persist(d) => self.persist(sid, d),
                Output::Refused(r) => self.record(Trace::Refused(sid, r.to_string())),
                Output::OutOfRange { from, error } => {
                    self.record(Trace::Refused(sid, format!("from sid {from}: {error}")))
                }
            }
        }
    }

    /// The store starts writing `d`; it completes (FIFO) after a random
    /// delay, as an event of this incarnation: a crash before loses it.
    fn persist(&mut self, sid: Sid, d: Durable) {
        self.stores += 1;
        let (lo, hi) = self.params.store_delay;
        let delay = self.rng.dur(lo, hi);
        let ok = !(self.faulty() && self.rng.chance(self.params.store_fail_p));
        let now = self.now;
        let trigger = self.faulty() && {
            let n = &self.nodes[&sid];
            n.crash_at_store && d.epoch > n.disk.epoch
        };
        let node = self.nodes.get_mut(&sid).expect("node");
        let at = (now + delay).max(node.store_busy);
        node.store_busy = at;
        let inc = node.inc;
        self.record(Trace::Persist { sid, d });
        self.push(at, Ev::Stored { sid, inc, d, ok });
        if trigger {
            // Just before or just after the store completes.
            let crash = now + self.rng.dur(Duration::ZERO, (at - now) * 2);
            self.crash_soon(sid, crash);
        }
    }

    /// The crash of [`Control::CrashAtStore`] at `crash`, then back within
    /// a few promises (while faults last).
    fn crash_soon(&mut self, sid: Sid, crash: Duration) {
        self.nodes.get_mut(&sid).expect("node").crash_at_store = false;
        let p = &self.params;
        let (most, end) = (p.tick * 3 * p.sync_limit, p.faults_until);
        let back = crash + self.rng.dur(Duration::ZERO, most);
        if crash < end {
            self.schedule(crash, Control::Crash(sid));
            self.schedule(back.min(end), Control::Boot(sid));
        }
    }

    /// Per machine, after every input: accepted epochs and the store never
    /// go back, and the machine never believes more stored than the disk
    /// holds.
    fn check_machine(&mut self, sid: Sid) {
        let node = &self.nodes[&sid];
        let Some(c) = node.core() else { return };
        let (a, st) = (c.accepted_epoch(), c.stored());
        let mut problems = Vec::new();
        if a < node.order.accepted {
            problems.push(format!(
                "accepted epoch went back from {} to {a}",
                node.order.accepted
            ));
        }
        if st.epoch < node.order.stored.epoch || st.round < node.order.stored.round {
            problems.push(format!(
                "stored state went back from {:?} to {st:?}",
                node.order.stored
            ));
        }
        if node.spec.store && (st.epoch > node.disk.epoch || st.round > node.disk.round) {
            problems.push(format!(
                "believes {st:?} stored, the disk holds {:?}",
                node.disk
            ));
        }
        if let Some(p) = problems.first() {
            self.fail(&format!("sid {sid}: {p}"));
        }
        let node = self.nodes.get_mut(&sid).expect("node");
        node.order.accepted = a;
        node.order.stored = st;
    }

    /// A lease starts at a confirmation and grows with acknowledgements:
    /// after any input that leaves `sid` leading, nobody else may lead.
    /// Leases are compared in simulated time: each peer's by its own clock,
    /// which lags behind after a suspend with the clock bug.
    fn check_single_leader(&self, sid: Sid) {
        if !self.leads(sid) {
            return;
        }
        for (&o, n) in &self.nodes {
            if o != sid && self.leads(o) {
                let mine = self.lease(sid);
                let theirs = self.lease(o);
                self.fail(&format!(
                    "sids {sid} (lease until {mine:?}) and {o} (lease until {theirs:?}, paused {}) both lead",
                    n.paused
                ));
            }
        }
    }

    fn arm(&mut self, sid: Sid) {
        let node = self.nodes.get_mut(&sid).expect("node");
        if node.paused || node.stopping.is_some() {
            return;
        }
        let next = match &node.machine {
            Some(Machine::Zk(c)) => c.next_deadline(),
            Some(Machine::Legacy(f)) => f.next_deadline(),
            None => None,
        };
        if let Some(at) = next {
            let at = node.clock.real(at, self.now);
            if node.timer_at != Some(at) {
                node.timer_at = Some(at);
                let inc = node.inc;
                self.push(at, Ev::Timer { sid, inc, at });
            }
        } else {
            node.timer_at = None;
        }
    }

    fn on_event(&mut self, sid: Sid, e: Event) {
        let now = self.now;
        self.record(Trace::Event(sid, e));
        let me = sid;
        let node = self.nodes.get_mut(&sid).expect("node");
        node.events.push((now, node.inc, e));
        let o = &mut node.order;
        let observer = node.spec.observer;
        let mut problems: Vec<String> = Vec::new();
        let mut crash_after_accept = false;
        match e {
            Event::Elected(_) => {
                if o.elected_open {
                    problems.push("Elected twice without LeaderLost".into());
                }
                o.elected_open = true;
            }
            Event::LeaderLost { .. } => {
                if !o.elected_open {
                    problems.push("LeaderLost without Elected".into());
                }
                if o.leading.is_some() {
                    problems.push("LeaderLost while Leading is open".into());
                }
                o.elected_open = false;
            }
            Event::Leading { epoch } => {
                if o.leading.is_some() {
                    problems.push("Leading while leading".into());
                }
                if !o.elected_open {
                    problems.push("Leading without Elected".into());
                }
                if o.top_epoch.is_some_and(|t| epoch <= t) {
                    problems.push(format!("Leading epoch {epoch} not above {:?}", o.top_epoch));
                }
                if observer {
                    problems.push("an observer leads".into());
                }
                o.leading = Some(epoch);
                o.top_epoch = Some(epoch);
                o.last_leader = Some((me, epoch));
            }
            Event::LeadershipLost { epoch, .. } => {
                if o.leading != Some(epoch) {
                    problems.push(format!(
                        "LeadershipLost({epoch}) without Leading (open {:?})",
                        o.leading
                    ));
                }
                o.leading = None;
            }
            Event::LeadershipFailed { .. } if o.leading.is_some() => {
                problems.push("LeadershipFailed while leading".into());
            }
            Event::Following { leader, epoch } | Event::Observing { leader, epoch } => {
                if !o.elected_open {
                    problems.push("Following without Elected".into());
                }
                if o.top_epoch.is_some_and(|t| epoch < t) {
                    problems.push(format!("epoch {epoch} below {:?}", o.top_epoch));
                }
                if let Some((l, e)) = o.last_leader {
                    if l != leader && epoch <= e {
                        problems.push(format!(
                            "epoch {epoch} for leader {leader} not above {e} of leader {l}"
                        ));
                    }
                }
                o.top_epoch = Some(epoch);
                o.last_leader = Some((leader, epoch));
            }
            Event::EpochAccepted { epoch } => {
                if observer {
                    problems.push("an observer accepted an epoch".into());
                }
                if epoch <= o.accepted {
                    problems.push(format!("accepted epoch {epoch} not above {}", o.accepted));
                }
                o.accepted = epoch;
                if node.crash_at_store && !node.spec.store && now < self.params.faults_until {
                    // No store to aim at: just after the acknowledgement
                    // the new epoch allows.
                    crash_after_accept = true;
                }
            }
            _ => {}
        }
        if let Some(p) = problems.first() {
            self.fail(&format!("sid {sid}: {p}"));
        }
        if crash_after_accept {
            let crash = now + self.rng.dur(Duration::ZERO, ms(3));
            self.crash_soon(sid, crash);
        }
        if let Event::Leading { epoch } = e {
            self.on_confirmed(sid, epoch);
        }
    }

    fn on_confirmed(&mut self, sid: Sid, epoch: i64) {
        // A confirmation happens when the machine decides it; its event
        // may reach the host later (a freeze in between). Then the instant
        // has passed (what the host may do with it is bounded by the lease
        // it sees, checked after every event), and the epoch rules apply
        // in decision order.
        let now = self.acting_late.unwrap_or(self.now);
        if self.params.check_single_leader && self.acting_late.is_none() {
            self.check_no_other_leader(sid, epoch);
        }
        if self.params.check_stored_quorum {
            // Every acknowledgement and my own count came after the store:
            // a quorum holds the epoch on disk (or has no disk to hold it).
            let holding: BTreeSet<Sid> = self
                .nodes
                .iter()
                .filter(|(_, n)| !n.spec.store || n.spec.legacy || n.disk.epoch >= epoch)
                .map(|(s, _)| *s)
                .collect();
            if !self.qv.contains_quorum(&holding) {
                self.fail(&format!(
                    "sid {sid} confirmed epoch {epoch} stored only at {holding:?}"
                ));
            }
        }
        // In time order (a late event's confirmation goes where its
        // decision was).
        let pos = self.confirmations.partition_point(|c| c.at <= now);
        let c = Confirmation {
            at: now,
            sid,
            epoch,
        };
        if !self.params.check_epochs {
            self.confirmations.insert(pos, c);
            return;
        }
        if let Some(c) = self.confirmations.iter().find(|c| c.epoch == epoch) {
            let c = *c;
            self.fail(&format!(
                "epoch {epoch} confirmed twice: sid {} at {:?} and sid {sid}",
                c.sid, c.at
            ));
        }
        // Increasing in time rests on the lease (a confirmation needs a
        // quorum that counts at that instant). Fencing mode confirms when
        // acknowledgements arrive, which a network may delay: epoch 3 may
        // be confirmed after 4 (seed 68588 of 200,000: an acknowledgement
        // of 3 took 185 ms), which fencing at the resource rejects; one
        // leader per epoch stays.
        let ordered = self.params.mode == Mode::Lease;
        if let Some(last) = pos
            .checked_sub(1)
            .map(|i| self.confirmations[i])
            .filter(|_| ordered)
        {
            if epoch <= last.epoch {
                self.fail(&format!(
                    "confirmed epochs do not increase: {} (sid {} at {:?}) then {epoch} (sid {sid})",
                    last.epoch, last.sid, last.at
                ));
            }
        }
        if let Some(next) = self.confirmations.get(pos).copied().filter(|_| ordered) {
            if next.epoch <= epoch {
                self.fail(&format!(
                    "confirmed epochs do not increase: {epoch} (sid {sid} at {now:?}, acted on late) then {} (sid {} at {:?})",
                    next.epoch, next.sid, next.at
                ));
            }
        }
        self.confirmations.insert(pos, c);
    }

    fn check_no_other_leader(&self, sid: Sid, epoch: i64) {
        for (&o, n) in &self.nodes {
            if o != sid && self.leads(o) {
                let until = self.lease(o);
                self.fail(&format!(
                    "sid {sid} confirmed (epoch {epoch}) while sid {o} still leads (lease until {until:?}, paused {})",
                    n.paused
                ));
            }
        }
    }

    // ------------------------------------------------------------ queries

    /// The confirmed leader and its epoch, if every running peer agrees: the
    /// leader leads now, every running (not paused) zkelect voter follows it
    /// with that epoch confirmed, and every such observer observes it
    /// (where epochs can repeat, a peer that already reported this epoch
    /// for another leader only has to be decided on this one).
    pub fn settled(&self) -> Option<(Sid, i64)> {
        let (leader, epoch) = self.nodes.iter().find_map(|(&s, n)| match n.role() {
            Some(Role::Leading {
                epoch,
                confirmed: true,
            }) if self.leads(s) && !n.paused => Some((s, epoch)),
            _ => None,
        })?;
        for (&s, n) in &self.nodes {
            if s == leader || !n.live() || n.paused || n.spec.legacy || n.stopping.is_some() {
                continue;
            }
            let ok = match n.role() {
                Some(Role::Following {
                    leader: l,
                    epoch: Some(e),
                })
                | Some(Role::Observing {
                    leader: l,
                    epoch: Some(e),
                }) => l == leader && e == epoch,
                // Without a store at every peer ([`Params::check_epochs`]
                // off) one epoch can be confirmed for two leaders in turn:
                // a peer without a store forgets the epoch it acknowledged
                // in a crash and helps a successor propose it again (seed
                // 13095: sid 2 acknowledges epoch 2 for sid 3, crashes,
                // and with sid 1 confirms sid 1 at epoch 2). A peer that
                // reported that epoch, or a higher one, for the earlier
                // leader in this incarnation must not report it for the
                // new one (`Following`/`Observing` epochs strictly increase
                // when the leader changes, so that they are fencing
                // tokens, and never decrease: seed 117234 of 200,000, an
                // observer that saw sid 1 at epoch 6 and then sid 1,
                // restarted without a store, confirmed at 4), and nothing
                // makes the new leader raise it: an
                // observer never answers, a voter that accepted the same
                // epoch stays silent. It stays decided on the right leader
                // without an epoch, as the library means it to.
                Some(Role::Following {
                    leader: l,
                    epoch: None,
                })
                | Some(Role::Observing {
                    leader: l,
                    epoch: None,
                }) if !self.params.check_epochs => {
                    l == leader
                        && n.order
                            .last_leader
                            .is_some_and(|(o, e)| e > epoch || (o != leader && e >= epoch))
                }
                _ => false,
            };
            if !ok {
                return None;
            }
        }
        Some((leader, epoch))
    }

    /// The events of `sid`, in order.
    pub fn events_of(&self, sid: Sid) -> Vec<(Duration, Event)> {
        self.nodes[&sid]
            .events
            .iter()
            .map(|(t, _, e)| (*t, *e))
            .collect()
    }

    /// Sids of running peers.
    pub fn live(&self) -> Vec<Sid> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.live())
            .map(|(s, _)| *s)
            .collect()
    }

    /// Voters' sids.
    pub fn voters(&self) -> Vec<Sid> {
        self.qv.voters().iter().copied().collect()
    }

    /// A one-line-per-peer summary.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (sid, n) in &self.nodes {
            let _ = write!(s, "  sid {sid} (host {}): ", n.host);
            if n.stopping.is_some() {
                s.push_str("STOPPING ");
            }
            if !n.clock.is_exact() {
                let _ = write!(
                    s,
                    "(clock {:+} ppm, reads {:?}) ",
                    n.clock.ppm(),
                    n.clock.local(self.now)
                );
            }
            match &n.machine {
                None => s.push_str("down"),
                Some(Machine::Legacy(f)) => {
                    let _ = write!(s, "legacy {} {}", f.state(), f.current_vote());
                }
                Some(Machine::Zk(c)) => {
                    let _ = write!(
                        s,
                        "{:?} fle {} round {} accepted {} stored {:?} disk {:?} promise {:?} lease {:?}{}{}",
                        c.role(),
                        c.fle().state(),
                        c.fle().logicalclock(),
                        c.accepted_epoch(),
                        c.stored(),
                        n.disk,
                        c.promise_until(),
                        c.lease_until(),
                        if n.paused { " PAUSED" } else { "" },
                        if n.spec.store { "" } else { " NO-STORE" },
                    );
                }
            }
            s.push('\n');
        }
        let _ = writeln!(s, "  cut: {:?}", self.links.cut);
        if !self.walls.is_empty() {
            let _ = writeln!(s, "  firewalled: {:?}", self.walls);
        }
        s
    }

    /// Fails the test with the seed, the state and the recent trace.
    pub fn fail(&self, msg: &str) -> ! {
        let mut s = format!(
            "seed {} at {:?}: {msg}\n(replay: SIM_SEED={} ; more trace: SIM_TRACE=n)\n{}recent trace:\n",
            self.seed,
            self.now,
            self.seed,
            self.describe()
        );
        for (at, t) in self.trace.iter() {
            let _ = writeln!(
                s,
                "  {:>10.3}ms {}",
                at.as_secs_f64() * 1000.0,
                fmt_trace(t)
            );
        }
        panic!("{s}");
    }

    /// Fails unless `cond`.
    pub fn check(&self, cond: bool, msg: &str) {
        if !cond {
            self.fail(msg);
        }
    }

    fn record(&mut self, t: Trace) {
        self.trace.record(self.now, t);
    }
}

fn legacy(acts: Vec<Action>) -> Vec<Output> {
    acts.into_iter()
        .filter_map(|a| match a {
            Action::Send { to, msg } => Some(Output::Send { to, msg }),
            _ => None,
        })
        .collect()
}

fn fmt_msg(m: &Message) -> String {
    let st = ServerState::from_i32(m.state).map_or("?", |s| s.name());
    format!(
        "{st} L={} zxid={:#x} round={} pe={}",
        m.leader, m.zxid, m.election_epoch, m.peer_epoch
    )
}

fn fmt_trace(t: &Trace) -> String {
    match t {
        Trace::Send {
            from,
            to,
            msg,
            fate,
        } => format!("{from} -> {to} {} [{fate}]", fmt_msg(msg)),
        Trace::Recv { from, to, msg } => format!("{to} <- {from} {}", fmt_msg(msg)),
        Trace::Cnx { sid, peer, up } => {
            format!(
                "{sid}: connection to {peer} {}",
                if *up { "up" } else { "down" }
            )
        }
        Trace::Event(sid, e) => format!("{sid}: EVENT {e:?}"),
        Trace::Control(c) => format!("CONTROL {c:?}"),
        Trace::Persist { sid, d } => format!("{sid}: PERSIST {d:?}"),
        Trace::Stored { sid, d, ok } => {
            format!("{sid}: STORE {} {d:?}", if *ok { "done" } else { "FAILED" })
        }
        Trace::Refused(sid, r) => format!("{sid}: REFUSED {r}"),
        Trace::Note(sid, r) => format!("{sid}: {r}"),
    }
}

/// Whether `e` is a leadership loss of any kind (for event-order checks).
pub fn is_loss(e: &Event) -> bool {
    matches!(
        e,
        Event::LeaderLost { .. } | Event::LeadershipLost { .. } | Event::LeadershipFailed { .. }
    )
}

/// The reason of a loss event.
pub fn reason(e: &Event) -> Option<LossReason> {
    match e {
        Event::LeaderLost { reason, .. }
        | Event::LeadershipLost { reason, .. }
        | Event::LeadershipFailed { reason, .. } => Some(*reason),
        _ => None,
    }
}
