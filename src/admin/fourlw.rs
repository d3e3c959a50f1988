//! ZooKeeper's four-letter words on `clientPort`: `ruok`, `srvr`, `stat`,
//! `mntr` and `conf`, in ZooKeeper 3.8's format and with its key names
//! where they apply, plus zkelect's own lines (leader, epoch, confirmation,
//! election time). The port is never a ZooKeeper client port: anything but
//! a four-letter word is closed without an answer, as a 3.8 server does
//! when the first four bytes are no command (it reads them as a too-large
//! packet length).
//!
//! `4lw.commands.whitelist` works as in 3.8: comma-separated names, `*` for
//! all, `srvr` always enabled and the only one by default; any other known
//! command gets "`<cmd>` is not executed because it is not in the
//! whitelist." Known commands that zkelect has no data for (`dump`,
//! `wchs`, `cons`, ...) answer "This ZooKeeper instance is not currently
//! serving requests", as does `srvr`/`stat` while LOOKING, like a 3.8
//! server that is not serving. `mntr` answers while LOOKING too
//! (`zk_server_state` is then `looking`): a 3.8 server would only print the
//! not-serving line there, which hides what an election-only peer is
//! doing.

use super::Handler;
use crate::config::Config;
use crate::leadership::{DEFAULT_INIT_LIMIT, DEFAULT_SYNC_LIMIT};
use crate::peer::Stats;
use crate::types::{LearnerType, ServerState, Sid};
use crate::Peer;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

/// The ZooKeeper release whose protocol and formats zkelect follows.
pub const ZOOKEEPER_VERSION: &str = "3.8.0";

/// The four-letter words a 3.8 server knows.
pub const KNOWN: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst",
    "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
];

/// ZooKeeper's answer when it does not serve (`ZK_NOT_SERVING`).
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// The version zkelect reports (`zk_version`, `Zookeeper version:`).
pub fn version() -> String {
    format!(
        "{ZOOKEEPER_VERSION}-zkelect-{}, election only",
        env!("CARGO_PKG_VERSION")
    )
}

/// `4lw.commands.whitelist`, read as ZooKeeper 3.8 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whitelist {
    all: bool,
    names: BTreeSet<String>,
}

impl Whitelist {
    /// From the key's value (`None` when absent): comma-separated names,
    /// trimmed, `*` for every command; `srvr` is always enabled.
    pub fn parse(text: Option<&str>) -> Whitelist {
        let mut names = BTreeSet::from(["srvr".to_string()]);
        let mut all = false;
        for n in text.unwrap_or("").split(',').map(str::trim) {
            if n == "*" {
                all = true;
            } else if !n.is_empty() {
                names.insert(n.to_string());
            }
        }
        Whitelist { all, names }
    }

    /// Whether `cmd` may run.
    pub fn allows(&self, cmd: &str) -> bool {
        (self.all && KNOWN.contains(&cmd)) || self.names.contains(cmd)
    }
}

/// The answer to the four bytes `cmd`, `None` for no answer (not a
/// four-letter word: the connection is just closed). `client` is the
/// connection's remote address, which `stat` lists.
pub fn answer(
    cmd: &[u8; 4],
    peer: &Peer,
    whitelist: &Whitelist,
    client: Option<SocketAddr>,
) -> Option<String> {
    let cmd = std::str::from_utf8(cmd).ok()?;
    if !KNOWN.contains(&cmd) {
        return None;
    }
    if !whitelist.allows(cmd) {
        return Some(format!(
            "{cmd} is not executed because it is not in the whitelist.\n"
        ));
    }
    let stats = peer.stats();
    let serving = serving(&stats);
    Some(match cmd {
        "ruok" => "imok".to_string(),
        "srvr" if serving => srvr(&stats, None),
        "stat" if serving => srvr(&stats, Some(client)),
        "mntr" => mntr(&stats, peer.config()),
        "conf" => conf(peer.config(), peer.my_sid()),
        _ => format!("{NOT_SERVING}\n"),
    })
}

/// The handler for [`super::AdminServer`]: reads the four bytes within the
/// deadline and writes the answer.
pub fn handler(peer: Arc<Peer>, whitelist: Whitelist) -> Handler {
    Arc::new(move |conn: &mut TcpStream| {
        let mut cmd = [0u8; 4];
        if conn.read_exact(&mut cmd).is_err() {
            return;
        }
        let client = conn.peer_addr().ok();
        if let Some(a) = answer(&cmd, &peer, &whitelist, client) {
            let _ = conn.write_all(a.as_bytes());
            let _ = conn.flush();
        }
    })
}

/// Whether a 3.8 server in this state would serve: decided (it would
/// then sync with its leader; zkelect confirms the epoch instead).
fn serving(s: &Stats) -> bool {
    s.running && s.state != ServerState::Looking
}

/// ZooKeeper's `Mode:` / `zk_server_state` value.
pub fn mode(state: ServerState) -> &'static str {
    match state {
        ServerState::Leading => "leader",
        ServerState::Following => "follower",
        ServerState::Observing => "observer",
        ServerState::Looking => "looking",
    }
}

/// ZooKeeper's `zk_peer_state`: the state and the Zab phase, where an
/// unconfirmed decision is the discovery phase (the new epoch is being
/// agreed) and a confirmed one is broadcast.
fn peer_state(s: &Stats) -> String {
    let phase = match (s.state, s.confirmed) {
        (ServerState::Looking, _) => "election",
        (_, Some(_)) => "broadcast",
        (_, None) => "discovery",
    };
    let state = match s.state {
        ServerState::Leading => "leading",
        ServerState::Following => "following",
        ServerState::Observing => "observing",
        ServerState::Looking => "looking",
    };
    format!("{state} - {phase}")
}

fn ms(d: std::time::Duration) -> u128 {
    d.as_millis()
}

/// The leader as zkelect knows it: the confirmed one, else the decision.
fn leader_of(s: &Stats) -> Option<Sid> {
    match (s.confirmed, s.state) {
        (Some(c), _) => Some(c.leader),
        (None, ServerState::Looking) => None,
        (None, _) => Some(s.vote.leader),
    }
}

/// `srvr`, or `stat` (with its client list) when `client` is given.
fn srvr(s: &Stats, client: Option<Option<SocketAddr>>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Zookeeper version: {}", version());
    if let Some(client) = client {
        out.push_str("Clients:\n");
        if let Some(a) = client {
            let _ = writeln!(
                out,
                " /{}:{}[0](queued=0,recved=1,sent=0)",
                a.ip(),
                a.port()
            );
        }
        out.push('\n');
    }
    out.push_str("Latency min/avg/max: 0/0.0/0\n");
    let _ = writeln!(out, "Received: {}", s.frames_received);
    let _ = writeln!(out, "Sent: {}", s.frames_sent);
    out.push_str("Connections: 1\nOutstanding: 0\n");
    let _ = writeln!(out, "Zxid: {:#x}", s.zxid);
    let _ = writeln!(out, "Mode: {}", mode(s.state));
    out.push_str("Node count: 0\n");
    if s.state == ServerState::Leading {
        out.push_str("Proposal sizes last/min/max: -1/-1/-1\n");
    }
    // zkelect's own lines.
    if let Some(l) = leader_of(s) {
        let _ = writeln!(out, "Leader: {l}");
    }
    let _ = writeln!(out, "Epoch: {}", s.accepted_epoch);
    let _ = writeln!(out, "Confirmed: {}", s.confirmed.is_some());
    let _ = writeln!(out, "Follow only: {}", s.follow_only);
    let _ = writeln!(out, "Real members: {}", s.real_members);
    if let Some(t) = s.last_election_time {
        let _ = writeln!(out, "Election time: {} ms", ms(t));
    }
    out
}

/// `mntr`: tab-separated key and value per line.
fn mntr(s: &Stats, c: &Config) -> String {
    let mut out = String::new();
    let mut kv = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{k}\t{v}");
    };
    kv("zk_version", &version());
    kv("zk_server_state", &mode(s.state));
    kv("zk_peer_state", &peer_state(s));
    kv("zk_num_alive_connections", &1);
    kv("zk_outstanding_requests", &0);
    kv("zk_packets_received", &s.frames_received);
    kv("zk_packets_sent", &s.frames_sent);
    if let Some((open, max)) = fd_counts() {
        kv("zk_open_file_descriptor_count", &open);
        kv("zk_max_file_descriptor_count", &max);
    }
    kv("zk_uptime", &ms(s.uptime));
    if s.state == ServerState::Leading && s.confirmed.is_some() {
        kv("zk_leader_uptime", &ms(s.confirmed_for.unwrap_or_default()));
    }
    kv("zk_quorum_size", &c.quorum.voters().len());
    kv("zk_looking_count", &s.looking_count);
    let n = s.elections;
    let sum = ms(s.total_election_time);
    let avg = if n == 0 { 0.0 } else { sum as f64 / n as f64 };
    kv("zk_avg_election_time", &format!("{avg:.1}"));
    kv("zk_min_election_time", &s.min_election_time.map_or(0, ms));
    kv("zk_max_election_time", &s.max_election_time.map_or(0, ms));
    kv("zk_cnt_election_time", &n);
    kv("zk_sum_election_time", &sum);
    // zkelect's own.
    kv("zkelect_leader", &leader_of(s).unwrap_or(-1));
    kv("zkelect_epoch", &s.accepted_epoch);
    kv("zkelect_confirmed", &s.confirmed.is_some());
    kv("zkelect_election_round", &s.round);
    kv(
        "zkelect_last_election_time",
        &s.last_election_time.map_or(0, ms),
    );
    kv("zkelect_elections", &n);
    kv("zkelect_leadership_changes", &s.leadership_changes);
    kv("zkelect_connected_peers", &s.connected_peers.len());
    kv("zkelect_connection_errors", &s.connection_errors);
    kv("zkelect_frames_dropped", &s.frames_dropped);
    kv("zkelect_follow_only", &u8::from(s.follow_only));
    kv("zkelect_real_members", &u8::from(s.real_members));
    out
}

/// `conf`: ZooKeeper's keys that apply, zkelect's own, then the membership
/// (the config text every notification carries).
fn conf(c: &Config, sid: Sid) -> String {
    let mut out = String::new();
    let mut kv = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{k}={v}");
    };
    let me = c.servers.get(&sid);
    if let Some(p) = me
        .and_then(|s| s.client.as_ref())
        .map(|c| c.1)
        .or(c.client_port)
    {
        kv("clientPort", &p);
    }
    kv("secureClientPort", &-1);
    if let Some(d) = &c.data_dir {
        kv("dataDir", &d.display());
    }
    kv("tickTime", &c.tick_time_ms);
    kv("serverId", &sid);
    kv("initLimit", &c.init_limit.unwrap_or(DEFAULT_INIT_LIMIT));
    kv("syncLimit", &c.sync_limit.unwrap_or(DEFAULT_SYNC_LIMIT));
    kv("electionAlg", &3);
    if let Some(a) = me.and_then(|s| s.addrs.first()) {
        kv("electionPort", &a.election_port);
        kv("quorumPort", &a.quorum_port);
    }
    let observer = me.is_some_and(|s| s.role == LearnerType::Observer);
    kv("peerType", &u8::from(observer));
    kv("finalizeWait", &c.finalize_wait_ms);
    kv("leadershipMode", &c.leadership_mode);
    out.push_str("membership: \n");
    out.push_str(&c.render_dynamic());
    out
}

/// Open file descriptors of this process and their limit (Linux).
fn fd_counts() -> Option<(usize, u64)> {
    // The directory handle itself is one of the entries.
    let open = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .count()
        .saturating_sub(1);
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    Some((open, soft.parse().ok()?))
}
