//! `zkelect run` processes for the tests: started with their stdout read
//! line by line on a thread, killed and reaped when dropped.

use super::DEADLINE;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One `zkelect run` process and the lines it prints.
pub struct Proc {
    /// Its sid.
    pub sid: i64,
    /// The process.
    pub child: Child,
    /// Its stdout, one JSON line per event.
    pub lines: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `zkelect run --config cfg --myid sid`.
pub fn spawn(cfg: &Path, sid: i64) -> Proc {
    spawn_with(cfg, sid, &[])
}

/// As [`spawn`], with extra arguments.
pub fn spawn_with(cfg: &Path, sid: i64, extra: &[&str]) -> Proc {
    spawn_to(cfg, sid, extra, Stdio::null())
}

/// As [`spawn_with`], with its stderr (the log) going to `stderr`.
pub fn spawn_to(cfg: &Path, sid: i64, extra: &[&str], stderr: Stdio) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["run", "--config"])
        .arg(cfg)
        .args(["--myid", &sid.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start zkelect run");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
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

/// The next line of `p` for which `pick` holds, within [`DEADLINE`].
pub fn next_line(p: &Proc, what: &str, pick: impl Fn(&str) -> bool) -> String {
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

/// Sends `sig` (e.g. `-TERM`) to the process.
pub fn signal(p: &Proc, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &p.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {}", p.sid);
}

// ------------------------------------------------------------------------
// Clusters of `zkelect run` processes whose lines are stamped on arrival
// (fail-over tests and the side-by-side benchmark).

/// Where the peers of a [`Cluster`] keep their state files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirs {
    /// No `dataDir`: nothing is kept, and every start waits syncLimit ticks
    /// before it acknowledges anyone.
    None,
    /// A `dataDir` of its own for each peer: as far as zkelect can tell,
    /// peers on different hosts.
    PerPeer,
    /// One `dataDir` for all peers (peers of one host; state and lock files
    /// are per sid).
    Shared,
}

/// The shape of a [`Cluster`]: `n` voters with sids `1..=n` on loopback.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Number of voters.
    pub n: usize,
    /// `tickTime` in ms.
    pub tick_ms: u64,
    /// `initLimit` in ticks.
    pub init_limit: u64,
    /// `syncLimit` in ticks.
    pub sync_limit: u64,
    /// Where state files go.
    pub data: DataDirs,
    /// More zoo.cfg lines (e.g. `leadershipMode=fencing`).
    pub extra: String,
    /// More `zkelect run` arguments (e.g. `--report-lease`).
    pub args: Vec<String>,
}

impl ClusterSpec {
    /// ZooKeeper's defaults (tickTime 2000, initLimit 10, syncLimit 5), a
    /// dataDir per peer, nothing else.
    pub fn defaults(n: usize) -> ClusterSpec {
        ClusterSpec {
            n,
            tick_ms: 2000,
            init_limit: 10,
            sync_limit: 5,
            data: DataDirs::PerPeer,
            extra: String::new(),
            args: Vec::new(),
        }
    }

    /// D_F = syncLimit × tickTime: how long a follower's promise to its
    /// leader holds.
    pub fn d_f(&self) -> Duration {
        Duration::from_millis(self.sync_limit * self.tick_ms)
    }
}

/// One stdout line of a cluster member.
#[derive(Debug, Clone)]
pub struct Line {
    /// When the test read it (the order of these instants across processes
    /// is the real order of the writes, up to the delay of waking a reader
    /// thread).
    pub at: Instant,
    /// The member's sid.
    pub sid: i64,
    /// Which start of that sid printed it (1 for the first process, 2 after
    /// a restart, ...).
    pub run: usize,
    /// The JSON text.
    pub text: String,
}

impl Line {
    /// The raw value of a JSON field (`"epoch":3` -> `3`, quotes removed).
    pub fn field(&self, name: &str) -> Option<&str> {
        json_field(&self.text, name)
    }

    /// A numeric JSON field.
    pub fn num(&self, name: &str) -> Option<i64> {
        self.field(name)?.parse().ok()
    }

    /// The `event` field.
    pub fn kind(&self) -> &str {
        self.field("event").unwrap_or("")
    }
}

/// The raw value of a field of a flat JSON object line.
pub fn json_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":");
    let rest = line.split(key.as_str()).nth(1)?;
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim_matches('"'))
}

/// Every live member agreeing on one confirmed leader under a new epoch.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The confirmed leader.
    pub leader: i64,
    /// Its epoch.
    pub epoch: i64,
    /// When the last of the members' confirming lines (the leader's
    /// `leading`, the others' `following`) arrived.
    pub at: Instant,
    /// When each member's confirming line arrived.
    pub each: BTreeMap<i64, Instant>,
}

struct Member {
    child: Child,
    /// Sent SIGTERM or SIGINT by the cluster: its exit is expected.
    stopping: bool,
}

/// `n` `zkelect run` processes of one zoo.cfg (one per peer with
/// [`DataDirs::PerPeer`]), in a directory of their own. Every stdout line is
/// stamped when it is read and kept in [`Cluster::log`]. Dropping the
/// cluster kills every process it started and removes the directory, also
/// when the test fails (the last lines and stderr of each process are
/// printed then, and always with `ZKELECT_DUMP` set; `ZKELECT_KEEP` keeps
/// the directory).
pub struct Cluster {
    /// The shape it was made with.
    pub spec: ClusterSpec,
    /// Its directory.
    pub dir: PathBuf,
    /// Each sid's election port.
    pub election_ports: BTreeMap<i64, u16>,
    cfgs: BTreeMap<i64, PathBuf>,
    members: BTreeMap<i64, Member>,
    runs: BTreeMap<i64, usize>,
    tx: mpsc::Sender<Line>,
    rx: mpsc::Receiver<Line>,
    log: Vec<Line>,
}

static CLUSTER_SEQ: Mutex<u32> = Mutex::new(0);

/// Ports handed out in this process, and the state of the generator.
static PORTS: Mutex<(u64, Option<HashSet<u16>>)> = Mutex::new((0, None));

/// `n` distinct ports that are free now, from below the kernel's ephemeral
/// range and never handed out before in this process.
///
/// Why not the ephemeral range: a configured port that is not bound at the
/// moment (a leader being restarted) could be taken as the source port of
/// an outgoing connection, or even connect to itself (TCP self-connect on
/// loopback), while the survivors keep dialling it. Random choice keeps
/// test binaries that run in parallel apart.
pub fn unique_ports(n: usize) -> Vec<u16> {
    let low_ephemeral: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let (low, high) = (20000u16, low_ephemeral);
    let mut g = PORTS.lock().unwrap_or_else(|e| e.into_inner());
    if g.0 == 0 {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        g.0 = (t ^ (u64::from(std::process::id()) << 32)) | 1;
    }
    let mut out = Vec::new();
    for _ in 0..100_000 {
        if out.len() == n {
            return out;
        }
        let port = if high > low + 2000 {
            let mut x = g.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            g.0 = x;
            low + (x % u64::from(high - low)) as u16
        } else {
            // No room below the ephemeral range: let the kernel choose.
            match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
                Ok(a) => a.port(),
                Err(_) => continue,
            }
        };
        let seen = g.1.get_or_insert_with(HashSet::new);
        if seen.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            seen.insert(port);
            out.push(port);
        }
    }
    panic!("no {n} free ports");
}

impl Cluster {
    /// Writes the configs (nothing is started). `name` goes into the
    /// directory's name.
    pub fn new(name: &str, spec: ClusterSpec) -> Cluster {
        let seq = {
            let mut s = CLUSTER_SEQ.lock().unwrap_or_else(|e| e.into_inner());
            *s += 1;
            *s
        };
        let dir = std::env::temp_dir().join(format!("zkelect-{name}-{}-{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let ports = unique_ports(2 * spec.n);
        let mut servers = String::new();
        let mut election_ports = BTreeMap::new();
        for i in 0..spec.n {
            let sid = i as i64 + 1;
            servers += &format!(
                "server.{sid}=127.0.0.1:{}:{}\n",
                ports[2 * i],
                ports[2 * i + 1]
            );
            election_ports.insert(sid, ports[2 * i + 1]);
        }
        let head = format!(
            "tickTime={}\ninitLimit={}\nsyncLimit={}\n{}\n",
            spec.tick_ms,
            spec.init_limit,
            spec.sync_limit,
            spec.extra.trim_end()
        );
        let mut cfgs = BTreeMap::new();
        for sid in 1..=spec.n as i64 {
            let (path, data) = match spec.data {
                DataDirs::None => (dir.join("zoo.cfg"), None),
                DataDirs::Shared => (dir.join("zoo.cfg"), Some(dir.join("data"))),
                DataDirs::PerPeer => {
                    let own = dir.join(format!("s{sid}"));
                    std::fs::create_dir_all(&own).unwrap();
                    (own.join("zoo.cfg"), Some(own.join("data")))
                }
            };
            let mut text = head.clone();
            if let Some(d) = data {
                std::fs::create_dir_all(&d).unwrap();
                text += &format!("dataDir={}\n", d.display());
            }
            text += &servers;
            std::fs::write(&path, text).unwrap();
            cfgs.insert(sid, path);
        }
        let (tx, rx) = mpsc::channel();
        Cluster {
            spec,
            dir,
            election_ports,
            cfgs,
            members: BTreeMap::new(),
            runs: BTreeMap::new(),
            tx,
            rx,
            log: Vec::new(),
        }
    }

    /// All sids, `1..=n`.
    pub fn sids(&self) -> Vec<i64> {
        (1..=self.spec.n as i64).collect()
    }

    /// The sids whose process runs (started and not killed by the cluster).
    pub fn live(&self) -> Vec<i64> {
        self.members.keys().copied().collect()
    }

    /// The dataDir of `sid` (`None` without one).
    pub fn data_dir(&self, sid: i64) -> Option<PathBuf> {
        match self.spec.data {
            DataDirs::None => None,
            DataDirs::Shared => Some(self.dir.join("data")),
            DataDirs::PerPeer => Some(self.dir.join(format!("s{sid}")).join("data")),
        }
    }

    /// The zoo.cfg of `sid`.
    pub fn cfg(&self, sid: i64) -> &Path {
        &self.cfgs[&sid]
    }

    /// Starts (or restarts) `sid`: `zkelect run --config <its cfg> --myid
    /// sid` plus the spec's arguments. Returns the instant just before the
    /// spawn.
    pub fn start(&mut self, sid: i64) -> Instant {
        self.start_with(sid, &[])
    }

    /// As [`Cluster::start`], with `extra` arguments after the spec's.
    pub fn start_with(&mut self, sid: i64, extra: &[&str]) -> Instant {
        assert!(!self.members.contains_key(&sid), "sid {sid} runs already");
        let run = {
            let r = self.runs.entry(sid).or_insert(0);
            *r += 1;
            *r
        };
        let err = std::fs::File::create(self.dir.join(format!("s{sid}.run{run}.stderr")))
            .expect("stderr file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkelect"));
        cmd.args(["run", "--config"])
            .arg(&self.cfgs[&sid])
            .args(["--myid", &sid.to_string()])
            .args(&self.spec.args)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err);
        // SAFETY: prctl is async-signal-safe and nothing else runs between
        // fork and exec. Why: if the test process dies (a timeout kill),
        // its peers die with it instead of holding their ports.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let t = Instant::now();
        let mut child = cmd.spawn().expect("start zkelect run");
        let out = child.stdout.take().unwrap();
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for text in BufReader::new(out).lines().map_while(Result::ok) {
                let line = Line {
                    at: Instant::now(),
                    sid,
                    run,
                    text,
                };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.members.insert(
            sid,
            Member {
                child,
                stopping: false,
            },
        );
        t
    }

    /// Starts every sid, in sid order.
    pub fn start_all(&mut self) {
        self.start_all_with(&[]);
    }

    /// Starts every sid, in sid order, with `extra` arguments.
    pub fn start_all_with(&mut self, extra: &[&str]) {
        for sid in self.sids() {
            self.start_with(sid, extra);
        }
    }

    /// The pid of `sid`'s process.
    pub fn pid(&self, sid: i64) -> u32 {
        self.members
            .get(&sid)
            .unwrap_or_else(|| panic!("sid {sid} does not run"))
            .child
            .id()
    }

    /// Sends `sig` to `sid`'s process; returns the instant just before.
    /// After SIGTERM or SIGINT its exit is expected; any other member that
    /// exits makes the next wait fail at once (a crash, or a signal from
    /// outside the test).
    pub fn signal(&mut self, sid: i64, sig: i32) -> Instant {
        let pid = self.pid(sid) as i32;
        if sig == libc::SIGTERM || sig == libc::SIGINT {
            self.members.get_mut(&sid).unwrap().stopping = true;
        }
        let t = Instant::now();
        // SAFETY: a plain syscall on our own child, not reaped yet (the
        // cluster reaps only in kill9, wait_exit and drop).
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig})");
        t
    }

    /// `kill -9` of `sid` (the crash), reaped. Returns the instant just
    /// before the signal.
    pub fn kill9(&mut self, sid: i64) -> Instant {
        let t = self.signal(sid, libc::SIGKILL);
        let mut m = self.members.remove(&sid).unwrap();
        let _ = m.child.wait();
        t
    }

    /// Waits, within `within`, for `sid`'s process to exit by itself, and
    /// reaps it.
    pub fn wait_exit(&mut self, sid: i64, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            let m = self
                .members
                .get_mut(&sid)
                .unwrap_or_else(|| panic!("sid {sid} does not run"));
            if let Some(status) = m.child.try_wait().expect("try_wait") {
                self.members.remove(&sid);
                return status;
            }
            if Instant::now() >= deadline {
                panic!("sid {sid} did not exit within {within:?}");
            }
            self.pump(Duration::from_millis(5));
        }
    }

    /// Moves the lines that arrive within `wait` (at least the ones already
    /// there) into the log; false if none came.
    pub fn pump(&mut self, wait: Duration) -> bool {
        let mut got = false;
        if let Ok(l) = self.rx.recv_timeout(wait) {
            self.log.push(l);
            got = true;
        }
        while let Ok(l) = self.rx.try_recv() {
            self.log.push(l);
            got = true;
        }
        got
    }

    /// Every line read so far, in the order read.
    pub fn log(&self) -> &[Line] {
        &self.log
    }

    /// The lines of the latest run of `sid`.
    pub fn lines_of(&self, sid: i64) -> impl Iterator<Item = &Line> {
        let run = self.runs.get(&sid).copied().unwrap_or(0);
        self.log
            .iter()
            .filter(move |l| l.sid == sid && l.run == run)
    }

    /// Pumps lines until `f` returns a value; panics with `what` after
    /// `within`. `f` sees the cluster (its log) after every line.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        within: Duration,
        mut f: impl FnMut(&Cluster) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("timed out after {within:?} waiting for {what}");
            }
            self.check_alive(what);
            // Wake up now and then to see processes that exit silently.
            self.pump(left.min(Duration::from_millis(100)));
        }
    }

    /// Fails the test if a member that was not asked to stop has exited.
    fn check_alive(&mut self, what: &str) {
        for (sid, m) in &mut self.members {
            if m.stopping {
                continue;
            }
            if let Ok(Some(status)) = m.child.try_wait() {
                panic!("sid {sid} exited unexpectedly ({status}) while waiting for {what}");
            }
        }
    }

    /// The first line of the current run of `sid`, within `within`.
    pub fn wait_first_line(&mut self, sid: i64, within: Duration) -> Line {
        self.wait_for(&format!("a first line of sid {sid}"), within, |c| {
            c.lines_of(sid).next().cloned()
        })
    }

    /// The first line of the current run of `sid` for which `pick` holds,
    /// within `within`.
    pub fn wait_line(
        &mut self,
        sid: i64,
        what: &str,
        within: Duration,
        pick: impl Fn(&Line) -> bool,
    ) -> Line {
        self.wait_for(&format!("{what} from sid {sid}"), within, |c| {
            c.lines_of(sid).find(|l| pick(l)).cloned()
        })
    }

    /// The confirmed leadership the current run of `sid` holds with an epoch
    /// above `above` (leader, epoch, arrival of its line): its last
    /// `leading` or `following`, unless a `leadership_lost` or
    /// `leader_lost` came after it.
    pub fn holds(&self, sid: i64, above: i64) -> Option<(i64, i64, Instant)> {
        let mut cur = None;
        for l in self.lines_of(sid) {
            let epoch = l.num("epoch").unwrap_or(i64::MIN);
            match l.kind() {
                "leading" if epoch > above => cur = Some((sid, epoch, l.at)),
                "following" if epoch > above => {
                    cur = l.num("leader").map(|leader| (leader, epoch, l.at))
                }
                "leadership_lost" | "leader_lost" => cur = None,
                _ => {}
            }
        }
        cur
    }

    /// Whether the current runs of `sids` all hold one confirmed leadership
    /// with an epoch above `above` (see [`Cluster::holds`]), and its leader
    /// does too: the leader printed `leading`, every other of `sids`
    /// `following` it, with the same epoch. The leader may be outside
    /// `sids` (a restarted process that won); its `leading` line then
    /// counts as well.
    pub fn confirmed(&self, sids: &[i64], above: i64) -> Option<Confirmation> {
        let mut each = BTreeMap::new();
        let mut agreed: Option<(i64, i64)> = None;
        for &sid in sids {
            let (leader, epoch, at) = self.holds(sid, above)?;
            match agreed {
                None => agreed = Some((leader, epoch)),
                Some(a) if a != (leader, epoch) => return None,
                Some(_) => {}
            }
            each.insert(sid, at);
        }
        let (leader, epoch) = agreed?;
        if let std::collections::btree_map::Entry::Vacant(slot) = each.entry(leader) {
            if !self.members.contains_key(&leader) {
                return None;
            }
            let (l, e, at) = self.holds(leader, above)?;
            if (l, e) != (leader, epoch) {
                return None;
            }
            slot.insert(at);
        }
        Some(Confirmation {
            leader,
            epoch,
            at: *each.values().max()?,
            each,
        })
    }

    /// Waits, within `within`, until [`Cluster::confirmed`] holds.
    pub fn wait_confirmed(&mut self, sids: &[i64], above: i64, within: Duration) -> Confirmation {
        let what = format!("sids {sids:?} to confirm one leader with an epoch above {above}");
        self.wait_for(&what, within, |c| c.confirmed(sids, above))
    }

    fn dump(&self) {
        eprintln!("---- cluster {} ----", self.dir.display());
        let t0 = self.log.first().map(|l| l.at);
        for sid in self.sids() {
            let runs = self.runs.get(&sid).copied().unwrap_or(0);
            for run in 1..=runs {
                eprintln!("---- sid {sid}, run {run}: stdout (ms since the first line) ----");
                let lines: Vec<&Line> = self
                    .log
                    .iter()
                    .filter(|l| l.sid == sid && l.run == run)
                    .collect();
                for l in &lines[lines.len().saturating_sub(60)..] {
                    let ms = t0.map_or(0.0, |t| l.at.duration_since(t).as_secs_f64() * 1e3);
                    eprintln!("{ms:>10.1} {}", l.text);
                }
                let err = self.dir.join(format!("s{sid}.run{run}.stderr"));
                if let Ok(text) = std::fs::read_to_string(err) {
                    let tail: Vec<&str> = text.lines().collect();
                    if !tail.is_empty() {
                        eprintln!("---- sid {sid}, run {run}: stderr (last lines) ----");
                        for l in &tail[tail.len().saturating_sub(30)..] {
                            eprintln!("{l}");
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in self.members.values_mut() {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
        self.members.clear();
        if std::thread::panicking() || std::env::var_os("ZKELECT_DUMP").is_some() {
            while let Ok(l) = self.rx.try_recv() {
                self.log.push(l);
            }
            self.dump();
        }
        if std::env::var_os("ZKELECT_KEEP").is_some() {
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
