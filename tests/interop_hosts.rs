//! Host texts against a real ZooKeeper 3.8 server (Debian's `zookeeper`
//! package): what it writes into its election handshake and into the config
//! text of its notifications for hosts written in Java's literal forms,
//! compared with what zkelect's wire and config code make of the same
//! zoo.cfg (both use the crate's one port of Java's text rules).
//!
//! Without the package the test prints a note and passes, except in CI
//! (`CI=true`); see `tests/interop.rs`.

mod common; // the harness takes its ports from here
#[path = "interop/harness.rs"]
#[allow(dead_code)] // shared with tests/interop.rs, which uses other parts
mod harness;

use harness::*;
use std::fs;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use zkelect::config::Config;
use zkelect::wire::{self, HostPort};

/// Host forms whose rendering does not depend on the machine's interfaces
/// (named IPv6 zones do; see the crate's `javatext::inet`).
const FORMS: &[&str] = &[
    "0x7f.1",
    "localhost",
    "Example.COM",
    "10.1.258",
    "1",
    "0127.0.0.1",
    "[::1]",
    "[::ffff:1.2.3.4]",
    "[::1.2.3.4]",
    "[2001:DB8::0:1]",
    "[fe80::1%4]",
    "[fe80::1%007]",
    "[::ffff:1.2.3.4%1]",
];

/// Reads from `stream` until `parse` takes what has arrived.
fn read_until<T>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    what: &str,
    mut parse: impl FnMut(&[u8]) -> Option<T>,
) -> T {
    wait_for(what, || {
        if let Some(v) = parse(buf) {
            return Some(v);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => panic!("the real server closed the connection before {what}"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(e) => panic!("reading {what}: {e}"),
        }
        None
    })
}

/// A real server configured with `127.1` and the [`FORMS`] sends
/// `127.0.0.1:<port>` in its handshake and, in its notifications, the very
/// config text zkelect renders for its zoo.cfg.
#[test]
fn real_server_writes_hosts_as_zkelect_renders_them() {
    let Some(_serial) = begin() else { return };
    let mut ens = Ensemble::new(Layout {
        slots: 2,
        real: &[2],
        ..Layout::default()
    });
    let (e1, e2) = (ens.slot(1).addrs[0].clone(), ens.slot(2).addrs[0].clone());
    let lo = Ipv4Addr::LOCALHOST;
    let path = ens.slot(2).cfg_path();
    let mut text = fs::read_to_string(&path).expect("read the real server's zoo.cfg");
    let own = format!("server.2=127.0.0.1:{}:{}", e2.quorum, e2.election);
    assert!(text.contains(&own), "{text}");
    text = text.replace(
        &own,
        &format!("server.2=127.1:{}:{}", e2.quorum, e2.election),
    );
    for (i, host) in FORMS.iter().enumerate() {
        // Never started: only their text matters.
        let (q, e) = (free_port(lo), free_port(lo));
        text.push_str(&format!("server.{}={host}:{q}:{e}\n", i + 3));
    }
    fs::write(&path, &text).expect("write the real server's zoo.cfg");
    let ours = Config::parse(&text).unwrap_or_else(|e| panic!("zkelect rejects {text}: {e}"));

    // Slot 1 is nobody's: listen on its election port as sid 1 would. The
    // real server (sid 2) dials the lower sid and keeps the connection.
    let listener = TcpListener::bind((e1.ip, e1.election)).expect("bind slot 1's election port");
    listener.set_nonblocking(true).unwrap();
    ens.start_real(2);
    let (mut stream, _) = wait_for("the real server to dial sid 1", || {
        match listener.accept() {
            Ok(s) => Some(s),
            Err(e) if e.kind() == ErrorKind::WouldBlock => None,
            Err(e) => panic!("accept: {e}"),
        }
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();

    let mut buf = Vec::new();
    let (hs, used) =
        read_until(
            &mut stream,
            &mut buf,
            "the handshake",
            |b| match wire::decode_handshake(b) {
                Ok(v) => Some(v),
                Err(wire::HandshakeError::Incomplete { .. }) => None,
                Err(e) => panic!("the real server's handshake does not decode: {e}"),
            },
        );
    assert_eq!(hs.sid, 2);
    let sent = String::from_utf8_lossy(&buf[20..used]).into_owned();
    assert_eq!(sent, format!("127.0.0.1:{}", e2.election), "handshake text");
    let own = HostPort {
        host: "127.1".into(),
        port: e2.election,
    };
    assert_eq!(own.to_string(), sent, "zkelect's rendering of 127.1");
    buf.drain(..used);

    let body =
        read_until(
            &mut stream,
            &mut buf,
            "the first notification",
            |b| match wire::split_frame(b) {
                Ok(Some((body, _))) => Some(body.to_vec()),
                Ok(None) => None,
                Err(e) => panic!("the real server's frame does not split: {e}"),
            },
        );
    let n = wire::decode_notification(&body).expect("the real server's notification");
    let config = String::from_utf8(n.config.expect("a version-2 notification has config text"))
        .expect("UTF-8 config text");
    assert_eq!(ours.render_dynamic(), config, "config text");
    // Spot checks, so that a failure above reads easily.
    assert!(config.contains(&format!("server.2=127.0.0.1:{}:", e2.quorum)));
    assert!(config.contains("server.9=[0:0:0:0:0:0:0:1]:"), "{config}");
    drop(stream);
    ens.finish();
}
