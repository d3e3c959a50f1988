//! A harness for real ZooKeeper 3.8 servers (Debian's `zookeeper` package)
//! next to zkelect peers: per-test directories, configs, loopback ports,
//! JVM processes in their own process groups, and readers for the facts the
//! servers' logs report (state changes, decisions, received votes, errors).
//!
//! Everything a test starts is killed, and its directory removed, when the
//! [`Ensemble`] is dropped, also when the test panics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zkelect::{Peer, Sid};

pub use crate::common::ports::free_port;

/// The class path of a real server: ZooKeeper itself, plus the slf4j binding
/// and log4j, without which a Debian ZooKeeper logs nothing at all.
pub const JARS: [&str; 3] = [
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];

/// The longest any single wait may take before the test fails. Generous:
/// a JVM needs 0.5 to 2 s to start on 2 idle cores (4 s seen under load),
/// and an election well under 1 s.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How often logs and states are polled while waiting.
const POLL: Duration = Duration::from_millis(50);

/// The tests of the interop binary share two cores with several JVMs each,
/// so they run one at a time: parallel JVM start-ups only make each other
/// slow, and timings inside an election would then be far from real.
static SERIAL: Mutex<()> = Mutex::new(());

/// Whether this run is a CI run, where a missing ZooKeeper is a failure.
fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// Whether the jars and a `java` are there.
fn zookeeper_installed() -> Result<(), String> {
    for jar in JARS {
        if !Path::new(jar).is_file() {
            return Err(format!("{jar} is missing"));
        }
    }
    match Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`java -version` failed: {s}")),
        Err(e) => Err(format!("cannot run java: {e}")),
    }
}

/// Held by a running interop test: keeps the others waiting, and reports
/// the test's wall time when dropped.
pub struct Serial {
    _guard: MutexGuard<'static, ()>,
    start: Instant,
}

impl Drop for Serial {
    fn drop(&mut self) {
        let name = std::thread::current()
            .name()
            .unwrap_or("interop test")
            .to_string();
        eprintln!("{name}: {:.1} s", self.start.elapsed().as_secs_f64());
    }
}

/// The start of every interop test. `None` on a developer machine without
/// ZooKeeper (the test then returns early, after a plain message); a panic
/// when that happens in CI. Otherwise a guard that keeps the other interop
/// tests waiting; declare it first so that it is dropped last.
pub fn begin() -> Option<Serial> {
    if let Err(why) = zookeeper_installed() {
        if in_ci() {
            panic!(
                "Debian package zookeeper not installed ({why}): apt-get install zookeeper \
                 (CI is set, so this is a failure)"
            );
        }
        println!("Debian package zookeeper not installed: apt-get install zookeeper ({why})");
        return None;
    }
    if let Ok(level) = std::env::var("ZKELECT_INTEROP_LOG") {
        use zkelect::logging::{set_level, set_sink, Level};
        set_level(match level.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "error" => Level::Error,
            _ => Level::Warn,
        });
        // UTC times, to line zkelect's lines up with the servers' logs.
        set_sink(Some(std::sync::Arc::new(|level: Level, line: &str| {
            eprintln!("{} zkelect {}: {line}", utc_now(), level.name());
        })));
    }
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    Some(Serial {
        _guard: guard,
        start: Instant::now(),
    })
}

/// The time of day in UTC, as the servers log it (`HH:MM:SS,mmm`).
pub fn utc_now() -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let s = t.as_secs() % 86400;
    format!(
        "{:02}:{:02}:{:02},{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        t.subsec_millis()
    )
}

/// Polls `f` every 50 ms until it returns a value; panics with `what` at
/// the deadline.
pub fn wait_for<T>(what: impl fmt::Display, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {DEADLINE:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

// ---------------------------------------------------------------- logs

/// One log4j record: a header line and any continuation lines (stack
/// traces).
#[derive(Debug, Clone)]
pub struct Record {
    /// `2026-01-01 12:00:00,123`, UTC.
    pub time: String,
    /// INFO, WARN, ...
    pub level: String,
    /// The thread name.
    pub thread: String,
    /// The message of the first line.
    pub msg: String,
    /// Lines after the first.
    pub more: Vec<String>,
}

impl Record {
    fn parse(line: &str) -> Option<Record> {
        let b = line.as_bytes();
        let is_header = b.len() > 24
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b' '
            && b[13] == b':'
            && b[19] == b','
            && b[0].is_ascii_digit();
        if !is_header {
            return None;
        }
        let time = line[..23].to_string();
        let rest = &line[23..];
        // " [myid:1] INFO  [thread:Class@line] - message"
        let after_myid = &rest[rest.find("] ")? + 2..];
        let (level, after_level) = after_myid.split_once(' ')?;
        let after_level = after_level.trim_start();
        let bracket = after_level.strip_prefix('[')?;
        let end = bracket.find("] - ")?;
        let where_ = &bracket[..end];
        // "thread:Class@line": class names hold no ':', thread names may.
        let thread = where_.rsplit_once(':').map_or(where_, |(t, _)| t);
        Some(Record {
            time,
            level: level.to_string(),
            thread: thread.to_string(),
            msg: bracket[end + 4..].to_string(),
            more: Vec::new(),
        })
    }

    /// The whole record as it was logged.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} {} [{}] - {}",
            self.time, self.level, self.thread, self.msg
        );
        for l in &self.more {
            s.push('\n');
            s.push_str(l);
        }
        s
    }
}

/// Reads one log file as it grows.
struct LogReader {
    path: PathBuf,
    offset: u64,
    partial: String,
    records: Vec<Record>,
}

impl LogReader {
    fn new(path: PathBuf) -> LogReader {
        LogReader {
            path,
            offset: 0,
            partial: String::new(),
            records: Vec::new(),
        }
    }

    fn refresh(&mut self) {
        let Ok(mut f) = fs::File::open(&self.path) else {
            return;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return;
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        // Only whole lines; the tail waits for its newline.
        let Some(last_nl) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=last_nl).collect();
        for line in complete.lines() {
            match Record::parse(line) {
                Some(r) => self.records.push(r),
                None => {
                    if let Some(r) = self.records.last_mut() {
                        r.more.push(line.to_string());
                    }
                }
            }
        }
    }
}

/// A decision as a real server logged it: `About to leave FLE instance:
/// leader=N, ...` (the only line naming the leader, at DEBUG) followed by
/// `FOLLOWING|LEADING|OBSERVING - LEADER ELECTION TOOK - N MS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The elected leader.
    pub leader: Sid,
    /// The leader's zxid as the election saw it.
    pub zxid: i64,
    /// FOLLOWING, LEADING or OBSERVING.
    pub state: String,
    /// The `ELECTION TOOK` figure.
    pub took_ms: u64,
    /// Index of the `TOOK` record in its run's log.
    pub at: usize,
}

/// A received vote, from a `Notification: my state:...; n.sid:...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notif {
    /// The receiver's state.
    pub my_state: String,
    /// The sender.
    pub sid: Sid,
    /// The sender's state.
    pub state: String,
    /// Proposed or elected leader.
    pub leader: Sid,
    /// The sender's round.
    pub round: i64,
    /// Peer epoch of the vote.
    pub peer_epoch: i64,
    /// Zxid of the vote.
    pub zxid: i64,
    /// Index of the record in its run's log.
    pub at: usize,
}

fn parse_num(v: &str) -> Option<i64> {
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok().map(|u| u as i64),
        None => v.parse().ok(),
    }
}

/// `key:value` (or `key=value`) pairs separated by `,` or `;`.
fn fields(s: &str, sep: char) -> BTreeMap<String, String> {
    s.split([',', ';'])
        .filter_map(|kv| {
            let (k, v) = kv.split_once(sep)?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn decisions_of(records: &[Record]) -> Vec<Decision> {
    let mut out = Vec::new();
    let mut leave: Option<(Sid, i64)> = None;
    for (i, r) in records.iter().enumerate() {
        if let Some(rest) = r.msg.strip_prefix("About to leave FLE instance: ") {
            let f = fields(rest, '=');
            let leader = f.get("leader").and_then(|v| parse_num(v));
            let zxid = f.get("zxid").and_then(|v| parse_num(v));
            leave = leader.zip(zxid);
        } else if let Some(x) = r.msg.find(" - LEADER ELECTION TOOK - ") {
            let took = r.msg[x + 26..]
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let (leader, zxid) = leave.take().unwrap_or_else(|| {
                panic!(
                    "a decision without the DEBUG line that names its leader: {}",
                    r.text()
                )
            });
            out.push(Decision {
                leader,
                zxid,
                state: r.msg[..x].to_string(),
                took_ms: took,
                at: i,
            });
        }
    }
    out
}

fn notifs_of(records: &[Record]) -> Vec<Notif> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let Some(rest) = r.msg.strip_prefix("Notification: ") else {
            continue;
        };
        let f = fields(rest, ':');
        let num = |k: &str| f.get(k).and_then(|v| parse_num(v));
        let (Some(sid), Some(leader)) = (num("n.sid"), num("n.leader")) else {
            continue;
        };
        out.push(Notif {
            my_state: f.get("my state").cloned().unwrap_or_default(),
            sid,
            state: f.get("n.state").cloned().unwrap_or_default(),
            leader,
            round: num("n.round").unwrap_or(-1),
            peer_epoch: num("n.peerEpoch").unwrap_or(-1),
            zxid: num("n.zxid").unwrap_or(-1),
            at: i,
        });
    }
    out
}

/// What makes a real server's log a failure, whatever the scenario.
fn log_errors(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| {
            let text = r.text();
            r.msg.contains("Initial message parsing error")
                || r.msg.contains("Something went wrong while processing config")
                // The uncaught-exception handler's "Thread Thread[...] died".
                || (r.msg.starts_with("Thread ") && r.msg.contains(" died"))
                || (r.thread.starts_with("WorkerReceiver") && text.contains("Exception"))
                // A frame body shorter than 28 bytes: never sent by a correct peer.
                || r.msg.contains("Got a short response")
        })
        .map(Record::text)
        .collect()
}

// ---------------------------------------------------------------- servers

/// The addresses of one slot.
#[derive(Debug, Clone)]
pub struct Addr {
    /// Loopback IP.
    pub ip: Ipv4Addr,
    /// Zab (quorum) port.
    pub quorum: u16,
    /// Election port.
    pub election: u16,
}

/// Who fills a `server.N` slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A real ZooKeeper server.
    Real,
    /// A zkelect peer (or nobody, if the test never starts one).
    Zk,
}

/// One `server.N` slot.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The sid.
    pub sid: Sid,
    /// Real server or zkelect peer.
    pub kind: Kind,
    /// Whether the slot is an observer.
    pub observer: bool,
    /// One address, or several with multi-address.
    pub addrs: Vec<Addr>,
    /// Client port (used by real servers only).
    pub client_port: u16,
    /// `<ensemble>/s<sid>`.
    pub dir: PathBuf,
}

impl Slot {
    /// The zoo.cfg of this slot.
    pub fn cfg_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// One real server and its runs (each start is a new run with its own log).
struct RealServer {
    child: Option<Child>,
    runs: Vec<LogReader>,
}

/// The shape of an ensemble: `slots` voters or observers with sids
/// `1..=slots`, of which `real` are real servers and the rest zkelect slots.
pub struct Layout<'a> {
    /// Number of `server.N` lines.
    pub slots: usize,
    /// Sids of real servers.
    pub real: &'a [Sid],
    /// Sids configured as `:observer`.
    pub observers: &'a [Sid],
    /// Two addresses per slot (127.0.0.1 and 127.0.0.2) and
    /// `multiAddress.enabled=true` everywhere.
    pub multi_address: bool,
    /// Quorum TLS (`sslQuorum=true`) for every slot, with a CA and one
    /// certificate for the loopback addresses made at run time (PEM).
    pub tls: bool,
}

impl Default for Layout<'_> {
    fn default() -> Self {
        Layout {
            slots: 5,
            real: &[],
            observers: &[],
            multi_address: false,
            tls: false,
        }
    }
}

/// Real servers and zkelect slots sharing one config; see the module docs.
pub struct Ensemble {
    dir: PathBuf,
    slots: BTreeMap<Sid, Slot>,
    multi_address: bool,
    tls: bool,
    servers: BTreeMap<Sid, RealServer>,
}

static ENSEMBLE_SEQ: Mutex<u32> = Mutex::new(0);

impl Ensemble {
    /// Creates the directory, configs, myid files and log settings.
    pub fn new(layout: Layout<'_>) -> Ensemble {
        let seq = {
            let mut s = ENSEMBLE_SEQ.lock().unwrap_or_else(PoisonError::into_inner);
            *s += 1;
            *s
        };
        let dir = std::env::temp_dir().join(format!(
            "zkelect-interop-{}-{seq}-{}",
            std::process::id(),
            std::thread::current()
                .name()
                .unwrap_or("test")
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the ensemble directory");

        let lo1 = Ipv4Addr::new(127, 0, 0, 1);
        let lo2 = Ipv4Addr::new(127, 0, 0, 2);
        let mut slots = BTreeMap::new();
        for sid in 1..=layout.slots as Sid {
            let mut addrs = vec![Addr {
                ip: lo1,
                quorum: free_port(lo1),
                election: free_port(lo1),
            }];
            if layout.multi_address {
                addrs.push(Addr {
                    ip: lo2,
                    quorum: free_port(lo2),
                    election: free_port(lo2),
                });
            }
            slots.insert(
                sid,
                Slot {
                    sid,
                    kind: if layout.real.contains(&sid) {
                        Kind::Real
                    } else {
                        Kind::Zk
                    },
                    observer: layout.observers.contains(&sid),
                    addrs,
                    client_port: free_port(lo1),
                    dir: dir.join(format!("s{sid}")),
                },
            );
        }
        let ens = Ensemble {
            dir,
            slots,
            multi_address: layout.multi_address,
            tls: layout.tls,
            servers: BTreeMap::new(),
        };
        ens.write_files();
        ens
    }

    fn server_lines(&self) -> String {
        let mut out = String::new();
        for s in self.slots.values() {
            let addrs: Vec<String> = s
                .addrs
                .iter()
                .map(|a| format!("{}:{}:{}", a.ip, a.quorum, a.election))
                .collect();
            let role = if s.observer { ":observer" } else { "" };
            out.push_str(&format!("server.{}={}{role}\n", s.sid, addrs.join("|")));
        }
        out
    }

    fn write_files(&self) {
        // Why DEBUG for FastLeaderElection: its "About to leave FLE instance:
        // leader=N" is the only line that names the leader a server decided
        // on; the INFO "ELECTION TOOK" line does not.
        let log4j = "log4j.rootLogger=INFO, F\n\
             log4j.appender.F=org.apache.log4j.FileAppender\n\
             log4j.appender.F.File=${zkelect.interop.log}\n\
             log4j.appender.F.Append=true\n\
             log4j.appender.F.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.F.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p [%t:%C{1}@%L] - %m%n\n\
             log4j.logger.org.apache.zookeeper.server.quorum.FastLeaderElection=DEBUG\n";
        fs::write(self.dir.join("log4j.properties"), log4j).unwrap();
        let servers = self.server_lines();
        for s in self.slots.values() {
            fs::create_dir_all(s.data_dir()).unwrap();
            fs::write(s.data_dir().join("myid"), format!("{}\n", s.sid)).unwrap();
            let multi = if self.multi_address {
                "multiAddress.enabled=true\n"
            } else {
                ""
            };
            // The config of the shared zk/README.md; zkelect peers read the
            // very same file (with their own dataDir and myid).
            let tls = if self.tls {
                self.tls_lines()
            } else {
                String::new()
            };
            let cfg = format!(
                "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\n\
                 electionAlg=3\nstandaloneEnabled=false\nreconfigEnabled=false\n{multi}{tls}{servers}",
                s.data_dir().display(),
                s.client_port
            );
            fs::write(s.cfg_path(), cfg).unwrap();
        }
    }

    /// The quorum TLS lines of the shared zk/README.md, with a CA and a
    /// certificate for 127.0.0.1, 127.0.0.2 and localhost (serverAuth and
    /// clientAuth) written once into the ensemble's directory, plus
    /// zkelect's `ssl.quorum.sidBinding=true` (every slot is on those
    /// addresses, so every sid's certificate matches; a real server takes
    /// the unknown key as a system property and ignores it).
    fn tls_lines(&self) -> String {
        let (ca, key) = (self.dir.join("ca.pem"), self.dir.join("server.pem"));
        if !key.exists() {
            use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
            let ca_key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, "interop CA");
            p.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::DigitalSignature,
            ];
            let ca_cert = p.self_signed(&ca_key).unwrap();
            let leaf_key = KeyPair::generate().unwrap();
            let sans = ["127.0.0.1", "127.0.0.2", "localhost"].map(String::from);
            let mut p = CertificateParams::new(sans.to_vec()).unwrap();
            p.distinguished_name.push(DnType::CommonName, "localhost");
            p.extended_key_usages = vec![
                rcgen::ExtendedKeyUsagePurpose::ServerAuth,
                rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            ];
            let leaf = p.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
            fs::write(&ca, ca_cert.pem()).unwrap();
            fs::write(&key, format!("{}{}", leaf_key.serialize_pem(), leaf.pem())).unwrap();
        }
        format!(
            "sslQuorum=true\nssl.quorum.keyStore.location={}\nssl.quorum.keyStore.type=PEM\n\
             ssl.quorum.keyStore.password=\nssl.quorum.trustStore.location={}\n\
             ssl.quorum.trustStore.type=PEM\nssl.quorum.trustStore.password=\n\
             ssl.quorum.sidBinding=true\n",
            key.display(),
            ca.display()
        )
    }

    /// Real servers' log records about TLS going wrong: handshake and SSL
    /// exceptions, and an election listener that died.
    pub fn tls_problems(&mut self, sid: Sid) -> Vec<String> {
        let srv = self.server(sid);
        srv.runs
            .iter()
            .flat_map(|r| r.records.iter())
            .filter(|r| {
                // The message and the exception's own line, not the
                // stack (SSLSocketImpl frames are in every socket error).
                let head = format!("{} {}", r.msg, r.more.first().map_or("", |l| l.as_str()));
                let bad_level = r.level == "WARN" || r.level == "ERROR";
                (bad_level
                    && (head.contains("javax.net.ssl")
                        || head.contains("SSL")
                        || head.contains("TLS")
                        || head.contains("andshake")
                        || head.contains("insecure connection")))
                    || head.contains("Leaving listener")
                    || head.contains("won't be able to participate")
            })
            .map(Record::text)
            .collect()
    }

    /// The slot of `sid`.
    pub fn slot(&self, sid: Sid) -> &Slot {
        self.slots
            .get(&sid)
            .unwrap_or_else(|| panic!("no slot {sid}"))
    }

    /// `host:port` of the first election address of `sid`.
    pub fn election_addr(&self, sid: Sid) -> String {
        let a = &self.slot(sid).addrs[0];
        format!("{}:{}", a.ip, a.election)
    }

    /// A new zkelect peer for a zkelect slot, from the slot's zoo.cfg and
    /// myid file (not started).
    pub fn peer(&self, sid: Sid) -> Peer {
        let s = self.slot(sid);
        assert_eq!(s.kind, Kind::Zk, "slot {sid} is a real server's");
        let p = Peer::from_file(&s.cfg_path(), None)
            .unwrap_or_else(|e| panic!("zkelect rejects the zoo.cfg of slot {sid}: {e}"));
        assert_eq!(p.my_sid(), sid);
        p
    }

    /// A new zkelect peer like [`Ensemble::peer`], with `extra` zoo.cfg
    /// lines (zkelect's own keys, e.g. `followOnly=false`) added to the
    /// slot's config for this peer only.
    pub fn peer_with(&self, sid: Sid, extra: &str) -> Peer {
        let s = self.slot(sid);
        assert_eq!(s.kind, Kind::Zk, "slot {sid} is a real server's");
        let text = fs::read_to_string(s.cfg_path()).expect("read the slot's zoo.cfg");
        let p =
            Peer::from_config_text(&format!("{text}{extra}\n"), Some(sid)).unwrap_or_else(|e| {
                panic!("zkelect rejects the zoo.cfg of slot {sid} + {extra:?}: {e}")
            });
        assert_eq!(p.my_sid(), sid);
        p
    }

    /// Starts a real server (again, after a kill): a new run, a new log.
    pub fn start_real(&mut self, sid: Sid) {
        let slot = self.slot(sid).clone();
        assert_eq!(slot.kind, Kind::Real, "slot {sid} is a zkelect slot");
        let srv = self.servers.entry(sid).or_insert(RealServer {
            child: None,
            runs: Vec::new(),
        });
        assert!(srv.child.is_none(), "server {sid} is running");
        let run = srv.runs.len() + 1;
        let log = slot.dir.join(format!("zk-{run}.log"));
        let out = fs::File::create(slot.dir.join(format!("jvm-{run}.out"))).unwrap();
        let mut cmd = Command::new("java");
        cmd.args([
            "-Xms32m",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            "-XX:-UsePerfData",
            "-Djava.net.preferIPv4Stack=true",
            "-Duser.timezone=UTC",
        ]);
        cmd.arg(format!(
            "-Dlog4j.configuration=file:{}",
            self.dir.join("log4j.properties").display()
        ));
        cmd.arg(format!("-Dzkelect.interop.log={}", log.display()));
        if self.multi_address {
            cmd.arg("-Dzookeeper.multiAddress.enabled=true");
        }
        let mut jars = JARS.join(":");
        if self.tls {
            // Debian's zookeeper.jar manifest leaves out what quorum TLS needs.
            jars.push_str(":/usr/share/java/netty-codec.jar");
        }
        cmd.arg("-cp")
            .arg(jars)
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(slot.cfg_path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // Its own process group, so that a kill reaches every process
            // the JVM might start, and a Ctrl-C of the test run does not
            // reach it first.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child
        // between fork and exec. Why: if the test process dies (a timeout
        // kill in CI), its JVMs die with it instead of holding ports.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start java");
        srv.child = Some(child);
        srv.runs.push(LogReader::new(log));
    }

    /// Starts several real servers at once (the JVMs start in parallel).
    pub fn start_reals(&mut self, sids: &[Sid]) {
        for &s in sids {
            self.start_real(s);
        }
    }

    /// SIGKILL to a real server's process group: the crash.
    pub fn kill_real(&mut self, sid: Sid) {
        let srv = self.servers.get_mut(&sid).expect("a started server");
        if let Some(mut child) = srv.child.take() {
            kill_group(&mut child);
        }
    }

    /// SIGTERM, the clean stop; SIGKILL if the JVM is not gone within the
    /// deadline.
    pub fn stop_real(&mut self, sid: Sid) {
        let srv = self.servers.get_mut(&sid).expect("a started server");
        let Some(mut child) = srv.child.take() else {
            return;
        };
        // SAFETY: a plain syscall on our own, not yet reaped child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        kill_group(&mut child);
    }

    fn server(&mut self, sid: Sid) -> &mut RealServer {
        let srv = self
            .servers
            .get_mut(&sid)
            .unwrap_or_else(|| panic!("real server {sid} was never started"));
        for r in &mut srv.runs {
            r.refresh();
        }
        if let Some(c) = srv.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!("real server {sid} exited by itself: {status}");
            }
        }
        srv
    }

    /// The decisions of the current run of a real server.
    pub fn decisions(&mut self, sid: Sid) -> Vec<Decision> {
        decisions_of(&self.server(sid).runs.last().unwrap().records)
    }

    /// Waits until the current run of `sid` has made `nth` (1-based)
    /// decisions and returns that one.
    pub fn wait_decision(&mut self, sid: Sid, nth: usize) -> Decision {
        wait_for(format!("decision #{nth} of real server {sid}"), || {
            self.decisions(sid).get(nth - 1).cloned()
        })
    }

    /// The first decision of the current run of each server.
    pub fn wait_first_decisions(&mut self, sids: &[Sid]) -> BTreeMap<Sid, Decision> {
        sids.iter()
            .map(|&s| (s, self.wait_decision(s, 1)))
            .collect()
    }

    /// Waits until every server of `sids` serves (`srvr` reports a mode)
    /// and their latest decisions name one leader; returns it with each
    /// server's decision and LOOKING counts so far. On a loaded machine a
    /// fresh start may first follow a server whose vote came late, fail
    /// the sync and elect again; the settled ensemble is what a test
    /// builds on, and later decisions are counted from here.
    pub fn wait_settled(&mut self, sids: &[Sid]) -> Settled {
        wait_for(format!("real servers {sids:?} to serve one leader"), || {
            let mut leaders = BTreeSet::new();
            for &sid in sids {
                self.server(sid);
                self.srvr(sid)?.lines().find(|l| l.starts_with("Mode: "))?;
                leaders.insert(self.decisions(sid).last()?.leader);
            }
            let leader = leaders.into_iter().collect::<Vec<_>>();
            let [leader] = leader[..] else { return None };
            let decisions = sids.iter().map(|&s| (s, self.decisions(s).len())).collect();
            let lookings = sids.iter().map(|&s| (s, self.lookings(s))).collect();
            Some(Settled {
                leader,
                decisions,
                lookings,
            })
        })
    }

    /// Asserts that real server `sid` has neither decided nor gone LOOKING
    /// again since `settled` ([`Ensemble::wait_settled`]).
    pub fn assert_unmoved(&mut self, settled: &Settled, sid: Sid) {
        assert_eq!(
            self.decisions(sid).len(),
            settled.decisions[&sid],
            "server {sid} decided again"
        );
        assert_eq!(
            self.lookings(sid),
            settled.lookings[&sid],
            "server {sid} went LOOKING again"
        );
    }

    /// The indices of the LOOKING records of the current run of `sid`.
    fn looking_records(&mut self, sid: Sid) -> Vec<usize> {
        self.server(sid)
            .runs
            .last()
            .unwrap()
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.msg == "LOOKING")
            .map(|(i, _)| i)
            .collect()
    }

    /// How often the current run of `sid` has entered LOOKING.
    pub fn lookings(&mut self, sid: Sid) -> usize {
        self.looking_records(sid).len()
    }

    /// Index of the `nth` (1-based) LOOKING record of the current run.
    pub fn looking_at(&mut self, sid: Sid, nth: usize) -> Option<usize> {
        self.looking_records(sid).get(nth.wrapping_sub(1)).copied()
    }

    /// The time of record `idx` of the current run of `sid`, in ms since
    /// the Unix epoch (the servers log UTC, see `-Duser.timezone=UTC`).
    pub fn record_time_ms(&mut self, sid: Sid, idx: usize) -> Option<i64> {
        let run = self.server(sid).runs.last()?;
        run.records.get(idx).and_then(|r| log_time_ms(&r.time))
    }

    /// The votes the current run of `sid` logged as received.
    pub fn notifications(&mut self, sid: Sid) -> Vec<Notif> {
        notifs_of(&self.server(sid).runs.last().unwrap().records)
    }

    /// Waits until the current run of `sid` has logged a received vote
    /// that satisfies `pred`; returns it.
    pub fn wait_notification(
        &mut self,
        sid: Sid,
        what: &str,
        pred: impl Fn(&Notif) -> bool,
    ) -> Notif {
        wait_for(format!("real server {sid} to log {what}"), || {
            self.notifications(sid).into_iter().find(|n| pred(n))
        })
    }

    /// The answer of the four-letter word `srvr` on the client port.
    pub fn srvr(&self, sid: Sid) -> Option<String> {
        let port = self.slot(sid).client_port;
        let mut s =
            TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"srvr").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    /// Waits until each server has finished the post-election sync (`srvr`
    /// reports a mode) and returns the modes. Only then do the servers'
    /// answers carry the new epoch.
    pub fn wait_synced(&mut self, sids: &[Sid]) -> BTreeMap<Sid, String> {
        sids.iter()
            .map(|&sid| {
                let mode = wait_for(format!("real server {sid} to serve (srvr Mode)"), || {
                    self.server(sid);
                    let out = self.srvr(sid)?;
                    out.lines()
                        .find_map(|l| l.strip_prefix("Mode: "))
                        .map(|m| m.trim().to_string())
                });
                (sid, mode)
            })
            .collect()
    }

    /// The `currentEpoch` file of a real server (written in the sync).
    pub fn current_epoch(&self, sid: Sid) -> Option<i64> {
        let p = self.slot(sid).data_dir().join("version-2/currentEpoch");
        fs::read_to_string(p).ok()?.trim().parse().ok()
    }

    /// Fails the test if any run of any real server logged an error (see
    /// [`log_errors`]), exited by itself, or followed a leader other than
    /// the one its decision named.
    pub fn check_logs(&mut self) {
        let sids: Vec<Sid> = self.servers.keys().copied().collect();
        let mut problems = Vec::new();
        for sid in sids {
            let quorum_ports: BTreeMap<u16, Sid> = self
                .slots
                .values()
                .flat_map(|s| s.addrs.iter().map(move |a| (a.quorum, s.sid)))
                .collect();
            let srv = self.servers.get_mut(&sid).unwrap();
            if let Some(c) = srv.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    problems.push(format!("server {sid} exited by itself: {status}"));
                }
            }
            for (run, r) in srv.runs.iter_mut().enumerate() {
                r.refresh();
                for e in log_errors(&r.records) {
                    problems.push(format!("server {sid} run {}: {e}", run + 1));
                }
                // The LeaderConnector thread is named after the leader's
                // quorum port: a second source for the leader of a follower.
                let ds = decisions_of(&r.records);
                for (i, d) in ds.iter().enumerate() {
                    if d.state == "LEADING" && d.leader != sid {
                        problems.push(format!("server {sid} LEADING for {}", d.leader));
                    }
                    if d.state != "FOLLOWING" {
                        continue;
                    }
                    let end = ds.get(i + 1).map_or(r.records.len(), |n| n.at);
                    let connector = r.records[d.at..end].iter().find_map(|rec| {
                        let addr = rec.thread.strip_prefix("LeaderConnector-")?;
                        addr.rsplit_once(':')?.1.parse::<u16>().ok()
                    });
                    if let Some(port) = connector {
                        if quorum_ports.get(&port) != Some(&d.leader) {
                            problems.push(format!(
                                "server {sid} decided on {} but connected to port {port} ({:?})",
                                d.leader,
                                quorum_ports.get(&port)
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            problems.is_empty(),
            "real servers' logs:\n{}",
            problems.join("\n")
        );
    }

    /// Starts the real servers `reals` and, as soon as every one of them is
    /// LOOKING, the zkelect `peers`: one fresh election of all of them.
    ///
    /// Why not all at the same instant: a JVM needs 0.5 to 4 s to come up
    /// here, and the zkelect peers vote at once. The first real servers up
    /// plus the zkelect peers would then elect one of them before the last
    /// JVM joins, and a late higher sid can even make real 3.8.0 end up with
    /// two leaders (see fresh_mixed_election_real_server_wins in
    /// tests/interop.rs).
    pub fn start_together(&mut self, reals: &[Sid], peers: &[&Peer]) {
        self.start_reals(reals);
        for &r in reals {
            wait_for(format!("real server {r} to be LOOKING"), || {
                self.looking_at(r, 1)
            });
        }
        for p in peers {
            p.start().unwrap();
        }
    }

    /// No quorum without the zkelect peer (plain or TLS): of real servers
    /// 1, 2 and 3 in a 5-slot layout, already synced behind sid 3, sid 3 is
    /// killed, leaving 2 of 5 voters, which must not decide; the zkelect
    /// peer of slot 5 then starts and the election completes on sid 2 (the
    /// real servers' choice: highest epoch and zxid), with sid 5's LOOKING
    /// vote counted by both real survivors. Returns the running peer 5, its
    /// decision and sid 2's. `settled`: the servers' state before the kill
    /// ([`Ensemble::wait_settled`]).
    pub fn quorum_completed_by_the_zkelect_vote(
        &mut self,
        settled: &Settled,
    ) -> (Peer, zkelect::Leader, Decision) {
        assert_eq!(settled.leader, 3, "{settled:?}");
        self.kill_real(3);
        for r in [1, 2] {
            wait_for(format!("real server {r} to go LOOKING"), || {
                self.looking_at(r, settled.lookings[&r] + 1)
            });
        }
        // Two of five voters: no decision is possible yet.
        for r in [1, 2] {
            assert_eq!(
                self.decisions(r).len(),
                settled.decisions[&r],
                "server {r} decided without a quorum"
            );
        }
        let p5 = self.peer(5);
        p5.start().unwrap();
        let l5 = peer_leader(&p5);
        let d1 = self.wait_decision(1, settled.decisions[&1] + 1);
        let d2 = self.wait_decision(2, settled.decisions[&2] + 1);
        assert_eq!((d2.leader, d2.state.as_str()), (2, "LEADING"), "{d2:?}");
        assert_eq!((d1.leader, d1.state.as_str()), (2, "FOLLOWING"), "{d1:?}");
        assert_eq!(l5.leader, 2, "{l5:?}");
        // The real servers counted sid 5's vote in that election.
        for r in [1, 2] {
            let since = self.looking_at(r, settled.lookings[&r] + 1).unwrap();
            self.wait_notification(r, "a LOOKING vote of sid 5", |n| {
                n.at > since && n.sid == 5 && n.state == "LOOKING"
            });
        }
        (p5, l5, d2)
    }

    /// A real server joins zkelect's leader (plain or TLS): zkelect peers 1,
    /// 2 and 3 of a 5-slot layout start with `followOnly=false` (they are
    /// the majority and one of them is to lead; in auto mode the real
    /// server's sync attempt at the leader's quorum port would make it step
    /// down, see tests/mixed.rs) and elect sid 3; then the real server of
    /// slot 5 starts and decides FOLLOWING sid 3. Returns the peers and
    /// their event subscriptions (taken before they started).
    pub fn real_5_joins_zkelect_leader_3(
        &mut self,
    ) -> ([Peer; 3], Vec<crossbeam_channel::Receiver<zkelect::Event>>) {
        let peers = [1, 2, 3].map(|s| self.peer_with(s, "followOnly=false"));
        let subs: Vec<_> = peers.iter().map(|p| p.subscribe()).collect();
        for p in &peers {
            p.start().unwrap();
        }
        for (p, rx) in peers.iter().zip(&subs) {
            assert_eq!(first_elected(p.my_sid(), rx).leader, 3);
        }
        self.start_real(5);
        let d = self.wait_decision(5, 1);
        assert_eq!((d.leader, d.state.as_str()), (3, "FOLLOWING"), "{d:?}");
        (peers, subs)
    }

    /// Checks the logs, then stops everything (via drop).
    pub fn finish(mut self) {
        self.check_logs();
    }

    fn dump(&mut self) {
        eprintln!("---- interop ensemble {} ----", self.dir.display());
        eprintln!("{}", self.server_lines());
        for (sid, srv) in &mut self.servers {
            for (run, r) in srv.runs.iter_mut().enumerate() {
                r.refresh();
                eprintln!(
                    "---- real server {sid}, run {} (last records) ----",
                    run + 1
                );
                let interesting: Vec<&Record> = r
                    .records
                    .iter()
                    .filter(|r| {
                        r.level != "DEBUG"
                            || r.msg.starts_with("About to leave")
                            || r.msg.starts_with("Sending Notification")
                    })
                    .filter(|r| !r.msg.contains("environment:"))
                    .collect();
                for rec in interesting
                    .iter()
                    .skip(interesting.len().saturating_sub(80))
                {
                    let mut t = rec.text();
                    t.truncate(400);
                    eprintln!("{}", t.lines().next().unwrap_or(""));
                }
            }
        }
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: a plain syscall. The process group id is the child's pid
        // (process_group(0)); the child is not reaped yet, so that id still
        // names our group.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
    }
    let _ = child.wait();
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump();
        }
        for srv in self.servers.values_mut() {
            if let Some(mut c) = srv.child.take() {
                kill_group(&mut c);
            }
        }
        if std::env::var_os("ZKELECT_INTEROP_KEEP").is_some() {
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The handshake a peer sends when it dials back: version, sid and
/// advertised address string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialBack {
    /// Protocol version: -65536 (V1) or -65535 (V2).
    pub version: i64,
    /// The sid of the peer.
    pub sid: Sid,
    /// Its advertised election address(es), `|`-separated in V2.
    pub addrs: String,
}

/// Real servers that serve one leader ([`Ensemble::wait_settled`]).
#[derive(Debug, Clone)]
pub struct Settled {
    /// The leader they serve.
    pub leader: Sid,
    /// Each server's decisions so far (its current run).
    pub decisions: BTreeMap<Sid, usize>,
    /// Each server's LOOKING records so far (its current run).
    pub lookings: BTreeMap<Sid, usize>,
}

/// Pokes the election port at `target` as sid 0 (smaller than any real
/// sid, and in no config) advertising a listener of ours, and returns the
/// handshake of the connection the peer dials back with.
///
/// Both ZooKeeper and zkelect dial a smaller sid back at the address in its
/// handshake, configured or not; this is how a test sees a peer's handshake
/// bytes without a packet capture.
pub fn capture_dial_back(target: &str) -> DialBack {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let me = listener.local_addr().unwrap();
    let addr = me.to_string();
    let mut hs = Vec::new();
    hs.extend_from_slice(&(-65536i64).to_be_bytes());
    hs.extend_from_slice(&0i64.to_be_bytes());
    hs.extend_from_slice(&(addr.len() as i32).to_be_bytes());
    hs.extend_from_slice(addr.as_bytes());
    let mut poke = TcpStream::connect(target).expect("connect to the election port");
    // One write: ZooKeeper reads the address with a single read.
    poke.write_all(&hs).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut conn = wait_for(format!("{target} to dial back"), || {
        listener.accept().ok().map(|(c, _)| c)
    });
    drop(poke);
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 20];
    conn.read_exact(&mut head).expect("a handshake");
    let version = i64::from_be_bytes(head[..8].try_into().unwrap());
    let sid = i64::from_be_bytes(head[8..16].try_into().unwrap());
    let n = i32::from_be_bytes(head[16..].try_into().unwrap());
    assert!((1..=2048).contains(&n), "address length {n}");
    let mut a = vec![0u8; n as usize];
    conn.read_exact(&mut a).expect("the advertised address");
    DialBack {
        version,
        sid,
        addrs: String::from_utf8_lossy(&a).into_owned(),
    }
}

/// Waits for a zkelect peer's decision.
pub fn peer_leader(p: &Peer) -> zkelect::Leader {
    p.wait_for_leader(DEADLINE).unwrap_or_else(|| {
        panic!(
            "zkelect sid {} did not decide within {DEADLINE:?}",
            p.my_sid()
        )
    })
}

/// Waits for the first `Elected` event on a subscription.
pub fn first_elected(
    sid: Sid,
    rx: &crossbeam_channel::Receiver<zkelect::Event>,
) -> zkelect::Leader {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(zkelect::Event::Elected(l)) => return l,
            Ok(_) => {}
            Err(e) => panic!("zkelect sid {sid}: no Elected event: {e}"),
        }
    }
}

/// Milliseconds since the Unix epoch of a log4j `yyyy-MM-dd HH:mm:ss,SSS`
/// UTC timestamp.
pub fn log_time_ms(t: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((((days * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms)
}

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
