//! A host callback that sleeps does not delay the detection of a dead
//! leader (issue 14, point 6): connection events reach the election thread
//! straight from the connection manager, not through the notifier thread
//! that runs the callbacks.

mod common;

use common::run::*;
use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use zkelect::{Event, Peer};

/// How long the callback sleeps.
const SLEEP: Duration = Duration::from_secs(5);

/// Detection must come well before the callback wakes up. With a tick of
/// 100 ms the follower gives the leader up one tick after its connection
/// breaks; the rest of the bound is room for a loaded machine.
const BOUND: Duration = Duration::from_millis(2_500);

#[test]
fn a_sleeping_callback_does_not_delay_leader_lost() {
    // syncLimit × tickTime = 8 s: a follower would also give up a silent
    // leader, but only after the callback's sleep, so only the broken
    // connection can make it notice in time.
    let (mut cfg, ports) = config(
        3,
        "tickTime=100\ninitLimit=80\nsyncLimit=80\nfinalizeWait=20",
    );
    // An observer that never runs: a connection made with its sid is a
    // member's, so it makes a host event (a probe's sid, not in the
    // configuration, makes none), and it counts in no quorum.
    let spare = free_ports(2);
    cfg.push_str(&format!(
        "server.4=127.0.0.1:{}:{}:observer\n",
        spare[0], spare[1]
    ));
    let dir = std::env::temp_dir().join(format!("zkelect-slowcb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, &cfg).unwrap();

    // Sid 3, the leader to be, in a process of its own so that it can die
    // for real (kill -9: no goodbye on the wire, only the broken socket).
    let leader = spawn(&path, 3);
    let ps = peers(&cfg, 1..=2);
    // Sid 1's callback records every event, and once armed sleeps on the
    // next one.
    let armed = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    let (asleep_tx, asleep_rx) = mpsc::channel();
    {
        let (armed, seen) = (armed.clone(), seen.clone());
        let asleep_tx = Mutex::new(asleep_tx);
        ps[0].on_event(move |e| {
            seen.lock().unwrap().push(*e);
            if armed.swap(false, Ordering::AcqRel) {
                let _ = asleep_tx.lock().unwrap().send(());
                std::thread::sleep(SLEEP);
            }
        });
    }
    // Sid 1 first, alone with 3: only {1, 3} can make a quorum, so it must
    // decide for 3 whenever the votes arrive; then 2 joins the leader.
    ps[0].start().unwrap();
    assert_all_follow(&await_leaders(&[&ps[0]]), 3);
    ps[1].start().unwrap();
    let refs: Vec<&Peer> = ps.iter().collect();
    assert_all_follow(&await_leaders(&refs), 3);
    assert!(
        ps[0].wait_for_confirmed(DEADLINE).is_some(),
        "sid 1 confirms its leader"
    );

    // Keep sid 1's callback busy: a probe's connection as the observer's
    // sid makes an event (PeerConnected) for it to sleep on.
    armed.store(true, Ordering::Release);
    let _ = zkelect::probe::probe(&format!("127.0.0.1:{}", ports[0]), 4, DEADLINE);
    asleep_rx
        .recv_timeout(DEADLINE)
        .expect("sid 1's callback gets an event and sleeps");
    let slept_at = Instant::now();

    // The leader dies while the callback sleeps.
    let mut leader = leader;
    let _ = leader.child.kill();
    let _ = leader.child.wait();
    let killed = Instant::now();
    let deadline = killed + DEADLINE;
    // Watched through the peer's state, which the election thread
    // publishes itself, not through the sleeping callback.
    // (It may elect and follow a successor at once: what counts is that
    // the dead sid 3 is no longer its leader.)
    while ps[0].leader().is_some_and(|l| l.leader == 3) {
        assert!(Instant::now() < deadline, "sid 1 never gave its leader up");
        std::thread::sleep(Duration::from_millis(5));
    }
    let detected = killed.elapsed();
    let callback_asleep = slept_at.elapsed() < SLEEP;
    eprintln!(
        "sid 1 gave up its dead leader {} ms after kill -9, its callback still asleep: {callback_asleep}",
        detected.as_millis()
    );
    assert!(
        detected < BOUND,
        "the dead leader was given up {} ms after kill -9, behind the sleeping callback",
        detected.as_millis()
    );

    // The host still gets every event, in order, once the callback is back:
    // the broken connection, then the loss.
    let deadline = Instant::now() + DEADLINE;
    let (disconnected, lost) = loop {
        let events = seen.lock().unwrap().clone();
        let pos = |f: &dyn Fn(&Event) -> bool| events.iter().position(f);
        let d = pos(&|e| matches!(e, Event::PeerDisconnected(3)));
        let l = pos(&|e| matches!(e, Event::LeaderLost { leader: 3, .. }));
        if let (Some(d), Some(l)) = (d, l) {
            break (d, l);
        }
        assert!(
            Instant::now() < deadline,
            "events after the sleep: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(disconnected < lost, "{:?}", seen.lock().unwrap());
    for p in &ps {
        p.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
