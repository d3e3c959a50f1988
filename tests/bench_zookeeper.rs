//! Every benchmark from one command: zkelect and real ZooKeeper 3.8 side by
//! side on the same machine, in the same run (fresh election and fail-over
//! by kill -9 of the leader, for N = 3 and 5), then `zkelect bench`'s
//! in-process scenarios. Prints tables and writes JSON.
//!
//! Quick version (what `cargo test` runs: 1 run, N = 3, nothing asserted
//! about times):
//!     cargo test --release --test bench_zookeeper -- --nocapture
//! Full run, as in BENCHMARKS.md:
//!     ZKELECT_BENCH_RUNS=10 cargo test --release --test bench_zookeeper -- --nocapture
//!
//! ZooKeeper is timed from its own logs (LOOKING to `LEADER ELECTION TOOK`),
//! so JVM start-up is not counted against it.

#[path = "interop/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;
use zkelect::{Peer, Sid};

fn runs() -> usize {
    std::env::var("ZKELECT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn sizes() -> Vec<usize> {
    if runs() > 1 {
        vec![3, 5]
    } else {
        vec![3]
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn stats(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    let p90 = v[((0.9 * v.len() as f64).ceil() as usize).max(1) - 1];
    let med = median(v);
    format!(
        "{:>8.1} {:>8.1} {:>8.1} {:>8.1}",
        v[0],
        med,
        p90,
        v[v.len() - 1]
    )
}

/// ZooKeeper: (fresh election ms, fail-over ms) of one run of `n` servers.
/// Fresh: from the quorum-th server's first LOOKING to the first decision.
/// Fail-over: from kill -9 of the leader to the last survivor's decision.
fn zookeeper_run(n: usize) -> (f64, f64) {
    let all: Vec<Sid> = (1..=n as Sid).collect();
    let mut e = Ensemble::new(Layout {
        slots: n,
        real: &all,
        ..Layout::default()
    });
    e.start_reals(&all);
    let first = e.wait_first_decisions(&all);
    let mut lookings: Vec<i64> = all
        .iter()
        .map(|&s| {
            let i = e.looking_at(s, 1).expect("a LOOKING line");
            e.record_time_ms(s, i).expect("a timestamp")
        })
        .collect();
    lookings.sort_unstable();
    let quorum_up = lookings[n / 2];
    let first_decision = first
        .iter()
        .map(|(&s, d)| e.record_time_ms(s, d.at).expect("a timestamp"))
        .min()
        .unwrap();
    let fresh = (first_decision - quorum_up) as f64;
    let leader = first.values().next().unwrap().leader;
    let killed_at = now_ms();
    e.kill_real(leader);
    let survivors: Vec<Sid> = all.iter().copied().filter(|&s| s != leader).collect();
    let last = survivors
        .iter()
        .map(|&s| {
            let d = e.wait_decision(s, 2);
            e.record_time_ms(s, d.at).expect("a timestamp")
        })
        .max()
        .unwrap();
    e.finish();
    (fresh, (last - killed_at) as f64)
}

/// zkelect fresh election in one process: all started to all decided.
fn zkelect_fresh(n: usize) -> f64 {
    let ports: Vec<u16> = (0..2 * n)
        .map(|_| free_port(std::net::Ipv4Addr::LOCALHOST))
        .collect();
    let mut cfg = String::from("tickTime=2000\ninitLimit=10\nsyncLimit=5\n");
    for i in 0..n {
        cfg += &format!(
            "server.{}=127.0.0.1:{}:{}\n",
            i + 1,
            ports[2 * i],
            ports[2 * i + 1]
        );
    }
    let peers: Vec<Peer> = (1..=n as Sid)
        .map(|s| Peer::from_config_text(&cfg, Some(s)).unwrap())
        .collect();
    let t0 = Instant::now();
    for p in &peers {
        p.start().unwrap();
    }
    for p in &peers {
        p.wait_for_leader(DEADLINE).expect("decided");
    }
    t0.elapsed().as_secs_f64() * 1000.0
}

struct Proc {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_run(cfg: &Path, sid: Sid) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["run", "--config"])
        .arg(cfg)
        .args(["--myid", &sid.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("zkelect run");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), l)).is_err() {
                break;
            }
        }
    });
    Proc { child, lines: rx }
}

fn field(line: &str, name: &str) -> Option<i64> {
    line.split(&format!("\"{name}\":"))
        .nth(1)?
        .split([',', '}'])
        .next()?
        .parse()
        .ok()
}

/// Waits for a confirmed role ("leading" or "following") with an epoch above
/// `above`; returns when it arrived and (leader, epoch).
fn confirmed(p: &Proc, me: Sid, above: i64) -> (Instant, Sid, i64) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (at, line) = p
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a confirmed leader");
        let epoch = field(&line, "epoch").unwrap_or(-1);
        if line.contains(r#""event":"leading""#) && epoch > above {
            return (at, me, epoch);
        }
        if line.contains(r#""event":"following""#) && epoch > above {
            return (at, field(&line, "leader").unwrap(), epoch);
        }
    }
}

/// zkelect fail-over with `zkelect run` processes: kill -9 of the leader to
/// every survivor confirmed under a new epoch.
fn zkelect_failover(n: usize, tick_ms: u64) -> f64 {
    let dir = std::env::temp_dir().join(format!(
        "zkelect-bench-fo-{}-{n}-{tick_ms}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = format!("tickTime={tick_ms}\ninitLimit=10\nsyncLimit=5\n");
    for i in 1..=n {
        let q = free_port(std::net::Ipv4Addr::LOCALHOST);
        let el = free_port(std::net::Ipv4Addr::LOCALHOST);
        cfg += &format!("server.{i}=127.0.0.1:{q}:{el}\n");
    }
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut procs: Vec<(Sid, Proc)> = (1..=n as Sid).map(|s| (s, spawn_run(&path, s))).collect();
    let mut leader = 0;
    let mut epoch = 0;
    for (s, p) in &procs {
        let (_, l, e) = confirmed(p, *s, -1);
        leader = l;
        epoch = epoch.max(e);
    }
    let idx = procs.iter().position(|(s, _)| *s == leader).unwrap();
    let (_, mut dead) = procs.remove(idx);
    let t0 = Instant::now();
    let _ = dead.child.kill();
    let _ = dead.child.wait();
    let last = procs
        .iter()
        .map(|(s, p)| confirmed(p, *s, epoch).0)
        .max()
        .unwrap();
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
    last.saturating_duration_since(t0).as_secs_f64() * 1000.0
}

#[test]
fn zkelect_and_zookeeper_side_by_side() {
    let Some(_serial) = begin() else { return };
    let runs = runs();
    let mut json = Vec::new();
    println!("\nzkelect vs ZooKeeper 3.8, {runs} run(s) per row, ms: min median p90 max");
    for n in sizes() {
        let (mut zk_fresh, mut zk_fo) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (f, o) = zookeeper_run(n);
            zk_fresh.push(f);
            zk_fo.push(o);
        }
        let mut zke_fresh: Vec<f64> = (0..runs).map(|_| zkelect_fresh(n)).collect();
        let mut zke_fo: Vec<f64> = (0..runs).map(|_| zkelect_failover(n, 2000)).collect();
        let mut zke_fo_small: Vec<f64> = (0..runs).map(|_| zkelect_failover(n, 50)).collect();
        let rows = [
            ("zookeeper fresh", &mut zk_fresh),
            ("zkelect fresh (finalizeWait 200)", &mut zke_fresh),
            ("zookeeper fail-over", &mut zk_fo),
            ("zkelect fail-over (tickTime 2000)", &mut zke_fo),
            ("zkelect fail-over (tickTime 50)", &mut zke_fo_small),
        ];
        for (name, v) in rows {
            let line = stats(v);
            println!("  n={n} {name:<36} {line}");
            json.push(format!(
                r#"{{"n":{n},"name":"{name}","median":{:.1},"samples":{:?}}}"#,
                median(v),
                v
            ));
        }
        println!(
            "  n={n} ratio fresh {:.2}, fail-over (tickTime 2000) {:.2}, (tickTime 50) {:.2}",
            median(&mut zke_fresh) / median(&mut zk_fresh),
            median(&mut zke_fo) / median(&mut zk_fo),
            median(&mut zke_fo_small) / median(&mut zk_fo)
        );
    }
    let out = std::env::var("ZKELECT_BENCH_JSON").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("zkelect-bench-zookeeper.json")
            .display()
            .to_string()
    });
    std::fs::write(&out, format!("[\n{}\n]\n", json.join(",\n"))).unwrap();
    println!("  JSON: {out}");

    // The in-process scenarios too, so that one command runs every benchmark.
    let mut bench = Command::new(env!("CARGO_BIN_EXE_zkelect"));
    bench.arg("bench");
    if runs > 1 {
        bench.args(["--runs", &runs.to_string()]);
    } else {
        bench.args(["--quick", "--idle-secs", "1"]);
    }
    let result = bench.output().expect("zkelect bench");
    println!("\n{}", String::from_utf8_lossy(&result.stdout));
    assert!(
        result.status.success(),
        "zkelect bench failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
}
