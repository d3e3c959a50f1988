//! A flood of silent and slowloris connections on the election port of the
//! lowest sid (which accepts every election link) does not keep configured
//! peers out (issue 16, point 6): a peer that starts connects within a
//! second, and so does a restarted leader, and the ensemble elects.
//!
//! The flood holds 1,000 silent connections (from 127.0.0.1, the address
//! the peers connect from too) and 1,000 slowloris connections that send a
//! handshake one byte a second (from 127.0.0.2 and 127.0.0.3); every
//! connection the victim closes is opened again within a second, so the
//! pressure lasts the whole test. The peers run in this process; the flood
//! runs on a thread of its own that closes every socket when it stops.

mod common;

use common::*;
use socket2::{Domain, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use zkelect::wire::{self, HostPort, ProtocolVersion};
use zkelect::{Event, Peer, Sid};

/// Silent connections, and slowloris ones (as many: they alternate).
const SILENT: usize = 1000;
const SLOW: usize = SILENT;
/// Every flood connection is visited once per this long: the slowloris
/// interval, and the longest a closed one stays closed.
const PERIOD: Duration = Duration::from_secs(1);
/// The visits are spread over this many ticks per period.
const TICKS: usize = 20;
/// The requirement: a configured peer connects within a second.
const CONNECT_BOUND: Duration = Duration::from_secs(1);

/// The tests of this file run one at a time: one counts the process's
/// WARN lines and descriptors.
static SERIAL: Mutex<()> = Mutex::new(());

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Raises this process's soft RLIMIT_NOFILE to at least `want` (within the
/// hard limit) with util-linux `prlimit`, so the flood cannot run out of
/// descriptors on a machine whose default is 1024.
fn ensure_nofile(want: u64) {
    let soft = || -> u64 {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("Max open files in /proc/self/limits");
        let v: Vec<&str> = line.split_whitespace().collect();
        v[3].parse().unwrap_or(u64::MAX)
    };
    if soft() >= want {
        return;
    }
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={want}:")])
        .status();
    assert!(
        soft() >= want,
        "this test needs {want} file descriptors (soft limit {}); prlimit: {status:?}",
        soft()
    );
}

/// What the flood thread counts.
#[derive(Default)]
struct Counts {
    /// Connections opened.
    opened: AtomicU64,
    /// Connections the victim closed (seen at the next visit).
    closed: AtomicU64,
    /// Connection attempts that failed.
    failed: AtomicU64,
}

struct Conn {
    /// Slowloris: the handshake bytes it trickles, and how many it sent.
    slow: Option<(Vec<u8>, usize)>,
    src: IpAddr,
    sock: Option<TcpStream>,
}

struct Flood {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    fn start(to: SocketAddr) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let mut conns: Vec<Conn> = Vec::new();
        // Silent and slowloris connections alternate, so both kinds are
        // opened from the start.
        for i in 0..SILENT + SLOW {
            let conn = if i % 2 == 1 {
                // A V1 handshake with the longest address: 2068 bytes, a
                // half-hour's trickle.
                let me = HostPort {
                    host: "x".repeat(wire::MAX_ADDRESS_LEN - 2),
                    port: 1,
                };
                let hs = wire::encode_handshake(ProtocolVersion::V1, 1000 + i as i64, &[me]);
                Conn {
                    slow: Some((hs, 0)),
                    src: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i / 2 % 2) as u8)),
                    sock: None,
                }
            } else {
                Conn {
                    slow: None,
                    src: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    sock: None,
                }
            };
            conns.push(conn);
        }
        let (s, c) = (stop.clone(), counts.clone());
        let thread = thread::Builder::new()
            .name("flood".into())
            .spawn(move || run_flood(to, conns, &s, &c))
            .unwrap();
        Flood {
            stop,
            counts,
            thread: Some(thread),
        }
    }

    fn opened(&self) -> u64 {
        self.counts.opened.load(Ordering::Relaxed)
    }

    /// Stops the flood; every one of its sockets is closed when this returns.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop();
    }
}

fn connect_from(src: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    if src != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        s.bind(&SocketAddr::new(src, 0).into())?;
    }
    s.connect_timeout(&to.into(), Duration::from_millis(200))?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Whether the peer closed `s` (a non-blocking read sees EOF or an error).
fn is_closed(mut s: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    }
}

fn run_flood(to: SocketAddr, mut conns: Vec<Conn>, stop: &AtomicBool, counts: &Counts) {
    let tick = PERIOD / TICKS as u32;
    let mut n = 0usize;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for (i, c) in conns.iter_mut().enumerate() {
            if i % TICKS != n % TICKS {
                continue;
            }
            let mut closed = match &c.sock {
                Some(s) => is_closed(s),
                None => true,
            };
            if let (Some(s), Some((hs, sent)), false) = (&c.sock, &mut c.slow, closed) {
                if *sent < hs.len() {
                    let mut s: &TcpStream = s;
                    match s.write(&hs[*sent..*sent + 1]) {
                        Ok(1) => *sent += 1,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => closed = true,
                    }
                }
            }
            if closed {
                if c.sock.take().is_some() {
                    counts.closed.fetch_add(1, Ordering::Relaxed);
                }
                if let Some((_, sent)) = &mut c.slow {
                    *sent = 0;
                }
                match connect_from(c.src, to) {
                    Ok(s) => {
                        counts.opened.fetch_add(1, Ordering::Relaxed);
                        c.sock = Some(s);
                    }
                    Err(_) => {
                        counts.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        n += 1;
        next += tick;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    // `conns` is dropped here: every flood socket is closed.
}

/// Waits for `sid`'s election connection to come up on `events`; the time
/// it took from `since`.
fn await_connected(
    events: &crossbeam_channel::Receiver<Event>,
    sid: Sid,
    since: Instant,
) -> Duration {
    let deadline = since + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(Event::PeerConnected(s)) if s == sid => return since.elapsed(),
            Ok(_) => {}
            Err(_) => panic!("sid {sid} did not connect within {DEADLINE:?} under the flood"),
        }
    }
}

#[test]
fn configured_peers_connect_within_a_second_under_a_flood_of_silent_and_slow_connections() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    ensure_nofile(8192);
    let fds_before = open_fds();
    let warns = Arc::new(Mutex::new(Vec::<String>::new()));
    let w = warns.clone();
    zkelect::logging::set_sink(Some(Arc::new(move |level, line: &str| {
        if level >= zkelect::logging::Level::Warn {
            w.lock().unwrap().push(line.to_string());
        }
    })));
    let started = Instant::now();

    let (cfg, ports) = config(3, "finalizeWait=50");
    let ps = peers(&cfg, [1, 2]);
    let victim = &ps[0];
    let events = victim.subscribe();
    for p in &ps {
        p.start().unwrap();
    }
    let first = await_leaders(&[&ps[0], &ps[1]]);
    assert_eq!(first[0].leader, first[1].leader, "{first:?}");

    let to = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let mut flood = Flood::start(to);
    // The flood is in place once every one of its connections was opened,
    // and the victim closed and the flood reopened a thousand of them.
    let deadline = Instant::now() + DEADLINE;
    while flood.opened() < (SILENT + SLOW + 1000) as u64 {
        assert!(Instant::now() < deadline, "the flood did not get going");
        thread::sleep(Duration::from_millis(10));
    }

    // A configured peer starts: its link to sid 1 lands on the flooded port.
    let p3 = Peer::from_config_text(&cfg, Some(3)).unwrap();
    let t = Instant::now();
    p3.start().unwrap();
    let joined = await_connected(&events, 3, t);
    let joined_decided = p3
        .wait_for_leader(DEADLINE)
        .expect("sid 3 decides under the flood");
    let joined_decided_in = t.elapsed();

    // The leader restarts: it loses its link and must come back through
    // the flooded port.
    let leader = first[0].leader;
    let old = ps.iter().position(|p| p.my_sid() == leader).unwrap();
    ps[old].stop();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(Event::PeerDisconnected(s)) if s == leader => break,
            Ok(_) => {}
            Err(_) => panic!("sid 1 did not see the leader {leader} go"),
        }
    }
    let t = Instant::now();
    let again = Peer::from_config_text(&cfg, Some(leader)).unwrap();
    again.start().unwrap();
    let rejoined = if leader == 1 {
        Duration::ZERO
    } else {
        await_connected(&events, leader, t)
    };
    let back = again
        .wait_for_leader(DEADLINE)
        .expect("the restarted leader decides under the flood");
    let back_in = t.elapsed();

    let counts = &flood.counts;
    eprintln!(
        "under the flood: sid 3 connected to sid 1 in {joined:?} (decided {} in {joined_decided_in:?}); \
         restarted sid {leader} connected in {rejoined:?} (decided {} in {back_in:?}); \
         flood connections opened {}, closed by the victim {}, failed to open {}",
        joined_decided.leader,
        back.leader,
        counts.opened.load(Ordering::Relaxed),
        counts.closed.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
    );
    assert!(
        joined <= CONNECT_BOUND,
        "sid 3 took {joined:?} to connect under the flood"
    );
    assert!(
        rejoined <= CONNECT_BOUND,
        "the restarted sid {leader} took {rejoined:?} to connect under the flood"
    );
    // One agreed leader among the running peers.
    let running: Vec<&Peer> = ps
        .iter()
        .filter(|p| p.my_sid() != leader)
        .chain([&p3, &again])
        .collect();
    let decided = await_leaders(&running);
    assert!(
        decided.iter().all(|d| d.leader == decided[0].leader),
        "{decided:?}"
    );

    flood.stop();
    drop(again);
    drop(p3);
    drop(ps);
    zkelect::logging::set_sink(None);

    // The WARN lines about the flood are rate-limited: at most one line per
    // kind, listener and 10 s (four peers were started, one listener each;
    // without the limit the flood makes thousands).
    let warns = warns.lock().unwrap();
    let allowed = 4 * (started.elapsed().as_secs() / 10 + 1);
    for kind in ["too many handshakes", "closing connection from"] {
        let n = warns.iter().filter(|l| l.contains(kind)).count() as u64;
        eprintln!("WARN lines containing {kind:?}: {n}");
        assert!(
            n <= allowed,
            "{n} lines of {kind:?}, at most {allowed} allowed: {warns:?}"
        );
    }
    // Every socket of the test is closed again.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let now = open_fds();
        if now <= fds_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{now} descriptors open after the test, {fds_before} before"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_trickled_handshake_is_closed_at_one_deadline_for_the_whole_exchange() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A handshake timeout of 300 ms, and a client that sends a byte every
    // 50 ms: each byte comes well within the timeout of the read before,
    // but the whole handshake (2068 bytes) would take 100 s.
    let (cfg, ports) = config(3, "quorumCnxnTimeoutMs=300");
    let ps = peers(&cfg, [1]);
    ps[0].start().unwrap();
    let me = HostPort {
        host: "x".repeat(wire::MAX_ADDRESS_LEN - 2),
        port: 1,
    };
    let hs = wire::encode_handshake(ProtocolVersion::V1, 7, &[me]);
    let mut s = TcpStream::connect(("127.0.0.1", ports[0])).unwrap();
    s.set_nonblocking(true).unwrap();
    let t = Instant::now();
    let mut sent = 0;
    let closed_after = loop {
        if is_closed(&s) || s.write(&hs[sent..sent + 1]).is_err() {
            break t.elapsed();
        }
        sent += 1;
        assert!(
            t.elapsed() < DEADLINE && sent < hs.len(),
            "still connected after {:?} and {sent} bytes",
            t.elapsed()
        );
        thread::sleep(Duration::from_millis(50));
    };
    eprintln!("the trickled handshake was closed after {closed_after:?} and {sent} bytes");
}
