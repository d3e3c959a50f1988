//! Issue 19, points 4 to 6, against `zkelect run` processes on loopback:
//! the four-letter words on the client port (as `echo CMD | nc` sees
//! them), the Prometheus page, `zkelect status` and `zkelect probe`, and the
//! statistics behind them ([`zkelect::Peer::stats`]). The comparison with a
//! real ZooKeeper 3.8 server's answers is in tests/status.rs.

#[path = "support/admin.rs"]
mod admin;
mod common;

use admin::*;
use common::run::{next_line, spawn_to, unique_ports, Proc};
use common::DEADLINE;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkelect::admin::fourlw::{Whitelist, NOT_SERVING};
use zkelect::config::Config;

/// A short wait for one answer.
const ANSWER: Duration = Duration::from_secs(10);

/// `zkelect run` with its stderr (the log, at DEBUG) in `log`.
fn spawn_logged(cfg: &Path, sid: i64, log: &Path) -> Proc {
    let err = std::fs::File::create(log).unwrap();
    spawn_to(cfg, sid, &["--log-level", "debug"], err.into())
}

/// Polls `f` until it returns a value, failing at [`DEADLINE`].
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Ensemble {
    dir: PathBuf,
    election: Vec<u16>,
    quorum: Vec<u16>,
    client: Vec<u16>,
    metrics: Vec<u16>,
}

impl Ensemble {
    /// Three servers whose server.N lines carry their client address, and
    /// one config file per sid (its own metrics port).
    fn new(name: &str, extra: &str) -> Ensemble {
        let p = unique_ports(12);
        let dir = std::env::temp_dir().join(format!("zkelect-admin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let e = Ensemble {
            dir,
            quorum: p[0..3].to_vec(),
            election: p[3..6].to_vec(),
            client: p[6..9].to_vec(),
            metrics: p[9..12].to_vec(),
        };
        for sid in 1..=3usize {
            // 2 s of silence before a follower gives its leader up, so that
            // a loaded machine does not re-elect in the middle of the test;
            // a shared dataDir, so that no start waits out a quarantine.
            let mut cfg = format!(
                "tickTime=100\ninitLimit=20\nsyncLimit=20\nfinalizeWait=50\ndataDir={}\n{extra}\n\
                 metricsProvider.httpPort={}\nmetricsProvider.httpHost=127.0.0.1\n",
                e.dir.display(),
                e.metrics[sid - 1]
            );
            for s in 0..3 {
                cfg.push_str(&format!(
                    "server.{}=127.0.0.1:{}:{};127.0.0.1:{}\n",
                    s + 1,
                    e.quorum[s],
                    e.election[s],
                    e.client[s]
                ));
            }
            std::fs::write(e.cfg(sid as i64), cfg).unwrap();
        }
        e
    }

    fn cfg(&self, sid: i64) -> PathBuf {
        self.dir.join(format!("zoo{sid}.cfg"))
    }

    fn log(&self, sid: i64) -> PathBuf {
        self.dir.join(format!("sid{sid}.log"))
    }

    fn client(&self, sid: i64) -> u16 {
        self.client[sid as usize - 1]
    }

    fn metrics(&self, sid: i64) -> u16 {
        self.metrics[sid as usize - 1]
    }

    fn mntr(&self, sid: i64) -> std::collections::BTreeMap<String, String> {
        parse_mntr(&nc(self.client(sid), "mntr", ANSWER).expect("mntr answered"))
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn confirmed_line(l: &str) -> bool {
    l.contains("\"event\":\"leading\"") || l.contains("\"event\":\"following\"")
}

#[test]
fn four_letter_words_metrics_status_and_probe_of_a_zkelect_ensemble() {
    let ens = Ensemble::new("all", "4lw.commands.whitelist=*");
    // Sids 1 and 3 first: only {1, 3} make a quorum then, so 3 leads
    // whenever the votes arrive; then 2 joins it. (All three at once may
    // elect 2 when 3's vote comes after finalizeWait.)
    let mut procs: Vec<Proc> = [1, 3]
        .into_iter()
        .map(|sid| spawn_logged(&ens.cfg(sid), sid, &ens.log(sid)))
        .collect();
    for p in &procs {
        next_line(p, "confirmed leadership", confirmed_line);
    }
    procs.insert(1, spawn_logged(&ens.cfg(2), 2, &ens.log(2)));
    next_line(&procs[1], "confirmed leadership", confirmed_line);

    // Four-letter words, as `echo CMD | nc` sees them.
    for sid in 1..=3i64 {
        assert_eq!(nc(ens.client(sid), "ruok", ANSWER).as_deref(), Some("imok"));
        let m = ens.mntr(sid);
        let want = if sid == 3 { "leader" } else { "follower" };
        assert_eq!(m["zk_server_state"], want, "{m:?}");
        let phase = if sid == 3 {
            "leading - broadcast"
        } else {
            "following - broadcast"
        };
        assert_eq!(m["zk_peer_state"], phase);
        assert!(m["zk_version"].starts_with("3.8.0-zkelect-"), "{m:?}");
        assert_eq!(m["zk_quorum_size"], "3");
        assert!(m["zk_looking_count"].parse::<u64>().unwrap() >= 1);
        assert!(m["zk_cnt_election_time"].parse::<u64>().unwrap() >= 1);
        assert!(m["zk_avg_election_time"].parse::<f64>().is_ok());
        assert!(m["zk_uptime"].parse::<u64>().unwrap() > 0);
        assert!(m["zk_open_file_descriptor_count"].parse::<u64>().unwrap() > 0);
        assert_eq!(m["zkelect_leader"], "3");
        assert_eq!(m["zkelect_confirmed"], "true");
        assert!(m["zkelect_epoch"].parse::<i64>().unwrap() >= 1);
        assert_eq!(m["zkelect_connected_peers"], "2");
        // A pure zkelect ensemble: nobody votes follow-only.
        assert_eq!(m["zkelect_follow_only"], "0", "{m:?}");
        assert_eq!(m["zkelect_real_members"], "0", "{m:?}");
        assert_eq!(m.contains_key("zk_leader_uptime"), sid == 3);

        let (s, _) = parse_srvr(&nc(ens.client(sid), "srvr", ANSWER).unwrap());
        assert_eq!(s["Mode"], want, "{s:?}");
        assert_eq!(s["Leader"], "3");
        assert_eq!(s["Confirmed"], "true");
        assert_eq!(s["Follow only"], "false", "{s:?}");
        assert_eq!(s["Real members"], "false", "{s:?}");
        assert_eq!(s["Epoch"], m["zkelect_epoch"]);
        assert!(s["Zxid"].starts_with("0x"));
        assert_eq!(s.contains_key("Proposal sizes last/min/max"), sid == 3);
        let (st, clients) = parse_srvr(&nc(ens.client(sid), "stat", ANSWER).unwrap());
        assert_eq!(st["Mode"], want);
        assert_eq!(clients.len(), 1, "stat lists the asking connection");
        assert!(clients[0].starts_with(" /127.0.0.1:"), "{clients:?}");

        let (c, members) = parse_conf(&nc(ens.client(sid), "conf", ANSWER).unwrap());
        assert_eq!(c["serverId"], sid.to_string());
        assert_eq!(c["tickTime"], "100");
        assert_eq!(
            c["electionPort"],
            ens.election[sid as usize - 1].to_string()
        );
        assert_eq!(c["quorumPort"], ens.quorum[sid as usize - 1].to_string());
        assert_eq!(c["peerType"], "0");
        let cfg = Config::load(&ens.cfg(sid)).unwrap();
        let rendered: Vec<String> = cfg.render_dynamic().lines().map(String::from).collect();
        assert_eq!(members, rendered);

        // Known but without data here, and unknown: ZooKeeper's answers.
        assert_eq!(
            nc(ens.client(sid), "dump", ANSWER).as_deref(),
            Some(format!("{NOT_SERVING}\n").as_str())
        );
        assert_eq!(nc(ens.client(sid), "xyzw", ANSWER).as_deref(), Some(""));
        assert_eq!(
            nc(ens.client(sid), "GET / HTTP/1.0\r\n", ANSWER).as_deref(),
            Some("")
        );
    }

    // The metrics page, parsed strictly.
    for sid in 1..=3i64 {
        let (code, headers, body) = http_get(ens.metrics(sid), "/metrics", ANSWER);
        assert_eq!(code, 200);
        assert!(headers["content-type"].starts_with("text/plain; version=0.0.4"));
        let page = parse_prometheus(&body);
        assert_eq!(page.types["election_time"], "summary");
        assert_eq!(page.types["looking_count"], "counter");
        assert!(page.value("election_time_count", &[]).unwrap() >= 1.0);
        assert!(page.value("election_time_sum", &[]).is_some());
        assert!(page.value("looking_count", &[]).unwrap() >= 1.0);
        assert_eq!(page.value("quorum_size", &[]), Some(3.0));
        let leading = if sid == 3 { 1.0 } else { 0.0 };
        assert_eq!(
            page.value("zkelect_state", &[("state", "LEADING")]),
            Some(leading)
        );
        assert_eq!(page.value("zkelect_leader", &[]), Some(3.0));
        assert_eq!(page.value("zkelect_confirmed", &[]), Some(1.0));
        assert_eq!(page.value("zkelect_follow_only", &[]), Some(0.0));
        assert_eq!(page.value("zkelect_real_members", &[]), Some(0.0));
        assert!(page.value("zkelect_epoch", &[]).unwrap() >= 1.0);
        assert!(page.value("zkelect_leadership_changes_total", &[]).unwrap() >= 1.0);
        assert!(page.value("zkelect_frames_received_total", &[]).unwrap() >= 1.0);
        for name in [
            "zkelect_connection_errors_total",
            "zkelect_frames_dropped_total",
        ] {
            assert_eq!(page.types[name], "counter");
            assert!(page.value(name, &[]).is_some());
        }
        assert_eq!(page.value("leader_uptime", &[]).is_some(), sid == 3);
        let (code, _, _) = http_get(ens.metrics(sid), "/other", ANSWER);
        assert_eq!(code, 404);
    }

    // status: the table, the verdict and the JSON.
    let cfg1 = ens.cfg(1);
    let cfg1 = cfg1.to_str().unwrap();
    let (rc, out, err) = run_cli(&["status", "--config", cfg1]);
    assert_eq!(rc, 0, "{out}{err}");
    let epoch = ens.mntr(3)["zkelect_epoch"].clone();
    let verdict = out.lines().last().unwrap();
    assert_eq!(
        verdict,
        format!("leader 3, epoch {epoch}, 3/3 reachable, quorum 2"),
        "{out}"
    );
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "SID",
            "ADDRESS",
            "REACHABLE",
            "STATE",
            "LEADER",
            "ROUND",
            "EPOCH",
            "CONFIRMED",
            "FOLLOW-ONLY",
            "REAL-MEMBERS"
        ]
    );
    for (i, line) in out.lines().skip(1).take(3).enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let state = if i == 2 { "LEADING" } else { "FOLLOWING" };
        assert_eq!(cells[0], (i + 1).to_string(), "{out}");
        assert_eq!(cells[1], format!("127.0.0.1:{}", ens.election[i]));
        assert_eq!(&cells[2..5], ["yes", state, "3"], "{out}");
        assert_eq!(cells[6], epoch, "{out}");
        assert_eq!(cells[7], "yes", "{out}");
        assert_eq!(&cells[8..], ["no", "no"], "{out}");
    }
    let (rc, json, _) = run_cli(&["status", "--config", cfg1, "--json"]);
    assert_eq!(rc, 0);
    assert!(json.contains("\"leader\":3,\"epoch\":"), "{json}");
    assert!(
        json.contains("\"reachable\":3,\"total\":3,\"quorum\":2,"),
        "{json}"
    );
    assert_eq!(json.matches("\"confirmed\":true").count(), 3, "{json}");
    assert_eq!(
        json.matches("\"follow_only\":false,\"real_members\":false")
            .count(),
        3,
        "{json}"
    );

    // probe: a decided server's leader; the quorum port's hint; and the
    // probed peer only logs the probe, at DEBUG.
    let (rc, out, _) = run_cli(&["probe", &format!("127.0.0.1:{}", ens.election[0])]);
    assert_eq!(rc, 0);
    assert!(out.contains("\"leader\":3"), "{out}");
    let (rc, _, err) = run_cli(&["probe", &format!("127.0.0.1:{}", ens.quorum[0])]);
    assert_ne!(rc, 0);
    assert!(
        err.contains("hint:") && err.contains("election port"),
        "{err}"
    );
    let log = wait_for("the probe in sid 1's log", || {
        let log = std::fs::read_to_string(ens.log(1)).ok()?;
        log.contains("not in the configuration (a probe?), disconnected")
            .then_some(log)
    });
    for line in log.lines().filter(|l| l.contains("a probe?")) {
        assert!(line.contains("DEBUG"), "{line}");
    }
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") || l.contains("ERROR")),
        "{log}"
    );
    let p1 = &procs[0];
    while let Ok(line) = p1.lines.try_recv() {
        assert!(
            !line.contains("9223372036854775806"),
            "the probe is no peer event: {line}"
        );
    }

    // Without a quorum: LOOKING shows as such everywhere, and status fails.
    for p in procs.drain(1..) {
        drop(p); // kill -9
    }
    let m = wait_for("sid 1 LOOKING in mntr, its peers refused", || {
        let m = ens.mntr(1);
        let n = |k: &str| m[k].parse::<u64>().unwrap();
        (m["zk_server_state"] == "looking"
            && n("zk_looking_count") >= 2
            && n("zkelect_connection_errors") >= 1)
            .then_some(m)
    });
    assert_eq!(m["zk_peer_state"], "looking - election");
    assert_eq!(m["zkelect_confirmed"], "false");
    assert_eq!(m["zkelect_leader"], "-1");
    assert_eq!(
        nc(ens.client(1), "srvr", ANSWER).as_deref(),
        Some(format!("{NOT_SERVING}\n").as_str())
    );
    let (rc, out, _) = run_cli(&["probe", &format!("127.0.0.1:{}", ens.election[0])]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("\"state\":\"LOOKING\",\"proposal\":") && !out.contains("\"leader\""),
        "{out}"
    );
    let (rc, out, _) = run_cli(&["status", "--config", cfg1, "--timeout", "1000"]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("proposes "), "{out}");
    assert_eq!(
        out.lines().last().unwrap(),
        "no agreed leader: 1/3 reachable, quorum 2"
    );
    let page = parse_prometheus(&http_get(ens.metrics(1), "/metrics", ANSWER).2);
    assert_eq!(
        page.value("zkelect_state", &[("state", "LOOKING")]),
        Some(1.0)
    );

    // A clean stop closes the admin ports too.
    let mut p1 = procs.pop().unwrap();
    common::run::signal(&p1, "-TERM");
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(s) = p1.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "sid 1 did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", ens.client(1))).is_err());
    assert!(std::net::TcpStream::connect(("127.0.0.1", ens.metrics(1))).is_err());
}

/// Sid 3, which would win on the sid, runs with `followOnly=true` in its
/// own zoo.cfg: sid 2 leads, and every surface of sid 3 (its `state` and
/// `elected` lines, `srvr`, `mntr`, `/metrics`, `zkelect status`) says it
/// votes follow-only and knows of no real ZooKeeper server; the others say
/// they do not vote follow-only.
#[test]
fn follow_only_shows_on_every_admin_surface() {
    let ens = Ensemble::new("fo", "4lw.commands.whitelist=*");
    let cfg3 = std::fs::read_to_string(ens.cfg(3)).unwrap();
    std::fs::write(ens.cfg(3), format!("followOnly=true\n{cfg3}")).unwrap();
    // Sids 2 and 3 first: the follow-only 3 adopts 2's vote, so 2 leads
    // whenever the votes arrive; then 1 joins it.
    let mut procs: Vec<Proc> = [2, 3]
        .into_iter()
        .map(|sid| spawn_logged(&ens.cfg(sid), sid, &ens.log(sid)))
        .collect();
    let check = |p: &Proc| {
        let elected = next_line(p, "an elected line", |l| {
            l.contains("\"event\":\"elected\"")
        });
        assert!(elected.contains("\"leader\":2"), "{elected}");
        let mixed = format!(",\"follow_only\":{},\"real_members\":false}}", p.sid == 3);
        assert!(elected.ends_with(&mixed), "{elected}");
        next_line(p, "confirmed leadership", confirmed_line);
    };
    procs.iter().for_each(check);
    procs.push(spawn_logged(&ens.cfg(1), 1, &ens.log(1)));
    check(&procs[2]);
    for sid in 1..=3i64 {
        let fo = sid == 3;
        let m = ens.mntr(sid);
        assert_eq!(m["zkelect_leader"], "2", "{m:?}");
        assert_eq!(
            m["zkelect_follow_only"],
            if fo { "1" } else { "0" },
            "{m:?}"
        );
        assert_eq!(m["zkelect_real_members"], "0", "{m:?}");
        let (s, _) = parse_srvr(&nc(ens.client(sid), "srvr", ANSWER).unwrap());
        assert_eq!(s["Follow only"], fo.to_string(), "{s:?}");
        assert_eq!(s["Real members"], "false", "{s:?}");
        let page = parse_prometheus(&http_get(ens.metrics(sid), "/metrics", ANSWER).2);
        assert_eq!(page.types["zkelect_follow_only"], "gauge");
        assert_eq!(
            page.value("zkelect_follow_only", &[]),
            Some(if fo { 1.0 } else { 0.0 })
        );
        assert_eq!(page.value("zkelect_real_members", &[]), Some(0.0));
    }
    let cfg1 = ens.cfg(1);
    let (rc, out, err) = run_cli(&["status", "--config", cfg1.to_str().unwrap()]);
    assert_eq!(rc, 0, "{out}{err}");
    for (i, line) in out.lines().skip(1).take(3).enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let fo = if i == 2 { "yes" } else { "no" };
        assert_eq!(&cells[8..], [fo, "no"], "{out}");
    }
    let (rc, json, _) = run_cli(&["status", "--config", cfg1.to_str().unwrap(), "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(json.matches("\"follow_only\":true,").count(), 1, "{json}");
    assert_eq!(json.matches("\"follow_only\":false,").count(), 2, "{json}");
    assert_eq!(json.matches("\"real_members\":false").count(), 3, "{json}");
    drop(procs);
}

/// ZooKeeper 3.8's default whitelist is `srvr` alone; the others get its
/// refusal (the text a real 3.8.0 server sends, see tests/status.rs).
#[test]
fn default_whitelist_is_srvr_only() {
    let ens = Ensemble::new("wl", "");
    let procs: Vec<Proc> = (1..=3)
        .map(|sid| spawn_logged(&ens.cfg(sid), sid, &ens.log(sid)))
        .collect();
    for p in &procs {
        next_line(p, "confirmed leadership", confirmed_line);
    }
    for cmd in ["ruok", "stat", "mntr", "conf", "dump"] {
        assert_eq!(
            nc(ens.client(1), cmd, ANSWER).unwrap(),
            format!("{cmd} is not executed because it is not in the whitelist.\n")
        );
    }
    let (s, _) = parse_srvr(&nc(ens.client(1), "srvr", ANSWER).unwrap());
    assert_eq!(s["Mode"], "follower");

    let wl = Whitelist::parse(Some(" ruok , mntr,"));
    assert!(wl.allows("ruok") && wl.allows("mntr") && wl.allows("srvr"));
    assert!(!wl.allows("conf") && !wl.allows("stat"));
    let all = Whitelist::parse(Some("*"));
    assert!(all.allows("conf") && all.allows("wchs") && !all.allows("xyzw"));
    assert!(!Whitelist::parse(None).allows("ruok"));
}

#[test]
fn config_keys_of_the_admin_ports() {
    let servers = "server.1=127.0.0.1:2888:3888\n";
    let c = Config::parse(&format!(
        "clientPort=2181\nclientPortAddress=127.0.0.2\n4lw.commands.whitelist=ruok, srvr\n\
         metricsProvider.httpPort=7001\nmetricsProvider.httpHost=127.0.0.3\n{servers}"
    ))
    .unwrap();
    assert_eq!(c.client_port, Some(2181));
    assert_eq!(c.client_port_address.as_deref(), Some("127.0.0.2"));
    assert_eq!(c.four_letter_whitelist.as_deref(), Some("ruok, srvr"));
    assert_eq!(c.metrics_port, Some(7001));
    assert_eq!(c.metrics_host.as_deref(), Some("127.0.0.3"));
    // ZooKeeper's provider class alone means its default port.
    let c = Config::parse(&format!(
        "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n{servers}"
    ))
    .unwrap();
    assert_eq!(c.metrics_port, Some(7000));
    let c = Config::parse(servers).unwrap();
    assert_eq!((c.metrics_port, c.four_letter_whitelist), (None, None));
    let e = Config::parse(&format!("metricsProvider.httpPort=70000\n{servers}")).unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    assert!(e.to_string().contains("outside 1..65535"), "{e}");
}

/// The statistics through the library API: three peers in one process.
#[test]
fn peer_stats_count_elections_and_connections() {
    let (cfg, _) = common::config(3, "tickTime=100\nfinalizeWait=50");
    let ps = common::peers(&cfg, 1..=3);
    assert_eq!(ps[0].stats().looking_count, 0);
    // 1 and 3 first, so that 3 must lead (see above); then 2.
    ps[0].start().unwrap();
    ps[2].start().unwrap();
    ps[0]
        .wait_for_confirmed(DEADLINE)
        .expect("1 and 3 confirm a leader");
    ps[1].start().unwrap();
    for p in &ps {
        p.wait_for_confirmed(DEADLINE)
            .expect("a confirmed leadership");
    }
    let s = wait_for("sid 1 connected to both", || {
        let s = ps[0].stats();
        (s.connected_peers == [2, 3]).then_some(s)
    });
    assert!(s.running && s.uptime > Duration::ZERO);
    // (A loaded machine may have re-elected once more meanwhile.)
    assert!(s.looking_count >= 1 && s.elections >= 1, "{s:?}");
    assert!(s.elections <= s.looking_count, "{s:?}");
    assert!(s.last_election_time.is_some());
    assert!(s.min_election_time <= s.last_election_time);
    assert!(s.max_election_time >= s.last_election_time);
    assert!(s.leadership_changes >= 1);
    assert_eq!(s.confirmed.map(|c| c.leader), Some(3));
    assert!(s.confirmed_for.is_some());
    assert!(s.frames_received > 0 && s.frames_sent > 0);
    assert!(s.round >= 1);
    // A restart starts LOOKING again, and the counters go on.
    ps[0].stop();
    let stopped = ps[0].stats();
    assert!(!stopped.running && stopped.uptime == Duration::ZERO);
    assert!(stopped.connected_peers.is_empty());
    ps[0].start().unwrap();
    ps[0].wait_for_confirmed(DEADLINE).unwrap();
    let s2 = ps[0].stats();
    assert!(s2.looking_count > s.looking_count, "{s2:?}");
    assert!(s2.elections > s.elections, "{s2:?}");
    assert!(s2.frames_received > s.frames_received);
    for p in &ps {
        p.stop();
    }
}

/// The names of this process's threads (as the kernel keeps them: 15 bytes).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

/// The admin servers in a host process: stop() ends their thread and
/// closes their port at once, even while a client that sends nothing holds
/// the connection being served.
#[test]
fn admin_servers_stop_at_once_and_leave_nothing() {
    use zkelect::admin::{fourlw, metrics, AdminServer, READ_DEADLINE};
    let (cfg, _) = common::config(1, "4lw.commands.whitelist=*");
    let peer = std::sync::Arc::new(zkelect::Peer::from_config_text(&cfg, Some(1)).unwrap());
    let wl = Whitelist::parse(peer.config().four_letter_whitelist.as_deref());
    let mut four =
        AdminServer::start("4lw", "127.0.0.1", 0, fourlw::handler(peer.clone(), wl)).unwrap();
    let mut page =
        AdminServer::start("metrics", "127.0.0.1", 0, metrics::handler(peer.clone())).unwrap();
    let (fp, mp) = (four.local_addr().port(), page.local_addr().port());
    // A stopped peer still answers: LOOKING, nothing counted.
    assert_eq!(nc(fp, "ruok", ANSWER).as_deref(), Some("imok"));
    assert_eq!(
        parse_mntr(&nc(fp, "mntr", ANSWER).unwrap())["zk_looking_count"],
        "0"
    );
    assert_eq!(http_get(mp, "/metrics", ANSWER).0, 200);
    let names = thread_names();
    assert!(names.iter().any(|n| n == "zkelect-admin-4"), "{names:?}");
    // A silent client holds each server's only connection.
    let silent4 = std::net::TcpStream::connect(("127.0.0.1", fp)).unwrap();
    let silentm = std::net::TcpStream::connect(("127.0.0.1", mp)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let t = Instant::now();
    four.stop();
    page.stop();
    let took = t.elapsed();
    eprintln!("both admin servers stopped in {took:?} with a silent client each");
    assert!(
        took < READ_DEADLINE,
        "stop waited for the silent clients: {took:?}"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", fp)).is_err());
    assert!(std::net::TcpStream::connect(("127.0.0.1", mp)).is_err());
    let names = thread_names();
    assert!(
        !names.iter().any(|n| n.starts_with("zkelect-admin")),
        "{names:?}"
    );
    drop((silent4, silentm));
    four.stop(); // idempotent
}
