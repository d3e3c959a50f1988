//! The leadership timers, all derived from zoo.cfg's `tickTime`,
//! `initLimit` and `syncLimit`, and the defaults of those limits and of the
//! finalize wait: the one definition of each, which the config's derived
//! values and summary read too.

use std::time::Duration;

/// `initLimit` when zoo.cfg has none (ZooKeeper's sample config).
pub const DEFAULT_INIT_LIMIT: u32 = 10;
/// `syncLimit` when zoo.cfg has none (ZooKeeper's sample config).
pub const DEFAULT_SYNC_LIMIT: u32 = 5;
/// `finalizeWait` in ms when zoo.cfg has none: ZooKeeper's fixed 200 ms.
pub const DEFAULT_FINALIZE_WAIT_MS: u64 = 200;

/// The tick and the limits, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `tickTime`, the unit of every timer.
    pub tick: Duration,
    /// `initLimit`: ticks a new leader has to get its epoch confirmed.
    pub init_limit: u32,
    /// `syncLimit`: ticks a follower waits for a heartbeat before giving its
    /// leader up. At least 2, so that the leader's deadline (one tick
    /// shorter) is not zero.
    pub sync_limit: u32,
    /// FLE's finalize wait (`finalizeWait`, ZooKeeper's fixed 200 ms): a new
    /// leader sends its first heartbeat that long after its decision (at
    /// most a heartbeat period). A peer takes it from its election's
    /// settings ([`crate::election::Settings::finalize_wait`]), so the two
    /// are one value.
    pub finalize_wait: Duration,
}

impl Timing {
    /// From zoo.cfg values; absent limits take the sample config's 10 and 5
    /// ([`DEFAULT_INIT_LIMIT`], [`DEFAULT_SYNC_LIMIT`]), the finalize wait
    /// [`DEFAULT_FINALIZE_WAIT_MS`]. A zero tick becomes 1 ms, `initLimit`
    /// at least 1 and `syncLimit` at least 2.
    pub fn new(tick: Duration, init_limit: Option<u32>, sync_limit: Option<u32>) -> Timing {
        Timing {
            tick: tick.max(Duration::from_millis(1)),
            init_limit: init_limit.unwrap_or(DEFAULT_INIT_LIMIT).max(1),
            sync_limit: sync_limit.unwrap_or(DEFAULT_SYNC_LIMIT).max(2),
            finalize_wait: Duration::from_millis(DEFAULT_FINALIZE_WAIT_MS),
        }
    }

    /// With FLE's finalize wait (default [`DEFAULT_FINALIZE_WAIT_MS`],
    /// ZooKeeper's); a peer passes its election settings' value.
    pub fn with_finalize_wait(mut self, d: Duration) -> Timing {
        self.finalize_wait = d;
        self
    }

    /// D_F, `syncLimit × tickTime`: a follower that has had no heartbeat from
    /// its leader for this long gives it up.
    pub fn follower_deadline(&self) -> Duration {
        self.tick * self.sync_limit
    }

    /// D_L, `(syncLimit − 1) × tickTime`: a leader counts a follower's
    /// acknowledgement for this long after sending the heartbeat it answers.
    /// One tick below D_F, which is the margin the lease argument needs (and
    /// what absorbs clock-rate differences).
    pub fn leader_deadline(&self) -> Duration {
        self.tick * (self.sync_limit - 1)
    }

    /// `initLimit × tickTime`: how long a new leader waits for a quorum to
    /// confirm its epoch, and how long a follower whose decision the
    /// leader's own vote did not back waits for a first heartbeat.
    pub fn confirm_timeout(&self) -> Duration {
        self.tick * self.init_limit
    }

    /// How often a leader sends heartbeats: every half tick, as a ZooKeeper
    /// leader pings its followers. The leader's deadline must cover a
    /// period plus a round trip, and with `syncLimit = 2` it is one tick.
    pub fn heartbeat_period(&self) -> Duration {
        (self.tick / 2).max(Duration::from_micros(500))
    }

    /// How often a leader also heartbeats peers that are looking to elect
    /// someone else: every two ticks, or four finalize waits if longer, so
    /// that such a peer's finalize wait is rarely cut short; but within the
    /// leader's deadline, below the follower's, so that one that meanwhile
    /// follows and cannot acknowledge yet does not time out.
    pub fn wide_heartbeat_period(&self) -> Duration {
        (self.tick * 2)
            .max(self.finalize_wait * 4)
            .min(self.leader_deadline())
    }

    /// How long a broken connection to the leader may stay down before a
    /// follower gives the leader up: one tick.
    pub fn reconnect_grace(&self) -> Duration {
        self.tick
    }

    /// Two ticks: after that long a leader that decided would have sent
    /// several heartbeats (one every half tick), so a LOOKING notification
    /// from it, even of the round the follower decided in, is no longer the
    /// tail of that election.
    pub fn heartbeat_wait(&self) -> Duration {
        self.tick * 2
    }

    /// `(syncLimit + 1) × tickTime`: how long a follower that decided on the
    /// leader's own LEADING vote, and has had no heartbeat, waits before it
    /// takes the leader for one that sends none (a real ZooKeeper server)
    /// and trusts that vote. Its first hello goes out at `syncLimit` ticks,
    /// so a zkelect peer that does not lead has answered by then.
    pub fn trust_wait(&self) -> Duration {
        self.follower_deadline() + self.tick
    }
}

impl Default for Timing {
    /// ZooKeeper's sample config: tick 2000 ms, initLimit 10, syncLimit 5.
    fn default() -> Timing {
        Timing::new(Duration::from_millis(2000), None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_from_the_sample_config() {
        let t = Timing::default();
        assert_eq!(t.follower_deadline(), Duration::from_secs(10));
        assert_eq!(t.leader_deadline(), Duration::from_secs(8));
        assert_eq!(t.confirm_timeout(), Duration::from_secs(20));
    }

    #[test]
    fn sync_limit_below_two_is_raised() {
        let t = Timing::new(Duration::from_millis(100), Some(0), Some(1));
        assert_eq!(t.init_limit, 1);
        assert_eq!(t.sync_limit, 2);
        assert!(t.leader_deadline() > Duration::ZERO);
        assert!(t.leader_deadline() < t.follower_deadline());
    }
}
