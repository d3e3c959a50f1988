//! The effective configuration in one line, logged at INFO when a peer
//! starts.

use super::Config;
use crate::javatext::inet::delimited_host_string as java_host;
use crate::quorum::QuorumVerifier;
use crate::types::Sid;
use std::collections::BTreeSet;

fn sids(s: &BTreeSet<Sid>) -> String {
    if s.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
    v.join(",")
}

impl Config {
    /// The effective configuration as seen by `my_sid`, on one line: its
    /// role and election address, the voters and observers, the quorum
    /// rule, the timers (defaults marked), the finalize wait, the
    /// leadership mode and whether quorum TLS is on, e.g.
    ///
    /// `sid 1 (participant, election 127.0.0.1:3888): voters 1,2,3; observers none;
    /// quorum: majority, 2 of 3 voters; tickTime=2000 ms initLimit=10 syncLimit=5 ticks;
    /// finalizeWait=200 ms; leadershipMode=lease; followOnly=auto; quorum TLS off`
    pub fn describe(&self, my_sid: Sid) -> String {
        let me = match self.servers.get(&my_sid) {
            Some(s) => {
                let addrs: Vec<String> = s
                    .addrs
                    .iter()
                    .map(|a| format!("{}:{}", java_host(&a.host), a.election_port))
                    .collect();
                format!("{}, election {}", s.role.name(), addrs.join("|"))
            }
            None => "not in the server list".into(),
        };
        let quorum = match &self.quorum {
            QuorumVerifier::Majority(m) => {
                let n = m.voters().len();
                format!("majority, {} of {n} voters", n / 2 + 1)
            }
            QuorumVerifier::Hierarchical(h) => {
                let groups: Vec<String> = h
                    .groups()
                    .iter()
                    .map(|(g, members)| format!("{g}=[{}]", sids(members)))
                    .collect();
                let odd: Vec<String> = h
                    .weights()
                    .iter()
                    .filter(|(_, w)| **w != 1)
                    .map(|(s, w)| format!("{s}={w}"))
                    .collect();
                let weights = if odd.is_empty() {
                    "every weight 1".to_string()
                } else {
                    format!("weights {} (others 1)", odd.join(","))
                };
                format!(
                    "hierarchical, more than half of the weighted groups {}, each by more \
                     than half its weight; {weights}",
                    groups.join(" ")
                )
            }
        };
        let limit = |v: Option<u32>, default: u32| match v {
            Some(v) => v.to_string(),
            None => format!("{default} (default)"),
        };
        format!(
            "sid {my_sid} ({me}): voters {}; observers {}; quorum: {quorum}; \
             tickTime={} ms initLimit={} syncLimit={} ticks; finalizeWait={} ms; \
             leadershipMode={}; followOnly={}; quorum TLS {}",
            sids(self.quorum.voters()),
            sids(self.quorum.observers()),
            self.tick_time_ms,
            limit(self.init_limit, crate::leadership::DEFAULT_INIT_LIMIT),
            limit(self.sync_limit, crate::leadership::DEFAULT_SYNC_LIMIT),
            self.finalize_wait_ms,
            self.leadership_mode,
            self.follow_only,
            match &self.tls {
                None => "off",
                Some(t) if t.sid_binding => "on (sid binding)",
                Some(_) => "on",
            },
        )
    }
}
