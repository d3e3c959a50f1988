//! Test certificates made at run time (rcgen): a CA, and leaf certificates
//! for given SANs, written as ZooKeeper's PEM key and trust stores.
#![allow(dead_code)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// A certificate authority that signs leaf certificates.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    /// A new self-signed CA.
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// Writes the CA certificate as a trust store; returns its path.
    pub fn write_trust(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.pem()).unwrap();
        path
    }

    /// A leaf for `sans` (IP literals or DNS names), valid for server and
    /// client authentication, as one PEM key store (key + certificate).
    pub fn leaf(&self, sans: &[&str]) -> String {
        self.leaf_with(sans, false)
    }

    /// As [`Ca::leaf`], but expired (valid only in 2020).
    pub fn expired_leaf(&self, sans: &[&str]) -> String {
        self.leaf_with(sans, true)
    }

    fn leaf_with(&self, sans: &[&str], expired: bool) -> String {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, sans.first().copied().unwrap_or("peer"));
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if expired {
            p.not_before = date_time_ymd(2020, 1, 1);
            p.not_after = date_time_ymd(2020, 12, 31);
        } else {
            p.not_before = date_time_ymd(2024, 1, 1);
            p.not_after = date_time_ymd(2099, 1, 1);
        }
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        format!("{}{}", key.serialize_pem(), cert.pem())
    }

    /// Writes a leaf key store for `sans`; returns its path.
    pub fn write_leaf(&self, dir: &Path, name: &str, sans: &[&str]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.leaf(sans)).unwrap();
        path
    }
}

/// zoo.cfg lines that turn quorum TLS on with the given stores.
pub fn tls_lines(key_store: &Path, trust_store: &Path, extra: &str) -> String {
    format!(
        "sslQuorum=true\n\
         ssl.quorum.keyStore.location={}\n\
         ssl.quorum.keyStore.type=PEM\n\
         ssl.quorum.keyStore.password=\n\
         ssl.quorum.trustStore.location={}\n\
         ssl.quorum.trustStore.type=PEM\n\
         ssl.quorum.trustStore.password=\n{extra}",
        key_store.display(),
        trust_store.display()
    )
}

/// A fresh, empty temporary directory for one test (removed on drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `zkelect-<tag>-<pid>-<n>` under the system temp directory.
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "zkelect-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
