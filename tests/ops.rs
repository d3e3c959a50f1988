//! Operability: config checking (unknown keys, strict mode, refused quorum
//! TLS), the effective configuration at start, the warning of a peer that
//! cannot reach a quorum, timestamps and sids in log lines and JSON events,
//! the `log` facade, and the CLI's argument checks and help.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zkelect::logging::{self, Level};
use zkelect::Peer;

// ---- helpers ----

/// Serializes the tests that replace the process-wide log sink.
static LOGS: Mutex<()> = Mutex::new(());

/// The lines the library logs while the guard lives (at INFO and above).
struct Captured {
    lines: Arc<Mutex<Vec<(Level, String)>>>,
    _serial: MutexGuard<'static, ()>,
}

impl Captured {
    fn start() -> Captured {
        let serial = LOGS.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Arc<Mutex<Vec<(Level, String)>>> = Arc::default();
        let l = lines.clone();
        logging::set_level(Level::Info);
        logging::set_sink(Some(Arc::new(move |level, line: &str| {
            l.lock().unwrap().push((level, line.to_string()))
        })));
        Captured {
            lines,
            _serial: serial,
        }
    }

    /// Waits (within [`DEADLINE`]) for a line at `level` for which `pick`
    /// holds.
    fn wait_for(&self, level: Level, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|(l, s)| *l == level && pick(s))
                .map(|(_, s)| s.clone());
            if let Some(s) = found {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {DEADLINE:?}; logged: {:#?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        logging::set_sink(None);
        logging::set_level(Level::Warn);
    }
}

/// A directory of the test's own, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("zkelect-ops-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `s` starts with an ISO 8601 UTC time with milliseconds,
/// `2026-12-01T21:11:56.123Z`.
fn starts_with_utc_ms(s: &str) -> bool {
    let b = s.as_bytes();
    let pattern = b"dddd-dd-ddTdd:dd:dd.dddZ";
    b.len() >= pattern.len()
        && pattern.iter().zip(b).all(|(p, c)| match p {
            b'd' => c.is_ascii_digit(),
            _ => p == c,
        })
}

fn zkelect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(args)
        .output()
        .expect("run zkelect")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `zkelect run` on `cfg`, its stdout and stderr read line by line.
struct Run {
    child: std::process::Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
}

impl Run {
    fn start(cfg: &Path, args: &[&str]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkelect"))
            .args(["run", "--config"])
            .arg(cfg)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zkelect run");
        let lines = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        Run { child, out, err }
    }

    fn next(rx: &mpsc::Receiver<String>, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if pick(&l) => return l,
                Ok(l) => seen.push(l),
                Err(_) => panic!("no {what}; saw {seen:#?}"),
            }
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three voters on loopback of which only the ports are reserved: nothing
/// listens on sid 2's and 3's election ports.
fn three_unreachable(extra: &str) -> (String, Vec<u16>) {
    config(3, extra)
}

// ---- config checking, in the library ----

#[test]
fn an_unknown_key_is_logged_with_the_nearest_key_and_strict_mode_refuses_it() {
    let logs = Captured::start();
    let (cfg, _) = config(3, "tickTme=100\nmaxClientCnxns=10");
    let p = Peer::from_config_text(&cfg, Some(1)).unwrap();
    assert_eq!(p.config().tick_time_ms, 2000, "the typo is not read");
    let w = logs.wait_for(Level::Warn, "the unknown-key warning", |l| {
        l.contains("unknown key")
    });
    assert!(w.starts_with("[myid:1] ["), "{w}");
    assert!(
        w.ends_with("zoo.cfg line 4: unknown key tickTme; did you mean tickTime?"),
        "{w}"
    );
    let i = logs.wait_for(Level::Info, "the ignored keys", |l| l.contains("ignored"));
    assert!(
        i.ends_with(
            "zoo.cfg: ZooKeeper keys that zkelect does not use (ignored): maxClientCnxns (line 5)"
        ),
        "{i}"
    );

    let e = Peer::builder()
        .my_sid(1)
        .strict(true)
        .parse(&cfg)
        .err()
        .expect("strict mode refuses the unknown key");
    assert_eq!(
        e.to_string(),
        "zoo.cfg line 4 (tickTme): unknown key; did you mean tickTime? (strict mode makes \
         unknown keys errors)"
    );
    let e = Peer::from_config_text(&format!("strictConfig=true\n{cfg}"), Some(1))
        .err()
        .expect("strictConfig=true refuses the unknown key");
    assert!(e.to_string().starts_with("zoo.cfg line 5 (tickTme)"), "{e}");
}

#[test]
fn the_effective_configuration_is_logged_at_start() {
    let logs = Captured::start();
    let (cfg, ports) = three_unreachable("finalizeWait=50\nleadershipMode=lease");
    let p = Peer::from_config_text(&cfg, Some(1)).unwrap();
    p.start().unwrap();
    let line = logs.wait_for(Level::Info, "the effective configuration", |l| {
        l.contains("quorum TLS off")
    });
    p.stop();
    assert!(
        line.ends_with(&format!(
            "sid 1 (participant, election 127.0.0.1:{}): voters 1,2,3; observers none; \
             quorum: majority, 2 of 3 voters; tickTime=2000 ms initLimit=5 syncLimit=2 ticks; \
             finalizeWait=50 ms; leadershipMode=lease; followOnly=auto; quorum TLS off",
            ports[0]
        )),
        "{line}"
    );
}

#[test]
fn a_peer_that_cannot_reach_a_quorum_says_whom_it_misses() {
    let logs = Captured::start();
    let (cfg, ports) = three_unreachable("finalizeWait=50");
    let p = Peer::from_config_text(&cfg, Some(1)).unwrap();
    p.start().unwrap();
    let line = logs.wait_for(Level::Warn, "the stuck warning", |l| {
        l.contains("cannot reach")
    });
    // The first warning comes after a few notification timeouts, the next
    // one only 10 s later.
    let warnings = logs
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, l)| l.contains("cannot reach"))
        .count();
    p.stop();
    assert!(
        line.starts_with("[myid:1] [zkelect-election] sid 1: LOOKING for "),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            ": cannot reach voters 2 (127.0.0.1:{}), 3 (127.0.0.1:{}); reaches 1 of 3 voters \
             (itself included), which needs 2 of 3: 1 vote short of a quorum",
            ports[1], ports[2]
        )),
        "{line}"
    );
    assert_eq!(warnings, 1, "rate-limited");
}

#[test]
fn rust_hosts_get_the_lines_through_the_log_facade() {
    struct Recorder(Mutex<Vec<(log::Level, String, String)>>);
    impl log::Log for Recorder {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.target().starts_with("zkelect")
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                self.0.lock().unwrap().push((
                    r.level(),
                    r.target().to_string(),
                    r.args().to_string(),
                ));
            }
        }
        fn flush(&self) {}
    }
    static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

    let _serial = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    log::set_logger(&RECORDER).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Info);
    let (cfg, _) = three_unreachable("tickTme=1");
    let p = Peer::from_config_text(&cfg, Some(1)).unwrap();
    p.start().unwrap();
    let deadline = Instant::now() + DEADLINE;
    let found = |target: &str, needle: &str| {
        RECORDER
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, t, m)| t == target && m.contains(needle))
            .cloned()
    };
    let stuck = loop {
        if let Some(r) = found("zkelect::peer::stuck", "cannot reach") {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "{:#?}",
            RECORDER.0.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    p.stop();
    // Back to the default for the other tests: no logger takes lines.
    log::set_max_level(log::LevelFilter::Off);
    assert_eq!(stuck.0, log::Level::Warn);
    assert!(
        stuck.2.starts_with("[myid:1] sid 1: LOOKING for "),
        "{stuck:?}"
    );
    let typo = found("zkelect", "unknown key tickTme").expect("the config warning");
    assert_eq!(typo.0, log::Level::Warn);
    assert!(
        typo.2.ends_with("did you mean tickTime?") && typo.2.starts_with("[myid:1] "),
        "{typo:?}"
    );
    // INFO passes: the logger's filter decides, not zkelect's WARN default.
    assert!(found("zkelect", "quorum TLS off").is_some());
}

// ---- zkelect run ----

#[test]
fn run_stamps_events_and_log_lines_with_utc_time_and_sid() {
    let d = Dir::new("stamps");
    let ports = free_ports(2);
    let path = d.file(
        "zoo.cfg",
        &format!(
            "tickTime=100\ntickTme=100\nserver.1=127.0.0.1:{}:{}\n",
            ports[0], ports[1]
        ),
    );
    let r = Run::start(&path, &["--myid", "1", "--log-level", "info"]);
    let warn = Run::next(&r.err, "the warning", |l| l.contains("unknown key"));
    assert!(starts_with_utc_ms(&warn), "{warn}");
    assert_eq!(
        &warn[24..],
        format!(
            " [myid:1] - WARN  [main] - {} line 2: unknown key tickTme; did you mean tickTime?",
            path.display()
        ),
        "{warn}"
    );
    let info = Run::next(&r.err, "the effective configuration", |l| {
        l.contains("quorum TLS off")
    });
    assert!(starts_with_utc_ms(&info), "{info}");
    assert!(
        info[24..].starts_with(&format!(
            " [myid:1] - INFO  [main] - sid 1 (participant, election 127.0.0.1:{}): voters 1; \
             observers none; quorum: majority, 1 of 1 voters; tickTime=100 ms",
            ports[1]
        )),
        "{info}"
    );
    // Every event line opens with its time and keeps its fields.
    let before = std::time::SystemTime::now();
    for kind in ["state", "elected", "leading"] {
        let line = Run::next(&r.out, kind, |l| {
            l.contains(&format!("\"event\":\"{kind}\""))
        });
        assert!(line.starts_with("{\"ts\":\""), "{line}");
        assert!(starts_with_utc_ms(&line[7..]), "{line}");
        assert_eq!(&line[31..33], "\",", "{line}");
        assert!(line.contains("\"sid\":1"), "{line}");
        if kind == "state" {
            assert!(
                line.ends_with(
                    r#","event":"state","sid":1,"state":"LEADING","old":"LOOKING","follow_only":false,"real_members":false}"#
                ),
                "the first state event is the decision, no LOOKING -> LOOKING: {line}"
            );
        }
    }
    // The stamp is UTC now: the same day as this machine's UTC clock says.
    let today = zkelect::logging::utc_timestamp(before);
    assert_eq!(&warn[..10], &today[..10]);
}

#[test]
fn run_refuses_bad_configs_naming_the_real_file_and_line() {
    let d = Dir::new("refuse");
    let ports = free_ports(2);
    let server = format!("server.1=127.0.0.1:{}:{}\n", ports[0], ports[1]);
    let path = d.file("typo.cfg", &format!("tickTime=100\ntickTme=100\n{server}"));
    let cfg = path.to_str().unwrap();

    let o = zkelect(&["run", "--config", cfg, "--myid", "1", "--strict"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "zkelect: {cfg} line 2 (tickTme): unknown key; did you mean tickTime? (strict \
             mode makes unknown keys errors)"
        )
    );
    assert!(o.stdout.is_empty());

    let path = d.file(
        "strict.cfg",
        &format!("strictConfig=true\nsever.1=x\n{server}"),
    );
    let o = zkelect(&["run", "--config", path.to_str().unwrap(), "--myid", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!(
            "{} line 2 (sever.1): unknown key; did you mean server.1? (strictConfig=true",
            path.display()
        )),
        "{}",
        stderr(&o)
    );

    let path = d.file("tls.cfg", &format!("{server}sslQuorum=true\n"));
    let o = zkelect(&["run", "--config", path.to_str().unwrap(), "--myid", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!(
            "{} (ssl.quorum.keyStore.location): is missing, but sslQuorum=true needs a PEM file",
            path.display()
        )),
        "{}",
        stderr(&o)
    );

    let data = d.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let path = d.file("myid.cfg", &format!("dataDir={}\n{server}", data.display()));
    let o = zkelect(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!(
            "zkelect: {} (dataDir): cannot read the myid file {}",
            path.display(),
            data.join("myid").display()
        )),
        "{}",
        stderr(&o)
    );
}

// ---- the CLI's arguments and help ----

#[test]
fn demo_arguments_are_checked() {
    for (args, needle) in [
        (
            &["demo", "--rounds", "0"][..],
            "--rounds must be at least 1",
        ),
        (
            &["demo", "--rounds", "x"][..],
            "invalid value 'x' for --rounds",
        ),
        (
            &["demo", "--tick", "0"][..],
            "--tick must be between 1 and 60000 ms",
        ),
        (
            &["demo", "--peers", "0"][..],
            "--peers must be between 1 and 51",
        ),
        (
            &["demo", "--zk-defaults", "--tick", "100"][..],
            "give either it or --tick",
        ),
        (&["demo", "--failovers", "-1"][..], "invalid value '-1'"),
        (&["demo", "extra"][..], "unexpected argument 'extra'"),
        (&["demo", "--nope"][..], "unknown option --nope"),
        (&["run", "--config"][..], "option --config needs a value"),
        (&["run"][..], "--config is required"),
        (&["bench", "--runs", "0"][..], "--runs must be at least 1"),
        (&["bench", "--only", "fast"][..], "unknown scenario 'fast'"),
    ] {
        let o = zkelect(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn demo_runs_both_the_rounds_and_the_failovers_asked_for() {
    let o = zkelect(&[
        "demo",
        "--peers",
        "3",
        "--finalize-wait",
        "0",
        "--rounds",
        "3",
        "--failovers",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("3 rounds: min "), "{out}");
    assert!(
        out.contains("3 fail-overs of 3 peers at tickTime=200 ms: min "),
        "{out}"
    );
}

#[test]
fn every_command_has_complete_help() {
    let o = zkelect(&["--help"]);
    assert!(o.status.success());
    let top = stdout(&o);
    for needle in [
        "--strict",
        "--tick MS",
        "--zk-defaults",
        "--failovers K",
        "--rounds R",
        "zkelect probe",
        "zkelect bench",
    ] {
        assert!(
            top.contains(needle),
            "zkelect --help lacks {needle}:\n{top}"
        );
    }
    for (cmd, needles) in [
        (
            "run",
            &["--strict", "--report-lease", "--log-level", "\"ts\""][..],
        ),
        (
            "demo",
            &["--tick MS", "--zk-defaults", "--failovers K", "--rounds R"][..],
        ),
        ("probe", &["--timeout"][..]),
        ("bench", &["--quick"][..]),
    ] {
        let o = zkelect(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd} --help");
        let h = stdout(&o);
        for n in needles {
            assert!(h.contains(n), "zkelect {cmd} --help lacks {n}:\n{h}");
        }
    }
}
