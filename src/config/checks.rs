//! The checks of a config that span several lines (spec 6.3, 6.4, 7.2):
//! addresses shared between servers, the participants and observers, and
//! the hierarchical verifier's groups and weights. `build` reads the lines;
//! this judges them together.

use super::build::{Group, HierarchyLines, ServerLines, Site, Weight};
use super::error::ConfigError;
use super::{Config, QuorumServer};
use crate::javatext::inet::delimited_host_string as java_host;
use crate::quorum::Hierarchical;
use crate::types::{LearnerType, Sid};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The participants and the observers, after checking that the config has
/// a participant and that `standaloneEnabled` allows its observers.
pub(super) fn roles(cfg: &Config) -> Result<(BTreeSet<Sid>, BTreeSet<Sid>), ConfigError> {
    let of_role = |role| -> BTreeSet<Sid> {
        cfg.servers
            .values()
            .filter(|s| s.role == role)
            .map(|s| s.sid)
            .collect()
    };
    let voters = of_role(LearnerType::Participant);
    let observers = of_role(LearnerType::Observer);
    if voters.is_empty() {
        let what = if observers.is_empty() {
            "there are no server.N lines"
        } else {
            "every server.N line is an observer"
        };
        return Err(ConfigError::new(format!(
            "{what}: at least one participant is required"
        )));
    }
    if cfg.standalone_enabled && voters.len() == 1 && !observers.is_empty() {
        // ZooKeeper runs a lone participant standalone when this is on, and
        // refuses the config if it lists observers.
        return Err(ConfigError::for_key(
            "standaloneEnabled",
            "a single participant with observers needs standaloneEnabled=false (with the \
             default true, ZooKeeper runs one participant standalone, without observers)",
        ));
    }
    Ok((voters, observers))
}

/// No two listeners may share a host and port: a server's quorum and
/// election addresses against every other address of every server (the
/// same host string on the same port can only bind once), and a server's
/// own client port against its quorum and election ports.
pub(super) fn check_addresses(
    servers: &BTreeMap<Sid, QuorumServer>,
    order: &[Sid],
    sites: &BTreeMap<Sid, Site>,
) -> Result<(), ConfigError> {
    let mut seen: HashMap<(String, u16), (Sid, &'static str)> = HashMap::new();
    for sid in order {
        let server = &servers[sid];
        let site = &sites[sid];
        for a in &server.addrs {
            let host = java_host(&a.host);
            for (kind, port) in [("quorum", a.quorum_port), ("election", a.election_port)] {
                let k = (host.to_ascii_lowercase(), port);
                if let Some((other, other_kind)) = seen.get(&k) {
                    let owner = if other == sid {
                        "this server's".to_string()
                    } else {
                        format!("server {other}'s (line {})", sites[other].line)
                    };
                    return Err(site.err(format!(
                        "{kind} address {host}:{port} is already {owner} {other_kind} address"
                    )));
                }
                seen.insert(k, (*sid, kind));
            }
        }
        if let Some((_, client)) = &server.client {
            for a in &server.addrs {
                for (kind, port) in [("quorum", a.quorum_port), ("election", a.election_port)] {
                    if *client == port {
                        return Err(site.err(format!(
                            "client port {client} is also this server's {kind} port"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Spec 6.4 / 7.2 checks, then the verifier. `trigger` is the first key
/// that switched hierarchical quorums on, named in errors because an
/// operator may not expect the switch.
pub(super) fn build_hierarchical(
    cfg: &Config,
    trigger: &Site,
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
    lines: &HierarchyLines,
    servers: &ServerLines,
) -> Result<Hierarchical, ConfigError> {
    let (groups, weights) = (&lines.groups, &lines.weights);
    let (server_sites, server_order) = (&servers.sites, &servers.order);
    let mut group_sites: Vec<&Group> = groups.values().collect();
    group_sites.sort_by_key(|g| g.site.line);
    for g in group_sites {
        if let Some(unknown) = g.members.iter().find(|m| !cfg.servers.contains_key(m)) {
            return Err(g.site.err(format!(
                "group member {unknown} has no server.{unknown} line"
            )));
        }
    }
    for g in groups.values() {
        let unweighted = g
            .members
            .iter()
            .find(|m| !voters.contains(m) && !weights.contains_key(m));
        if let Some(obs) = unweighted {
            // ZooKeeper 3.8 only defaults the weight of participants and then
            // dies on a NullPointerException while summing this group.
            return Err(g.site.err(format!(
                "observer {obs} is in a group but has no weight.{obs} line, which ZooKeeper \
                 3.8 cannot load; add weight.{obs}=0 or leave it out of the group"
            )));
        }
    }
    let mut weight_sites: Vec<(&Sid, &Weight)> = weights.iter().collect();
    weight_sites.sort_by_key(|(_, w)| w.site.line);
    for (sid, w) in weight_sites {
        if !cfg.servers.contains_key(sid) {
            return Err(w.site.err(format!("server {sid} has no server.{sid} line")));
        }
    }
    let grouped: BTreeSet<Sid> = groups
        .values()
        .flat_map(|g| g.members.iter().copied())
        .collect();
    for sid in server_order {
        if voters.contains(sid) && !grouped.contains(sid) {
            return Err(server_sites[sid].err(format!(
                "participant {sid} is in no group; with hierarchical quorums (switched on by {} \
                 at line {}) every participant needs a group.N line",
                trigger.key, trigger.line
            )));
        }
    }
    let group_sets: BTreeMap<i64, BTreeSet<Sid>> = groups
        .iter()
        .map(|(gid, g)| (*gid, g.members.iter().copied().collect()))
        .collect();
    let weight_map: BTreeMap<Sid, u64> = weights.iter().map(|(s, w)| (*s, w.weight)).collect();
    let h = Hierarchical::new(voters, observers, group_sets, weight_map, cfg.version);
    let any_weight = groups
        .values()
        .any(|g| g.members.iter().any(|m| h.weight(*m) > 0));
    if !any_weight {
        return Err(trigger
            .err("every group has total weight 0, so no set of servers could ever be a quorum"));
    }
    Ok(h)
}
