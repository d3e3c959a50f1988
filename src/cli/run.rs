//! `zkelect run`: one peer from a zoo.cfg until SIGINT or SIGTERM.

use super::args::Args;
use super::json;
use std::io::Write;
use std::path::Path;
use zkelect::logging::{self, Level};

const HELP: &str = "\
usage: zkelect run --config zoo.cfg [--myid N] [--zxid Z] [--epoch E] [--log-level L]
                   [--strict] [--report-lease] [--crash-before-store]

Runs one election peer until SIGINT or SIGTERM, then stops cleanly and exits 0:
a leader first steps down, then tells the others, who elect a successor at once.
A dead or cut-off leader is noticed and replaced without any signal; SIGHUP
still restarts the election by hand (the host saying: the leader is gone).
leadershipMode=fencing in zoo.cfg confirms leaders without follower promises
(fail-over in one round trip; fence writes with the epoch); see the README.
followOnly=auto|true|false in zoo.cfg: whether this peer may win the election
beside real ZooKeeper servers (auto: not once it learns of them); see the README.
stdout: one JSON object per line per event, each opening with the time it
was printed (\"ts\", ISO 8601 UTC, milliseconds), e.g.
  {\"ts\":\"2026-12-01T21:11:56.123Z\",\"event\":\"state\",\"sid\":1,\"state\":\"FOLLOWING\",\"old\":\"LOOKING\",\"follow_only\":false,\"real_members\":false}
  {\"event\":\"elected\",\"sid\":1,\"state\":\"FOLLOWING\",\"leader\":3,\"zxid\":0,\"election_epoch\":1,\"peer_epoch\":0,\"elapsed_ms\":212,\"follow_only\":false,\"real_members\":false}
  {\"event\":\"epoch_accepted\",\"sid\":1,\"epoch\":1}
  {\"event\":\"following\",\"sid\":1,\"leader\":3,\"epoch\":1}
  {\"event\":\"leading\",\"sid\":3,\"epoch\":1}
  {\"event\":\"leadership_lost\",\"sid\":3,\"epoch\":1,\"reason\":\"no_quorum\"}
  {\"event\":\"leader_lost\",\"sid\":1,\"leader\":3,\"reason\":\"silent\"}
The state and elected lines end with follow_only (my vote is follow-only
now: I vote but never win) and real_members (I learned that the ensemble has
real ZooKeeper servers), as the peer reports them when the line is printed.
Reasons: restarted, silent, disconnected, leader_looking, no_quorum,
not_confirmed, stopped, superseded, epoch_raised. Timers come from tickTime,
initLimit and syncLimit (10 and 5 when absent).
  {\"event\":\"epoch_store_failed\",\"sid\":1,\"epoch\":2}
The accepted epoch is kept in dataDir (zkelect.<sid>.state, fsynced before
any acknowledgement), and dataDir/zkelect.<sid>.lock is held while the peer
runs; peers of one host that share a dataDir see a leader's death at once
through its lock. Without dataDir nothing is kept and every start waits
syncLimit ticks before it acknowledges anyone (pass the last epoch_accepted
back with --epoch then).
stderr: log lines, e.g.
  2026-12-01T21:11:56.123Z [myid:1] - INFO  [main] - sid 1 (participant, ...
(the effective configuration at INFO; unknown zoo.cfg keys at WARN, naming
the line and the nearest known key; a peer LOOKING for long at WARN, naming
the voters it cannot reach).
With clientPort in zoo.cfg (and clientPortAddress), ZooKeeper's four-letter
words ruok, srvr, stat, mntr and conf are answered there, as allowed by
4lw.commands.whitelist (srvr only by default, * for all). With
metricsProvider.httpPort (and metricsProvider.httpHost), Prometheus metrics
are served at http://HOST:PORT/metrics.

  --config PATH    zoo.cfg (ZooKeeper syntax)
  --myid N         my sid (default: the myid file in dataDir)
  --zxid Z         last zxid to report (default 0; 0x-prefixed hex accepted)
  --epoch E        current epoch to report (default 0)
  --log-level L    trace, debug, info, warn (default) or error
  --strict         an unknown zoo.cfg key is an error, not a warning (the
                   same as strictConfig=true in zoo.cfg)
  --report-lease   also print the lease whenever it changes, as the host's
                   check sees it (clock: CLOCK_BOOTTIME, in ns):
  {\"ts\":...,\"event\":\"lease\",\"sid\":3,\"leads\":true,\"epoch\":1,\"until_ns\":N,\"now_ns\":M}
  --crash-before-store
                   fault injection for tests: abort the process (no cleanup,
                   like kill -9) when the first new epoch is about to be
                   stored, i.e. after accepting it and before acknowledging
";

/// Parses a decimal or 0x-prefixed hex signed number.
pub fn parse_num(name: &str, v: &str) -> Result<i64, String> {
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => {
            i64::from_str_radix(h, 16).or_else(|_| u64::from_str_radix(h, 16).map(|u| u as i64))
        }
        None => v.parse(),
    };
    parsed.map_err(|_| format!("invalid value '{v}' for --{name}"))
}

/// Parses a log level name.
pub fn parse_level(v: &str) -> Result<Level, String> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "trace" => Level::Trace,
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" | "warning" => Level::Warn,
        "error" => Level::Error,
        _ => return Err(format!("unknown log level '{v}'")),
    })
}

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let a = Args::parse_with_flags(
        argv,
        &["config", "myid", "zxid", "epoch", "log-level"],
        &["report-lease", "crash-before-store", "strict"],
    )?;
    if a.help {
        print!("{HELP}");
        return Ok(());
    }
    if let Some(p) = a.positional.first() {
        return Err(format!("unexpected argument '{p}'\n\n{HELP}"));
    }
    let cfg = a
        .get("config")
        .ok_or_else(|| format!("--config is required\n\n{HELP}"))?;
    if let Some(l) = a.get("log-level") {
        logging::set_level(parse_level(l)?);
    }
    let myid = a.get("myid").map(|v| parse_num("myid", v)).transpose()?;
    let zxid = a
        .get("zxid")
        .map(|v| parse_num("zxid", v))
        .transpose()?
        .unwrap_or(0);
    let epoch = a
        .get("epoch")
        .map(|v| parse_num("epoch", v))
        .transpose()?
        .unwrap_or(0);

    // Before any thread exists, so that every thread inherits the mask and
    // the signals reach only our sigwait.
    zkelect::os::block_termination_signals().map_err(|e| format!("cannot block signals: {e}"))?;

    let peer = std::sync::Arc::new(
        zkelect::Peer::builder()
            .sid(myid)
            .strict(a.flag("strict"))
            .load(Path::new(cfg))
            .map_err(|e| e.to_string())?,
    );
    peer.set_zxid(zxid);
    peer.set_epoch(epoch);
    let sid = peer.my_sid();
    // Weak: the callback lives in the peer, which must not keep itself alive.
    let me = std::sync::Arc::downgrade(&peer);
    peer.on_event(move |e| {
        let mixed = me.upgrade().map(|p| {
            let l = p.leadership();
            (l.follow_only, l.real_members)
        });
        let line = json::event_mixed(sid, e, mixed);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
    if a.flag("crash-before-store") {
        crash_before_store(&peer)?;
    }
    // Before the election, so that a port in use stops us at once.
    let mut admin = start_admin(&peer)?;
    peer.start().map_err(|e| e.to_string())?;
    if a.flag("report-lease") {
        report_lease(peer.clone());
    }
    logging::emit(
        Level::Info,
        &format!("sid {sid} running; SIGHUP re-elects, SIGINT or SIGTERM stops"),
    );
    loop {
        let sig =
            zkelect::os::wait_for_termination().map_err(|e| format!("sigwait failed: {e}"))?;
        if sig == zkelect::os::SIGHUP {
            logging::emit(Level::Info, "SIGHUP: restarting the election");
            let _ = peer.restart_election();
            continue;
        }
        logging::emit(Level::Info, &format!("signal {sig}: stopping"));
        break;
    }
    for s in &mut admin {
        s.stop();
    }
    peer.stop();
    Ok(())
}

/// The four-letter words on the client address of my server.N line
/// (`;host:port`), else on `clientPort` (at `clientPortAddress`, else on
/// every interface), and the metrics page on `metricsProvider.httpPort` (at
/// `metricsProvider.httpHost`, else on every interface), when configured.
fn start_admin(
    peer: &std::sync::Arc<zkelect::Peer>,
) -> Result<Vec<zkelect::admin::AdminServer>, String> {
    use zkelect::admin::{fourlw, metrics, AdminServer};
    let c = peer.config();
    let mut servers = Vec::new();
    // My server.N line's client address wins, as in ZooKeeper.
    let own = c.servers.get(&peer.my_sid()).and_then(|s| s.client.clone());
    let client = own.or_else(|| {
        c.client_port.map(|p| {
            let host = c.client_port_address.as_deref().unwrap_or("0.0.0.0");
            (host.to_string(), p)
        })
    });
    if let Some((host, port)) = &client {
        let (host, port) = (host.as_str(), *port);
        let wl = fourlw::Whitelist::parse(c.four_letter_whitelist.as_deref());
        let h = fourlw::handler(peer.clone(), wl);
        servers.push(
            AdminServer::start("4lw", host, port, h)
                .map_err(|e| format!("clientPort (four-letter words): {e}"))?,
        );
    }
    if let Some(port) = c.metrics_port {
        let host = c.metrics_host.as_deref().unwrap_or("0.0.0.0");
        let h = metrics::handler(peer.clone());
        servers.push(
            AdminServer::start("metrics", host, port, h)
                .map_err(|e| format!("metricsProvider.httpPort (metrics): {e}"))?,
        );
    }
    Ok(servers)
}

/// Prints a `lease` line whenever the lease as the host sees it changes
/// (polled every 2 ms on a thread of its own).
fn report_lease(p: std::sync::Arc<zkelect::Peer>) {
    let sid = p.my_sid();
    std::thread::spawn(move || {
        let mut last: Option<(bool, Option<std::time::Duration>)> = None;
        loop {
            let now = zkelect::clock::now();
            let until = p.lease_deadline();
            let leads = until.is_some_and(|u| now < u);
            if last != Some((leads, until)) {
                last = Some((leads, until));
                let epoch = p.confirmed().map_or(0, |c| c.epoch);
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    r#"{{{},"event":"lease","sid":{sid},"leads":{leads},"epoch":{epoch},"until_ns":{},"now_ns":{}}}"#,
                    json::ts(),
                    until.map_or(0, |u| u.as_nanos()),
                    now.as_nanos()
                );
                let _ = out.flush();
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
}

/// `--crash-before-store`: the state file through a store hook that aborts
/// the process on the first write of a new epoch, before it is written.
fn crash_before_store(peer: &zkelect::Peer) -> Result<(), String> {
    let dir = peer
        .config()
        .data_dir
        .clone()
        .ok_or("--crash-before-store needs dataDir in the config")?;
    let file = zkelect::FileStore::new(&dir, peer.my_sid());
    let held = file.load().map_err(|e| e.to_string())?;
    peer.set_epoch_store(held, move |d| {
        if d.epoch > held.epoch {
            logging::emit(
                Level::Error,
                &format!(
                    "--crash-before-store: aborting before storing epoch {}",
                    d.epoch
                ),
            );
            std::process::abort();
        }
        file.save(d).map_err(|e| e.to_string())
    });
    Ok(())
}
