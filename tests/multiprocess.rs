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

/// A JSON field's raw value on an event line (`"epoch":3` -> `3`).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":");
    let rest = line.split(key.as_str()).nth(1)?;
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim_matches('"'))
}

fn num(line: &str, name: &str) -> i64 {
    field(line, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

fn kind(line: &str) -> &str {
    field(line, "event").unwrap_or("")
}

/// The next line of `p` for which `pick` holds, within the deadline.
fn next_line(p: &Proc, what: &str, pick: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = p
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("sid {} printed no {what}", p.sid));
        if pick(&line) {
            return line;
        }
    }
}

/// The next leadership line (leading or following) with an epoch above
/// `above`, and its (leader, epoch).
fn next_confirmed(p: &Proc, above: i64) -> (i64, i64) {
    let line = next_line(p, "leading/following", |l| {
        matches!(kind(l), "leading" | "following") && num(l, "epoch") > above
    });
    let leader = if kind(&line) == "leading" {
        num(&line, "sid")
    } else {
        num(&line, "leader")
    };
    (leader, num(&line, "epoch"))
}

/// Tick 100 ms: syncLimit 5 ticks is 500 ms, initLimit 10 ticks 1 s.
fn fast_ensemble(name: &str) -> (std::path::PathBuf, Vec<Proc>) {
    let (cfg, _) = config(
        3,
        "tickTime=100\ninitLimit=10\nsyncLimit=5\nfinalizeWait=50",
    );
    let dir = std::env::temp_dir().join(format!("zkelect-mp-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, &cfg).unwrap();
    let procs: Vec<Proc> = (1..=3).map(|s| spawn(&path, s)).collect();
    (dir, procs)
}

/// Everyone confirmed sid 3 as leader; returns its epoch.
fn first_leadership(procs: &[Proc]) -> i64 {
    let confirmed: Vec<(i64, i64)> = procs.iter().map(|p| next_confirmed(p, 0)).collect();
    for (l, e) in &confirmed {
        assert_eq!((*l, *e), confirmed[2], "{confirmed:?}");
        assert_eq!(*l, 3);
    }
    confirmed[2].1
}

fn stop_all(procs: &mut [Proc]) {
    for p in procs.iter_mut() {
        signal(p, "-TERM");
        let status = p.child.wait().unwrap();
        assert!(status.success(), "sid {} exited with {status}", p.sid);
    }
}

/// kill -9 of the leader: the survivors see its connections close, give it
/// up, elect sid 2 and confirm it with a higher epoch, with no signal from
/// the host.
#[test]
fn kill_9_of_the_leader_is_replaced_without_any_signal() {
    let (dir, mut procs) = fast_ensemble("kill");
    let epoch = first_leadership(&procs);
    signal(&procs[2], "-KILL");
    let mut dead = procs.pop().unwrap();
    let _ = dead.child.wait();
    for p in &procs {
        let lost = next_line(p, "leader_lost", |l| kind(l) == "leader_lost");
        assert_eq!(num(&lost, "leader"), 3, "{lost}");
        let (leader, e2) = next_confirmed(p, epoch);
        assert_eq!(leader, 2);
        assert!(e2 > epoch);
    }
    stop_all(&mut procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGSTOP of the leader for longer than syncLimit × tickTime: the others
/// confirm a new leader with a higher epoch; after SIGCONT the old leader's
/// first event about leadership is leadership_lost, and it then follows the
/// new leader.
#[test]
fn sigstop_of_the_leader_then_sigcont() {
    let (dir, mut procs) = fast_ensemble("stop");
    let epoch = first_leadership(&procs);
    signal(&procs[2], "-STOP");
    let mut next = 0;
    for p in &procs[..2] {
        let (leader, e2) = next_confirmed(p, epoch);
        assert_eq!(leader, 2);
        assert!(e2 > epoch);
        next = e2;
    }
    // Everything the stopped process printed before SIGSTOP has been read
    // by now (the others needed syncLimit ticks to get here).
    let before: Vec<String> = procs[2].lines.try_iter().collect();
    assert!(
        !before.iter().any(|l| kind(l) == "leadership_lost"),
        "{before:?}"
    );
    signal(&procs[2], "-CONT");
    let first = next_line(&procs[2], "a leadership event", |l| {
        !matches!(kind(l), "connected" | "disconnected")
    });
    assert_eq!(kind(&first), "leadership_lost", "{first}");
    assert_eq!(num(&first, "epoch"), epoch);
    let (leader, e3) = next_confirmed(&procs[2], epoch);
    assert_eq!((leader, e3), (2, next));
    stop_all(&mut procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A follower cut off (SIGSTOP: nothing it sends or reads) for longer than
/// syncLimit × tickTime: the leader keeps its quorum with the other
/// follower; the stopped follower, resumed, first gives the leader up
/// (silent), then follows it again in the same epoch.
#[test]
fn sigstopped_follower_stops_following_then_rejoins() {
    let (dir, mut procs) = fast_ensemble("follower");
    let epoch = first_leadership(&procs);
    signal(&procs[0], "-STOP");
    // Wait on the leader's side for more than syncLimit ticks: its
    // heartbeats keep going out; a lost quorum would show as an event.
    let wait = Instant::now() + std::time::Duration::from_millis(1200);
    while Instant::now() < wait {
        if let Ok(l) = procs[2]
            .lines
            .recv_timeout(wait.saturating_duration_since(Instant::now()))
        {
            assert!(
                !matches!(kind(&l), "leadership_lost" | "leader_lost"),
                "{l}"
            );
        }
    }
    let _: Vec<String> = procs[0].lines.try_iter().collect();
    signal(&procs[0], "-CONT");
    let lost = next_line(&procs[0], "leader_lost", |l| {
        !matches!(kind(l), "connected" | "disconnected")
    });
    assert_eq!(kind(&lost), "leader_lost", "{lost}");
    assert_eq!(field(&lost, "reason"), Some("silent"), "{lost}");
    let again = next_line(&procs[0], "following", |l| kind(l) == "following");
    assert_eq!((num(&again, "leader"), num(&again, "epoch")), (3, epoch));
    stop_all(&mut procs);
    let _ = std::fs::remove_dir_all(&dir);
}
