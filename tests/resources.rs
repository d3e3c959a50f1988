//! Threads and file descriptors are back to their baseline after stop.
//! One test in its own binary, so no other test's threads are counted.

mod common;

use common::*;
use std::fs;
use zkelect::Peer;

fn threads() -> usize {
    fs::read_dir("/proc/self/task").unwrap().count()
}

fn fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn threads_and_fds_return_to_baseline_after_stop() {
    let (cfg, ports) = config(3, "finalizeWait=20");
    // Warm up anything lazily created once per process (e.g. resolver state).
    {
        let ps = peers(&cfg, 1..=3);
        for p in &ps {
            p.start().unwrap();
        }
        let refs: Vec<&Peer> = ps.iter().collect();
        await_leaders(&refs);
        for p in &ps {
            p.stop();
        }
    }
    let (t0, f0) = (threads(), fds());
    for round in 0..5 {
        let ps = peers(&cfg, 1..=3);
        for p in &ps {
            p.start().unwrap();
        }
        let refs: Vec<&Peer> = ps.iter().collect();
        // Whoever won (finalizeWait is short), they agree on it.
        await_agreement(&refs);
        assert!(threads() > t0, "peers run threads");
        // Probes and a stray connection leave no trace either.
        let _ = zkelect::probe::probe(&format!("127.0.0.1:{}", ports[0]), 99, DEADLINE);
        if round % 2 == 0 {
            for p in &ps {
                p.stop();
            }
        } else {
            drop(ps); // drop implies stop
        }
        assert_eq!(threads(), t0, "threads after stop (round {round})");
        assert_eq!(fds(), f0, "fds after stop (round {round})");
    }
}
