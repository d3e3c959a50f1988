//! Stop tests of the wiring (issue 16): a stop from a callback of the
//! peer, then a stop or drop from another thread.

use super::Peer;
use crossbeam_channel::bounded;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config() -> String {
    let held: Vec<std::net::TcpListener> = (0..6)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let port = |i: usize| held[i].local_addr().unwrap().port();
    let mut cfg = String::from("tickTime=2000\ninitLimit=5\nsyncLimit=2\n");
    for sid in 1..=3 {
        let i = 2 * (sid - 1);
        cfg += &format!("server.{sid}=127.0.0.1:{}:{}\n", port(i), port(i + 1));
    }
    cfg
}

/// Issue 16: a callback stops its own peer and goes on running; a stop
/// (and a drop) from another thread must return only after it returned.
#[test]
fn a_later_stop_waits_for_a_callback_that_stopped_its_own_peer() {
    for drop_it in [false, true] {
        let cfg = config();
        let peer = Arc::new(Peer::from_config_text(&cfg, Some(1)).unwrap());
        // A second peer, so that sid 1 gets events (a connection, an
        // election): a lone peer starts LOOKING and emits none.
        let other = Peer::from_config_text(&cfg, Some(2)).unwrap();
        let (stopped_tx, stopped_rx) = bounded::<()>(1);
        let returned = Arc::new(AtomicBool::new(false));
        let (weak, done) = (Arc::downgrade(&peer), returned.clone());
        let fired = AtomicBool::new(false);
        peer.on_event(move |_| {
            if fired.swap(true, Ordering::AcqRel) {
                return;
            }
            if let Some(p) = weak.upgrade() {
                p.stop();
            }
            let _ = stopped_tx.send(());
            // Still running when the other thread stops the peer.
            std::thread::sleep(Duration::from_millis(300));
            done.store(true, Ordering::Release);
        });
        peer.start().unwrap();
        other.start().unwrap();
        stopped_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the callback stopped its peer");
        let t = Instant::now();
        if drop_it {
            // The callback's upgrade may still hold the peer: wait for
            // the last reference to go.
            let mut peer = peer;
            loop {
                match Arc::try_unwrap(peer) {
                    Ok(p) => {
                        drop(p);
                        break;
                    }
                    Err(p) => {
                        assert!(t.elapsed() < Duration::from_secs(30));
                        peer = p;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
        } else {
            peer.stop();
        }
        assert!(
            returned.load(Ordering::Acquire),
            "returned while the callback ran (drop: {drop_it})"
        );
        other.stop();
    }
}
