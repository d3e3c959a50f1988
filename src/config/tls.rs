//! The quorum TLS keys of zoo.cfg (ZooKeeper's `sslQuorum` and
//! `ssl.quorum.*`, plus zkelect's `ssl.quorum.sidBinding`).
//!
//! Only the text is interpreted here; the key and trust store files are read
//! when a peer starts, so that a config can be parsed
//! on a machine that does not hold its keys. Every key may also be written
//! with ZooKeeper's `zookeeper.` system-property prefix.

use super::error::ConfigError;
use super::values::parse_bool;
use std::path::{Path, PathBuf};

/// The format of a key or trust store file (`ssl.quorum.*Store.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    /// PEM text: certificates, and for a key store one private key.
    Pem,
    /// PKCS#12 (`.p12`, `.pfx`): recognised, refused with an error.
    Pkcs12,
    /// Java KeyStore (`.jks`): recognised, refused with an error.
    Jks,
    /// Bouncy Castle FIPS store (`.bcfks`): recognised, refused with an error.
    Bcfks,
}

impl StoreType {
    fn parse(v: &str) -> Option<StoreType> {
        match v.to_ascii_uppercase().as_str() {
            "PEM" => Some(StoreType::Pem),
            "PKCS12" => Some(StoreType::Pkcs12),
            "JKS" => Some(StoreType::Jks),
            "BCFKS" => Some(StoreType::Bcfks),
            _ => None,
        }
    }

    /// ZooKeeper's guess from the file name when no type is given.
    fn from_extension(path: &Path) -> StoreType {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "jks" => StoreType::Jks,
            "p12" | "pfx" => StoreType::Pkcs12,
            "bcfks" => StoreType::Bcfks,
            _ => StoreType::Pem,
        }
    }

    /// The name ZooKeeper uses for it.
    pub fn name(self) -> &'static str {
        match self {
            StoreType::Pem => "PEM",
            StoreType::Pkcs12 => "PKCS12",
            StoreType::Jks => "JKS",
            StoreType::Bcfks => "BCFKS",
        }
    }
}

/// One key or trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `…Store.location`.
    pub location: PathBuf,
    /// `…Store.password`: for PEM only an encrypted key would need it, and
    /// encrypted keys are refused when the peer starts.
    pub password: String,
    /// `…Store.type`, or guessed from the file name as ZooKeeper does.
    pub kind: StoreType,
}

/// ZooKeeper's `ssl.quorum.clientAuth`: whether the accepting side asks
/// the connecting side for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is asked for.
    None,
    /// One is asked for; a connection without one is accepted.
    Want,
    /// One is required (the default).
    Need,
}

/// A TLS protocol version rustls speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLSv1.2 (what ZooKeeper 3.8 offers by default).
    V1_2,
    /// TLSv1.3.
    V1_3,
}

/// The quorum TLS settings, when `sslQuorum=true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// `ssl.quorum.keyStore.*`: this peer's private key and certificate chain.
    pub key_store: StoreConfig,
    /// `ssl.quorum.trustStore.*`: the CA certificates peers must chain to.
    pub trust_store: StoreConfig,
    /// `ssl.quorum.hostnameVerification` (default true): the dialled peer's
    /// certificate must name the host dialled, and an accepted peer's
    /// certificate must name its IP address.
    pub hostname_verification: bool,
    /// The versions offered, from `ssl.quorum.enabledProtocols`, else
    /// `ssl.quorum.protocol`, else TLSv1.3 and TLSv1.2.
    pub versions: Vec<TlsVersion>,
    /// `ssl.quorum.ciphersuites`: IANA (Java) suite names, empty for the
    /// provider's defaults.
    pub cipher_suites: Vec<String>,
    /// `ssl.quorum.clientAuth` (default need).
    pub client_auth: ClientAuth,
    /// `sslQuorumReloadCertFiles`: re-read the store files when they change.
    pub reload_cert_files: bool,
    /// `ssl.quorum.sidBinding` (zkelect's own, default false): the
    /// certificate of a peer must be valid for the host of the `server.N`
    /// line of the sid it claims.
    pub sid_binding: bool,
}

/// Collects the TLS keys while the config is read.
#[derive(Debug, Default)]
pub(crate) struct TlsKeys {
    /// (line, key, value) per key, the last one winning as in Java.
    seen: Vec<(usize, String, String)>,
}

const KEYS: &[&str] = &[
    "sslQuorum",
    "sslQuorumReloadCertFiles",
    "sslQuorumPortUnification",
    "ssl.quorum.keyStore.location",
    "ssl.quorum.keyStore.password",
    "ssl.quorum.keyStore.type",
    "ssl.quorum.trustStore.location",
    "ssl.quorum.trustStore.password",
    "ssl.quorum.trustStore.type",
    "ssl.quorum.hostnameVerification",
    "ssl.quorum.protocol",
    "ssl.quorum.enabledProtocols",
    "ssl.quorum.ciphersuites",
    "ssl.quorum.clientAuth",
    "ssl.quorum.sidBinding",
    "ssl.quorum.crl",
    "ssl.quorum.ocsp",
];

/// Whether `key` (with or without `zookeeper.`) is a quorum TLS key.
pub(crate) fn is_key(key: &str) -> bool {
    KEYS.contains(&key.strip_prefix("zookeeper.").unwrap_or(key))
}

impl TlsKeys {
    /// Takes `key` if it is a TLS key (with or without `zookeeper.`).
    pub(crate) fn take(&mut self, line: usize, key: &str, value: &str) -> bool {
        if !is_key(key) {
            return false;
        }
        let k = key.strip_prefix("zookeeper.").unwrap_or(key);
        self.seen.retain(|(_, old, _)| old != k);
        self.seen.push((line, k.to_string(), value.to_string()));
        true
    }

    fn get(&self, key: &str) -> Option<(usize, &str)> {
        self.seen
            .iter()
            .find(|(_, k, _)| k == key)
            .map(|(l, _, v)| (*l, v.as_str()))
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some((line, v)) => parse_bool(v).map_err(|m| ConfigError::at(line, key, m)),
        }
    }

    fn store(&self, prefix: &str) -> Result<StoreConfig, ConfigError> {
        let loc_key = format!("ssl.quorum.{prefix}.location");
        let location = match self.get(&loc_key) {
            Some((_, v)) if !v.trim().is_empty() => PathBuf::from(v.trim()),
            Some((line, _)) => {
                return Err(ConfigError::at(
                    line,
                    &loc_key,
                    "is empty, but sslQuorum=true needs a PEM file here",
                ))
            }
            None => {
                return Err(ConfigError::for_key(
                    &loc_key,
                    "is missing, but sslQuorum=true needs a PEM file here",
                ))
            }
        };
        let type_key = format!("ssl.quorum.{prefix}.type");
        let kind = match self.get(&type_key) {
            Some((_, v)) if v.trim().is_empty() => StoreType::from_extension(&location),
            Some((line, v)) => StoreType::parse(v.trim()).ok_or_else(|| {
                ConfigError::at(
                    line,
                    &type_key,
                    format!("unknown store type \"{v}\": expected PEM, PKCS12, JKS or BCFKS"),
                )
            })?,
            None => StoreType::from_extension(&location),
        };
        if kind != StoreType::Pem {
            return Err(ConfigError::for_key(
                &type_key,
                format!(
                    "{} stores ({}) are not supported by zkelect, only PEM: convert it, \
                     e.g. `openssl pkcs12 -in {} -nodes -out {}.pem` (or keytool \
                     -importkeystore to PKCS12 first), and set {type_key}=PEM",
                    kind.name(),
                    location.display(),
                    location.display(),
                    location.display(),
                ),
            ));
        }
        let password = self
            .get(&format!("ssl.quorum.{prefix}.password"))
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        Ok(StoreConfig {
            location,
            password,
            kind,
        })
    }

    /// The TLS settings, `None` unless `sslQuorum=true`.
    pub(crate) fn finish(&self) -> Result<Option<TlsConfig>, ConfigError> {
        let enabled = self.bool("sslQuorum", false)?;
        let sid_binding = self.bool("ssl.quorum.sidBinding", false)?;
        if !enabled {
            if sid_binding {
                return Err(ConfigError::for_key(
                    "ssl.quorum.sidBinding",
                    "binds certificates to sids, so it needs sslQuorum=true",
                ));
            }
            return Ok(None);
        }
        if self.bool("sslQuorumPortUnification", false)? {
            return Err(ConfigError::for_key(
                "sslQuorumPortUnification",
                "is not supported: with sslQuorum=true zkelect's election port speaks TLS only",
            ));
        }
        for k in ["ssl.quorum.crl", "ssl.quorum.ocsp"] {
            if self.bool(k, false)? {
                return Err(ConfigError::for_key(
                    k,
                    "revocation checks are not supported; rotate certificates instead \
                     (sslQuorumReloadCertFiles=true)",
                ));
            }
        }
        let key_store = self.store("keyStore")?;
        let trust_store = self.store("trustStore")?;
        let versions = match (
            self.get("ssl.quorum.enabledProtocols"),
            self.get("ssl.quorum.protocol"),
        ) {
            (Some((line, v)), _) => parse_versions(v)
                .map_err(|m| ConfigError::at(line, "ssl.quorum.enabledProtocols", m))?,
            (None, Some((line, v))) => {
                parse_versions(v).map_err(|m| ConfigError::at(line, "ssl.quorum.protocol", m))?
            }
            (None, None) => vec![TlsVersion::V1_3, TlsVersion::V1_2],
        };
        let cipher_suites = self
            .get("ssl.quorum.ciphersuites")
            .map(|(_, v)| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let client_auth = match self.get("ssl.quorum.clientAuth") {
            None => ClientAuth::Need,
            Some((line, v)) => match v.trim().to_ascii_lowercase().as_str() {
                "" | "need" => ClientAuth::Need,
                "want" => ClientAuth::Want,
                "none" => ClientAuth::None,
                _ => {
                    return Err(ConfigError::at(
                        line,
                        "ssl.quorum.clientAuth",
                        format!("unknown value \"{v}\": expected none, want or need"),
                    ))
                }
            },
        };
        if sid_binding && client_auth != ClientAuth::Need {
            return Err(ConfigError::for_key(
                "ssl.quorum.sidBinding",
                "checks the certificate of every peer that connects, so it needs \
                 ssl.quorum.clientAuth=need (the default)",
            ));
        }
        Ok(Some(TlsConfig {
            key_store,
            trust_store,
            hostname_verification: self.bool("ssl.quorum.hostnameVerification", true)?,
            versions,
            cipher_suites,
            client_auth,
            reload_cert_files: self.bool("sslQuorumReloadCertFiles", false)?,
            sid_binding,
        }))
    }
}

/// Java protocol names to versions: `TLSv1.2`, `TLSv1.3`, `TLS` (both),
/// comma-separated.
fn parse_versions(v: &str) -> Result<Vec<TlsVersion>, String> {
    let mut out = Vec::new();
    for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let add: &[TlsVersion] = match name {
            "TLSv1.3" => &[TlsVersion::V1_3],
            "TLSv1.2" => &[TlsVersion::V1_2],
            "TLS" => &[TlsVersion::V1_3, TlsVersion::V1_2],
            "TLSv1" | "TLSv1.1" | "SSLv3" | "SSL" => {
                return Err(format!(
                    "{name} is too old and not supported: use TLSv1.2 or TLSv1.3"
                ))
            }
            _ => {
                return Err(format!(
                    "unknown protocol \"{name}\": expected TLSv1.2, TLSv1.3 or TLS"
                ))
            }
        };
        for a in add {
            if !out.contains(a) {
                out.push(*a);
            }
        }
    }
    if out.is_empty() {
        return Err("no protocol given: expected TLSv1.2, TLSv1.3 or TLS".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> TlsKeys {
        let mut k = TlsKeys::default();
        for (i, l) in text.lines().enumerate() {
            let (a, b) = l.split_once('=').unwrap();
            assert!(k.take(i + 1, a, b), "{a}");
        }
        k
    }

    const BASE: &str = "sslQuorum=true\nssl.quorum.keyStore.location=k.pem\n\
                        ssl.quorum.trustStore.location=ca.pem\n";

    #[test]
    fn off_unless_ssl_quorum() {
        assert_eq!(
            keys("ssl.quorum.keyStore.location=x").finish().unwrap(),
            None
        );
        assert!(keys("ssl.quorum.sidBinding=true").finish().is_err());
    }

    #[test]
    fn defaults_follow_zookeeper() {
        let c = keys(BASE).finish().unwrap().unwrap();
        assert_eq!(c.client_auth, ClientAuth::Need);
        assert!(c.hostname_verification);
        assert!(!c.reload_cert_files && !c.sid_binding);
        assert_eq!(c.key_store.kind, StoreType::Pem);
        assert_eq!(c.versions, vec![TlsVersion::V1_3, TlsVersion::V1_2]);
    }

    #[test]
    fn keys_are_read() {
        let c = keys(&format!(
            "{BASE}zookeeper.ssl.quorum.protocol=TLSv1.2\nssl.quorum.ciphersuites=A, B\n\
             ssl.quorum.hostnameVerification=false\nsslQuorumReloadCertFiles=true\n\
             ssl.quorum.sidBinding=true"
        ))
        .finish()
        .unwrap()
        .unwrap();
        assert_eq!(c.versions, vec![TlsVersion::V1_2]);
        assert_eq!(c.cipher_suites, vec!["A", "B"]);
        assert!(!c.hostname_verification && c.reload_cert_files && c.sid_binding);
    }

    #[test]
    fn clear_errors() {
        let e = keys("sslQuorum=true\nssl.quorum.trustStore.location=ca.pem")
            .finish()
            .unwrap_err();
        assert!(
            e.to_string().contains("ssl.quorum.keyStore.location"),
            "{e}"
        );
        let e = keys("sslQuorum=true\nssl.quorum.keyStore.location=k.p12\nssl.quorum.trustStore.location=ca.pem")
            .finish()
            .unwrap_err();
        assert!(
            e.to_string().contains("PKCS12") && e.to_string().contains("k.p12"),
            "{e}"
        );
        let e = keys(&format!("{BASE}ssl.quorum.protocol=TLSv1.1"))
            .finish()
            .unwrap_err();
        assert!(e.to_string().contains("TLSv1.1"), "{e}");
        let e = keys(&format!(
            "{BASE}ssl.quorum.clientAuth=want\nssl.quorum.sidBinding=true"
        ))
        .finish()
        .unwrap_err();
        assert!(e.to_string().contains("clientAuth=need"), "{e}");
        let e = keys(&format!("{BASE}ssl.quorum.trustStore.type=JKS"))
            .finish()
            .unwrap_err();
        assert!(
            e.to_string().contains("JKS") && e.to_string().contains("ca.pem"),
            "{e}"
        );
    }
}
