//! `zkelect demo`: a whole ensemble on loopback in one process. It elects a
//! leader, stops the leader, lets the others re-elect, and prints timings.

use super::args::Args;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use zkelect::{Leader, Peer, ServerState};

const HELP: &str = "\
usage: zkelect demo [--peers N] [--finalize-wait MS] [--rounds R]

Runs N election peers (default 5) on loopback in this process: shows the
first election, stops the leader, shows the re-election among the others
with timings, and exits 0.

  --peers N           ensemble size, 1 to 51 (default 5)
  --finalize-wait MS  ZooKeeper's wait for a better vote (default 200)
  --rounds R          repeat the fresh election R times and print min,
                      median and max (default 1)
";

/// Ports that are free right now (bound together, then released).
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let socks: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot find free ports: {e}"))?;
    socks
        .iter()
        .map(|s| s.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

fn ensemble(n: usize, finalize_wait: u64) -> Result<Vec<Peer>, String> {
    let ports = free_ports(2 * n)?;
    let mut cfg =
        format!("tickTime=2000\ninitLimit=5\nsyncLimit=2\nfinalizeWait={finalize_wait}\n");
    for i in 0..n {
        cfg.push_str(&format!(
            "server.{}=127.0.0.1:{}:{}\n",
            i + 1,
            ports[2 * i],
            ports[2 * i + 1]
        ));
    }
    (1..=n as i64)
        .map(|sid| Peer::from_config_text(&cfg, Some(sid)).map_err(|e| e.to_string()))
        .collect()
}

/// Waits until every running peer has decided; returns the decisions.
fn await_all(peers: &[&Peer], timeout: Duration) -> Result<Vec<Leader>, String> {
    let deadline = Instant::now() + timeout;
    peers
        .iter()
        .map(|p| {
            p.wait_for_leader(deadline.saturating_duration_since(Instant::now()))
                .ok_or_else(|| format!("sid {} did not decide within {timeout:?}", p.my_sid()))
        })
        .collect()
}

fn print_decisions(peers: &[&Peer], decisions: &[Leader]) {
    println!(
        "  {:>4}  {:<10}  {:>6}  {:>5}  {:>10}",
        "sid", "state", "leader", "round", "elapsed"
    );
    for (p, d) in peers.iter().zip(decisions) {
        println!(
            "  {:>4}  {:<10}  {:>6}  {:>5}  {:>7} ms",
            p.my_sid(),
            d.state.name(),
            d.leader,
            d.election_epoch,
            d.elapsed.as_millis()
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let a = Args::parse(argv, &["peers", "finalize-wait", "rounds"])?;
    if a.help {
        print!("{HELP}");
        return Ok(());
    }
    let n: usize = a.value("peers")?.unwrap_or(5);
    if !(1..=51).contains(&n) {
        return Err("--peers must be between 1 and 51".into());
    }
    let fw: u64 = a.value("finalize-wait")?.unwrap_or(200);
    let rounds: usize = a.value("rounds")?.unwrap_or(1).max(1);
    let timeout = Duration::from_secs(30);

    if rounds > 1 {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let peers = ensemble(n, fw)?;
            let t0 = Instant::now();
            for p in &peers {
                p.start().map_err(|e| e.to_string())?;
            }
            let refs: Vec<&Peer> = peers.iter().collect();
            await_all(&refs, timeout)?;
            times.push(t0.elapsed());
            for p in &peers {
                p.stop();
            }
        }
        times.sort();
        println!(
            "fresh election of {n} peers, finalizeWait={fw} ms, {rounds} rounds: min {}  median {}  max {}",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
        return Ok(());
    }

    println!("zkelect demo: {n} peers on loopback, finalizeWait={fw} ms");
    let peers = ensemble(n, fw)?;
    let t0 = Instant::now();
    for p in &peers {
        p.start().map_err(|e| e.to_string())?;
    }
    let all: Vec<&Peer> = peers.iter().collect();
    let first = await_all(&all, timeout)?;
    let took = t0.elapsed();
    let leader = first[0].leader;
    println!(
        "\nelection 1: all {n} peers decided in {} (start of all peers to last decision)",
        ms(took)
    );
    print_decisions(&all, &first);
    if first.iter().any(|d| d.leader != leader) {
        return Err("peers disagree on the leader".into());
    }
    if n < 3 {
        println!("\n(with fewer than 3 peers no quorum survives the leader; done)");
        for p in &peers {
            p.stop();
        }
        return Ok(());
    }

    println!("\nstopping the leader, sid {leader} ...");
    let t1 = Instant::now();
    let (dead, rest): (Vec<&Peer>, Vec<&Peer>) = all.iter().partition(|p| p.my_sid() == leader);
    dead[0].stop();
    // Our hosts notice the loss and ask for a new election, as a ZooKeeper
    // follower does when its connection to the leader breaks.
    for p in &rest {
        p.restart_election().map_err(|e| e.to_string())?;
    }
    let second = await_all(&rest, timeout)?;
    let took2 = t1.elapsed();
    let new_leader = second[0].leader;
    println!(
        "\nelection 2: {} survivors decided on sid {new_leader} in {} (leader stopped to last decision)",
        rest.len(),
        ms(took2)
    );
    print_decisions(&rest, &second);
    let agree = second.iter().all(|d| d.leader == new_leader);
    let leads = rest
        .iter()
        .any(|p| p.my_sid() == new_leader && p.state() == ServerState::Leading);
    for p in &peers {
        p.stop();
    }
    if !agree || !leads {
        return Err("survivors disagree on the new leader".into());
    }
    println!("\nall peers stopped; done.");
    Ok(())
}
