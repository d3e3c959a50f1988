//! zoo.cfg parsing and ZooKeeper-identical config rendering (spec 3.4, 6, 7).
//!
//! The file is read as a Java properties file (`properties`), then the keys
//! that matter for leader election are interpreted with ZooKeeper 3.8's rules
//! (`build`), and the server list is turned into a [`QuorumVerifier`]. The
//! inverse direction, [`Config::render_dynamic`], produces the exact text a
//! 3.8 server puts into its notifications, so Java peers see nothing new.
//!
//! Differences from ZooKeeper 3.8, all refusing configs that would misbehave
//! later rather than at parse time, or accepting harmless slips: duplicate
//! server, group or weight ids; an address (host and port) used twice; group
//! or weight lines for unknown servers; an observer in a group without a
//! weight (ZooKeeper dies on a NullPointerException there); groups that all
//! weigh 0; port 0; the two sids reserved on the wire; bracketed hosts that
//! are not IPv6 literals; `dynamicConfigFile` and `oraclePath` are errors.
//! Trailing blanks in server lines are trimmed (Java fails on them),
//! `initLimit`/`syncLimit` may be absent, and every ZooKeeper key that is
//! read as a system property may also be written `zookeeper.<key>`.
//!
//! Every key is checked (`keys`): an unknown key is a warning naming the
//! line and the nearest known key ([`Config::warnings`]), an error in strict
//! mode ([`ParseOptions::strict`] or `strictConfig=true`); ZooKeeper keys
//! that do not concern the election are listed ([`Config::ignored`]).
//! Quorum SASL is refused.
//!
//! The quorum TLS keys (`sslQuorum`, `ssl.quorum.*`) become a
//! [`TlsConfig`]; their files are read when a peer starts.
//!
//! The only I/O here is reading the config file and the `myid` file.

mod build;
mod checks;
mod error;
mod keys;
mod properties;
mod render;
mod server;
mod summary;
mod tls;
mod values;

pub use error::{ConfigError, ConfigNote};
pub use tls::{ClientAuth, StoreConfig, StoreType, TlsConfig, TlsVersion};

use crate::quorum::QuorumVerifier;
use crate::types::{LearnerType, Sid};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One address of a server: where its quorum (sync) and election listeners
/// are. Several per server only with multi-address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    /// The host as written in the config; IPv6 literals without brackets.
    pub host: String,
    /// The port followers use to sync with a leader.
    pub quorum_port: u16,
    /// The port the election connection manager listens on.
    pub election_port: u16,
}

/// One `server.N` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    /// The server id (the `N` of `server.N`).
    pub sid: Sid,
    /// The addresses, in the order written; at least one.
    pub addrs: Vec<ServerAddr>,
    /// Voter or observer, from the line's role suffix (default participant).
    pub role: LearnerType,
    /// The client address, only when the server line itself had `;port`
    /// (host `0.0.0.0`) or `;host:port`: a global `clientPort` is not copied
    /// here because ZooKeeper leaves it out of the rendered config.
    pub client: Option<(String, u16)>,
}

/// The election-relevant contents of a zoo.cfg.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every `server.N` entry, participants and observers, by sid.
    pub servers: BTreeMap<Sid, QuorumServer>,
    /// Majority over the participants, or hierarchical when any key starting
    /// with `group` or `weight` is present.
    pub quorum: QuorumVerifier,
    /// The config version (`version=`, hex), 0 by default.
    pub version: u64,
    /// `tickTime` in ms, default 3000.
    pub tick_time_ms: u64,
    /// `initLimit` in ticks, when given.
    pub init_limit: Option<u32>,
    /// `syncLimit` in ticks, when given.
    pub sync_limit: Option<u32>,
    /// `cnxTimeout`: election connect timeout in ms, default 5000.
    pub cnx_timeout_ms: u64,
    /// `quorumCnxnTimeoutMs`: handshake read timeout override, when > 0.
    pub quorum_cnxn_timeout_ms: Option<u64>,
    /// `electionPortBindRetry`: listener bind attempts, 0 = forever, default 3
    /// (a negative value means the default, as in ZooKeeper).
    pub election_port_bind_retry: u32,
    /// `quorumListenOnAllIPs`: bind the election port on the wildcard address.
    pub quorum_listen_on_all_ips: bool,
    /// `multiAddress.enabled`: V2 handshakes and `a|b` address lists.
    pub multi_address_enabled: bool,
    /// `fastleader.minNotificationInterval` in ms, default 200.
    pub min_notification_interval_ms: u64,
    /// `fastleader.maxNotificationInterval` in ms, default 60000.
    pub max_notification_interval_ms: u64,
    /// `tcpKeepAlive`: SO_KEEPALIVE on election sockets, default off.
    pub tcp_keep_alive: bool,
    /// `dataDir`, as written (a relative path stays relative).
    pub data_dir: Option<PathBuf>,
    /// `peerType`, default participant. The server list's role wins (see
    /// [`Config::server`]); this is kept only to report a disagreement.
    pub peer_type: LearnerType,
    /// `standaloneEnabled`, default true.
    pub standalone_enabled: bool,
    /// `finalizeWait` (our own key) in ms: how long a LOOKING server waits for
    /// a better vote before deciding; ZooKeeper hard-codes 200
    /// ([`crate::leadership::DEFAULT_FINALIZE_WAIT_MS`], the default).
    pub finalize_wait_ms: u64,
    /// `leadershipMode` (a zkelect key): `lease` (the default) or
    /// `fencing`; see [`crate::leadership::Mode`].
    pub leadership_mode: crate::leadership::Mode,
    /// `followOnly` (a zkelect key): `auto` (the default), `true` or
    /// `false`: whether this peer may win the election, for ensembles with
    /// real ZooKeeper servers; see [`crate::leadership::FollowOnly`].
    pub follow_only: crate::leadership::FollowOnly,
    /// The global `clientPort`, when given and not 0. `zkelect run`
    /// answers ZooKeeper's four-letter words there.
    pub client_port: Option<u16>,
    /// `clientPortAddress`: the address the four-letter words listen on,
    /// when given (else every interface, as in ZooKeeper).
    pub client_port_address: Option<String>,
    /// `4lw.commands.whitelist`, as written (comma-separated names or `*`);
    /// `None` when absent, which enables `srvr` only, as in ZooKeeper 3.8.
    pub four_letter_whitelist: Option<String>,
    /// `metricsProvider.httpPort`: where `zkelect run` serves Prometheus
    /// metrics (`GET /metrics`), when given and not 0; also 7000 (ZooKeeper's
    /// default) when only `metricsProvider.className` names ZooKeeper's
    /// Prometheus provider.
    pub metrics_port: Option<u16>,
    /// `metricsProvider.httpHost`, when given (else `0.0.0.0`, as in
    /// ZooKeeper).
    pub metrics_host: Option<String>,
    /// Unknown keys, each with the nearest known key when one is near
    /// (empty in strict mode, where they are errors).
    pub warnings: Vec<ConfigNote>,
    /// ZooKeeper keys that zkelect accepts and does not use.
    pub ignored: Vec<ConfigNote>,
    /// Whether unknown keys were errors ([`ParseOptions::strict`] or
    /// `strictConfig=true`).
    pub strict: bool,
    /// The file the config was loaded from; errors about `myid` and the
    /// server list name it.
    pub source: Option<PathBuf>,
    /// Quorum TLS (`sslQuorum=true` and the `ssl.quorum.*` keys), when on.
    pub tls: Option<TlsConfig>,
}

/// How to read a config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Unknown keys are errors, not warnings. The key `strictConfig=true`
    /// in the config text does the same (the way for hosts that only pass
    /// text, such as the C, Python and Java bindings).
    pub strict: bool,
}

impl ParseOptions {
    /// Options with strict mode on.
    pub fn strict() -> ParseOptions {
        ParseOptions { strict: true }
    }
}

impl Config {
    /// Parses zoo.cfg text (see the module docs for the rules); unknown keys
    /// are warnings unless the text sets `strictConfig=true`.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_with(text, ParseOptions::default())
    }

    /// As [`Config::parse`], with options.
    pub fn parse_with(text: &str, options: ParseOptions) -> Result<Config, ConfigError> {
        let props = properties::parse(text)?;
        let checked = keys::check(&props, options.strict)?;
        let mut cfg = build::build(props)?;
        cfg.warnings = checked.warnings;
        cfg.ignored = checked.ignored;
        cfg.strict = checked.strict;
        Ok(cfg)
    }

    /// Reads and parses a zoo.cfg file; every error carries the path.
    ///
    /// Java reads properties files as ISO-8859-1. We take the bytes as UTF-8
    /// when they are valid UTF-8 (so non-ASCII paths work as the operator
    /// meant them) and as ISO-8859-1 otherwise, and skip a leading UTF-8
    /// byte-order mark.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, ParseOptions::default())
    }

    /// As [`Config::load`], with options.
    pub fn load_with(path: &Path, options: ParseOptions) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigError::new(format!("cannot read the config file: {e}")).in_file(path)
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|b| char::from(*b)).collect(),
        };
        // Java would read a byte-order mark as part of the first key and
        // silently lose that line; an editor artefact should not do that.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut cfg = Config::parse_with(text, options).map_err(|e| e.in_file(path))?;
        for n in cfg.warnings.iter_mut().chain(cfg.ignored.iter_mut()) {
            n.file = Some(path.to_path_buf());
        }
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// One line listing the ZooKeeper keys zkelect accepts and does not
    /// use, with their lines, or `None` when there are none.
    pub fn ignored_summary(&self) -> Option<String> {
        if self.ignored.is_empty() {
            return None;
        }
        let file = match &self.source {
            Some(p) => p.display().to_string(),
            None => "zoo.cfg".to_string(),
        };
        let keys: Vec<String> = self
            .ignored
            .iter()
            .map(|n| format!("{} (line {})", n.key, n.line))
            .collect();
        Some(format!(
            "{file}: ZooKeeper keys that zkelect does not use (ignored): {}",
            keys.join(", ")
        ))
    }

    /// Reads `<dataDir>/myid`: the first line, trimmed, as a decimal sid.
    pub fn read_myid(&self) -> Result<Sid, ConfigError> {
        self.read_myid_file()
            .map_err(|e| e.in_source(self.source.as_deref()))
    }

    fn read_myid_file(&self) -> Result<Sid, ConfigError> {
        let Some(dir) = &self.data_dir else {
            return Err(ConfigError::new(
                "dataDir is not set, so there is no myid file to read",
            ));
        };
        let path = dir.join("myid");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::for_key(
                "dataDir",
                format!("cannot read the myid file {}: {e}", path.display()),
            )
        })?;
        let first = text.lines().next().unwrap_or("").trim();
        values::parse_long(first).map_err(|_| {
            ConfigError::for_key(
                "dataDir",
                format!(
                    "the myid file {} holds \"{first}\", not a server id",
                    path.display()
                ),
            )
        })
    }

    /// The entry for `sid`, or an error naming `sid` and the known ids.
    ///
    /// The entry's role is the effective one: as in ZooKeeper, the server
    /// list overrides `peerType`.
    pub fn server(&self, sid: Sid) -> Result<&QuorumServer, ConfigError> {
        self.servers.get(&sid).ok_or_else(|| {
            let known: Vec<String> = self.servers.keys().map(|s| s.to_string()).collect();
            ConfigError::new(format!(
                "server id {sid} (myid) has no server.{sid} line; the config lists server ids {}",
                known.join(", ")
            ))
            .in_source(self.source.as_deref())
        })
    }

    /// The config text ZooKeeper 3.8 puts into every notification (spec
    /// 3.4), byte-identical: the `server.N` lines, then for hierarchical
    /// quorums the `group.N` and `weight.N` lines, then `version=<hex>`,
    /// joined by `\n` without a trailing newline.
    ///
    /// Lines come in Java `HashMap` order, which is ascending for ids below
    /// the map's table size (16 for up to 12 entries). Weight lines cover
    /// every explicit `weight.N` plus the implicit weight 1 of each
    /// participant without one, as ZooKeeper prints its whole weight map.
    pub fn render_dynamic(&self) -> String {
        render::render(self)
    }

    /// The read timeout for election handshakes (and quorum SASL), in ms:
    /// `quorumCnxnTimeoutMs` when set, else `tickTime * syncLimit`.
    ///
    /// ZooKeeper refuses a distributed config without `syncLimit`; we accept
    /// it and use 5 ticks ([`crate::leadership::DEFAULT_SYNC_LIMIT`]), the
    /// value of the sample configs, as the leadership timers do.
    pub fn handshake_timeout_ms(&self) -> u64 {
        self.quorum_cnxn_timeout_ms.unwrap_or_else(|| {
            self.tick_time_ms.saturating_mul(u64::from(
                self.sync_limit
                    .unwrap_or(crate::leadership::DEFAULT_SYNC_LIMIT),
            ))
        })
    }
}

#[cfg(test)]
mod tests;
