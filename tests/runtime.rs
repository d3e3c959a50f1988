//! The peer runtime on real loopback sockets: whole ensembles in one process.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;
use zkelect::{Event, LossReason, Peer, ServerState};

/// The vote order decides a fresh election when every vote arrives within
/// finalizeWait of the first quorum. FLE promises no more than that, so
/// these tests give finalizeWait a full second (a loaded 2-core machine
/// delays a loopback vote by tens of milliseconds, not a second); the
/// others assert only what FLE promises: agreement.
fn fresh(n: usize, zxid_epoch: impl Fn(i64) -> (i64, i64)) {
    let (cfg, _) = config(n, "finalizeWait=1000");
    let ps = peers(&cfg, 1..=n as i64);
    for p in &ps {
        let (z, e) = zxid_epoch(p.my_sid());
        p.set_zxid(z);
        p.set_epoch(e);
    }
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    let d = await_leaders(&refs);
    // The best (epoch, zxid, sid) among all of them.
    let best = (1..=n as i64)
        .max_by_key(|s| {
            let (z, e) = zxid_epoch(*s);
            (e, z, *s)
        })
        .unwrap();
    assert_all_follow(&d, best);
    for p in &ps {
        let want = if p.my_sid() == best {
            ServerState::Leading
        } else {
            ServerState::Following
        };
        assert_eq!(p.state(), want);
    }
    for p in &ps {
        p.stop();
    }
}

#[test]
fn fresh_election_of_3_elects_highest_sid() {
    fresh(3, |_| (0, 0));
}

#[test]
fn fresh_election_of_5_prefers_epoch_then_zxid() {
    // sid 2 has the highest epoch; sid 4 the highest zxid at a lower epoch.
    fresh(5, |s| match s {
        2 => (0x2_0000_0001, 2),
        4 => (0x1_0000_0009, 1),
        _ => (0x1_0000_0001, 1),
    });
}

#[test]
fn fresh_election_of_7_prefers_zxid() {
    fresh(7, |s| if s == 3 { (0x10, 0) } else { (0x5, 0) });
}

#[test]
fn staggered_starts_agree() {
    let (cfg, _) = config(5, "finalizeWait=50");
    let ps = peers(&cfg, 1..=5);
    let events = ps[4].subscribe();
    for p in &ps {
        p.start().unwrap();
        // Stagger on an observable event rather than a fixed sleep: wait for
        // the LOOKING state of the one just started.
        assert_eq!(p.state(), ServerState::Looking);
    }
    let _ = events.recv_timeout(DEADLINE).expect("an event from sid 5");
    let refs: Vec<&Peer> = ps.iter().collect();
    // Who wins depends on when sid 5's vote arrived; that they agree does not.
    await_agreement(&refs);
}

#[test]
fn late_joiner_learns_the_leader() {
    let (cfg, _) = config(4, "finalizeWait=50");
    let ps = peers(&cfg, 1..=4);
    // sids 1..3 elect; sid 4 (highest) joins later and must follow 3, not lead.
    for p in &ps[..3] {
        p.start().unwrap();
    }
    let first: Vec<&Peer> = ps[..3].iter().collect();
    let d = await_leaders(&first);
    assert_all_follow(&d, 3);
    ps[3].start().unwrap();
    let late = await_leaders(&[&ps[3]]);
    assert_eq!(late[0].leader, 3);
    // The ensemble agrees, the late joiner included, and 3 still leads.
    let all: Vec<&Peer> = ps.iter().collect();
    let c = await_agreement(&all);
    assert_eq!(c.leader, 3);
    for p in &ps {
        p.stop();
    }
}

#[test]
fn leader_killed_then_restart_election_elects_next() {
    let (cfg, _) = config(5, "finalizeWait=50");
    let ps = peers(&cfg, 1..=5);
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    // Whoever won (a late vote may elect another than 5), all confirmed it.
    let first = await_agreement(&refs);
    let old = first.leader;
    let lead = ps.iter().position(|p| p.my_sid() == old).unwrap();
    let rest: Vec<&Peer> = ps.iter().filter(|p| p.my_sid() != old).collect();
    let lost: Vec<_> = rest.iter().map(|p| p.subscribe()).collect();
    ps[lead].stop();
    for p in &rest {
        p.restart_election().unwrap();
    }
    for rx in &lost {
        // Disconnection events may come first; LeaderLost must come.
        loop {
            match rx.recv_timeout(DEADLINE).expect("LeaderLost after restart") {
                Event::LeaderLost { leader, reason } => {
                    assert!(
                        matches!(
                            reason,
                            // The leader's departure notice usually comes first.
                            LossReason::LeaderLooking
                                | LossReason::Restarted
                                | LossReason::Disconnected
                        ),
                        "{reason}"
                    );
                    assert_eq!(leader, old);
                    break;
                }
                // Connection events, or the tail of the first election still
                // on its way to this new subscriber.
                Event::Elected(l) => assert_eq!(l.leader, old),
                _ => {}
            }
        }
    }
    let next = await_agreement(&rest);
    assert_ne!(next.leader, old);
    assert!(next.epoch > first.epoch, "{next:?} after {first:?}");
    for p in &rest {
        assert!(p.leader().unwrap().election_epoch >= 2);
    }
    for p in &ps {
        p.stop();
    }
}

#[test]
fn configured_peer_that_never_starts() {
    let (cfg, _) = config(3, "finalizeWait=50");
    let ps = peers(&cfg, [1, 2]);
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    assert_all_follow(&await_leaders(&refs), 2);
    for p in &ps {
        p.stop();
    }
}

#[test]
fn port_that_accepts_and_never_reads_does_not_stall() {
    // sid 3's election port is held by a listener that never accepts: the
    // kernel completes connections and the data sits unread. The election of
    // 1 and 2 must complete well within the connect and handshake timeouts.
    let (cfg, ports) = config(3, "finalizeWait=50\ncnxTimeout=20000");
    let _black_hole = TcpListener::bind(("127.0.0.1", ports[2])).unwrap();
    let ps = peers(&cfg, [1, 2]);
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    for p in &refs {
        let l = p
            .wait_for_leader(Duration::from_secs(10))
            .expect("decided although sid 3 never answers");
        assert_eq!(l.leader, 2);
    }
    for p in &ps {
        p.stop();
    }
}

#[test]
fn garbage_on_the_election_port_does_not_stop_the_election() {
    let (cfg, ports) = config(3, "finalizeWait=50");
    let ps = peers(&cfg, 1..=3);
    for p in &ps {
        p.start().unwrap();
    }
    let hostile: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0xff; 8], // unknown version
        [
            (-65536i64).to_be_bytes().as_slice(),
            &9i64.to_be_bytes(),
            &0i32.to_be_bytes(),
        ]
        .concat(), // length 0
        [
            (-65536i64).to_be_bytes().as_slice(),
            &9i64.to_be_bytes(),
            &5000i32.to_be_bytes(),
        ]
        .concat(), // length > 2048
        [
            (-65536i64).to_be_bytes().as_slice(),
            &9i64.to_be_bytes(),
            &21i32.to_be_bytes(),
            b"what's going on here?",
        ]
        .concat(),
        // A valid legacy handshake from a big sid, then an oversized frame.
        [9i64.to_be_bytes().as_slice(), &(1i32 << 30).to_be_bytes()].concat(),
        // A valid handshake, then a frame with a too-short body.
        [
            9i64.to_be_bytes().as_slice(),
            &12i32.to_be_bytes(),
            &[0u8; 12],
        ]
        .concat(),
        vec![0, 0, 0, 0], // 4 bytes then close
    ];
    for port in &ports {
        for h in &hostile {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", *port)) {
                let _ = s.write_all(h);
            }
        }
    }
    // A silent connection: must not block the listener.
    let _silent: Vec<TcpStream> = ports
        .iter()
        .filter_map(|p| TcpStream::connect(("127.0.0.1", *p)).ok())
        .collect();
    let refs: Vec<&Peer> = ps.iter().collect();
    let agreed = await_agreement(&refs);
    // The ports still answer a well-formed probe afterwards.
    for port in &ports {
        let r = zkelect::probe::probe(&format!("127.0.0.1:{port}"), 1000, DEADLINE).unwrap();
        assert_eq!(r.leader, agreed.leader);
    }
    for p in &ps {
        p.stop();
    }
}

#[test]
fn probe_reports_state_and_vote() {
    let (cfg, ports) = config(3, "finalizeWait=50");
    let ps = peers(&cfg, 1..=3);
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    let agreed = await_agreement(&refs);
    for (i, port) in ports.iter().enumerate() {
        let r = zkelect::probe::probe(
            &format!("127.0.0.1:{port}"),
            zkelect::probe::DEFAULT_PROBE_SID,
            DEADLINE,
        )
        .unwrap();
        let want = if ps[i].my_sid() == agreed.leader {
            ServerState::Leading
        } else {
            ServerState::Following
        };
        assert_eq!(r.server_state(), Some(want));
        assert_eq!(r.leader, agreed.leader);
        assert!(r.config.unwrap().ends_with("version=0"));
    }
    // A probe from a sid smaller than the server's is dialled back; the probe
    // itself does not listen, so it must still get the answer on its socket
    // before the server drops it... which ZooKeeper does not do: it closes.
    let small = zkelect::probe::probe(
        &format!("127.0.0.1:{}", ports[2]),
        1,
        Duration::from_secs(2),
    );
    assert!(
        small.is_err(),
        "a smaller sid's connection is closed by the server"
    );
    for p in &ps {
        p.stop();
    }
}

#[test]
fn events_arrive_in_order_and_stop_is_idempotent() {
    let (cfg, _) = config(3, "finalizeWait=50");
    let ps = peers(&cfg, 1..=3);
    let rx = ps[0].subscribe();
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    await_leaders(&refs);
    // Events reach a subscriber after the state that wait_for_leader reads:
    // wait for them with the deadline, up to the first decision, which is
    // announced as a state change out of LOOKING and then the election.
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut decided = None;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx
            .recv_timeout(left)
            .expect("an Elected event within the deadline")
        {
            // No no-op state events: a peer starts LOOKING, so its first
            // state change is the decision.
            Event::StateChanged { old, new } => {
                assert_ne!(old, new, "a no-op state event");
                assert_eq!(old, ServerState::Looking, "{old} -> {new}");
                decided = Some(new);
            }
            Event::Elected(l) => {
                assert_eq!(decided, Some(l.state), "elected before its state change");
                assert!((1..=3).contains(&l.leader), "{l:?}");
                break;
            }
            _ => {}
        }
    }
    for p in &ps {
        p.stop();
        p.stop();
    }
    assert!(ps[0].restart_election().is_err());
    // A stopped peer can start again, like a restarted process.
    ps[0].start().unwrap();
    ps[0].stop();
}

#[test]
fn bad_config_names_the_problem() {
    let (cfg, _) = config(3, "");
    let e = Peer::from_config_text(&cfg, Some(9))
        .err()
        .expect("sid 9 is not configured");
    assert!(e.to_string().contains('9'), "{e}");
    let e = Peer::from_config_text("server.1=127.0.0.1:2888:2888\n", Some(1))
        .err()
        .expect("equal ports");
    assert!(e.to_string().contains("server.1"), "{e}");
}

#[test]
fn read_frames_from_a_kept_connection() {
    // A connection from a larger sid is kept: frames go both ways on it.
    let (cfg, ports) = config(2, "finalizeWait=0");
    let ps = peers(&cfg, [1]);
    ps[0].start().unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", ports[0])).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let me = zkelect::wire::HostPort {
        host: "127.0.0.1".into(),
        port: ports[1],
    };
    s.write_all(&zkelect::wire::encode_handshake(
        zkelect::wire::ProtocolVersion::V1,
        2,
        &[me],
    ))
    .unwrap();
    // sid 1 sends its LOOKING vote to sid 2 on this connection.
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    let n = zkelect::wire::decode_notification(&body).unwrap();
    assert_eq!(n.state, 0);
    assert_eq!(n.leader, 1);
    assert_eq!(n.version, 2);
    ps[0].stop();
}

/// Tick 100 ms, syncLimit 5 (D_F 500 ms), initLimit 10.
fn fast_config(n: usize) -> String {
    config(
        n,
        "tickTime=100\ninitLimit=10\nsyncLimit=5\nfinalizeWait=50",
    )
    .0
}

/// Collects events until `done` holds for the list, or fails at the
/// deadline.
fn collect_until(
    rx: &crossbeam_channel::Receiver<Event>,
    seen: &mut Vec<Event>,
    done: impl Fn(&[Event]) -> bool,
) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while !done(seen) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => seen.push(e),
            Err(_) => panic!("events so far: {seen:?}"),
        }
    }
}

/// The event order guarantees of `crate::leadership`, on one peer's events.
fn assert_event_order(sid: i64, events: &[Event]) {
    let mut leading: Option<i64> = None;
    let mut elected = false;
    let mut top = i64::MIN;
    for e in events {
        match *e {
            Event::Elected(_) => {
                assert!(!elected, "sid {sid}: Elected twice: {events:?}");
                elected = true;
            }
            Event::LeaderLost { .. } => {
                assert!(elected, "sid {sid}: LeaderLost without Elected: {events:?}");
                assert!(leading.is_none(), "sid {sid}: still leading: {events:?}");
                elected = false;
            }
            Event::Leading { epoch } => {
                assert!(leading.is_none(), "sid {sid}: Leading twice: {events:?}");
                assert!(epoch > top, "sid {sid}: epoch went down: {events:?}");
                leading = Some(epoch);
                top = epoch;
            }
            Event::LeadershipLost { epoch, .. } => {
                assert_eq!(leading, Some(epoch), "sid {sid}: {events:?}");
                leading = None;
            }
            Event::Following { epoch, .. } | Event::Observing { epoch, .. } => {
                assert!(epoch >= top, "sid {sid}: epoch went down: {events:?}");
                top = epoch;
            }
            _ => {}
        }
    }
}

/// Stopping the leader (its sockets close) is noticed by the others: they
/// give it up within a tick, elect a successor and confirm it with a higher
/// epoch, and no host ever calls restart_election.
#[test]
fn stopped_leader_is_replaced_automatically() {
    let cfg = fast_config(3);
    let ps = peers(&cfg, 1..=3);
    let rxs: Vec<_> = ps.iter().map(|p| p.subscribe()).collect();
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    // Whoever won, everyone confirmed it.
    let first = await_agreement(&refs);
    let (old, epoch) = (first.leader, first.epoch);
    let lead = ps.iter().position(|p| p.my_sid() == old).unwrap();
    ps[lead].stop();
    let rest: Vec<usize> = (0..3).filter(|i| *i != lead).collect();
    let mut seen: Vec<Vec<Event>> = vec![Vec::new(); 3];
    for &i in &rest {
        collect_until(&rxs[i], &mut seen[i], |ev| {
            ev.iter().any(|e| {
                matches!(e, Event::Leading { epoch: e2 } if *e2 > epoch)
                    || matches!(e, Event::Following { leader, epoch: e2 } if *e2 > epoch && *leader != old)
            })
        });
        assert!(
            seen[i].iter().any(|e| matches!(
                e,
                Event::LeaderLost {
                    leader,
                    reason: LossReason::Disconnected | LossReason::LeaderLooking
                } if *leader == old
            )),
            "{:?}",
            seen[i]
        );
    }
    // The stopped leader's last events say why it stopped leading.
    let last: Vec<Event> = rxs[lead].try_iter().collect();
    assert!(
        last.ends_with(&[
            Event::LeadershipLost {
                epoch,
                reason: LossReason::Stopped
            },
            Event::LeaderLost {
                leader: old,
                reason: LossReason::Stopped
            }
        ]),
        "{last:?}"
    );
    let survivors: Vec<&Peer> = rest.iter().map(|i| &ps[*i]).collect();
    let next = await_agreement(&survivors);
    assert!(
        next.epoch > epoch && next.leader != old,
        "{next:?} {seen:?}"
    );
    for p in &survivors {
        assert!(p.accepted_epoch() > epoch);
    }
    for p in &survivors {
        p.stop();
    }
}

/// The order guarantees hold over a few leadership changes, and stop()
/// delivers nothing after it returns.
#[test]
fn leadership_events_are_ordered_and_stop_ends_them() {
    let cfg = fast_config(3);
    let ps = peers(&cfg, 1..=3);
    let rxs: Vec<_> = ps.iter().map(|p| p.subscribe()).collect();
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let stopped = std::sync::Arc::new(AtomicBool::new(false));
    let late = std::sync::Arc::new(AtomicUsize::new(0));
    let (c2, s2, l2) = (calls.clone(), stopped.clone(), late.clone());
    ps[0].on_event(move |_| {
        c2.fetch_add(1, SeqCst);
        if s2.load(SeqCst) {
            l2.fetch_add(1, SeqCst);
        }
    });
    for p in &ps {
        p.start().unwrap();
    }
    let refs: Vec<&Peer> = ps.iter().collect();
    await_agreement(&refs);
    // The host restarts the leader's election twice: new epochs each time.
    let mut seen: Vec<Vec<Event>> = vec![Vec::new(); 3];
    for round in 1..=2 {
        let leader = ps
            .iter()
            .find(|p| p.state() == ServerState::Leading)
            .expect("a leader");
        leader.restart_election().unwrap();
        for (i, rx) in rxs.iter().enumerate() {
            collect_until(rx, &mut seen[i], |ev| {
                ev.iter()
                    .filter(|e| matches!(e, Event::Leading { .. } | Event::Following { .. }))
                    .count()
                    > round
            });
        }
    }
    for p in &ps {
        p.stop();
    }
    stopped.store(true, SeqCst);
    let after = calls.load(SeqCst);
    for ((p, rx), mut ev) in ps.iter().zip(&rxs).zip(seen) {
        ev.extend(rx.try_iter());
        assert_event_order(p.my_sid(), &ev);
        assert!(
            ev.iter()
                .filter(|e| matches!(e, Event::Leading { .. } | Event::Following { .. }))
                .count()
                >= 3,
            "sid {}: {ev:?}",
            p.my_sid()
        );
    }
    // stop() joined the notifier thread: nothing is left to deliver, and
    // no callback ran after stop() returned (the callback itself checks).
    // The C tests check the same promise under ASan with a callback that
    // stops its own peer.
    assert_eq!(late.load(SeqCst), 0, "callbacks after stop() returned");
    assert_eq!(calls.load(SeqCst), after);
}
