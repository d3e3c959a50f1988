//! Quorum TLS: rustls configurations built from the `ssl.quorum.*` keys of
//! zoo.cfg (see [`crate::config::TlsConfig`]), certificate rotation, and
//! the checks that bind a peer's certificate to the sid it claims.
//!
//! What is checked, on every election connection when `sslQuorum=true`:
//! - both ends present a certificate (`ssl.quorum.clientAuth=need`, the
//!   default) that chains to a CA of the trust store, is within its validity
//!   period and carries the serverAuth (dialled side) or clientAuth
//!   (accepting side) extended key usage when it has one;
//! - with `ssl.quorum.hostnameVerification=true` (the default), the dialled
//!   peer's certificate names the host dialled (SAN DNS name or IP), and an
//!   accepted peer's certificate names the IP address it connects from, as
//!   ZooKeeper checks (without its reverse-DNS fallback);
//! - with `ssl.quorum.sidBinding=true` (zkelect's own key), a peer that
//!   claims a configured sid must hold a certificate valid for the host of
//!   that sid's `server.N` line (SAN IP address or DNS name); on the
//!   dialling side, the certificate of the peer dialled must be valid for
//!   the configured host of the sid dialled. Sids that are not in the
//!   configuration (probes, dial-backs to unlisted observers) need only a
//!   trusted certificate: their votes are never counted.
//!
//! With `sslQuorumReloadCertFiles=true` the store files are looked at
//! (modification time and size) before each connection is made or
//! accepted, and re-read when they changed; a file that fails to load is
//! logged and the previous keys stay in use.
//!
//! Over 500 lines only with its unit tests (the code is about 450).

use crate::config::{ClientAuth, ConfigError, StoreConfig, TlsConfig, TlsVersion};
use crate::log;
use crate::logging::Level;
use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme, SupportedProtocolVersion,
};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A loaded quorum TLS setup: what every election connection of one peer
/// (and a TLS probe) uses. Cheap to share; see the module docs.
pub struct TlsContext {
    cfg: TlsConfig,
    loaded: Mutex<Loaded>,
    /// When each (remote IP, reason) was last logged, and how many like it
    /// were not logged since (see [`TlsContext::refusal`]).
    refusals: Mutex<HashMap<(IpAddr, String), (Instant, u64)>>,
}

/// How long repeated refusals of one kind from one IP address stay quiet.
const REFUSAL_QUIET: Duration = Duration::from_secs(10);

/// The most (IP, reason) pairs remembered for that.
const MAX_REFUSALS_KEPT: usize = 1024;

struct Loaded {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    /// (modification time, length) of the key and trust store files when
    /// last looked at.
    stamps: [Option<(SystemTime, u64)>; 2],
}

impl fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsContext")
            .field("key_store", &self.cfg.key_store.location)
            .field("trust_store", &self.cfg.trust_store.location)
            .field("sid_binding", &self.cfg.sid_binding)
            .finish()
    }
}

impl TlsContext {
    /// Reads the key and trust stores; an error names the key and the file.
    pub fn load(cfg: &TlsConfig) -> Result<TlsContext, ConfigError> {
        let stamps = stamps(cfg);
        let (client, server) = build(cfg)?;
        Ok(TlsContext {
            cfg: cfg.clone(),
            loaded: Mutex::new(Loaded {
                client,
                server,
                stamps,
            }),
            refusals: Mutex::new(HashMap::new()),
        })
    }

    /// Whether to log a refused connection from `ip` for `reason` now: the
    /// first of a kind is logged, repeats within 10 s are counted instead
    /// (a misconfigured peer retries many times a second), and the next
    /// line says how many were not logged. `Some(n)`: log, with `n` left
    /// out since the last one; `None`: stay quiet.
    pub fn refusal(&self, ip: IpAddr, reason: &str) -> Option<u64> {
        // Ports, times and counts differ between repeats of one reason.
        let kind: String = reason.chars().filter(|c| !c.is_ascii_digit()).collect();
        let now = Instant::now();
        let mut seen = self.refusals.lock();
        if let Some((at, quiet)) = seen.get_mut(&(ip, kind.clone())) {
            if now.duration_since(*at) < REFUSAL_QUIET {
                *quiet += 1;
                return None;
            }
            let n = *quiet;
            *at = now;
            *quiet = 0;
            return Some(n);
        }
        if seen.len() >= MAX_REFUSALS_KEPT {
            seen.retain(|_, (at, _)| now.duration_since(*at) < REFUSAL_QUIET);
            if seen.len() >= MAX_REFUSALS_KEPT {
                return Some(0);
            }
        }
        seen.insert((ip, kind), (now, 0));
        Some(0)
    }

    /// The settings this context was loaded from.
    pub fn config(&self) -> &TlsConfig {
        &self.cfg
    }

    /// The client and server configurations for a new connection, re-read
    /// first when rotation is on and a store file changed.
    pub fn configs(&self) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
        let mut l = self.loaded.lock();
        if self.cfg.reload_cert_files {
            let now = stamps(&self.cfg);
            if now != l.stamps {
                l.stamps = now;
                match build(&self.cfg) {
                    Ok((c, s)) => {
                        l.client = c;
                        l.server = s;
                        log!(
                            Level::Info,
                            "quorum TLS: re-read {} and {} after they changed",
                            self.cfg.key_store.location.display(),
                            self.cfg.trust_store.location.display()
                        );
                    }
                    Err(e) => log!(
                        Level::Warn,
                        "quorum TLS: keeping the previous keys, the changed files do not load: {e}"
                    ),
                }
            }
        }
        (l.client.clone(), l.server.clone())
    }

    /// Checks that `cert` (a peer's end-entity certificate) is valid for one
    /// of `hosts` (IP literals or DNS names); the error says why not.
    pub fn check_names(cert: &CertificateDer<'_>, hosts: &[String]) -> Result<(), String> {
        let parsed = ParsedCertificate::try_from(cert)
            .map_err(|e| format!("cannot parse its certificate: {e}"))?;
        let mut detail = String::new();
        for h in hosts {
            if let Some(name) = server_name(h) {
                match rustls::client::verify_server_name(&parsed, &name) {
                    Ok(()) => return Ok(()),
                    Err(rustls::Error::InvalidCertificate(e)) => detail = format!(" ({e})"),
                    Err(e) => detail = format!(" ({e})"),
                }
            }
        }
        Err(format!(
            "its certificate is not valid for {}{detail}",
            if hosts.len() == 1 {
                hosts[0].clone()
            } else {
                format!("any of {}", hosts.join(", "))
            }
        ))
    }
}

/// `host` as a TLS server name: an IP literal or a DNS name.
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(h.to_string()).ok()
}

fn stamps(cfg: &TlsConfig) -> [Option<(SystemTime, u64)>; 2] {
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    [
        stamp(&cfg.key_store.location),
        stamp(&cfg.trust_store.location),
    ]
}

fn read_store(store: &StoreConfig, key: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(&store.location).map_err(|e| {
        ConfigError::for_key(
            key,
            format!("cannot read {}: {e}", store.location.display()),
        )
    })
}

fn certificates(
    bytes: &[u8],
    store: &StoreConfig,
    key: &str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(bytes).collect();
    let certs = certs.map_err(|e| {
        ConfigError::for_key(
            key,
            format!("{} is not a valid PEM file: {e}", store.location.display()),
        )
    })?;
    if certs.is_empty() {
        return Err(ConfigError::for_key(
            key,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                store.location.display()
            ),
        ));
    }
    Ok(certs)
}

fn private_key(
    bytes: &[u8],
    store: &StoreConfig,
    key: &str,
) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let path = store.location.display();
    if bytes
        .windows(b"ENCRYPTED PRIVATE KEY".len())
        .any(|w| w == b"ENCRYPTED PRIVATE KEY")
    {
        return Err(ConfigError::for_key(
            key,
            format!(
                "{path} holds an encrypted private key, which zkelect cannot read: \
                 decrypt it (`openssl pkey -in {path} -out <new file>`, then append the \
                 certificates) and protect the file by its permissions"
            ),
        ));
    }
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| {
        ConfigError::for_key(key, format!("{path} holds no usable PEM private key: {e}"))
    })
}

fn provider(cfg: &TlsConfig) -> Result<Arc<CryptoProvider>, ConfigError> {
    let mut p = ring::default_provider();
    if !cfg.cipher_suites.is_empty() {
        let known: Vec<String> = p
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        let wanted: Vec<&String> = cfg
            .cipher_suites
            .iter()
            .filter(|w| known.contains(w))
            .collect();
        let skipped: Vec<&String> = cfg
            .cipher_suites
            .iter()
            .filter(|w| !known.contains(w))
            .collect();
        if wanted.is_empty() {
            return Err(ConfigError::for_key(
                "ssl.quorum.ciphersuites",
                format!(
                    "names no suite zkelect supports; supported: {}",
                    known.join(", ")
                ),
            ));
        }
        if !skipped.is_empty() {
            let names: Vec<&str> = skipped.iter().map(|s| s.as_str()).collect();
            log!(
                Level::Warn,
                "quorum TLS: ssl.quorum.ciphersuites names suites zkelect does not support, skipped: {}",
                names.join(", ")
            );
        }
        p.cipher_suites
            .retain(|s| wanted.contains(&&format!("{:?}", s.suite())));
    }
    Ok(Arc::new(p))
}

fn versions(cfg: &TlsConfig) -> Vec<&'static SupportedProtocolVersion> {
    cfg.versions
        .iter()
        .map(|v| match v {
            TlsVersion::V1_2 => &rustls::version::TLS12,
            TlsVersion::V1_3 => &rustls::version::TLS13,
        })
        .collect()
}

fn build(cfg: &TlsConfig) -> Result<(Arc<ClientConfig>, Arc<ServerConfig>), ConfigError> {
    const KEY: &str = "ssl.quorum.keyStore.location";
    const TRUST: &str = "ssl.quorum.trustStore.location";
    let key_bytes = read_store(&cfg.key_store, KEY)?;
    let chain = certificates(&key_bytes, &cfg.key_store, KEY)?;
    let key = private_key(&key_bytes, &cfg.key_store, KEY)?;
    let trust_bytes = read_store(&cfg.trust_store, TRUST)?;
    let mut roots = RootCertStore::empty();
    for c in certificates(&trust_bytes, &cfg.trust_store, TRUST)? {
        roots.add(c).map_err(|e| {
            ConfigError::for_key(
                TRUST,
                format!(
                    "{} holds a certificate that is not a usable CA: {e}",
                    cfg.trust_store.location.display()
                ),
            )
        })?;
    }
    let roots = Arc::new(roots);
    let provider = provider(cfg)?;
    let versions = versions(cfg);
    let bad = |what: &str, e: &dyn fmt::Display| ConfigError::for_key(KEY, format!("{what}: {e}"));

    let server_verifier =
        WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| ConfigError::for_key(TRUST, format!("cannot use the trust store: {e}")))?;
    let key_mismatch = |e: &rustls::Error| {
        bad(
            &format!(
                "{} does not hold a matching private key and certificate",
                cfg.key_store.location.display()
            ),
            e,
        )
    };
    let client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| bad("no cipher suite fits the enabled protocols", &e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PeerVerifier {
            inner: server_verifier,
            check_name: cfg.hostname_verification,
        }))
        .with_client_auth_cert(chain.clone(), key.clone_key())
        .map_err(|e| key_mismatch(&e))?;

    let client_verifier = match cfg.client_auth {
        ClientAuth::None => WebPkiClientVerifier::no_client_auth(),
        ClientAuth::Want => WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| ConfigError::for_key(TRUST, format!("cannot use the trust store: {e}")))?,
        ClientAuth::Need => WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| ConfigError::for_key(TRUST, format!("cannot use the trust store: {e}")))?,
    };
    let server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| bad("no cipher suite fits the enabled protocols", &e))?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(chain, key)
        .map_err(|e| key_mismatch(&e))?;
    // No session resumption: election connections are few and long-lived.
    // Above all, no TLS 1.3 session tickets: they are the only bytes an
    // accepting side sends after the handshake, and a poke (a smaller sid
    // that writes its handshake and closes at once) that closes with them
    // unread makes the kernel reset the connection, which can destroy the
    // handshake bytes before the acceptor reads them.
    let mut client = client;
    client.resumption = rustls::client::Resumption::disabled();
    let mut server = server;
    server.send_tls13_tickets = 0;
    Ok((Arc::new(client), Arc::new(server)))
}

/// The dialling side's check of the accepting peer: the chain always, the
/// name only with `ssl.quorum.hostnameVerification=true`.
#[derive(Debug)]
struct PeerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            // The name is checked last, after the chain and the dates.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{StoreType, TlsConfig};
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A CA-signed leaf for `sans`: (key store PEM, CA PEM, leaf DER).
    fn leaf(sans: &[&str]) -> (String, String, CertificateDer<'static>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = p.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        (
            format!("{}{}", key.serialize_pem(), cert.pem()),
            ca.pem(),
            cert.der().clone(),
        )
    }

    #[test]
    fn names_bind_by_dns_name_or_ip() {
        let (_, _, der) = leaf(&["zk1.example", "10.0.0.1"]);
        let ok = |h: &str| TlsContext::check_names(&der, &[h.to_string()]);
        assert!(ok("zk1.example").is_ok());
        assert!(ok("10.0.0.1").is_ok());
        assert!(ok("[10.0.0.1]").is_ok());
        let e = ok("zk2.example").unwrap_err();
        assert!(
            e.contains("zk2.example") && e.contains("zk1.example"),
            "{e}"
        );
        assert!(ok("10.0.0.2").is_err());
        // Any of a multi-address server's hosts will do.
        let hosts = ["zk2.example".to_string(), "zk1.example".to_string()];
        assert!(TlsContext::check_names(&der, &hosts).is_ok());
    }

    #[test]
    fn repeated_refusals_are_counted_not_logged() {
        let dir = std::env::temp_dir().join(format!("zkelect-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (keys, ca, _) = leaf(&["127.0.0.1"]);
        std::fs::write(dir.join("k.pem"), keys).unwrap();
        std::fs::write(dir.join("ca.pem"), ca).unwrap();
        let store = |f: &str| crate::config::StoreConfig {
            location: dir.join(f),
            password: String::new(),
            kind: StoreType::Pem,
        };
        let cfg = TlsConfig {
            key_store: store("k.pem"),
            trust_store: store("ca.pem"),
            hostname_verification: true,
            versions: vec![
                crate::config::TlsVersion::V1_3,
                crate::config::TlsVersion::V1_2,
            ],
            cipher_suites: vec![],
            client_auth: crate::config::ClientAuth::Need,
            reload_cert_files: false,
            sid_binding: false,
        };
        let ctx = TlsContext::load(&cfg).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(ctx.refusal(a, "not TLS (port 1000)"), Some(0));
        // Same kind (digits differ), same address: quiet.
        assert_eq!(ctx.refusal(a, "not TLS (port 2000)"), None);
        // Another address, or another reason: logged.
        assert_eq!(ctx.refusal(b, "not TLS (port 1000)"), Some(0));
        assert_eq!(ctx.refusal(a, "expired"), Some(0));
    }
}
