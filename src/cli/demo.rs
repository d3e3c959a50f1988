//! `zkelect demo`: a whole ensemble on loopback in one process. It elects
//! and confirms a leader, stops the leader cleanly (as SIGTERM stops
//! `zkelect run`: it steps down, then tells the others), and shows the
//! others electing and confirming a successor by themselves, with timings.
//! The peers share a temporary `dataDir` for their durable epochs, removed
//! at the end.

use super::args::Args;
use super::cluster;
use crossbeam_channel::{Receiver, Select};
use std::time::{Duration, Instant};
use zkelect::{Confirmed, Event, Peer, ServerState};

const HELP: &str = "\
usage: zkelect demo [--peers N] [--tick MS | --zk-defaults] [--finalize-wait MS]
                    [--rounds R] [--failovers K]

Runs N election peers (default 5) on loopback in this process: shows the
first election and the leader's confirmation, stops the leader cleanly (as
SIGTERM stops zkelect run: it steps down, then tells the others), and shows
the others electing and confirming a successor by themselves (no
restart_election), with timings. The peers keep their epochs in a temporary
dataDir, removed at the end.

  --peers N           ensemble size, 1 to 51 (default 5)
  --tick MS           tickTime, 1 to 60000 (default 200, a tenth of
                      ZooKeeper's sample config, so the fail-over lease is
                      short); initLimit is 10, syncLimit 5
  --zk-defaults       ZooKeeper's default settings instead of the fast ones:
                      tickTime=2000, initLimit=10, syncLimit=5,
                      finalizeWait=200 (not with --tick)
  --finalize-wait MS  ZooKeeper's wait for a better vote (default 200)
  --rounds R          first repeat the fresh election R times (R >= 1) and
                      print min, median and max; with R > 1 only that,
                      unless --failovers is given too (default 1)
  --failovers K       stop the leader K times (bringing the stopped peer
                      back each time) and print min, median and max of the
                      time to a confirmed successor; 0 stops nobody
                      (default 1)

examples:
  zkelect demo                                  # fast timers
  zkelect demo --zk-defaults                    # ZooKeeper's timers
  zkelect demo --rounds 20 --finalize-wait 0    # election times only
  zkelect demo --rounds 5 --failovers 5         # both
";

/// The demo's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Ensemble size.
    pub peers: usize,
    /// tickTime in ms.
    pub tick: u64,
    /// finalizeWait in ms.
    pub finalize_wait: u64,
    /// Fresh elections to time (1: only the one of the fail-over part).
    pub rounds: usize,
    /// Fail-overs to run, `None` when the rounds are all that was asked.
    pub failovers: Option<usize>,
}

/// Parses and checks the arguments; every bad value or combination is an
/// error naming the option.
pub fn settings(a: &Args) -> Result<Settings, String> {
    if let Some(p) = a.positional.first() {
        return Err(format!("unexpected argument '{p}'"));
    }
    let peers: usize = a.value("peers")?.unwrap_or(5);
    if !(1..=51).contains(&peers) {
        return Err(format!("--peers must be between 1 and 51, not {peers}"));
    }
    let zk = a.flag("zk-defaults");
    if zk && a.get("tick").is_some() {
        return Err("--zk-defaults sets tickTime=2000; give either it or --tick".into());
    }
    let tick: u64 = a.value("tick")?.unwrap_or(if zk { 2000 } else { 200 });
    if !(1..=60_000).contains(&tick) {
        return Err(format!("--tick must be between 1 and 60000 ms, not {tick}"));
    }
    let finalize_wait: u64 = a.value("finalize-wait")?.unwrap_or(200);
    if finalize_wait > 60_000 {
        return Err(format!(
            "--finalize-wait must be at most 60000 ms, not {finalize_wait}"
        ));
    }
    let rounds: usize = a.value("rounds")?.unwrap_or(1);
    if rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    let failovers: Option<usize> = a.value("failovers")?;
    let failovers = match failovers {
        Some(k) if k > 1000 => {
            return Err(format!("--failovers must be at most 1000, not {k}"));
        }
        Some(k) => Some(k),
        None if rounds > 1 => None,
        None => Some(1),
    };
    Ok(Settings {
        peers,
        tick,
        finalize_wait,
        rounds,
        failovers,
    })
}

fn config(n: usize, tick: u64, finalize_wait: u64, data: &DataDir) -> Result<String, String> {
    let extra = format!("finalizeWait={finalize_wait}\ndataDir={}", data.0.display());
    cluster::config_with_tick(n, tick, &extra).map(|(c, _)| c)
}

/// A fresh temporary `dataDir`, removed on drop.
struct DataDir(std::path::PathBuf);

impl DataDir {
    fn new() -> Result<DataDir, String> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("zkelect-demo-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        Ok(DataDir(d))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn peer(cfg: &str, sid: i64) -> Result<Peer, String> {
    Peer::from_config_text(cfg, Some(sid)).map_err(|e| e.to_string())
}

/// Waits until every peer reports the same confirmed leader with an epoch
/// above `above`, reading each peer's events (`show` sees each one, with
/// the time since `t0`). Returns the leader, the epoch, and when the last
/// peer confirmed it.
fn await_confirmed(
    peers: &[(&Peer, &Receiver<Event>)],
    above: i64,
    timeout: Duration,
    t0: Instant,
    mut show: impl FnMut(i64, Duration, &Event),
) -> Result<(i64, i64, Instant), String> {
    let deadline = Instant::now() + timeout;
    let mut got: Vec<Option<Confirmed>> = vec![None; peers.len()];
    let mut last = Instant::now();
    loop {
        if let Some(Some(first)) = got.first() {
            let same = |c: &Option<Confirmed>| {
                c.is_some_and(|c| (c.leader, c.epoch) == (first.leader, first.epoch))
            };
            if first.epoch > above && got.iter().all(same) {
                return Ok((first.leader, first.epoch, last));
            }
        }
        let mut sel = Select::new();
        for (_, rx) in peers {
            sel.recv(rx);
        }
        let op = sel
            .select_deadline(deadline)
            .map_err(|_| format!("no confirmed leader within {timeout:?}"))?;
        let i = op.index();
        let (p, rx) = peers[i];
        let e = op.recv(rx).map_err(|_| "a peer stopped".to_string())?;
        show(p.my_sid(), t0.elapsed(), &e);
        let confirmed = |state, leader, epoch| Confirmed {
            state,
            leader,
            epoch,
        };
        match e {
            Event::Leading { epoch } => {
                got[i] = Some(confirmed(ServerState::Leading, p.my_sid(), epoch));
                last = Instant::now();
            }
            Event::Following { leader, epoch } => {
                got[i] = Some(confirmed(ServerState::Following, leader, epoch));
                last = Instant::now();
            }
            Event::LeadershipLost { .. } | Event::LeaderLost { .. } => got[i] = None,
            _ => {}
        }
    }
}

fn describe(e: &Event) -> Option<String> {
    Some(match e {
        Event::LeaderLost { leader, reason } => format!("gave leader {leader} up ({reason})"),
        Event::Elected(l) => format!("elected leader {} ({})", l.leader, l.state),
        Event::EpochAccepted { epoch } => format!("accepted epoch {epoch}"),
        Event::EpochStoreFailed { epoch } => format!("could not store epoch {epoch}"),
        Event::Leading { epoch } => format!("LEADING, confirmed with epoch {epoch}"),
        Event::Following { leader, epoch } => {
            format!("following {leader}, confirmed with epoch {epoch}")
        }
        Event::LeadershipLost { epoch, reason } => {
            format!("leadership of epoch {epoch} lost ({reason})")
        }
        Event::LeadershipFailed { epoch, reason } => {
            format!("epoch {epoch} not confirmed ({reason})")
        }
        _ => return None,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn stats(mut times: Vec<Duration>) -> String {
    times.sort();
    format!(
        "min {}  median {}  max {}",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let a = Args::parse_with_flags(
        argv,
        &["peers", "tick", "finalize-wait", "rounds", "failovers"],
        &["zk-defaults"],
    )?;
    if a.help {
        print!("{HELP}");
        return Ok(());
    }
    let s = settings(&a).map_err(|e| format!("{e}\n\n{HELP}"))?;
    let (n, tick, fw, rounds) = (s.peers, s.tick, s.finalize_wait, s.rounds);
    // Generous: a successor is confirmed about syncLimit ticks after the
    // leader's last heartbeat, and an unlucky election can take initLimit.
    let timeout = Duration::from_millis(tick * 40).max(Duration::from_secs(30));

    if rounds > 1 {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let data = DataDir::new()?;
            let cfg = config(n, tick, fw, &data)?;
            let peers: Vec<Peer> = (1..=n as i64)
                .map(|s| peer(&cfg, s))
                .collect::<Result<_, _>>()?;
            let t0 = Instant::now();
            for p in &peers {
                p.start().map_err(|e| e.to_string())?;
            }
            let refs: Vec<&Peer> = peers.iter().collect();
            cluster::await_all(&refs, timeout)?;
            times.push(t0.elapsed());
            for p in &peers {
                p.stop();
            }
        }
        println!(
            "fresh election of {n} peers, finalizeWait={fw} ms, {rounds} rounds: {}",
            stats(times)
        );
        if s.failovers.is_none() {
            return Ok(());
        }
        println!();
    }
    let failovers = s.failovers.unwrap_or(1);

    println!(
        "zkelect demo: {n} peers on loopback, tickTime={tick} ms, initLimit=10, syncLimit=5, \
         finalizeWait={fw} ms"
    );
    let data = DataDir::new()?;
    let cfg = config(n, tick, fw, &data)?;
    let mut peers: Vec<Peer> = (1..=n as i64)
        .map(|s| peer(&cfg, s))
        .collect::<Result<_, _>>()?;
    let mut rxs: Vec<Receiver<Event>> = peers.iter().map(|p| p.subscribe()).collect();
    let t0 = Instant::now();
    for p in &peers {
        p.start().map_err(|e| e.to_string())?;
    }
    let refs: Vec<&Peer> = peers.iter().collect();
    let decided = cluster::await_all(&refs, timeout)?;
    let took = t0.elapsed();
    let pairs: Vec<(&Peer, &Receiver<Event>)> = peers.iter().zip(rxs.iter()).collect();
    let (leader, epoch, at) = await_confirmed(&pairs, 0, timeout, t0, |_, _, _| {})?;
    println!(
        "\nelection: all {n} decided in {}; leader sid {leader} confirmed with epoch {epoch} \
         by all after {}",
        ms(took),
        ms(at - t0)
    );
    println!(
        "  {:>4}  {:<10}  {:>6}  {:>5}",
        "sid", "role", "leader", "round"
    );
    for (p, d) in peers.iter().zip(&decided) {
        println!(
            "  {:>4}  {:<10}  {:>6}  {:>5}",
            p.my_sid(),
            d.state.name(),
            d.leader,
            d.election_epoch
        );
    }
    if n < 3 {
        println!("\n(with fewer than 3 peers no quorum survives the leader; done)");
        for p in &peers {
            p.stop();
        }
        return Ok(());
    }

    let mut times = Vec::new();
    let (mut leader, mut epoch) = (leader, epoch);
    for k in 0..failovers {
        let verbose = k == 0;
        if verbose {
            println!(
                "\nstopping the leader, sid {leader} (cleanly: it steps down, then tells the \
                 others); nobody calls restart_election ..."
            );
        }
        let idx = (leader - 1) as usize;
        let t1 = Instant::now();
        peers[idx].stop();
        let survivors: Vec<(&Peer, &Receiver<Event>)> = peers
            .iter()
            .zip(rxs.iter())
            .filter(|(p, _)| p.my_sid() != leader)
            .collect();
        let (next, e2, at) = await_confirmed(&survivors, epoch, timeout, t1, |sid, t, e| {
            if let (true, Some(d)) = (verbose, describe(e)) {
                println!("  +{:>10}  sid {sid}: {d}", ms(t));
            }
        })?;
        let took = at - t1;
        times.push(took);
        if verbose {
            println!(
                "\nfail-over: {} from stopping sid {leader} to every survivor following the \
                 confirmed sid {next} (epoch {e2}, was {epoch}); its departure released the \
                 followers' promises, which a leader that dies unseen holds for \
                 syncLimit x tickTime = {} ms after its last heartbeat",
                ms(took),
                5 * tick
            );
        }
        // Bring the stopped peer back, as a restarted process reading its
        // accepted epoch from the dataDir, and let it rejoin before the
        // next round.
        let back = peer(&cfg, leader)?;
        rxs[idx] = back.subscribe();
        back.start().map_err(|e| e.to_string())?;
        let c = back
            .wait_for_confirmed(timeout)
            .ok_or("the restarted peer did not rejoin")?;
        if (c.leader, c.epoch) != (next, e2) {
            return Err(format!("the restarted peer confirmed {c:?}"));
        }
        peers[idx] = back;
        // Drop what the survivors reported meanwhile (nothing, if stable).
        for rx in &rxs {
            while rx.try_recv().is_ok() {}
        }
        leader = next;
        epoch = e2;
    }
    if failovers > 1 {
        println!(
            "\n{failovers} fail-overs of {n} peers at tickTime={tick} ms: {}",
            stats(times)
        );
    }
    for p in &peers {
        p.stop();
    }
    println!("\nall peers stopped; done.");
    Ok(())
}
