//! Memory stays bounded while one connection floods a peer's election port
//! with valid notifications (issue 13, point 5), even when the peer's
//! election thread cannot keep up.
//!
//! The peer is a `zkelect run` process whose RSS is sampled from
//! `/proc/<pid>/status` while a fixed number of frames is written: sampled,
//! not timed. To make "cannot keep up" certain rather than a matter of
//! luck, the process is pinned to one CPU and its election thread is put in
//! `SCHED_IDLE`, so it runs only when the socket-reading threads leave that
//! CPU idle, which a flood never does: a loaded machine, made sure of.

mod common;

use common::run::*;
use common::*;
use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Instant;
use zkelect::wire::{self, HostPort, ProtocolVersion};
use zkelect::ServerState;

/// Frames written per phase, and how often the RSS is sampled.
const FRAMES: u64 = 2_000_000;
const SAMPLE_EVERY: u64 = 50_000;
/// Frames written with one `write_all`.
const BATCH: u64 = 500;
/// Allowed RSS growth of the flooded process. Its queues hold a few hundred
/// small messages (well under a megabyte); with the unbounded queues it had
/// before, the backlog (some 64 bytes per queued notification) grew by tens
/// of megabytes over the two phases.
const BOUND_KIB: u64 = 8 * 1024;

fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// The thread ids of `pid` and their names.
fn tasks(pid: u32) -> Vec<(i32, String)> {
    fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| {
            let t = t.ok()?;
            let tid: i32 = t.file_name().to_str()?.parse().ok()?;
            let comm = fs::read_to_string(t.path().join("comm")).ok()?;
            Some((tid, comm.trim().to_string()))
        })
        .collect()
}

/// The first CPU this test may run on (`Cpus_allowed_list`, e.g. `0-1`).
fn first_cpu() -> String {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list in /proc/self/status");
    list.trim()
        .split([',', '-'])
        .next()
        .expect("some CPU")
        .to_string()
}

/// Runs a util-linux scheduling tool, failing the test if it fails.
fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {out:?}");
}

/// Pins every thread of `pid` to `cpu` (threads it starts later inherit
/// it) and puts its election thread in SCHED_IDLE (`taskset`, `chrt`).
fn starve_election_thread(pid: u32, cpu: &str) {
    let mut found = false;
    for (tid, comm) in tasks(pid) {
        let tid = tid.to_string();
        run("taskset", &["-p", "-c", cpu, &tid]);
        // Thread names are cut to 15 bytes: "zkelect-electio".
        if comm.starts_with("zkelect-electio") {
            run("chrt", &["-i", "-p", "0", &tid]);
            found = true;
        }
    }
    assert!(found, "the election thread of {pid}: {:?}", tasks(pid));
}

/// Connects to `port` claiming `sid`, writes `FRAMES` frames made by
/// `frame(i)`, and returns the largest RSS of `pid` seen meanwhile.
fn flood(pid: u32, port: u16, sid: i64, frame: impl Fn(u64) -> Vec<u8>) -> u64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the election port");
    let me = HostPort {
        host: "127.0.0.1".into(),
        port: 1,
    };
    s.write_all(&wire::encode_handshake(ProtocolVersion::V1, sid, &[me]))
        .unwrap();
    let mut max = 0;
    let mut buf = Vec::new();
    let mut i = 0;
    while i < FRAMES {
        buf.clear();
        for _ in 0..BATCH {
            buf.extend_from_slice(&frame(i));
            i += 1;
        }
        s.write_all(&buf).expect("the peer keeps reading");
        if i % SAMPLE_EVERY == 0 {
            max = max.max(rss_kib(pid));
        }
    }
    max
}

#[test]
fn a_flood_from_one_connection_keeps_memory_bounded_when_the_election_thread_lags() {
    // Sids 1 and 2 run; the flood claims sid 3, a voter whose connection
    // the others keep (it is the larger sid).
    let (cfg, ports) = config(3, "tickTime=200\nfinalizeWait=20");
    let dir = std::env::temp_dir().join(format!("zkelect-flood-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zoo.cfg");
    fs::write(&path, &cfg).unwrap();
    let victim = spawn(&path, 1);
    let other = spawn(&path, 2);
    for p in [&victim, &other] {
        let line = next_line(p, "elected", |l| l.contains(r#""event":"elected""#));
        assert!(line.contains(r#""leader":2"#), "{line}");
    }
    let pid = victim.child.id();
    starve_election_thread(pid, &first_cpu());
    let base = rss_kib(pid);

    // Phase 1: votes for sid 1's own leader from a fellow voter, which a
    // follower's leadership layer does not read.
    let max1 = flood(pid, ports[0], 3, |i| {
        wire::encode_notification_frame(ServerState::Following, 2, 0, 1 + i as i64, 0, b"")
    });
    // Phase 2: LOOKING votes with ever higher rounds, which the leadership
    // layer does read: they reach the election thread's bounded queue.
    let max2 = flood(pid, ports[0], 3, |i| {
        wire::encode_notification_frame(ServerState::Looking, 3, 0, 2 + i as i64, 0, b"")
    });
    let after = rss_kib(pid);
    eprintln!(
        "RSS of the flooded peer, KiB: before {base}, max during phase 1 {max1}, \
         max during phase 2 {max2}, after {after}"
    );
    let grown = max1.max(max2).max(after).saturating_sub(base);
    assert!(
        grown < BOUND_KIB,
        "RSS grew by {grown} KiB under the flood (before {base} KiB, bound {BOUND_KIB} KiB)"
    );
    // Still a working peer that stops cleanly on SIGTERM.
    let mut victim = victim;
    signal(&victim, "-TERM");
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = victim.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the flooded peer did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(status.success(), "the flooded peer exited with {status}");
    drop(other);
    let _ = fs::remove_dir_all(&dir);
}
