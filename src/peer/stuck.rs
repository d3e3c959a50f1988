//! The warning of a peer that stays LOOKING: which voters it cannot reach
//! and how many votes it lacks, at WARN, rate-limited.

use crate::config::Config;
use crate::election::Fle;
use crate::log;
use crate::logging::Level;
use crate::quorum::QuorumVerifier;
use crate::types::{ServerState, Sid};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The first warning comes after this many initial notification timeouts
/// of LOOKING (and not before [`FIRST_AT_LEAST`]).
const FIRST_AFTER_TIMEOUTS: u32 = 5;

/// The earliest first warning: an election that merely takes a few
/// rounds is not stuck.
const FIRST_AT_LEAST: Duration = Duration::from_secs(1);

/// The gap after the first warning; it doubles up to [`MAX_GAP`].
const FIRST_GAP: Duration = Duration::from_secs(10);

/// The longest gap between two warnings.
const MAX_GAP: Duration = Duration::from_secs(60);

/// Watches how long the peer has been LOOKING.
pub(crate) struct StuckWatch {
    first_after: Duration,
    /// Election addresses by sid, for the warning.
    addrs: BTreeMap<Sid, String>,
    /// When the current LOOKING began.
    since: Option<Duration>,
    /// When the next warning is due, and the gap after it.
    next: Option<(Duration, Duration)>,
}

impl StuckWatch {
    /// A watch for the peers of `config`, whose election's first
    /// notification timeout is `initial` (`fastleader.minNotificationInterval`,
    /// from the run's settings).
    pub(crate) fn new(config: &Config, initial: Duration) -> StuckWatch {
        let addrs = config
            .servers
            .values()
            .map(|s| {
                let a: Vec<String> = s
                    .addrs
                    .iter()
                    .map(|a| format!("{}:{}", a.host, a.election_port))
                    .collect();
                (s.sid, a.join("|"))
            })
            .collect();
        StuckWatch {
            first_after: (initial * FIRST_AFTER_TIMEOUTS).max(FIRST_AT_LEAST),
            addrs,
            since: None,
            next: None,
        }
    }

    /// Looks at the election at `now` and warns if it is due (`connected`
    /// gives the sids with an election connection; called only then).
    /// Returns when to look again, `None` while not LOOKING.
    pub(crate) fn check(
        &mut self,
        now: Duration,
        fle: &Fle,
        connected: impl FnOnce() -> Vec<Sid>,
    ) -> Option<Duration> {
        if fle.state() != ServerState::Looking {
            self.since = None;
            self.next = None;
            return None;
        }
        let since = *self.since.get_or_insert(now);
        let (due, gap) = *self
            .next
            .get_or_insert((since + self.first_after, FIRST_GAP));
        if now < due {
            return Some(due);
        }
        log!(
            Level::Warn,
            "{}",
            self.describe(now - since, fle, &connected())
        );
        self.next = Some((now + gap, (gap * 2).min(MAX_GAP)));
        Some(now + gap)
    }

    fn describe(&self, looking: Duration, fle: &Fle, connected: &[Sid]) -> String {
        let me = fle.my_sid();
        let voters = fle.voters();
        let mut reached: BTreeSet<Sid> = voters
            .iter()
            .copied()
            .filter(|s| connected.contains(s))
            .collect();
        if voters.contains(&me) {
            reached.insert(me);
        }
        let missing: Vec<Sid> = voters
            .iter()
            .copied()
            .filter(|s| !reached.contains(s))
            .collect();
        let leader = fle.proposal().leader;
        let head = format!(
            "sid {me}: LOOKING for {:.1} s (round {}, proposing leader {leader})",
            looking.as_secs_f64(),
            fle.logicalclock()
        );
        if missing.is_empty() {
            return format!(
                "{head}: all {} voters are reachable, but no quorum agrees on a leader yet",
                voters.len()
            );
        }
        let unreachable: Vec<String> = missing
            .iter()
            .map(|s| match self.addrs.get(s) {
                Some(a) => format!("{s} ({a})"),
                None => s.to_string(),
            })
            .collect();
        let lack = match votes_lacking(fle.quorum(), &reached, &missing) {
            Some(0) => "they form a quorum, but no quorum agrees on a leader yet".to_string(),
            Some(1) => "1 vote short of a quorum".to_string(),
            Some(k) => format!("{k} votes short of a quorum"),
            None => "no quorum is possible without more voters".to_string(),
        };
        let rule = match fle.quorum() {
            QuorumVerifier::Majority(m) => {
                format!(
                    ", which needs {} of {}",
                    m.voters().len() / 2 + 1,
                    voters.len()
                )
            }
            QuorumVerifier::Hierarchical(_) => " (hierarchical quorum)".to_string(),
        };
        let itself = if voters.contains(&me) {
            " (itself included)"
        } else {
            ""
        };
        format!(
            "{head}: cannot reach voter{} {}; reaches {} of {} voters{itself}{rule}: {lack}",
            if missing.len() == 1 { "" } else { "s" },
            unreachable.join(", "),
            reached.len(),
            voters.len(),
        )
    }
}

/// The fewest voters of `missing` that, added to `have`, make a quorum:
/// `None` when not even all of them do. Exhaustive for up to 16 missing
/// voters, else `None` unless `have` is a quorum.
fn votes_lacking(q: &QuorumVerifier, have: &BTreeSet<Sid>, missing: &[Sid]) -> Option<usize> {
    if q.contains_quorum(have) {
        return Some(0);
    }
    if let QuorumVerifier::Majority(m) = q {
        let need = m.voters().len() / 2 + 1;
        return (need <= have.len() + missing.len()).then(|| need - have.len());
    }
    if missing.len() > 16 {
        return None;
    }
    let mut best: Option<usize> = None;
    for mask in 1u32..(1 << missing.len()) {
        let k = mask.count_ones() as usize;
        if best.is_some_and(|b| k >= b) {
            continue;
        }
        let mut set = have.clone();
        set.extend(
            (0..missing.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| missing[i]),
        );
        if q.contains_quorum(&set) {
            best = Some(k);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::{Hierarchical, Majority};

    fn set(s: &[Sid]) -> BTreeSet<Sid> {
        s.iter().copied().collect()
    }

    #[test]
    fn votes_lacking_majority_and_hierarchical() {
        let m = QuorumVerifier::Majority(Majority::new([1, 2, 3, 4, 5], [], 0));
        assert_eq!(votes_lacking(&m, &set(&[1]), &[2, 3, 4, 5]), Some(2));
        assert_eq!(votes_lacking(&m, &set(&[1, 2, 3]), &[4, 5]), Some(0));
        let groups = [
            (1, set(&[1, 2, 3])),
            (2, set(&[4, 5, 6])),
            (3, set(&[7, 8, 9])),
        ]
        .into_iter()
        .collect();
        let h =
            QuorumVerifier::Hierarchical(Hierarchical::new(1..=9, [], groups, BTreeMap::new(), 0));
        // Two of group 1 and none elsewhere: two more, both in one group.
        assert_eq!(
            votes_lacking(&h, &set(&[1, 2]), &[3, 4, 5, 6, 7, 8, 9]),
            Some(2)
        );
        assert_eq!(votes_lacking(&h, &set(&[1]), &[]), None);
    }
}
