//! The one translation of a [`Config`] into the settings a run uses: the
//! election machine's ([`election::Settings`]), the leadership timers
//! ([`Timing`]) and the connection manager's ([`CnxSettings`]).
//!
//! Every value the runtime reads from zoo.cfg is converted here, once; the
//! defaults of absent keys are those of [`Config`] (and, for `initLimit`
//! and `syncLimit`, [`crate::leadership::DEFAULT_INIT_LIMIT`] and
//! [`crate::leadership::DEFAULT_SYNC_LIMIT`], which the config's own
//! derived values read too). The finalize wait is converted once, into the
//! election settings, and the leadership timers take it from there, so the
//! two cannot disagree.

use super::Error;
use crate::cnx::{CnxSettings, Resolver};
use crate::config::{Config, QuorumServer};
use crate::election;
use crate::leadership::{FollowOnly, Mode, Timing};
use crate::quorum::QuorumVerifier;
use crate::types::{LearnerType, Sid};
use crate::wire::{HostPort, ProtocolVersion};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// Everything one run of a peer takes from its config.
pub(super) struct RuntimeSettings {
    /// The election machine's parameters.
    pub election: election::Settings,
    /// The leadership timers; their finalize wait is the election's.
    pub timing: Timing,
    /// The connection manager's: addresses (resolved), timeouts, TLS.
    pub cnx: CnxSettings,
    /// The quorum rule of the server list.
    pub quorum: Arc<QuorumVerifier>,
    /// `leadershipMode`.
    pub mode: Mode,
    /// `followOnly`.
    pub follow_only: FollowOnly,
    /// My quorum (sync) addresses, on which follow-only (auto) watches for
    /// real ZooKeeper learners; empty when it does not watch.
    pub zab_watch: Vec<SocketAddr>,
}

/// The settings of a run of `server` (my entry of `config`). Resolves my
/// own addresses (as long as DNS takes: not under a lock) and reads the
/// TLS key files; a host that does not resolve or a bad key file is an
/// error naming it.
pub(super) fn runtime_settings(
    config: &Config,
    server: &QuorumServer,
) -> Result<RuntimeSettings, Error> {
    let election = election_settings(config, server);
    let timing = timing(config, &election);
    Ok(RuntimeSettings {
        cnx: cnx_settings(config, server)?,
        election,
        timing,
        quorum: Arc::new(config.quorum.clone()),
        mode: config.leadership_mode,
        follow_only: config.follow_only,
        zab_watch: zab_watch(config, server),
    })
}

/// The election machine's parameters.
fn election_settings(c: &Config, server: &QuorumServer) -> election::Settings {
    election::Settings {
        my_sid: server.sid,
        learner_type: server.role,
        min_notification_interval: Duration::from_millis(c.min_notification_interval_ms),
        max_notification_interval: Duration::from_millis(c.max_notification_interval_ms),
        finalize_wait: Duration::from_millis(c.finalize_wait_ms),
    }
}

/// The leadership timers, with the election's finalize wait.
fn timing(c: &Config, election: &election::Settings) -> Timing {
    Timing::new(
        Duration::from_millis(c.tick_time_ms),
        c.init_limit,
        c.sync_limit,
    )
    .with_finalize_wait(election.finalize_wait)
}

/// Follow-only (auto) learns of real ZooKeeper members from their learners
/// connecting to my quorum port (see `zab_watch`): my quorum addresses when
/// I am a participant that may follow only, else none.
fn zab_watch(c: &Config, server: &QuorumServer) -> Vec<SocketAddr> {
    if c.follow_only != FollowOnly::Auto || server.role != LearnerType::Participant {
        return Vec::new();
    }
    server
        .addrs
        .iter()
        .filter_map(|a| resolve_ip(&a.host, a.quorum_port))
        .collect()
}

/// Resolves a host to one IP, preferring the literal itself.
fn resolve_ip(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.next()
}

/// The connection manager's settings: where I listen and what I
/// advertise (my resolved addresses), the other members' addresses as
/// written, the timeouts and the TLS keys.
fn cnx_settings(c: &Config, server: &QuorumServer) -> Result<CnxSettings, Error> {
    let my_sid = server.sid;
    let mut listen = Vec::new();
    let mut advertise = Vec::new();
    for a in &server.addrs {
        let resolved = resolve_ip(&a.host, a.election_port).ok_or_else(|| {
            Error::io(
                format!("election address of sid {my_sid}"),
                std::io::Error::other(format!("cannot resolve host {}", a.host)),
            )
        })?;
        let bind = if c.quorum_listen_on_all_ips {
            let any = if resolved.is_ipv6() {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            };
            SocketAddr::new(any, a.election_port)
        } else {
            resolved
        };
        if !listen.contains(&bind) {
            listen.push(bind);
        }
        // ZooKeeper advertises the resolved IP literal of its configured address.
        advertise.push(HostPort {
            host: resolved.ip().to_string(),
            port: a.election_port,
        });
    }
    let peers: HashMap<Sid, Vec<HostPort>> = c
        .servers
        .values()
        .filter(|s| s.sid != my_sid)
        .map(|s| {
            let addrs = s
                .addrs
                .iter()
                .map(|a| HostPort {
                    host: a.host.clone(),
                    port: a.election_port,
                })
                .collect();
            (s.sid, addrs)
        })
        .collect();
    Ok(CnxSettings {
        my_sid,
        listen,
        advertise,
        protocol: if c.multi_address_enabled {
            ProtocolVersion::V2
        } else {
            ProtocolVersion::V1
        },
        peers,
        connect_timeout: Duration::from_millis(c.cnx_timeout_ms),
        handshake_timeout: Duration::from_millis(c.handshake_timeout_ms()),
        keep_alive: c.tcp_keep_alive,
        bind_retry: c.election_port_bind_retry,
        resolver: Resolver::system(),
        tls: match &c.tls {
            Some(t) => Some(Arc::new(
                crate::tls::TlsContext::load(t).map_err(Error::Config)?,
            )),
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leadership::{DEFAULT_FINALIZE_WAIT_MS, DEFAULT_INIT_LIMIT, DEFAULT_SYNC_LIMIT};

    const SERVERS: &str = "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
                           server.3=127.0.0.1:2890:3890\n";

    fn settings(extra: &str) -> RuntimeSettings {
        let cfg = Config::parse(&format!("{extra}\n{SERVERS}")).unwrap();
        let server = cfg.server(1).unwrap().clone();
        runtime_settings(&cfg, &server).unwrap()
    }

    #[test]
    fn the_finalize_wait_is_one_value() {
        let s = settings("tickTime=100\nfinalizeWait=37");
        assert_eq!(s.election.finalize_wait, Duration::from_millis(37));
        assert_eq!(s.timing.finalize_wait, s.election.finalize_wait);
        let s = settings("tickTime=100");
        let default = Duration::from_millis(DEFAULT_FINALIZE_WAIT_MS);
        assert_eq!(s.election.finalize_wait, default);
        assert_eq!(s.timing.finalize_wait, default);
        assert_eq!(Timing::default().finalize_wait, default);
    }

    #[test]
    fn absent_limits_take_the_one_default() {
        let s = settings("tickTime=100");
        assert_eq!(s.timing.init_limit, DEFAULT_INIT_LIMIT);
        assert_eq!(s.timing.sync_limit, DEFAULT_SYNC_LIMIT);
        // The handshake timeout is syncLimit ticks, with the same default.
        assert_eq!(s.cnx.handshake_timeout, s.timing.follower_deadline());
        let s = settings("tickTime=100\ninitLimit=3\nsyncLimit=4");
        assert_eq!((s.timing.init_limit, s.timing.sync_limit), (3, 4));
        assert_eq!(s.cnx.handshake_timeout, Duration::from_millis(400));
    }

    #[test]
    fn election_and_connection_settings_come_from_the_config() {
        let s = settings(
            "tickTime=100\nfastleader.minNotificationInterval=30\n\
             fastleader.maxNotificationInterval=900\ncnxTimeout=1234\n\
             quorumListenOnAllIPs=true",
        );
        assert_eq!(s.election.my_sid, 1);
        assert_eq!(s.election.learner_type, LearnerType::Participant);
        assert_eq!(
            s.election.min_notification_interval,
            Duration::from_millis(30)
        );
        assert_eq!(
            s.election.max_notification_interval,
            Duration::from_millis(900)
        );
        assert_eq!(s.cnx.my_sid, 1);
        assert_eq!(s.cnx.connect_timeout, Duration::from_millis(1234));
        assert_eq!(s.cnx.listen, vec!["0.0.0.0:3888".parse().unwrap()]);
        assert_eq!(s.cnx.advertise[0].host, "127.0.0.1");
        let mut peers: Vec<Sid> = s.cnx.peers.keys().copied().collect();
        peers.sort_unstable();
        assert_eq!(peers, vec![2, 3]);
        assert_eq!(s.zab_watch, vec!["127.0.0.1:2888".parse().unwrap()]);
    }
}
