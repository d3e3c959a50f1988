//! Quorum TLS between zkelect peers on real loopback sockets: a TLS
//! ensemble elects, probes and stops cleanly; bad peers (plaintext, garbage,
//! another CA, an expired certificate, a certificate of another member) are
//! each refused with one log line naming their address and the reason,
//! without disturbing the election; certificates rotate without a restart.
//!
//! Each sid has its own loopback address (127.0.0.N) and a certificate for
//! it, so that binding certificates to sids is testable on one machine.
//! The tests of this binary run one at a time (they count threads and
//! file descriptors, and share the log sink).

#[path = "support/certs.rs"]
mod certs;
mod common;

use certs::{tls_lines, Ca, TempDir};
use common::*;
use parking_lot::Mutex;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use zkelect::logging::{set_sink, Level};
use zkelect::{Peer, Sid};

static SERIAL: Mutex<()> = Mutex::new(());
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn capture_log() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        zkelect::logging::set_level(Level::Info);
        set_sink(Some(Arc::new(|level: Level, line: &str| {
            if level >= Level::Warn {
                eprintln!("zkelect {}: {line}", level.name());
            }
            LOG.lock().push(line.to_string());
        })));
    });
}

/// Waits for a log line containing every one of `parts`; returns it.
fn await_log(parts: &[&str]) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(l) = LOG
            .lock()
            .iter()
            .find(|l| parts.iter().all(|p| l.contains(p)))
        {
            return l.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {parts:?}; log:\n{}",
            LOG.lock().join("\n")
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until at least `n` log lines contain every one of `parts`.
fn await_count(parts: &[&str], n: usize) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let seen = LOG
            .lock()
            .iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count();
        if seen >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{seen} < {n} log lines with {parts:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// An ensemble layout: `n` sids on 127.0.0.1..n, one CA, a key store per sid
/// (SAN = its own address) and a trust store.
struct Layout {
    dir: TempDir,
    ca: Ca,
    servers: String,
    ports: Vec<u16>,
    trust: PathBuf,
}

impl Layout {
    fn new(tag: &str, n: usize, extra_servers: &str) -> Layout {
        let dir = TempDir::new(tag);
        let ca = Ca::new("zkelect test CA");
        let ports = free_ports(2 * n);
        let mut servers = String::new();
        for i in 0..n {
            servers.push_str(&format!(
                "server.{}=127.0.0.{}:{}:{}\n",
                i + 1,
                i + 1,
                ports[2 * i],
                ports[2 * i + 1]
            ));
        }
        servers.push_str(extra_servers);
        let trust = ca.write_trust(dir.path(), "ca.pem");
        for i in 1..=n {
            ca.write_leaf(dir.path(), &format!("s{i}.pem"), &[&format!("127.0.0.{i}")]);
        }
        Layout {
            dir,
            ca,
            servers,
            ports,
            trust,
        }
    }

    fn key_store(&self, sid: Sid) -> PathBuf {
        self.dir.path().join(format!("s{sid}.pem"))
    }

    fn election(&self, sid: Sid) -> SocketAddr {
        format!("127.0.0.{sid}:{}", self.ports[2 * (sid as usize - 1) + 1])
            .parse()
            .unwrap()
    }

    /// The zoo.cfg of `sid`, with its own key store.
    fn config(&self, sid: Sid, extra: &str) -> String {
        self.config_with(&self.key_store(sid), &self.trust, extra)
    }

    fn config_with(&self, key: &std::path::Path, trust: &std::path::Path, extra: &str) -> String {
        format!(
            "tickTime=500\ninitLimit=5\nsyncLimit=4\nfinalizeWait=50\n{}\n{}",
            tls_lines(
                key,
                trust,
                "ssl.quorum.sidBinding=true\nssl.quorum.hostnameVerification=false\n"
            ),
            extra
        ) + &self.servers
    }

    fn peer(&self, sid: Sid, extra: &str) -> Peer {
        let p = Peer::from_config_text(&self.config(sid, extra), Some(sid)).expect("valid config");
        p.start().expect("peer starts");
        p
    }
}

fn tls_context(layout: &Layout, key: &std::path::Path) -> zkelect::tls::TlsContext {
    let cfg = zkelect::config::Config::parse(&layout.config_with(key, &layout.trust, "")).unwrap();
    zkelect::tls::TlsContext::load(cfg.tls.as_ref().unwrap()).unwrap()
}

#[test]
fn tls_ensemble_elects_probes_and_stops_without_leftovers() {
    let _g = SERIAL.lock();
    capture_log();
    let l = Layout::new("tls-good", 3, "");
    let mut baseline = None;
    for round in 0..2 {
        let ps: Vec<Peer> = (1..=3).map(|s| l.peer(s, "")).collect();
        let refs: Vec<&Peer> = ps.iter().collect();
        let agreed = await_agreement(&refs);
        // The probe speaks TLS with the same keys (its sid is unconfigured,
        // so any certificate of the CA will do).
        let ctx = tls_context(&l, &l.key_store(1));
        let target = l.election(2).to_string();
        let r = zkelect::probe::probe_tls(
            &target,
            zkelect::probe::DEFAULT_PROBE_SID,
            DEADLINE,
            Some(&ctx),
        )
        .expect("TLS probe answers");
        assert_eq!(r.leader, agreed.leader, "probe reply {r:?}");
        // A plaintext probe of a TLS port gets no answer.
        assert!(zkelect::probe::probe(&target, 99, Duration::from_secs(5)).is_err());
        // `zkelect status` reads the whole TLS ensemble with a member's
        // zoo.cfg (its TLS keys).
        if round == 0 {
            let cfg = l.dir.path().join("status.cfg");
            std::fs::write(&cfg, l.config(1, "")).unwrap();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkelect"))
                .args(["status", "--json", "--config"])
                .arg(&cfg)
                .output()
                .expect("run zkelect status");
            let json = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{json}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                json.contains(&format!("\"leader\":{},", agreed.leader))
                    && json.contains("\"reachable\":3,\"total\":3"),
                "{json}"
            );
        }
        for p in &ps {
            p.stop();
        }
        drop(ps);
        if round == 0 {
            baseline = Some((threads(), fds()));
        } else {
            assert_eq!(
                Some((threads(), fds())),
                baseline,
                "threads and fds after stop"
            );
        }
    }
}

/// Connects to `addr` and returns the socket with a read timeout set.
fn dial(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s
}

/// As [`dial`], from the loopback address `src` (each bad case has its
/// own, so that the log line names it and repeats of one kind from one
/// address, which are logged once in a while, do not mix).
fn dial_from(src: &str, addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{src}:0").parse().unwrap();
    sock.bind(&from.into()).unwrap();
    sock.connect(&addr.into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s
}

/// Reads until the peer closes (EOF or an error); fails on the deadline.
fn assert_closed(mut s: impl Read) {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + DEADLINE;
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => assert!(Instant::now() < deadline, "connection not closed"),
        }
    }
}

/// A rustls client that presents `key_store` and trusts `trust`.
fn client(key_store: &str, trust: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(trust.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(key_store.as_bytes())
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_store.as_bytes()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap(),
    )
}

/// A TLS connection to `addr` presenting `key_store`; the handshake may
/// fail (the server refuses the certificate), which the caller checks in
/// the server's log.
fn tls_dial(
    src: &str,
    addr: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
) -> (
    SocketAddr,
    rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
) {
    let tcp = dial_from(src, addr);
    let local = tcp.local_addr().unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let conn = rustls::ClientConnection::new(cfg, name).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        if s.conn.complete_io(&mut s.sock).is_err() {
            break;
        }
    }
    (local, s)
}

/// A V1 handshake claiming `sid`, and a LEADING notification for it with
/// a huge epoch (what an impostor would send).
fn forged(sid: Sid) -> Vec<u8> {
    use zkelect::wire::{encode_frame, encode_handshake, HostPort, ProtocolVersion};
    let mut out = encode_handshake(
        ProtocolVersion::V1,
        sid,
        &[HostPort {
            host: "127.0.0.9".into(),
            port: 1,
        }],
    );
    let mut body = Vec::new();
    body.extend_from_slice(&2i32.to_be_bytes()); // LEADING
    body.extend_from_slice(&sid.to_be_bytes());
    body.extend_from_slice(&i64::MAX.to_be_bytes());
    body.extend_from_slice(&1000i64.to_be_bytes());
    body.extend_from_slice(&1000i64.to_be_bytes());
    body.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&encode_frame(&body));
    out
}

#[test]
fn bad_peers_are_refused_with_a_reason_and_the_election_goes_on() {
    let _g = SERIAL.lock();
    capture_log();
    // Sid 4 is an observer slot that a plaintext zkelect peer takes.
    let free = free_ports(2);
    let l = Layout::new(
        "tls-bad",
        3,
        &format!("server.4=127.0.0.4:{}:{}:observer\n", free[0], free[1]),
    );
    let ps: Vec<Peer> = (1..=3).map(|s| l.peer(s, "")).collect();
    let refs: Vec<&Peer> = ps.iter().collect();
    let before = await_agreement(&refs);
    let target = l.election(1);
    let trust = l.ca.pem();

    // 1. A plaintext peer speaking ZooKeeper's handshake.
    let mut s = dial_from("127.0.0.11", target);
    let from = s.local_addr().unwrap().to_string();
    s.write_all(&forged(3)).unwrap();
    assert_closed(&s);
    await_log(&[
        &format!("closing connection from {from}"),
        "not TLS (first byte 0xff",
    ]);

    // 2. Garbage.
    let mut s = dial_from("127.0.0.12", target);
    let from = s.local_addr().unwrap().to_string();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_closed(&s);
    await_log(&[
        &format!("closing connection from {from}"),
        "not TLS (first byte 0x47",
    ]);

    // 3. Garbage that starts like TLS.
    let mut s = dial_from("127.0.0.13", target);
    let from = s.local_addr().unwrap().to_string();
    s.write_all(&[0x16, 3, 1, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .unwrap();
    assert_closed(&s);
    await_log(&[
        &format!("closing connection from {from}"),
        "TLS handshake failed",
    ]);

    // 4. A certificate from another CA.
    let other = Ca::new("another CA");
    let (from, s) = tls_dial(
        "127.0.0.14",
        target,
        client(&other.leaf(&["127.0.0.2"]), &trust),
    );
    assert_closed(s);
    await_log(&[
        &format!("closing connection from {from}"),
        "TLS handshake failed",
        "UnknownIssuer",
    ]);

    // 5. An expired certificate from the right CA.
    let (from, s) = tls_dial(
        "127.0.0.15",
        target,
        client(&l.ca.expired_leaf(&["127.0.0.2"]), &trust),
    );
    assert_closed(s);
    await_log(&[
        &format!("closing connection from {from}"),
        "TLS handshake failed",
        "certificate expired",
    ]);

    // 6. A valid certificate for server 2's address that claims sid 3.
    let sid2 = std::fs::read_to_string(l.key_store(2)).unwrap();
    let (from, mut s) = tls_dial("127.0.0.16", target, client(&sid2, &trust));
    assert!(
        !s.conn.is_handshaking(),
        "a member's certificate passes TLS"
    );
    let _ = s.write_all(&forged(3));
    assert_closed(s);
    let line = await_log(&[
        &format!("closing connection from {from}"),
        "sid binding: it claims sid 3",
        "127.0.0.3",
    ]);
    assert!(
        line.contains("127.0.0.2"),
        "names what the certificate is for: {line}"
    );

    // 7. A plaintext zkelect peer in the observer slot: refused by every
    // member it dials, it never learns the leader.
    let plain_cfg = format!("tickTime=500\ninitLimit=5\nsyncLimit=4\n{}", l.servers);
    let plain = Peer::from_config_text(&plain_cfg, Some(4)).unwrap();
    plain.start().unwrap();
    // It dials all three members; each logs the refusal once (and then
    // only once in a while, however often it retries).
    await_count(
        &[
            "closing connection from 127.0.0.1:",
            "not TLS (first byte 0xff",
        ],
        3,
    );
    assert!(
        plain.leader().is_none(),
        "the plaintext peer learned nothing"
    );
    plain.stop();

    // The election was not disturbed: same leader, same epoch, everyone.
    for p in &ps {
        let c = p.confirmed().expect("still confirmed");
        assert_eq!(
            (c.leader, c.epoch),
            (before.leader, before.epoch),
            "sid {}",
            p.my_sid()
        );
    }
    for p in &ps {
        p.stop();
    }
}

#[test]
fn an_impostor_with_another_members_certificate_is_refused_both_ways() {
    let _g = SERIAL.lock();
    capture_log();
    let l = Layout::new("tls-impostor", 3, "");
    let p1 = l.peer(1, "");
    let p2 = l.peer(2, "");
    // Sid 3 runs with sid 2's certificate: it can dial (TLS passes) but
    // claims sid 3; and when 1 or 2 dial it, its certificate is not for
    // the address of server.3.
    let cfg3 = l.config_with(&l.key_store(2), &l.trust, "");
    let p3 = Peer::from_config_text(&cfg3, Some(3)).unwrap();
    p3.start().unwrap();
    let agreed = await_agreement(&[&p1, &p2]);
    assert!(agreed.leader == 1 || agreed.leader == 2, "{agreed:?}");
    await_log(&["closing connection from", "sid binding: it claims sid 3"]);
    await_log(&["TLS connection to sid 3 at 127.0.0.3:", "sid binding"]);
    assert!(p3.leader().is_none(), "the impostor learned nothing");
    let c = p1.confirmed().unwrap();
    assert_eq!((c.leader, c.epoch), (agreed.leader, agreed.epoch));
    for p in [&p1, &p2, &p3] {
        p.stop();
    }
}

#[test]
fn rotated_certificates_are_read_without_a_restart() {
    let _g = SERIAL.lock();
    capture_log();
    let l = Layout::new("tls-rotate", 3, "");
    let reload = "sslQuorumReloadCertFiles=true\n";
    let p1 = l.peer(1, reload);
    let p2 = l.peer(2, reload);
    await_agreement(&[&p1, &p2]);
    // A new CA for everyone: 1 and 2 get new files in place, 3 starts with
    // them. Only a peer that re-reads its files can talk to 3.
    let ca2 = Ca::new("rotated CA");
    for sid in 1..=3 {
        ca2.write_leaf(
            l.dir.path(),
            &format!("s{sid}.pem"),
            &[&format!("127.0.0.{sid}")],
        );
    }
    // Written with a new size or time, so the change is seen.
    std::fs::write(&l.trust, format!("{}\n", ca2.pem())).unwrap();
    let p3 = l.peer(3, reload);
    let ls = await_leaders(&[&p3]);
    let c1 = p1.confirmed().unwrap();
    assert_eq!(
        ls[0].leader, c1.leader,
        "sid 3 follows the running ensemble"
    );
    await_log(&["quorum TLS: re-read", "s1.pem"]);
    for p in [&p1, &p2, &p3] {
        p.stop();
    }
}

#[test]
fn missing_or_bad_store_files_are_clear_errors() {
    let _g = SERIAL.lock();
    let l = Layout::new("tls-errors", 1, "");
    let missing = l.dir.path().join("nope.pem");
    let cfg = l.config_with(&missing, &l.trust, "");
    let p = Peer::from_config_text(&cfg, Some(1)).unwrap();
    let e = p.start().unwrap_err().to_string();
    assert!(
        e.contains("ssl.quorum.keyStore.location") && e.contains("nope.pem"),
        "{e}"
    );
    // A trust store that holds no certificate.
    let empty = l.dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let cfg = l.config_with(&l.key_store(1), &empty, "");
    let e = Peer::from_config_text(&cfg, Some(1))
        .unwrap()
        .start()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ssl.quorum.trustStore.location") && e.contains("empty.pem"),
        "{e}"
    );
    // PKCS12 is named as such.
    let cfg = format!(
        "sslQuorum=true\nssl.quorum.keyStore.location=/k.p12\nssl.quorum.trustStore.location={}\n{}",
        l.trust.display(),
        l.servers
    );
    let e = Peer::from_config_text(&cfg, Some(1))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("PKCS12") && e.contains("k.p12"), "{e}");
}

#[test]
fn stop_is_prompt_while_tls_handshakes_hang() {
    let _g = SERIAL.lock();
    capture_log();
    let l = Layout::new("tls-stop", 1, "");
    // Sid 2 is a socket that accepts TCP and never speaks: sid 1's TLS
    // handshake to it waits for a ServerHello (cnxTimeout is a minute).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let cfg = format!(
        "{}server.2=127.0.0.1:{}:{port}\n",
        l.config(1, "cnxTimeout=60000\nsyncLimit=120\n"),
        free_ports(1)[0]
    );
    let p = Peer::from_config_text(&cfg, Some(1)).unwrap();
    p.start().unwrap();
    let (_hung_in, _) = silent.accept().unwrap();
    // And a client of sid 1 that connects and sends nothing (the handshake
    // timeout is a minute too).
    let _hung_out = dial(l.election(1));
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    p.stop();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop took {:?} with hanging TLS handshakes",
        t.elapsed()
    );
}
