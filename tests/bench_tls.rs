//! What quorum TLS costs, in one run on the same machine: fresh election
//! and fail-over (kill -9 of the leader) of `zkelect run` processes with
//! and without `sslQuorum=true` (N = 3, ZooKeeper's default timings), and
//! the cost of one election connection's handshake (a probe, which is
//! connect + handshake + one notification and its answer, plain vs TLS,
//! against one in-process peer). Prints numbers; asserts none.
//!
//! Quick version (what `cargo test` runs: 1 run):
//!     cargo test --release --test bench_tls -- --nocapture
//! More runs:
//!     ZKELECT_BENCH_RUNS=10 cargo test --release --test bench_tls -- --nocapture

#[path = "support/certs.rs"]
mod certs;
#[path = "common/mod.rs"]
mod common;

use certs::{tls_lines, Ca, TempDir};
use common::run::{Cluster, ClusterSpec, DataDirs};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
const PROBES: usize = 200;

fn runs() -> usize {
    std::env::var("ZKELECT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// min / median / max.
fn summary(v: &[f64]) -> String {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    format!("{:8.2} {:8.2} {:8.2}", v[0], v[v.len() / 2], v[v.len() - 1])
}

/// (fresh: last process up to all elected, and to all confirmed;
/// fail-over: kill -9 of the leader to every survivor confirmed with a
/// higher epoch), in ms.
fn cluster_run(extra: &str) -> (f64, f64, f64) {
    let mut c = Cluster::new(
        "bench-tls",
        ClusterSpec {
            data: DataDirs::PerPeer,
            extra: extra.into(),
            ..ClusterSpec::defaults(3)
        },
    );
    c.start_all();
    let sids = c.sids();
    let first = c.wait_confirmed(&sids, 0, WAIT);
    let up = sids
        .iter()
        .map(|&s| c.lines_of(s).next().expect("a first line").at)
        .max()
        .unwrap();
    let elected = sids
        .iter()
        .map(|&s| {
            c.lines_of(s)
                .find(|l| l.kind() == "elected")
                .expect("an elected line")
                .at
        })
        .max()
        .unwrap();
    let decided = ms(elected.saturating_duration_since(up));
    let fresh = ms(first.at.saturating_duration_since(up));
    // Half a tick, so the kill does not land right on a heartbeat.
    std::thread::sleep(Duration::from_millis(700));
    let t0 = c.kill9(first.leader);
    let survivors: Vec<i64> = sids.into_iter().filter(|&s| s != first.leader).collect();
    let next = c.wait_confirmed(&survivors, first.epoch, WAIT);
    (decided, fresh, ms(next.at.saturating_duration_since(t0)))
}

/// Median probe time (ms) against an in-process peer, plain and TLS.
fn probe_cost(dir: &TempDir, ca: &Ca) -> (f64, f64) {
    let key = ca.write_leaf(dir.path(), "probe-peer.pem", &["127.0.0.1"]);
    let trust = ca.write_trust(dir.path(), "probe-ca.pem");
    let mut out = Vec::new();
    for tls in [false, true] {
        let (cfg, ports) = common::config(
            3,
            &if tls {
                tls_lines(&key, &trust, "")
            } else {
                String::new()
            },
        );
        let p = zkelect::Peer::from_config_text(&cfg, Some(1)).unwrap();
        p.start().unwrap();
        let ctx = tls.then(|| {
            let c = zkelect::config::Config::parse(&cfg).unwrap();
            zkelect::tls::TlsContext::load(c.tls.as_ref().unwrap()).unwrap()
        });
        let target = format!("127.0.0.1:{}", ports[0]);
        let mut times = Vec::new();
        for i in 0..PROBES + 10 {
            let t = Instant::now();
            zkelect::probe::probe_tls(&target, 1000 + i as i64, WAIT, ctx.as_ref())
                .expect("probe answers");
            if i >= 10 {
                times.push(ms(t.elapsed()));
            }
        }
        p.stop();
        times.sort_by(|a, b| a.total_cmp(b));
        out.push(times[times.len() / 2]);
    }
    (out[0], out[1])
}

#[test]
fn tls_costs_side_by_side() {
    let dir = TempDir::new("bench-tls");
    let ca = Ca::new("bench CA");
    let key = ca.write_leaf(dir.path(), "peer.pem", &["127.0.0.1"]);
    let trust = ca.write_trust(dir.path(), "ca.pem");
    let tls = tls_lines(&key, &trust, "");
    let runs = runs();
    let (mut decided, mut fresh, mut fail) = ([vec![], vec![]], [vec![], vec![]], [vec![], vec![]]);
    for _ in 0..runs {
        for (i, extra) in ["", tls.as_str()].into_iter().enumerate() {
            let (d, f, o) = cluster_run(extra);
            decided[i].push(d);
            fresh[i].push(f);
            fail[i].push(o);
        }
    }
    let (plain_probe, tls_probe) = probe_cost(&dir, &ca);
    println!("\nquorum TLS cost, N=3 zkelect run processes, tickTime 2000, {runs} run(s); ms min / median / max");
    println!("{:<34} {:>8} {:>8} {:>8}", "row", "min", "median", "max");
    println!(
        "{:<34} {}",
        "fresh, all elected, plain",
        summary(&decided[0])
    );
    println!("{:<34} {}", "fresh, all elected, TLS", summary(&decided[1]));
    println!(
        "{:<34} {}",
        "fresh, all confirmed, plain",
        summary(&fresh[0])
    );
    println!("{:<34} {}", "fresh, all confirmed, TLS", summary(&fresh[1]));
    println!("{:<34} {}", "fail-over (kill -9), plain", summary(&fail[0]));
    println!("{:<34} {}", "fail-over (kill -9), TLS", summary(&fail[1]));
    println!(
        "probe (connect+handshake+1 round trip), median of {PROBES}: plain {plain_probe:.3} ms, TLS {tls_probe:.3} ms, \
         handshake cost {:.3} ms per connection",
        tls_probe - plain_probe
    );
}
