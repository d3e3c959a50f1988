//! The connection manager on real loopback sockets: stop never waits for a
//! name lookup or for a handshake accepted while stopping, and sids that
//! come and go leave nothing behind.

use super::listener::AcceptStage;
use super::*;
use crossbeam_channel::unbounded;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;

/// How long any wait in these tests may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// How long `stop()` may take here. Everything it waits for is local and
/// woken at once; this only has to absorb a loaded machine's scheduling.
const STOP_BOUND: Duration = Duration::from_secs(5);

fn settings(my_sid: Sid, peers: HashMap<Sid, Vec<HostPort>>, timeout: Duration) -> CnxSettings {
    CnxSettings {
        my_sid,
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        advertise: vec![HostPort {
            host: "127.0.0.1".into(),
            port: 1,
        }],
        protocol: ProtocolVersion::V1,
        peers,
        connect_timeout: timeout,
        handshake_timeout: timeout,
        keep_alive: false,
        bind_retry: 1,
        resolver: Resolver::system(),
        tls: None,
    }
}

fn port(mgr: &CnxManager) -> u16 {
    mgr.inner.listeners.lock()[0].local_addr().unwrap().port()
}

/// Stops `mgr` on another thread; the time it took, or `None` if it did
/// not return within [`STOP_BOUND`] (then `unblock` runs, and the stop is
/// waited for before returning, so no thread outlives the test).
fn timed_stop(mgr: CnxManager, unblock: impl FnOnce()) -> Option<Duration> {
    let (tx, rx) = bounded(1);
    let t = thread::spawn(move || {
        let start = Instant::now();
        mgr.stop();
        let _ = tx.send(start.elapsed());
    });
    let took = rx.recv_timeout(STOP_BOUND).ok();
    if took.is_none() {
        unblock();
    }
    t.join().unwrap();
    took
}

#[test]
fn stop_racing_an_accept_does_not_wait_for_its_handshake() {
    // A handshake timeout far above the bound: a handshake read started
    // after shutdown would hold stop for all of it.
    let (events, _events_rx) = unbounded();
    let mgr = CnxManager::start(settings(5, HashMap::new(), DEADLINE), events).unwrap();
    let (at_tx, at_rx) = unbounded();
    let (go_tx, go_rx) = bounded::<()>(1);
    let hook: AcceptHook = Arc::new(move |stage| {
        let _ = at_tx.send(stage);
        if stage == AcceptStage::Accepted {
            let _ = go_rx.recv_timeout(DEADLINE);
        }
    });
    *mgr.inner.accept_hook.lock() = Some(hook);
    // A client that connects and says nothing.
    let client = TcpStream::connect(("127.0.0.1", port(&mgr))).unwrap();
    assert_eq!(at_rx.recv_timeout(DEADLINE), Ok(AcceptStage::Accepted));
    // The accept returned; stop's first half (close and drain everything)
    // runs before the listener thread goes on with the socket.
    mgr.inner.shutdown();
    go_tx.send(()).unwrap();
    assert_eq!(at_rx.recv_timeout(DEADLINE), Ok(AcceptStage::Handled));
    let took = timed_stop(mgr, || {
        let _ = client.shutdown(std::net::Shutdown::Both);
    });
    assert!(
        took.is_some(),
        "stop() waited for the handshake of a connection accepted while stopping"
    );
}

#[test]
fn stop_does_not_wait_for_a_black_holed_name_lookup() {
    // Sid 2's host is a name whose lookup blocks until released, as with
    // a DNS server that never answers.
    let (entered_tx, entered_rx) = unbounded();
    let (release_tx, release_rx) = bounded::<()>(0);
    let (ended_tx, ended_rx) = unbounded();
    let resolver = Resolver::from_fn(move |host, _port| {
        let _ = entered_tx.send(host.to_string());
        let _ = release_rx.recv_timeout(Duration::from_secs(120));
        let _ = ended_tx.send(());
        Err(io::Error::other("no answer"))
    });
    let peers = HashMap::from([(
        2,
        vec![HostPort {
            host: "black-holed.zkelect.test".into(),
            port: 3888,
        }],
    )]);
    // A connect timeout far above the bound, so only stop can end the wait.
    let mut s = settings(1, peers, DEADLINE);
    s.resolver = resolver;
    let (events, _events_rx) = unbounded();
    let mgr = CnxManager::start(s, events).unwrap();
    mgr.send(2, Arc::from(&b"hello"[..]));
    assert_eq!(
        entered_rx.recv_timeout(DEADLINE).as_deref(),
        Ok("black-holed.zkelect.test")
    );
    let took = timed_stop(mgr, || {
        let _ = release_tx.send_timeout((), DEADLINE);
    });
    assert!(took.is_some(), "stop() waited for a name lookup");
    // The lookup itself goes on until it returns; released, it ends.
    drop(release_tx);
    assert_eq!(ended_rx.recv_timeout(DEADLINE), Ok(()));
}

#[test]
fn sids_that_come_and_go_leave_no_queues_behind() {
    let (events, events_rx) = unbounded();
    let mgr = CnxManager::start(settings(1, HashMap::new(), DEADLINE), events).unwrap();
    let p = port(&mgr);
    for i in 0..40 {
        // A probe-like peer with a fresh large sid: its connection is kept.
        let sid = 1_000 + i;
        let mut c = TcpStream::connect(("127.0.0.1", p)).unwrap();
        let me = HostPort {
            host: "127.0.0.1".into(),
            port: 1,
        };
        c.write_all(&wire::encode_handshake(ProtocolVersion::V1, sid, &[me]))
            .unwrap();
        assert_eq!(
            events_rx.recv_timeout(DEADLINE),
            Ok(CnxEvent::Connected(sid))
        );
        // A message for it goes out on its connection.
        mgr.send(sid, Arc::from(&b"answer"[..]));
        let mut frame = [0u8; 10];
        c.set_read_timeout(Some(DEADLINE)).unwrap();
        c.read_exact(&mut frame).unwrap();
        assert_eq!(&frame[4..], b"answer");
        drop(c);
        assert_eq!(
            events_rx.recv_timeout(DEADLINE),
            Ok(CnxEvent::Disconnected(sid))
        );
        // Once it is gone, nothing is kept for it, and nothing new is kept
        // for a message to it.
        mgr.send(sid, Arc::from(&b"late"[..]));
        let kept = mgr.inner.slots.lock().len();
        assert_eq!(kept, 0, "slots kept after sid {sid} left");
    }
    mgr.stop();
}

#[test]
fn host_names_resolve_off_the_connecting_thread() {
    // Sid 1 listens; sid 2 (the larger, whose connection is kept) knows it
    // as localhost, so the system resolver's answer, looked up on a
    // zkelect-resolve thread, carries the connection.
    let (events1, events1_rx) = unbounded();
    let one = CnxManager::start(settings(1, HashMap::new(), DEADLINE), events1).unwrap();
    let peers = HashMap::from([(
        1,
        vec![HostPort {
            host: "localhost".into(),
            port: port(&one),
        }],
    )]);
    let (events2, events2_rx) = unbounded();
    let two = CnxManager::start(settings(2, peers, DEADLINE), events2).unwrap();
    two.send(1, Arc::from(&b"hello"[..]));
    assert_eq!(
        events2_rx.recv_timeout(DEADLINE),
        Ok(CnxEvent::Connected(1))
    );
    assert_eq!(
        events1_rx.recv_timeout(DEADLINE),
        Ok(CnxEvent::Connected(2))
    );
    let (from, body) = one.receiver().recv_timeout(DEADLINE).unwrap();
    assert_eq!((from, &body[..]), (2, &b"hello"[..]));
    two.stop();
    one.stop();
}

#[test]
fn stop_does_not_wait_for_a_connect_to_a_black_holed_address() {
    use socket2::{Domain, SockAddr, Socket, Type};
    // A listening socket whose accept queue is full and that never
    // accepts: the kernel drops further SYNs, so a connect to it waits.
    let hole = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    hole.bind(&SockAddr::from(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
    ))
    .unwrap();
    hole.listen(0).unwrap();
    let addr = hole.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let blocked = loop {
        assert!(fillers.len() < 16, "the accept queue never filled up");
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        match s.connect_timeout(&SockAddr::from(addr), Duration::from_millis(200)) {
            Ok(()) => fillers.push(s),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break s,
            Err(e) => panic!("connect to the full listener: {e}"),
        }
    };
    drop(blocked);
    // Sid 2 (larger: sid 1 only pokes it) lives there; a connect timeout
    // far above the bound, so only stop can end the attempt.
    let peers = HashMap::from([(
        2,
        vec![HostPort {
            host: "127.0.0.1".into(),
            port: addr.port(),
        }],
    )]);
    let (events, events_rx) = unbounded();
    let mgr = CnxManager::start(settings(1, peers, DEADLINE), events).unwrap();
    mgr.send(2, Arc::from(&b"hello"[..]));
    // The attempt's socket is tracked while it connects.
    let deadline = Instant::now() + DEADLINE;
    while !mgr
        .inner
        .slots
        .lock()
        .get(&2)
        .is_some_and(|slot| slot.dialing.is_some())
    {
        assert!(Instant::now() < deadline, "no connect attempt to sid 2");
        thread::yield_now();
    }
    let took = timed_stop(mgr, || {});
    assert!(took.is_some(), "stop() waited for a black-holed connect");
    assert!(
        events_rx.try_iter().all(|e| e != CnxEvent::Refused(2)),
        "a stopped attempt is not a refusal"
    );
    drop(fillers);
}

#[test]
fn flush_waits_for_the_write_and_gives_up_at_its_deadline() {
    let (events, events_rx) = unbounded();
    let mgr = CnxManager::start(settings(1, HashMap::new(), DEADLINE), events).unwrap();
    // Nothing connected: nothing to wait for.
    assert!(mgr.flush(Duration::ZERO));
    // A larger sid that connects (its connection is kept) and reads nothing.
    let mut c = TcpStream::connect(("127.0.0.1", port(&mgr))).unwrap();
    let me = HostPort {
        host: "127.0.0.1".into(),
        port: 1,
    };
    c.write_all(&wire::encode_handshake(ProtocolVersion::V1, 9, &[me]))
        .unwrap();
    assert_eq!(events_rx.recv_timeout(DEADLINE), Ok(CnxEvent::Connected(9)));
    // One small frame reaches the socket.
    mgr.send(9, Arc::from(&b"hello"[..]));
    assert!(mgr.flush(DEADLINE), "a small frame was not written");
    let mut frame = [0u8; 9];
    c.set_read_timeout(Some(DEADLINE)).unwrap();
    c.read_exact(&mut frame).unwrap();
    assert_eq!(&frame[4..], b"hello");
    // Frames of the largest size until the socket buffers are full: the
    // send worker then waits in a write, and flush gives up.
    let big: Arc<[u8]> = vec![7u8; wire::MAX_FRAME_LEN].into();
    let mut full = false;
    for _ in 0..64 {
        mgr.send(9, big.clone());
        if !mgr.flush(Duration::from_millis(200)) {
            full = true;
            break;
        }
    }
    assert!(full, "64 frames of 512 KiB never filled the socket buffers");
    drop(c);
    let took = timed_stop(mgr, || {});
    assert!(took.is_some(), "stop() waited for a blocked write");
}
