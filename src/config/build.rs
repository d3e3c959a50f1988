//! From properties to a [`Config`]: key interpretation (spec 6.2), the server
//! list (6.3), hierarchical groups and weights (6.4), read line by line in
//! named steps; the checks that span several lines are in `checks`.

use super::checks::{build_hierarchical, check_addresses, roles};
use super::error::ConfigError;
use super::keys::canonical_key;
use super::properties::Property;
use super::server::{parse_role, parse_server};
use super::values::{parse_bool, parse_hex_version, parse_int, parse_long, parse_positive_int};
use super::Config;
use crate::javatext::split as java_split;
use crate::quorum::{Majority, QuorumVerifier};
use crate::types::{LearnerType, Sid};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a key was written, for errors about it.
#[derive(Debug, Clone)]
pub(super) struct Site {
    pub(super) line: usize,
    pub(super) key: String,
}

impl Site {
    fn of(p: &Property) -> Site {
        Site {
            line: p.line,
            key: p.key.clone(),
        }
    }

    pub(super) fn err(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.line, &self.key, message)
    }
}

/// One `group.N` line.
pub(super) struct Group {
    pub(super) site: Site,
    pub(super) members: Vec<Sid>,
}

/// One `weight.N` line.
pub(super) struct Weight {
    pub(super) site: Site,
    pub(super) weight: u64,
}

/// Interprets the entries; see the module docs of `config` for the rules.
///
/// The steps, in order: the multi-address switch (needed before any server
/// line), every entry in file order ([`Builder::entry`]: TLS keys, plain
/// keys, server lines, groups and weights), then the checks that span
/// several lines and the quorum verifier ([`Builder::finish`]).
pub(crate) fn build(props: Vec<Property>) -> Result<Config, ConfigError> {
    let mut b = Builder::new(multi_address_switch(&props)?);
    for p in &props {
        b.entry(p)?;
    }
    b.finish()
}

/// `multiAddress.enabled`, wherever it is in the file: ZooKeeper's
/// properties table has no order, so the switch must be known before any
/// server line is read.
fn multi_address_switch(props: &[Property]) -> Result<bool, ConfigError> {
    let mut enabled = false;
    for p in props
        .iter()
        .filter(|p| canonical_key(&p.key) == "multiAddress.enabled")
    {
        enabled = parse_bool(&p.value).map_err(|m| Site::of(p).err(m))?;
    }
    Ok(enabled)
}

/// The `server.N` lines read so far.
#[derive(Default)]
pub(super) struct ServerLines {
    /// Where each server was defined.
    pub(super) sites: BTreeMap<Sid, Site>,
    /// Sids in file order, for errors that name the first offending line.
    pub(super) order: Vec<Sid>,
}

/// The `group.N` and `weight.N` lines read so far.
#[derive(Default)]
pub(super) struct HierarchyLines {
    /// The groups by id.
    pub(super) groups: BTreeMap<i64, Group>,
    /// The group of each member, to keep groups disjoint.
    group_of: BTreeMap<Sid, i64>,
    /// The weights by sid.
    pub(super) weights: BTreeMap<Sid, Weight>,
    /// The first `group`/`weight` key, which switched hierarchical quorums on.
    trigger: Option<Site>,
}

/// The state of one [`build`]: the config with what has been read into it,
/// and where the lines that later checks refer to were.
struct Builder {
    cfg: Config,
    prometheus_class: bool,
    tls_keys: super::tls::TlsKeys,
    servers: ServerLines,
    hierarchy: HierarchyLines,
    min_interval_site: Option<Site>,
    max_interval_site: Option<Site>,
}

impl Builder {
    fn new(multi_address_enabled: bool) -> Builder {
        Builder {
            cfg: defaults(multi_address_enabled),
            prometheus_class: false,
            tls_keys: super::tls::TlsKeys::default(),
            servers: ServerLines::default(),
            hierarchy: HierarchyLines::default(),
            min_interval_site: None,
            max_interval_site: None,
        }
    }

    /// Reads one entry. Every key family has its step; a key none of them
    /// takes is one ZooKeeper turns into a system property, and none of
    /// those matters for election.
    fn entry(&mut self, p: &Property) -> Result<(), ConfigError> {
        if self.tls_keys.take(p.line, &p.key, &p.value) {
            return Ok(());
        }
        let site = Site::of(p);
        let key = canonical_key(&p.key);
        let v = p.value.as_str();
        if key.starts_with("server.") {
            return self.server_line(site, key, v);
        }
        if self.admin_key(&site, key, v)?
            || self.timing_key(&site, key, v)?
            || self.election_key(&site, key, v)?
            || refused_key(&site, key, v)?
        {
            return Ok(());
        }
        if key.starts_with("group") {
            return self.group_line(site, key, v);
        }
        if key.starts_with("weight") {
            return self.weight_line(site, key, v);
        }
        Ok(())
    }

    /// Keys of the data directory and of the admin servers of `zkelect run`
    /// (four-letter words, metrics). `Ok(false)`: not one of them.
    fn admin_key(&mut self, site: &Site, key: &str, v: &str) -> Result<bool, ConfigError> {
        let bad = |m: String| site.err(m);
        let cfg = &mut self.cfg;
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
                self.prometheus_class = v.ends_with(".PrometheusMetricsProvider");
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Keys of times, intervals and retries. `Ok(false)`: not one of them.
    fn timing_key(&mut self, site: &Site, key: &str, v: &str) -> Result<bool, ConfigError> {
        let bad = |m: String| site.err(m);
        let cfg = &mut self.cfg;
        match key {
            "tickTime" => cfg.tick_time_ms = u64::from(parse_positive_int(v).map_err(bad)?),
            "initLimit" => cfg.init_limit = Some(parse_positive_int(v).map_err(bad)?),
            "syncLimit" => cfg.sync_limit = Some(parse_positive_int(v).map_err(bad)?),
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
            "fastleader.minNotificationInterval" => {
                cfg.min_notification_interval_ms = u64::from(
                    parse_positive_int(v)
                        .map_err(|m| site.err(format!("{m} (a 0 interval would busy-poll)")))?,
                );
                self.min_interval_site = Some(site.clone());
            }
            "fastleader.maxNotificationInterval" => {
                cfg.max_notification_interval_ms = u64::from(parse_positive_int(v).map_err(bad)?);
                self.max_interval_site = Some(site.clone());
            }
            "finalizeWait" => {
                let w = parse_long(v).map_err(bad)?;
                cfg.finalize_wait_ms =
                    u64::try_from(w).map_err(|_| site.err(format!("{w} must not be negative")))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Keys of the election itself and of zkelect's leadership layer.
    /// `Ok(false)`: not one of them.
    fn election_key(&mut self, site: &Site, key: &str, v: &str) -> Result<bool, ConfigError> {
        let bad = |m: String| site.err(m);
        let cfg = &mut self.cfg;
        match key {
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
            "tcpKeepAlive" => cfg.tcp_keep_alive = parse_bool(v).map_err(bad)?,
            "leadershipMode" => cfg.leadership_mode = v.parse().map_err(bad)?,
            "followOnly" => cfg.follow_only = v.parse().map_err(bad)?,
            "version" => cfg.version = parse_hex_version(v).map_err(bad)?,
            "multiAddress.enabled" => {}  // read by multi_address_switch
            super::keys::STRICT_KEY => {} // read by keys::check
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `server.N=...`: one server, defined once.
    fn server_line(&mut self, site: Site, key: &str, v: &str) -> Result<(), ConfigError> {
        let sid = parse_sid(&key["server.".len()..]).map_err(|m| site.err(m))?;
        if let Some(first) = self.servers.sites.get(&sid) {
            return Err(site.err(format!(
                "server {sid} is defined twice (first by {} at line {})",
                first.key, first.line
            )));
        }
        let server =
            parse_server(sid, v, self.cfg.multi_address_enabled).map_err(|m| site.err(m))?;
        self.cfg.servers.insert(sid, server);
        self.servers.sites.insert(sid, site);
        self.servers.order.push(sid);
        Ok(())
    }

    /// `group.N=sid:sid:...`: a group of disjoint members.
    fn group_line(&mut self, site: Site, key: &str, v: &str) -> Result<(), ConfigError> {
        let h = &mut self.hierarchy;
        h.trigger.get_or_insert_with(|| site.clone());
        let gid = hierarchical_id(key, "group").map_err(|m| site.err(m))?;
        if let Some(first) = h.groups.get(&gid) {
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
            if let Some(other) = h.group_of.get(&sid) {
                let where_ = if *other == gid {
                    "twice in this group".to_string()
                } else {
                    format!("also in group {other} (line {})", h.groups[other].site.line)
                };
                return Err(site.err(format!(
                    "server {sid} is listed {where_}: groups must be disjoint"
                )));
            }
            h.group_of.insert(sid, gid);
            members.push(sid);
        }
        h.groups.insert(gid, Group { site, members });
        Ok(())
    }

    /// `weight.N=w`: one server's weight, given once.
    fn weight_line(&mut self, site: Site, key: &str, v: &str) -> Result<(), ConfigError> {
        let h = &mut self.hierarchy;
        h.trigger.get_or_insert_with(|| site.clone());
        let sid = hierarchical_id(key, "weight").map_err(|m| site.err(m))?;
        if let Some(first) = h.weights.get(&sid) {
            return Err(site.err(format!(
                "the weight of server {sid} is given twice (first at line {})",
                first.site.line
            )));
        }
        let w = parse_long(v).map_err(|m| site.err(format!("weight {m}")))?;
        let weight =
            u64::try_from(w).map_err(|_| site.err(format!("weight {w} must not be negative")))?;
        h.weights.insert(sid, Weight { site, weight });
        Ok(())
    }

    /// After the last entry: defaults that depend on other keys, the checks
    /// that span several lines, the quorum verifier and the TLS settings.
    fn finish(mut self) -> Result<Config, ConfigError> {
        if self.prometheus_class && self.cfg.metrics_port.is_none() {
            // ZooKeeper's Prometheus provider listens on 7000 unless told.
            self.cfg.metrics_port = Some(7000);
        }
        self.check_intervals()?;
        check_addresses(&self.cfg.servers, &self.servers.order, &self.servers.sites)?;
        let (voters, observers) = roles(&self.cfg)?;
        self.cfg.quorum = match &self.hierarchy.trigger {
            None => QuorumVerifier::Majority(Majority::new(voters, observers, self.cfg.version)),
            Some(trigger) => QuorumVerifier::Hierarchical(build_hierarchical(
                &self.cfg,
                trigger,
                voters,
                observers,
                &self.hierarchy,
                &self.servers,
            )?),
        };
        self.cfg.tls = self.tls_keys.finish()?;
        Ok(self.cfg)
    }

    /// The minimum notification interval may not exceed the maximum.
    fn check_intervals(&self) -> Result<(), ConfigError> {
        let cfg = &self.cfg;
        if cfg.min_notification_interval_ms <= cfg.max_notification_interval_ms {
            return Ok(());
        }
        let message = format!(
            "fastleader.minNotificationInterval ({} ms) is greater than \
             fastleader.maxNotificationInterval ({} ms)",
            cfg.min_notification_interval_ms, cfg.max_notification_interval_ms
        );
        // One of the two was set, or the defaults would be in order.
        Err(
            match self
                .min_interval_site
                .as_ref()
                .or(self.max_interval_site.as_ref())
            {
                Some(site) => site.err(message),
                None => ConfigError::new(message),
            },
        )
    }
}

/// Keys zkelect refuses: features it does not have. `Ok(false)`: not one of
/// them (or, for quorum SASL, not turned on).
fn refused_key(site: &Site, key: &str, v: &str) -> Result<bool, ConfigError> {
    match key {
        "dynamicConfigFile" => Err(site.err(
            "dynamic config files are not supported: put the server.N, group.N, \
             weight.N and version lines into this file instead",
        )),
        "oraclePath" => Err(site.err(
            "oraclePath (the oracle quorum for two-voter ensembles) is not supported; \
             remove it to use plain majority quorums",
        )),
        "quorum.auth.enableSasl"
        | "quorum.auth.learnerRequireSasl"
        | "quorum.auth.serverRequireSasl" => {
            let on = parse_bool(v).map_err(|m| site.err(m))?;
            if on {
                return Err(site.err(format!(
                    "quorum SASL authentication is not supported: zkelect cannot \
                     authenticate election connections; remove {key}=true"
                )));
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The config before any entry is read: ZooKeeper's defaults and zkelect's.
fn defaults(multi_address_enabled: bool) -> Config {
    Config {
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
        finalize_wait_ms: crate::leadership::DEFAULT_FINALIZE_WAIT_MS,
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
    }
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
