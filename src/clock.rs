//! The one clock the runtime reads for every lease and deadline.
//!
//! [`now`] is the time since boot on Linux's CLOCK_BOOTTIME, which counts
//! the time the system spends suspended. `std::time::Instant` (and so
//! crossbeam's timers) read CLOCK_MONOTONIC, which stops during suspend: a
//! leader that was suspended would resume believing it is still inside its
//! lease while its followers' promises, timed on machines that kept
//! running, have run out. The sans-I/O machines (the leadership core and
//! the FLE machine) never read a clock; the runtime passes them
//! `now()`, and sleeps in slices of at most [`MAX_SLEEP`] so that a jump of
//! this clock (a resume from suspend) is noticed within one slice even when
//! no message arrives. The host's view of the lease
//! ([`crate::Peer::leads_now`]) compares with this clock at the call.
//!
//! # Assumptions
//!
//! - **Rate.** The lease argument (in the leadership module's source) needs the
//!   clocks of two peers to run at nearly the same rate over one lease: a
//!   follower's promise lasts `syncLimit` ticks on its clock, the leader
//!   counts an acknowledgement for `syncLimit − 1` ticks on its own. The one
//!   tick between them absorbs a relative rate drift of up to
//!   1/`syncLimit` (20 % at the default `syncLimit=5`); NTP slews stay
//!   below 0.05 %. Clocks need not agree on the time of day: only durations
//!   measured on one machine are compared.
//! - **Never backwards.** CLOCK_BOOTTIME never goes back and is not set by
//!   `settimeofday`, NTP steps or the administrator.
//! - **Frozen clocks.** A process that is paused (SIGSTOP, a debugger, a
//!   VM that is descheduled, a long GC pause in a JVM host) does not run,
//!   but this clock runs on: when it resumes, its first read of [`now`]
//!   shows the whole pause, and the leader steps down before it acts on
//!   anything else. A whole machine whose clock stops (a VM frozen with its
//!   clock, then thawed without catching up) breaks the rate assumption;
//!   fencing at the resource (the epoch) still protects writes then.
//! - On systems without CLOCK_BOOTTIME the monotonic clock is used, which
//!   does not count suspend.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The longest the runtime sleeps before it reads the clock again, so a
/// resume from suspend is noticed within this long even with no input.
pub const MAX_SLEEP: Duration = Duration::from_millis(100);

/// The time on the suspend-counting clock (since boot, CLOCK_BOOTTIME).
/// Comparable between processes of one machine.
pub fn now() -> Duration {
    if let Some(t) = crate::os::boottime() {
        return t;
    }
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

#[doc(hidden)]
/// How long to sleep to wake at `deadline` (a [`now`] reading), in slices
/// of at most [`MAX_SLEEP`].
pub fn sleep_slice(deadline: Duration) -> Duration {
    deadline.saturating_sub(now()).min(MAX_SLEEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boottime_moves_forward_with_the_monotonic_clock() {
        let a = now();
        let i = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let b = now();
        let m = i.elapsed();
        assert!(b > a);
        // Without a suspend in between the two clocks agree closely.
        let d = (b - a).abs_diff(m);
        assert!(d < Duration::from_millis(50), "clocks differ by {d:?}");
    }

    #[test]
    fn sleep_slices_are_capped() {
        let far = now() + Duration::from_secs(60);
        assert_eq!(sleep_slice(far), MAX_SLEEP);
        assert_eq!(sleep_slice(Duration::ZERO), Duration::ZERO);
    }
}
