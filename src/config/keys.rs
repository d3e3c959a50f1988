//! Which zoo.cfg keys zkelect reads, which ZooKeeper keys it knows and
//! ignores, and the nearest known key for a typo.
//!
//! Every key of a config is classified before it is interpreted: a key
//! zkelect uses (read in `build.rs`, or by the admin servers of
//! `zkelect run`), a key ZooKeeper 3.8 knows that has nothing to do with the
//! election (listed once, at INFO), or an unknown key: a warning naming the
//! line and the nearest known key, or an error in strict mode (the
//! `strictConfig=true` key, [`super::ParseOptions::strict`],
//! `zkelect run --strict`).

use super::error::{ConfigError, ConfigNote};
use super::properties::Property;
use super::values::parse_bool;

/// The zkelect key that turns unknown keys into errors.
pub(crate) const STRICT_KEY: &str = "strictConfig";

/// How ZooKeeper reads a key that zkelect reads too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// A zoo.cfg key of `QuorumPeerConfig`.
    ZooCfg,
    /// A `zookeeper.<key>` system property (a zoo.cfg key ZooKeeper does not
    /// know becomes one): zkelect accepts both spellings in zoo.cfg.
    SystemProperty,
}
use Read::{SystemProperty, ZooCfg};

/// Keys zkelect reads, exactly as written, and how ZooKeeper reads them: the
/// one list of them (`build` interprets them, [`canonical_key`] maps the
/// `zookeeper.` form of the system-property ones).
const USED: &[(&str, Read)] = &[
    // ZooKeeper's, read for the election.
    ("dataDir", ZooCfg),
    ("tickTime", ZooCfg),
    ("initLimit", ZooCfg),
    ("syncLimit", ZooCfg),
    ("electionAlg", ZooCfg),
    ("quorumListenOnAllIPs", ZooCfg),
    ("peerType", ZooCfg),
    ("standaloneEnabled", ZooCfg),
    ("reconfigEnabled", ZooCfg),
    ("dynamicConfigFile", ZooCfg),
    ("oraclePath", ZooCfg),
    ("version", ZooCfg),
    ("multiAddress.enabled", SystemProperty),
    ("cnxTimeout", SystemProperty),
    ("quorumCnxnTimeoutMs", SystemProperty),
    ("electionPortBindRetry", SystemProperty),
    ("tcpKeepAlive", SystemProperty),
    ("fastleader.minNotificationInterval", SystemProperty),
    ("fastleader.maxNotificationInterval", SystemProperty),
    // Quorum SASL: read to refuse a config that turns it on.
    ("quorum.auth.enableSasl", ZooCfg),
    ("quorum.auth.learnerRequireSasl", ZooCfg),
    ("quorum.auth.serverRequireSasl", ZooCfg),
    // ZooKeeper's, read by the admin servers of `zkelect run`
    // (four-letter words and metrics).
    ("clientPort", ZooCfg),
    ("clientPortAddress", ZooCfg),
    ("4lw.commands.whitelist", SystemProperty),
    ("metricsProvider.className", ZooCfg),
    ("metricsProvider.httpPort", ZooCfg),
    ("metricsProvider.httpHost", ZooCfg),
    ("metricsProvider.exportJvmInfo", ZooCfg),
    // zkelect's own.
    ("finalizeWait", ZooCfg),
    ("leadershipMode", ZooCfg),
    ("followOnly", ZooCfg),
    (STRICT_KEY, ZooCfg),
];

/// The key as `build` reads it: the `zookeeper.<key>` form of a
/// system-property key zkelect reads is the plain key.
pub(crate) fn canonical_key(key: &str) -> &str {
    match key.strip_prefix("zookeeper.") {
        Some(rest) if USED.contains(&(rest, SystemProperty)) => rest,
        _ => key,
    }
}

/// Families of keys zkelect reads: the key is the prefix plus an id.
const USED_FAMILIES: &[&str] = &["server.", "group", "weight"];

/// ZooKeeper 3.8 keys (zoo.cfg keys of `QuorumPeerConfig` and system
/// properties that operators put into zoo.cfg) that do not concern the
/// election: accepted and listed, never warned about.
const IGNORED: &[&str] = &[
    "dataLogDir",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "secureClientPort",
    "secureClientPortAddress",
    "observerMasterPort",
    "clientPortListenBacklog",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "connectToLearnerMasterLimit",
    "syncEnabled",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "portUnification",
    "client.portUnification",
    "quorum.auth.learner.saslLoginContext",
    "quorum.auth.server.saslLoginContext",
    "quorum.auth.kerberos.servicePrincipal",
    "quorum.cnxn.threads.size",
    "jvm.pause.info-threshold.ms",
    "jvm.pause.warn-threshold.ms",
    "jvm.pause.sleep.time.ms",
    "jvm.pause.monitor",
    "multiAddress.reachabilityCheckTimeoutMs",
    "multiAddress.reachabilityCheckEnabled",
    "initialConfig",
    // System properties (ZooKeeper reads `zookeeper.<key>`).
    "snapCount",
    "snapSizeLimitInKb",
    "txnLogSizeLimitInKb",
    "preAllocSize",
    "forceSync",
    "fsync.warningthresholdms",
    "leaderServes",
    "globalOutstandingLimit",
    "serverCnxnFactory",
    "jute.maxbuffer",
    "skipACL",
    "maxCnxns",
    "commitLogCount",
    "digest.enabled",
    "extendedTypesEnabled",
    "emulate353TTLNodes",
    "watchManagerName",
    "flushDelay",
    "maxWriteQueuePollTime",
    "maxBatchSize",
    "requestThrottleLimit",
    "requestThrottleStallTime",
    "requestThrottleDropStale",
    "requestStaleLatencyCheck",
    "requestStaleConnectionCheck",
    "largeRequestMaxBytes",
    "largeRequestThreshold",
    "throttledOpWaitTime",
    "enforceQuota",
    "closeSessionTxn.enabled",
    "sessionRequireClientSASLAuth",
    "superUser",
    "traceFile",
    "maxConcurrentSnapSyncs",
    "maxConcurrentDiffSyncs",
    "snapshot.trust.empty",
    "snapshot.compression.method",
    "nettyServer.outstandingHandshake.limit",
    "netty.server.earlyDropSecureConnectionHandshakes",
];

/// Families of ZooKeeper keys that do not concern the election: client TLS
/// (`ssl.`; the quorum's `ssl.quorum.` keys are read, see `config::tls`),
/// authentication providers, the admin server, other metrics settings.
const IGNORED_FAMILIES: &[&str] = &[
    "ssl.",
    "authProvider.",
    "admin.",
    "metricsProvider.",
    "kerberos.",
    "audit.",
    "enforce.auth.",
    "connection_throttle_",
    "learner.",
    "leader.",
    "X509AuthenticationProvider.",
];

/// What zkelect makes of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// zkelect reads it.
    Used,
    /// ZooKeeper knows it; it does not concern the election.
    Ignored,
    /// Neither: a typo, or a key of some other program.
    Unknown,
}

/// Classifies a key as written.
pub(crate) fn classify(key: &str) -> Kind {
    let key = canonical_key(key);
    if USED.iter().any(|(k, _)| *k == key)
        || USED_FAMILIES.iter().any(|f| key.starts_with(f))
        || super::tls::is_key(key)
    {
        return Kind::Used;
    }
    if IGNORED.contains(&key) || IGNORED_FAMILIES.iter().any(|f| key.starts_with(f)) {
        return Kind::Ignored;
    }
    // A system property ZooKeeper reads, written in its `zookeeper.` form.
    if let Some(rest) = key.strip_prefix("zookeeper.") {
        if IGNORED.contains(&rest) || IGNORED_FAMILIES.iter().any(|f| rest.starts_with(f)) {
            return Kind::Ignored;
        }
    }
    Kind::Unknown
}

/// What the classification of a whole config found.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// Unknown keys (not strict).
    pub warnings: Vec<ConfigNote>,
    /// Known ZooKeeper keys that zkelect does not use.
    pub ignored: Vec<ConfigNote>,
    /// Whether strict mode was on (option or `strictConfig=true`).
    pub strict: bool,
}

/// Classifies every entry. In strict mode (`strict`, or `strictConfig=true`
/// anywhere in the file) the first unknown key is an error.
pub(crate) fn check(props: &[Property], strict: bool) -> Result<Checked, ConfigError> {
    let mut strict_here = false;
    for p in props.iter().filter(|p| p.key == STRICT_KEY) {
        strict_here = parse_bool(&p.value).map_err(|m| ConfigError::at(p.line, &p.key, m))?;
    }
    let mut out = Checked {
        strict: strict || strict_here,
        ..Checked::default()
    };
    for p in props {
        match classify(&p.key) {
            Kind::Used => {}
            Kind::Ignored => out.ignored.push(ConfigNote::at(
                p.line,
                &p.key,
                format!("{} is a ZooKeeper key that zkelect does not use", p.key),
            )),
            Kind::Unknown => {
                let hint = match nearest(&p.key) {
                    Some(k) => format!("; did you mean {k}?"),
                    None => String::new(),
                };
                if out.strict {
                    let why = if strict {
                        "strict mode"
                    } else {
                        "strictConfig=true"
                    };
                    return Err(ConfigError::at(
                        p.line,
                        &p.key,
                        format!("unknown key{hint} ({why} makes unknown keys errors)"),
                    ));
                }
                out.warnings.push(ConfigNote::at(
                    p.line,
                    &p.key,
                    format!("unknown key {}{hint}", p.key),
                ));
            }
        }
    }
    Ok(out)
}

/// The known key nearest to `key` (edit distance, ASCII case ignored), if
/// one is near enough to be the key meant: at most 1 edit for keys of up to
/// 4 characters, 2 up to 12, else 3. A `zookeeper.` prefix on a key that is
/// not read as a system property suggests the plain key.
pub(crate) fn nearest(key: &str) -> Option<String> {
    if let Some(rest) = key.strip_prefix("zookeeper.") {
        if classify(rest) == Kind::Used {
            return Some(rest.to_string());
        }
    }
    let limit = match key.chars().count() {
        0..=4 => 1,
        5..=12 => 2,
        _ => 3,
    };
    // A family member keeps what follows its prefix: `sever.2` -> `server.2`.
    let id = key.split_once('.').map_or("N", |(_, id)| id);
    let families = ["server."].map(|f| format!("{f}{id}"));
    let candidates = USED
        .iter()
        .map(|(k, _)| k.to_string())
        .chain(families)
        .chain(IGNORED.iter().map(|k| k.to_string()));
    let mut best: Option<(usize, String)> = None;
    for c in candidates {
        let d = distance(key, &c);
        let better = match &best {
            Some((bd, _)) => d < *bd,
            None => true,
        };
        if d <= limit && better {
            best = Some((d, c));
        }
    }
    best.map(|(_, k)| k)
}

/// Optimal string alignment distance (Levenshtein plus transpositions of
/// neighbours), comparing characters with ASCII case ignored.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("tickTme", "tickTime"), 1);
        assert_eq!(distance("ticktime", "tickTime"), 0);
        assert_eq!(distance("initLmiit", "initLimit"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", "abc"), 0);
    }

    #[test]
    fn nearest_known_keys() {
        assert_eq!(nearest("tickTme").as_deref(), Some("tickTime"));
        assert_eq!(nearest("synclimit").as_deref(), Some("syncLimit"));
        assert_eq!(nearest("sever.2").as_deref(), Some("server.2"));
        assert_eq!(nearest("servers").as_deref(), Some("server.N"));
        assert_eq!(nearest("dataDri").as_deref(), Some("dataDir"));
        assert_eq!(nearest("finalizeWiat").as_deref(), Some("finalizeWait"));
        assert_eq!(nearest("zookeeper.tickTime").as_deref(), Some("tickTime"));
        assert_eq!(nearest("maxClientCnxn").as_deref(), Some("maxClientCnxns"));
        assert_eq!(nearest("completelyUnrelated"), None);
        assert_eq!(nearest("x"), None);
    }

    #[test]
    fn system_property_spellings() {
        let system: Vec<&str> = USED
            .iter()
            .filter(|(_, r)| *r == SystemProperty)
            .map(|(k, _)| *k)
            .collect();
        for k in [
            "cnxTimeout",
            "quorumCnxnTimeoutMs",
            "electionPortBindRetry",
            "tcpKeepAlive",
            "fastleader.minNotificationInterval",
            "fastleader.maxNotificationInterval",
            "multiAddress.enabled",
            "4lw.commands.whitelist",
        ] {
            assert!(system.contains(&k), "{k}");
            assert_eq!(canonical_key(&format!("zookeeper.{k}")), k);
        }
        assert_eq!(system.len(), 8);
        for k in [
            "zookeeper.tickTime",
            "zookeeper.snapCount",
            "zookeeper.",
            "cnxTimeout",
        ] {
            assert_eq!(canonical_key(k), k);
        }
    }

    #[test]
    fn classification() {
        for k in [
            "tickTime",
            "server.3",
            "group.1",
            "weight.2",
            "zookeeper.cnxTimeout",
            "clientPort",
            "clientPortAddress",
            "4lw.commands.whitelist",
            "metricsProvider.httpPort",
            "sslQuorum",
            "ssl.quorum.keyStore.location",
            "zookeeper.sslQuorumReloadCertFiles",
            "strictConfig",
            "followOnly",
            "finalizeWait",
        ] {
            assert_eq!(classify(k), Kind::Used, "{k}");
        }
        for k in [
            "dataLogDir",
            "maxClientCnxns",
            "autopurge.purgeInterval",
            "ssl.keyStore.location",
            "admin.enableServer",
            "zookeeper.snapCount",
            "authProvider.1",
            "metricsProvider.somethingElse",
        ] {
            assert_eq!(classify(k), Kind::Ignored, "{k}");
        }
        for k in ["tickTme", "sever.2", "zookeeper.tickTime", "server", "foo"] {
            assert_eq!(classify(k), Kind::Unknown, "{k}");
        }
    }
}
