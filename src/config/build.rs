//! From properties to a [`Config`]: key interpretation (spec 6.2), the server
//! list (6.3), hierarchical groups and weights (6.4), and the checks that
//! span several lines.

use super::error::ConfigError;
use super::properties::Property;
use super::server::{parse_role, parse_server};
use super::values::{parse_bool, parse_hex_version, parse_int, parse_long, parse_positive_int};
use super::{Config, QuorumServer};
use crate::javatext::inet::delimited_host_string as java_host;
use crate::javatext::split as java_split;
use crate::quorum::{Hierarchical, Majority, QuorumVerifier};
use crate::types::{LearnerType, Sid};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// Keys ZooKeeper reads as `zookeeper.<key>` system properties (a zoo.cfg
/// key it does not know becomes one). We accept both spellings in zoo.cfg.
const SYSTEM_PROPERTY_KEYS: &[&str] = &[
    "cnxTimeout",
    "quorumCnxnTimeoutMs",
    "electionPortBindRetry",
    "tcpKeepAlive",
    "fastleader.minNotificationInterval",
    "fastleader.maxNotificationInterval",
    "multiAddress.enabled",
    "4lw.commands.whitelist",
];

/// The key as `build` reads it: a `zookeeper.<key>` system-property form
/// of one of [`SYSTEM_PROPERTY_KEYS`] is the plain key.
pub(crate) fn canonical_key(key: &str) -> &str {
    match key.strip_prefix("zookeeper.") {
        Some(rest) if SYSTEM_PROPERTY_KEYS.contains(&rest) => rest,
        _ => key,
    }
}

/// Where a key was written, for errors about it.
#[derive(Debug, Clone)]
struct Site {
    line: usize,
    key: String,
}

impl Site {
    fn of(p: &Property) -> Site {
        Site {
            line: p.line,
            key: p.key.clone(),
        }
    }

    fn err(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.line, &self.key, message)
    }
}

struct Group {
    site: Site,
    members: Vec<Sid>,
}

struct Weight {
    site: Site,
    weight: u64,
}

/// Interprets the entries; see the module docs of `config` for the rules.
pub(crate) fn build(props: Vec<Property>) -> Result<Config, ConfigError> {
    // ZooKeeper's properties table has no order, so the switch must be known
    // before any server line is read, wherever it is in the file.
    let mut multi_address_enabled = false;
    for p in props
        .iter()
        .filter(|p| canonical_key(&p.key) == "multiAddress.enabled")
    {
        multi_address_enabled = parse_bool(&p.value).map_err(|m| Site::of(p).err(m))?;
    }

    let mut cfg = Config {
        servers: BTreeMap::new(),
        quorum: QuorumVerifier::Majority(Majority::new([], [], 0)),
        version: 0,
        tick_time_ms: 3000,
        init_limit: None,
        sync_limit: None,
        cnx_timeout_ms: 5000,
        quorum_cnxn_timeout_ms: None,
        election_port_bind_retry: 3,
        quorum_listen_on_all_ips: false,
        multi_address_enabled,
        min_notification_interval_ms: 200,
        max_notification_interval_ms: 60000,
        tcp_keep_alive: false,
        data_dir: None,
        peer_type: LearnerType::Participant,
        standalone_enabled: true,
        finalize_wait_ms: 200,
        leadership_mode: crate::leadership::Mode::Lease,
        follow_only: crate::leadership::FollowOnly::Auto,
        client_port: None,
        client_port_address: None,
        four_letter_whitelist: None,
        metrics_port: None,
        metrics_host: None,
        warnings: Vec::new(),
        ignored: Vec::new(),
        strict: false,
        source: None,
        tls: None,
    };
    let mut prometheus_class = false;
    let mut tls_keys = super::tls::TlsKeys::default();
    let mut server_sites: BTreeMap<Sid, Site> = BTreeMap::new();
    let mut server_order: Vec<Sid> = Vec::new();
    let mut groups: BTreeMap<i64, Group> = BTreeMap::new();
    let mut group_of: BTreeMap<Sid, i64> = BTreeMap::new();
    let mut weights: BTreeMap<Sid, Weight> = BTreeMap::new();
    let mut hierarchical_site: Option<Site> = None;
    let mut min_interval_site: Option<Site> = None;
    let mut max_interval_site: Option<Site> = None;

    for p in &props {
        let site = Site::of(p);
        let v = p.value.as_str();
        let key = canonical_key(&p.key);
        let bad = |m: String| site.err(m);
        if tls_keys.take(p.line, &p.key, v) {
            continue;
        }
        match key {
            "dataDir" => {
                if v.is_empty() {
                    return Err(bad("dataDir is empty".into()));
                }
                cfg.data_dir = Some(PathBuf::from(v));
            }
            "clientPort" => {
                cfg.client_port = match parse_int(v).map_err(bad)? {
                    0 => None,
                    p @ 1..=65535 => Some(p as u16),
                    p => return Err(site.err(format!("clientPort {p} is outside 1..65535"))),
                }
            }
            "clientPortAddress" => {
                if v.is_empty() {
                    return Err(bad("clientPortAddress is empty".into()));
                }
                cfg.client_port_address = Some(v.to_string());
            }
            "4lw.commands.whitelist" => cfg.four_letter_whitelist = Some(v.to_string()),
            "metricsProvider.httpPort" => {
                cfg.metrics_port = match parse_int(v).map_err(bad)? {
                    0 => None,
                    p @ 1..=65535 => Some(p as u16),
                    p => {
                        return Err(
                            site.err(format!("metricsProvider.httpPort {p} is outside 1..65535"))
                        )
                    }
                }
            }
            "metricsProvider.httpHost" => {
                if v.is_empty() {
                    return Err(bad("metricsProvider.httpHost is empty".into()));
                }
                cfg.metrics_host = Some(v.to_string());
            }
            "metricsProvider.className" => {
                prometheus_class = v.ends_with(".PrometheusMetricsProvider");
            }
            "tickTime" => cfg.tick_time_ms = u64::from(parse_positive_int(v).map_err(bad)?),
            "initLimit" => cfg.init_limit = Some(parse_positive_int(v).map_err(bad)?),
            "syncLimit" => cfg.sync_limit = Some(parse_positive_int(v).map_err(bad)?),
            "electionAlg" => {
                let alg = parse_int(v).map_err(bad)?;
                if alg != 3 {
                    return Err(site.err(format!(
                        "electionAlg {alg} is not supported: ZooKeeper 3.8 only has 3 \
                         (fast leader election)"
                    )));
                }
            }
            "quorumListenOnAllIPs" => cfg.quorum_listen_on_all_ips = parse_bool(v).map_err(bad)?,
            "peerType" => {
                cfg.peer_type = parse_role(v).map_err(|_| {
                    site.err(format!(
                        "unknown peerType \"{v}\": expected participant or observer"
                    ))
                })?
            }
            "standaloneEnabled" => cfg.standalone_enabled = parse_bool(v).map_err(bad)?,
            // Not used by election, but ZooKeeper refuses a non-boolean too.
            "reconfigEnabled" => {
                parse_bool(v).map_err(bad)?;
            }
            "dynamicConfigFile" => {
                return Err(site.err(
                    "dynamic config files are not supported: put the server.N, group.N, \
                     weight.N and version lines into this file instead",
                ))
            }
            "oraclePath" => {
                return Err(site.err(
                    "oraclePath (the oracle quorum for two-voter ensembles) is not supported; \
                     remove it to use plain majority quorums",
                ))
            }
            "multiAddress.enabled" => {}  // read above
            super::keys::STRICT_KEY => {} // read by keys::check
            "quorum.auth.enableSasl"
            | "quorum.auth.learnerRequireSasl"
            | "quorum.auth.serverRequireSasl" => {
                let on = parse_bool(v).map_err(bad)?;
                if on {
                    return Err(site.err(format!(
                        "quorum SASL authentication is not supported: zkelect cannot \
                         authenticate election connections; remove {key}=true"
                    )));
                }
            }
            "cnxTimeout" => cfg.cnx_timeout_ms = u64::from(parse_positive_int(v).map_err(bad)?),
            "quorumCnxnTimeoutMs" => {
                let t = parse_long(v).map_err(bad)?;
                // ZooKeeper treats any value <= 0 as "not set".
                cfg.quorum_cnxn_timeout_ms = (t > 0).then_some(t as u64);
            }
            "electionPortBindRetry" => {
                let r = parse_int(v).map_err(bad)?;
                // Negative is "invalid, use the default" in ZooKeeper.
                cfg.election_port_bind_retry = u32::try_from(r).unwrap_or(3);
            }
            "tcpKeepAlive" => cfg.tcp_keep_alive = parse_bool(v).map_err(bad)?,
            "fastleader.minNotificationInterval" => {
                cfg.min_notification_interval_ms = u64::from(
                    parse_positive_int(v)
                        .map_err(|m| site.err(format!("{m} (a 0 interval would busy-poll)")))?,
                );
                min_interval_site = Some(site.clone());
            }
            "fastleader.maxNotificationInterval" => {
                cfg.max_notification_interval_ms = u64::from(parse_positive_int(v).map_err(bad)?);
                max_interval_site = Some(site.clone());
            }
            "finalizeWait" => {
                let w = parse_long(v).map_err(bad)?;
                cfg.finalize_wait_ms =
                    u64::try_from(w).map_err(|_| site.err(format!("{w} must not be negative")))?;
            }
            "leadershipMode" => cfg.leadership_mode = v.parse().map_err(bad)?,
            "followOnly" => cfg.follow_only = v.parse().map_err(bad)?,
            "version" => cfg.version = parse_hex_version(v).map_err(bad)?,
            _ if key.starts_with("server.") => {
                let sid = parse_sid(&key["server.".len()..]).map_err(bad)?;
                if let Some(first) = server_sites.get(&sid) {
                    return Err(site.err(format!(
                        "server {sid} is defined twice (first by {} at line {})",
                        first.key, first.line
                    )));
                }
                let server = parse_server(sid, v, multi_address_enabled).map_err(bad)?;
                cfg.servers.insert(sid, server);
                server_sites.insert(sid, site.clone());
                server_order.push(sid);
            }
            _ if key.starts_with("group") => {
                hierarchical_site.get_or_insert_with(|| site.clone());
                let gid = hierarchical_id(key, "group").map_err(bad)?;
                if let Some(first) = groups.get(&gid) {
                    return Err(site.err(format!(
                        "group {gid} is defined twice (first at line {})",
                        first.site.line
                    )));
                }
                let mut members = Vec::new();
                let texts = java_split(v, ':');
                if texts.is_empty() || texts.iter().any(|t| t.is_empty()) {
                    return Err(site.err(format!(
                        "\"{v}\" is not a group: expected server ids joined by ':', e.g. 1:2:3"
                    )));
                }
                for t in texts {
                    let sid = parse_long(t).map_err(|m| site.err(format!("group member {m}")))?;
                    if let Some(other) = group_of.get(&sid) {
                        let where_ = if *other == gid {
                            "twice in this group".to_string()
                        } else {
                            format!("also in group {other} (line {})", groups[other].site.line)
                        };
                        return Err(site.err(format!(
                            "server {sid} is listed {where_}: groups must be disjoint"
                        )));
                    }
                    group_of.insert(sid, gid);
                    members.push(sid);
                }
                groups.insert(gid, Group { site, members });
            }
            _ if key.starts_with("weight") => {
                hierarchical_site.get_or_insert_with(|| site.clone());
                let sid = hierarchical_id(key, "weight").map_err(bad)?;
                if let Some(first) = weights.get(&sid) {
                    return Err(site.err(format!(
                        "the weight of server {sid} is given twice (first at line {})",
                        first.site.line
                    )));
                }
                let w = parse_long(v).map_err(|m| site.err(format!("weight {m}")))?;
                let weight = u64::try_from(w)
                    .map_err(|_| site.err(format!("weight {w} must not be negative")))?;
                weights.insert(sid, Weight { site, weight });
            }
            // ZooKeeper turns every other key into a system property; none of
            // them matters for election.
            _ => {}
        }
    }

    if prometheus_class && cfg.metrics_port.is_none() {
        // ZooKeeper's Prometheus provider listens on 7000 unless told.
        cfg.metrics_port = Some(7000);
    }

    if cfg.min_notification_interval_ms > cfg.max_notification_interval_ms {
        let message = format!(
            "fastleader.minNotificationInterval ({} ms) is greater than \
             fastleader.maxNotificationInterval ({} ms)",
            cfg.min_notification_interval_ms, cfg.max_notification_interval_ms
        );
        // One of the two was set, or the defaults would be in order.
        return Err(match min_interval_site.or(max_interval_site) {
            Some(site) => site.err(message),
            None => ConfigError::new(message),
        });
    }

    check_addresses(&cfg.servers, &server_order, &server_sites)?;

    let voters: BTreeSet<Sid> = cfg
        .servers
        .values()
        .filter(|s| s.role == LearnerType::Participant)
        .map(|s| s.sid)
        .collect();
    let observers: BTreeSet<Sid> = cfg
        .servers
        .values()
        .filter(|s| s.role == LearnerType::Observer)
        .map(|s| s.sid)
        .collect();
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

    cfg.quorum = match hierarchical_site {
        None => QuorumVerifier::Majority(Majority::new(voters, observers, cfg.version)),
        Some(trigger) => QuorumVerifier::Hierarchical(build_hierarchical(
            &cfg,
            &trigger,
            voters,
            observers,
            &groups,
            &weights,
            &server_sites,
            &server_order,
        )?),
    };
    cfg.tls = tls_keys.finish()?;
    Ok(cfg)
}

/// A server id: Java's `Long.parseLong` of the text after `server.`, minus
/// the two values that mean "no leader" and "legacy observer" on the wire.
fn parse_sid(text: &str) -> Result<Sid, String> {
    let sid = parse_long(text).map_err(|m| format!("server id {m}"))?;
    if sid == i64::MIN || sid == i64::MAX {
        return Err(format!(
            "server id {sid} is reserved (it means \"no server\" in election messages)"
        ));
    }
    Ok(sid)
}

/// The id of a `group.<id>` / `weight.<id>` key. ZooKeeper switches to
/// hierarchical quorums on any key that merely starts with `group` or
/// `weight`, so a near miss (`groups.1`, `weight`) must be an error here,
/// not an ignored key.
fn hierarchical_id(key: &str, prefix: &str) -> Result<i64, String> {
    let Some(id) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
        return Err(format!(
            "keys starting with \"{prefix}\" configure hierarchical quorums and must be \
             {prefix}.<id>"
        ));
    };
    parse_long(id).map_err(|m| format!("{prefix} id {m}"))
}

/// No two listeners may share a host and port: a server's quorum and
/// election addresses against every other address of every server (the
/// same host string on the same port can only bind once), and a server's
/// own client port against its quorum and election ports.
fn check_addresses(
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
#[allow(clippy::too_many_arguments)]
fn build_hierarchical(
    cfg: &Config,
    trigger: &Site,
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
    groups: &BTreeMap<i64, Group>,
    weights: &BTreeMap<Sid, Weight>,
    server_sites: &BTreeMap<Sid, Site>,
    server_order: &[Sid],
) -> Result<Hierarchical, ConfigError> {
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
