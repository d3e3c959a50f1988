//! `zkelect bench`: election latency, scale and idle cost, printed as a
//! table and written as JSON.

mod proc;
mod stats;

use super::args::Args;
use super::cluster;
use stats::Summary;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use zkelect::Peer;

const HELP: &str = "\
usage: zkelect bench [--runs R] [--quick] [--only LIST] [--json FILE] [--idle-secs S]

Measures, on loopback in this process:
  fresh        fresh election of N = 3, 5, 7, 9 peers: all started to all
               decided, and each peer's LOOKING to decided; at finalizeWait
               200 (ZooKeeper's) and 0, notification interval 200 and 20 ms
  unreachable  one configured voter whose port accepts and never reads
  scale        N = 9, 25, 51 peers: election time, threads, RSS per peer,
               notifications sent per election
  idle         CPU time and RSS per peer of a stable 5-peer ensemble

  --runs R        runs per configuration (default 10)
  --quick         1 run, small N only (what CI runs, so this cannot rot)
  --only LIST     comma-separated scenario names
  --json FILE     also write the results as JSON
  --idle-secs S   idle measurement length (default 20)
";

/// One row of the result table.
struct Row {
    name: String,
    summary: Summary,
    unit: &'static str,
    extra: String,
}

struct Bench {
    runs: usize,
    quick: bool,
    rows: Vec<Row>,
}

impl Bench {
    fn push(&mut self, name: String, summary: Summary, unit: &'static str, extra: String) {
        println!(
            "{:<44} {:>4} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:<3} {}",
            name, summary.runs, summary.min, summary.median, summary.p90, summary.max, unit, extra
        );
        self.rows.push(Row {
            name,
            summary,
            unit,
            extra,
        });
    }

    /// Starts `peers`, waits for all to decide; returns the total time and
    /// each peer's LOOKING-to-decided time.
    fn elect(peers: &[&Peer]) -> Result<(Duration, Vec<Duration>), String> {
        let t0 = Instant::now();
        for p in peers {
            p.start().map_err(|e| e.to_string())?;
        }
        let d = cluster::await_all(peers, Duration::from_secs(60))?;
        let total = t0.elapsed();
        Ok((total, d.iter().map(|l| l.elapsed).collect()))
    }

    fn fresh(&mut self) -> Result<(), String> {
        let sizes: &[usize] = if self.quick { &[3] } else { &[3, 5, 7, 9] };
        let settings: &[(u64, u64)] = if self.quick {
            &[(200, 200), (0, 20)]
        } else {
            &[(200, 200), (0, 200), (0, 20)]
        };
        for &n in sizes {
            for &(fw, interval) in settings {
                let mut totals = Vec::new();
                let mut each = Vec::new();
                for _ in 0..self.runs {
                    let extra =
                        format!("finalizeWait={fw}\nfastleader.minNotificationInterval={interval}");
                    let (cfg, _) = cluster::config(n, &extra)?;
                    let ps = cluster::peers(&cfg, n)?;
                    let refs: Vec<&Peer> = ps.iter().collect();
                    let (t, per) = Self::elect(&refs)?;
                    totals.push(t);
                    each.extend(per);
                    drop(ps);
                }
                let tag = format!("fresh n={n} finalizeWait={fw} interval={interval}");
                self.push(
                    format!("{tag} all"),
                    Summary::of(&totals),
                    "ms",
                    String::new(),
                );
                self.push(
                    format!("{tag} per-peer"),
                    Summary::of(&each),
                    "ms",
                    String::new(),
                );
            }
        }
        Ok(())
    }

    fn unreachable(&mut self) -> Result<(), String> {
        let sizes: &[usize] = if self.quick { &[3] } else { &[3, 5] };
        for &n in sizes {
            let mut totals = Vec::new();
            for _ in 0..self.runs {
                let (cfg, ports) = cluster::config(n, "finalizeWait=200\ncnxTimeout=5000")?;
                // The last voter's port accepts (kernel backlog) and never reads.
                let hole = TcpListener::bind(("127.0.0.1", ports[n - 1]))
                    .map_err(|e| format!("cannot hold port: {e}"))?;
                let ps = cluster::peers(&cfg, n - 1)?;
                let refs: Vec<&Peer> = ps.iter().collect();
                let (t, _) = Self::elect(&refs)?;
                totals.push(t);
                drop(ps);
                drop(hole);
            }
            self.push(
                format!("unreachable voter n={n} finalizeWait=200 all"),
                Summary::of(&totals),
                "ms",
                "(cnxTimeout 5000 ms)".into(),
            );
        }
        Ok(())
    }

    fn scale(&mut self) -> Result<(), String> {
        let sizes: &[usize] = if self.quick { &[9] } else { &[9, 25, 51] };
        for &n in sizes {
            let mut totals = Vec::new();
            let (mut threads, mut rss, mut sent) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..self.runs.min(5) {
                let (cfg, _) = cluster::config(n, "finalizeWait=0")?;
                let (rss0, t0) = (proc::rss_kib(), proc::threads());
                let ps = cluster::peers(&cfg, n)?;
                let refs: Vec<&Peer> = ps.iter().collect();
                let (t, _) = Self::elect(&refs)?;
                totals.push(t);
                // Fresh peers: their counters hold this election's frames.
                let frames: u64 = ps.iter().map(|p| p.stats().frames_sent).sum();
                sent.push(frames as f64);
                threads.push((proc::threads() - t0) as f64);
                rss.push(proc::rss_kib().saturating_sub(rss0) as f64 / n as f64);
                drop(ps);
            }
            let extra = format!(
                "threads {:.0} ({:.1}/peer), RSS {:.0} KiB/peer, {:.0} notifications/election",
                Summary::of_values(&mut threads).median,
                Summary::of_values(&mut threads).median / n as f64,
                Summary::of_values(&mut rss).median,
                Summary::of_values(&mut sent).median
            );
            self.push(
                format!("scale n={n} finalizeWait=0 all"),
                Summary::of(&totals),
                "ms",
                extra,
            );
        }
        Ok(())
    }

    fn idle(&mut self, secs: u64) -> Result<(), String> {
        let n = 5;
        let (cfg, _) = cluster::config(n, "finalizeWait=0")?;
        let rss0 = proc::rss_kib();
        let ps = cluster::peers(&cfg, n)?;
        let refs: Vec<&Peer> = ps.iter().collect();
        Self::elect(&refs)?;
        let rss = proc::rss_kib().saturating_sub(rss0) as f64 / n as f64;
        let c0 = proc::cpu_time();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        let cpu = proc::cpu_time().saturating_sub(c0).as_secs_f64();
        let wall = t0.elapsed().as_secs_f64();
        drop(ps);
        let per_peer_min = cpu * 1000.0 * 60.0 / wall / n as f64;
        let pct = cpu / wall / n as f64 * 100.0;
        let mut v = [per_peer_min];
        self.push(
            format!("idle n={n} CPU per peer per minute"),
            Summary::of_values(&mut v),
            "ms",
            format!("= {pct:.4}% of a core per peer; RSS {rss:.0} KiB/peer; over {secs} s"),
        );
        Ok(())
    }

    fn json(&self) -> String {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                format!(
                    r#"{{"name":"{}","unit":"{}","stats":{},"extra":"{}"}}"#,
                    super::json::escape(&r.name),
                    r.unit,
                    r.summary.json(),
                    super::json::escape(&r.extra)
                )
            })
            .collect();
        format!(
            "{{\"cores\":{},\"runs\":{},\"results\":[\n{}\n]}}\n",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            self.runs,
            rows.join(",\n")
        )
    }
}

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let quick = argv.iter().any(|p| p == "--quick");
    let rest: Vec<String> = argv.iter().filter(|p| *p != "--quick").cloned().collect();
    let a = Args::parse(&rest, &["runs", "only", "json", "idle-secs"])?;
    if a.help {
        print!("{HELP}");
        return Ok(());
    }
    if let Some(p) = a.positional.first() {
        return Err(format!("unexpected argument '{p}'\n\n{HELP}"));
    }
    let runs = if quick {
        1
    } else {
        a.value("runs")?.unwrap_or(10)
    };
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let idle_secs = a.value("idle-secs")?.unwrap_or(if quick { 1 } else { 20 });
    let only: Vec<String> = a
        .get("only")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
        .unwrap_or_default();
    const SCENARIOS: [&str; 4] = ["fresh", "unreachable", "scale", "idle"];
    if let Some(bad) = only.iter().find(|o| !SCENARIOS.contains(&o.as_str())) {
        return Err(format!(
            "--only: unknown scenario '{bad}'; choose from {}",
            SCENARIOS.join(", ")
        ));
    }
    let wants = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut b = Bench {
        runs,
        quick,
        rows: Vec::new(),
    };
    println!(
        "zkelect bench: {} cores, {runs} run(s) per row; times in ms unless noted",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "{:<44} {:>4} {:>9} {:>9} {:>9} {:>9}",
        "scenario", "runs", "min", "median", "p90", "max"
    );
    if wants("fresh") {
        b.fresh()?;
    }
    if wants("unreachable") {
        b.unreachable()?;
    }
    if wants("scale") {
        b.scale()?;
    }
    if wants("idle") {
        b.idle(idle_secs)?;
    }
    if let Some(path) = a.get("json") {
        std::fs::write(path, b.json()).map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("results written to {path}");
    }
    Ok(())
}
