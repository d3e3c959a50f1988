//! Separate `zkelect run` processes elect a leader; `kill -9` of the leader
//! and SIGHUP (restart the election) on the survivors give a new one.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

struct Proc {
    sid: i64,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(cfg_path: &std::path::Path, sid: i64) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["run", "--config"])
        .arg(cfg_path)
        .args(["--myid", &sid.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start zkelect run");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Proc {
        sid,
        child,
        lines: rx,
    }
}

/// The leader named by the next `elected` line, within the deadline.
fn next_elected(p: &Proc) -> (i64, String) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = p
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("sid {} printed no elected line", p.sid));
        if line.contains(r#""event":"elected""#) {
            let leader = line
                .split(r#""leader":"#)
                .nth(1)
                .and_then(|r| r.split(',').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("bad line {line}"));
            return (leader, line);
        }
    }
}

fn signal(p: &Proc, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &p.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {}", p.sid);
}

#[test]
fn three_processes_elect_and_reelect_after_kill_9() {
    let (cfg, _) = config(3, "finalizeWait=50");
    let dir = std::env::temp_dir().join(format!("zkelect-mp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, &cfg).unwrap();

    let mut procs: Vec<Proc> = (1..=3).map(|s| spawn(&path, s)).collect();
    for p in &procs {
        let (leader, line) = next_elected(p);
        assert_eq!(leader, 3, "{line}");
        let want = if p.sid == 3 { "LEADING" } else { "FOLLOWING" };
        assert!(line.contains(want), "{line}");
    }
    // A real crash: no clean stop.
    signal(&procs[2], "-KILL");
    let mut dead = procs.pop().unwrap();
    let _ = dead.child.wait();
    for p in &procs {
        signal(p, "-HUP");
    }
    for p in &procs {
        let (leader, line) = next_elected(p);
        assert_eq!(leader, 2, "{line}");
    }
    // SIGTERM stops cleanly with exit 0.
    for p in &mut procs {
        signal(p, "-TERM");
        let status = p.child.wait().unwrap();
        assert!(status.success(), "sid {} exited with {status}", p.sid);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_config_exits_non_zero_with_the_line() {
    let dir = std::env::temp_dir().join(format!("zkelect-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, "tickTime=2000\nserver.1=127.0.0.1:2888\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["run", "--config"])
        .arg(&path)
        .args(["--myid", "1"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(out.stdout.is_empty());
}
