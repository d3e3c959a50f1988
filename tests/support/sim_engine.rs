//! The one discrete-event engine under both deterministic simulators: the
//! FLE machine's (`tests/sim`) and the leadership core's
//! (`tests/leadership_sim`). Each simulator is an adapter that owns its
//! peers, its event type and its invariants; what they share lives here:
//!
//! - [`Queue`]: the event heap, ordered by (time, sequence number), so that
//!   events at one instant run in the order they were scheduled and a run
//!   is a function of its seed;
//! - [`Links`]: the transport model of ZooKeeper's election connections
//!   between peers: the set of cut directed links, the newest message
//!   held per link (the send queue of capacity 1, delivered when the link
//!   heals), per-link FIFO delivery times (TCP) and per-link generations
//!   (a reset connection drops what was in flight);
//! - [`Clock`]: a peer's own clock as a function of simulated (real) time:
//!   a rate (drift) and an offset that a suspend or a jump moves, with the
//!   inverse the adapters need to arm timers and to compare leases in
//!   real time;
//! - [`TraceRing`]: the bounded trace a failure prints;
//! - [`seeds`] and [`par_map`]: the seed list of a random run and its
//!   spread over threads.
//!
//! The adapters draw every random number from their own [`super::Rng`]
//! streams; the engine draws none, so moving code here did not change any
//! schedule.

#![allow(dead_code)]

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::time::Duration;

use zkelect::types::Sid;

struct Queued<E> {
    at: Duration,
    seq: u64,
    ev: E,
}

impl<E> PartialEq for Queued<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<E> Eq for Queued<E> {}
impl<E> PartialOrd for Queued<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Queued<E> {
    // Reversed: BinaryHeap is a max-heap and the earliest comes first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// The event heap: earliest first, ties in scheduling order.
pub struct Queue<E> {
    heap: BinaryHeap<Queued<E>>,
    seq: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> Queue<E> {
    /// Schedules `ev` at `at`.
    pub fn push(&mut self, at: Duration, ev: E) {
        self.seq += 1;
        self.heap.push(Queued {
            at,
            seq: self.seq,
            ev,
        });
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(Duration, E)> {
        self.heap.pop().map(|q| (q.at, q.ev))
    }

    /// When the earliest event is due.
    pub fn next_at(&self) -> Option<Duration> {
        self.heap.peek().map(|q| q.at)
    }

    /// Whether an event is due at or before `t`.
    pub fn due_by(&self, t: Duration) -> bool {
        self.next_at().is_some_and(|at| at <= t)
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// The links between peers (directed): what is cut, what a cut link
/// holds, when each link delivers next (FIFO), and its generation.
#[derive(Debug, Clone)]
pub struct Links<M> {
    /// Directed links that deliver nothing now.
    pub cut: BTreeSet<(Sid, Sid)>,
    /// Per link, the newest message that could not go (the transport's
    /// send queue of one), sent when the link comes back.
    pub held: BTreeMap<(Sid, Sid), M>,
    /// Per link, the delivery time of the last message sent in order.
    pub clock: BTreeMap<(Sid, Sid), Duration>,
    /// Per link, bumped by a reset: deliveries of an older generation are
    /// dropped.
    pub gen: BTreeMap<(Sid, Sid), u64>,
}

impl<M> Default for Links<M> {
    fn default() -> Self {
        Links {
            cut: BTreeSet::new(),
            held: BTreeMap::new(),
            clock: BTreeMap::new(),
            gen: BTreeMap::new(),
        }
    }
}

impl<M> Links<M> {
    /// Whether the link `a → b` is cut.
    pub fn is_cut(&self, a: Sid, b: Sid) -> bool {
        self.cut.contains(&(a, b))
    }

    /// Replaces the cut set; returns the links that came back (in order),
    /// whose held messages the adapter may now send.
    pub fn set_cut(&mut self, links: BTreeSet<(Sid, Sid)>) -> Vec<(Sid, Sid)> {
        let restored: Vec<(Sid, Sid)> = self.cut.difference(&links).copied().collect();
        self.cut = links;
        restored
    }

    /// Keeps `msg` as the newest message of `a → b`.
    pub fn hold(&mut self, a: Sid, b: Sid, msg: M) {
        self.held.insert((a, b), msg);
    }

    /// Takes the message held on `a → b`.
    pub fn take_held(&mut self, a: Sid, b: Sid) -> Option<M> {
        self.held.remove(&(a, b))
    }

    /// Forgets what `sid` had queued (it crashed).
    pub fn drop_from(&mut self, sid: Sid) {
        self.held.retain(|(a, _), _| *a != sid);
    }

    /// The delivery time of a message on `a → b` drawn to arrive at `at`,
    /// kept in order behind what the link delivers before it.
    pub fn in_order(&mut self, a: Sid, b: Sid, at: Duration) -> Duration {
        let clock = self.clock.entry((a, b)).or_default();
        let at = at.max(*clock);
        *clock = at;
        at
    }

    /// When the last message sent in order on `a → b` arrives.
    pub fn last_delivery(&self, a: Sid, b: Sid) -> Duration {
        self.clock.get(&(a, b)).copied().unwrap_or_default()
    }

    /// The generation of `a → b`.
    pub fn gen(&self, a: Sid, b: Sid) -> u64 {
        self.gen.get(&(a, b)).copied().unwrap_or(0)
    }

    /// A reset of the connection between `a` and `b`: both directions get
    /// a new generation.
    pub fn reset(&mut self, a: Sid, b: Sid) {
        *self.gen.entry((a, b)).or_default() += 1;
        *self.gen.entry((b, a)).or_default() += 1;
    }
}

/// A peer's clock: `local(t) = base_local + (t − base_real) × rate`, with
/// the rate in parts per million away from 1 (`ppm`, positive: fast).
/// A suspend that the clock does not count, or a jump, moves `base_local`.
/// Local time never goes below zero, nor backwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    base_real: Duration,
    base_local: Duration,
    ppm: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::at_rate(0)
    }
}

fn nanos(d: Duration) -> i128 {
    d.as_nanos() as i128
}

fn from_nanos(n: i128) -> Duration {
    let n = n.clamp(0, u64::MAX as i128) as u64;
    Duration::from_nanos(n)
}

impl Clock {
    /// A clock that reads 0 at time 0 and runs `ppm` parts per million
    /// fast (negative: slow).
    pub fn at_rate(ppm: i64) -> Clock {
        Clock {
            base_real: Duration::ZERO,
            base_local: Duration::ZERO,
            ppm,
        }
    }

    /// Its rate in parts per million away from 1.
    pub fn ppm(&self) -> i64 {
        self.ppm
    }

    /// Whether it runs exactly with simulated time (no drift, no offset).
    pub fn is_exact(&self) -> bool {
        self.ppm == 0 && self.base_real == self.base_local
    }

    /// The reading at simulated time `real`.
    pub fn local(&self, real: Duration) -> Duration {
        if self.ppm == 0 {
            // Exact integer arithmetic (the common case, and what the
            // schedules were pinned with).
            return self
                .base_local
                .saturating_add(real)
                .saturating_sub(self.base_real);
        }
        let dt = nanos(real) - nanos(self.base_real);
        let scaled = dt + dt * self.ppm as i128 / 1_000_000;
        from_nanos(nanos(self.base_local) + scaled)
    }

    /// The earliest simulated time at or after `not_before` at which the
    /// clock reads at least `local` (a timer armed for `local`).
    pub fn real(&self, local: Duration, not_before: Duration) -> Duration {
        if self.ppm == 0 {
            return local
                .saturating_add(self.base_real)
                .saturating_sub(self.base_local)
                .max(not_before);
        }
        let dl = nanos(local) - nanos(self.base_local);
        let rate = 1_000_000 + self.ppm as i128;
        // The ceiling of dl / rate, then corrected for rounding.
        let mut t = nanos(self.base_real) + (dl * 1_000_000 + rate - 1).div_euclid(rate);
        if t >= u64::MAX as i128 {
            return from_nanos(t).max(not_before);
        }
        while self.local(from_nanos(t)) < local {
            t += 1;
        }
        while t > 0 && self.local(from_nanos(t - 1)) >= local {
            t -= 1;
        }
        from_nanos(t).max(not_before)
    }

    /// The clock stands still over `[from, to)` (a suspend it does not
    /// count): from `to` on it reads what it read at `from`, and runs on.
    pub fn stood_still(&mut self, from: Duration, to: Duration) {
        let reading = self.local(from);
        self.base_real = to;
        self.base_local = reading;
    }

    /// The clock jumps by `by` at simulated time `at` (forwards only: a
    /// monotonic clock never goes back).
    pub fn jump(&mut self, at: Duration, by: Duration) {
        let reading = self.local(at);
        self.base_real = at;
        self.base_local = reading + by;
    }

    /// How far the reading is behind simulated time at `real` (zero if
    /// ahead).
    pub fn lag(&self, real: Duration) -> Duration {
        real.saturating_sub(self.local(real))
    }
}

/// The bounded trace of recent events a failure prints (`SIM_TRACE=n`
/// keeps `n`; each simulator has its default).
#[derive(Debug, Clone)]
pub struct TraceRing<T> {
    buf: VecDeque<(Duration, T)>,
    keep: usize,
}

impl<T> TraceRing<T> {
    /// Keeps `SIM_TRACE` entries, else `default`.
    pub fn new(default: usize) -> Self {
        TraceRing {
            buf: VecDeque::new(),
            keep: trace_len(default),
        }
    }

    /// Records `t` at `now`, forgetting the oldest past the bound.
    pub fn record(&mut self, now: Duration, t: T) {
        if self.keep == 0 {
            return;
        }
        if self.buf.len() >= self.keep {
            self.buf.pop_front();
        }
        self.buf.push_back((now, t));
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &(Duration, T)> {
        self.buf.iter()
    }
}

/// How much trace a failure keeps: `SIM_TRACE`, else `default`.
pub fn trace_len(default: usize) -> usize {
    std::env::var("SIM_TRACE")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// The seeds of a random run: the one `SIM_SEED` names, else `count`
/// seeds (the variable `count_var` overrides the default) from
/// `SIM_SEED_FROM` (default 0).
pub fn seeds(count_var: &str, default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("SIM_SEED") {
        return vec![s.trim().parse().expect("SIM_SEED must be a number")];
    }
    let n: u64 = std::env::var(count_var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default);
    let from: u64 = std::env::var("SIM_SEED_FROM")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    (from..from + n).collect()
}

/// `f` over `list` on up to four threads (seed `i` on thread `i mod n`);
/// results in thread order. A panic in any run is re-raised.
pub fn par_map<T: Send>(list: &[u64], f: impl Fn(u64) -> T + Sync) -> Vec<(u64, T)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    list.iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|&seed| (seed, f(seed)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
