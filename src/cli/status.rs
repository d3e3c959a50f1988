//! `zkelect status`: the whole ensemble of a zoo.cfg at a glance.

use super::args::Args;
use super::json;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};
use zkelect::config::Config;
use zkelect::probe::{probe_tls, ProbeReply, DEFAULT_PROBE_SID};
use zkelect::quorum::QuorumVerifier;
use zkelect::{LearnerType, ServerState, Sid};

const HELP: &str = "\
usage: zkelect status --config zoo.cfg [--json] [--timeout MS]

Probes the election port of every server.N of the config at once (as
'zkelect probe' does: read-only, a non-voting sid; over quorum TLS with the
config's keys when it sets sslQuorum=true) and prints one table:

  SID  ADDRESS  REACHABLE  STATE  LEADER  ROUND  EPOCH  CONFIRMED  FOLLOW-ONLY  REAL-MEMBERS

then a verdict such as 'leader 3, epoch 7, 5/5 reachable, quorum 3'.
LEADER is the leader a decided server follows (or itself, leading); a
LOOKING server shows the candidate it proposes, as 'proposes N'. ROUND is
its election round, EPOCH the peer epoch of its vote. CONFIRMED says whether
the server has confirmed the leadership with a new epoch (zkelect) or
finished the sync with its leader (ZooKeeper): zkelect asks the server's
four-letter word srvr for it, at the client address of its server.N line
(server.N=host:2888:3888;2181) or at clientPort on its host when no other
server shares that host; '?' when it cannot tell. FOLLOW-ONLY (its vote is
follow-only now: it votes but never wins) and REAL-MEMBERS (it learned that
the ensemble has real ZooKeeper servers) come from the same srvr of a
zkelect peer; '?' for a real ZooKeeper server or a LOOKING peer (srvr does
not answer while LOOKING).

Exit status: 0 when a leader is agreed on (it leads, and a quorum of voters
follows it or is it), 1 when not, 2 on a bad config or option.

  --config PATH   zoo.cfg (ZooKeeper syntax)
  --json          one JSON object instead of the table
  --timeout MS    how long each server may take to answer (default 2000)
";

/// What one server reported.
struct Row {
    sid: Sid,
    role: LearnerType,
    address: String,
    reply: Result<ProbeReply, std::io::Error>,
    confirmed: Option<bool>,
    /// What its `srvr` says of a mixed ensemble; `None` when it does not
    /// say (a real ZooKeeper server, a LOOKING peer, no client address).
    mixed: Option<Mixed>,
}

/// A zkelect peer's `Follow only:` and `Real members:` lines of `srvr`.
#[derive(Clone, Copy)]
struct Mixed {
    follow_only: bool,
    real_members: bool,
}

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let a = Args::parse_with_flags(argv, &["config", "timeout"], &["json"])?;
    if a.help {
        print!("{HELP}");
        return Ok(());
    }
    if let Some(p) = a.positional.first() {
        return Err(format!("unexpected argument '{p}'\n\n{HELP}"));
    }
    let path = a
        .get("config")
        .ok_or_else(|| format!("--config is required\n\n{HELP}"))?;
    let timeout = match a.value::<u64>("timeout")? {
        Some(0) => return Err("--timeout must be at least 1 ms".into()),
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_millis(2000),
    };
    let cfg = Config::load(Path::new(path)).map_err(|e| e.to_string())?;
    // With sslQuorum=true, over quorum TLS with the config's own keys.
    let tls = super::probe::tls_of(&cfg, path)?;
    let rows = probe_all(&cfg, timeout, tls.as_ref());
    let verdict = Verdict::of(&cfg, &rows);
    let mut out = std::io::stdout().lock();
    let text = if a.flag("json") {
        to_json(&rows, &verdict)
    } else {
        table(&rows, &verdict)
    };
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    if verdict.leader.is_none() {
        std::process::exit(1);
    }
    Ok(())
}

/// Probes every server on a thread of its own, all at once.
fn probe_all(cfg: &Config, timeout: Duration, tls: Option<&zkelect::tls::TlsContext>) -> Vec<Row> {
    let hosts: Vec<&str> = cfg
        .servers
        .values()
        .filter_map(|s| s.addrs.first().map(|a| a.host.as_str()))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = cfg
            .servers
            .values()
            .map(|s| {
                let shared = hosts
                    .iter()
                    .filter(|h| s.addrs.first().is_some_and(|a| a.host == **h))
                    .count()
                    > 1;
                scope.spawn(move || {
                    let mut reply = Err(std::io::Error::other("no address"));
                    let mut address = String::new();
                    // Each address of a multi-address server in turn.
                    for a in &s.addrs {
                        address = join_host_port(&a.host, a.election_port);
                        reply = probe_tls(&address, DEFAULT_PROBE_SID, timeout, tls);
                        if reply.is_ok() {
                            break;
                        }
                    }
                    let four = match (&s.client, cfg.client_port, s.addrs.first()) {
                        (Some((h, p)), _, Some(a)) => {
                            let host = if h == "0.0.0.0" || h == "::" {
                                &a.host
                            } else {
                                h
                            };
                            Some(join_host_port(host, *p))
                        }
                        (None, Some(p), Some(a)) if !shared => Some(join_host_port(&a.host, p)),
                        _ => None,
                    };
                    let (confirmed, mixed) = match (&reply, four) {
                        (Ok(_), Some(addr)) => srvr_facts(&addr, timeout),
                        _ => (None, None),
                    };
                    Row {
                        sid: s.sid,
                        role: s.role,
                        address,
                        reply,
                        confirmed,
                        mixed,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a probe thread panicked"))
            .collect()
    })
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Asks `srvr` at `addr`. First whether it is confirmed: `Some(true)` when
/// the server serves and, for zkelect, says `Confirmed: true`;
/// `Some(false)` when it does not serve or is not confirmed; `None` when
/// there is no answer to tell from. Then a zkelect peer's mixed-ensemble
/// lines, if it printed them.
fn srvr_facts(addr: &str, timeout: Duration) -> (Option<bool>, Option<Mixed>) {
    let Some(text) = four_letter_word(addr, "srvr", timeout) else {
        return (None, None);
    };
    if text.contains(zkelect::admin::fourlw::NOT_SERVING) {
        return (Some(false), None);
    }
    let line = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim() == "true")
    };
    let mixed = match (line("Follow only: "), line("Real members: ")) {
        (Some(follow_only), Some(real_members)) => Some(Mixed {
            follow_only,
            real_members,
        }),
        _ => None,
    };
    let Some(mode) = text.lines().find_map(|l| l.strip_prefix("Mode: ")) else {
        return (None, mixed);
    };
    if let Some(c) = line("Confirmed: ") {
        return (Some(c), mixed);
    }
    // A ZooKeeper server serves once it has synced with its leader.
    let serves = matches!(mode.trim(), "leader" | "follower" | "observer");
    (Some(serves), mixed)
}

/// Sends a four-letter word and reads the answer to the end.
pub fn four_letter_word(addr: &str, cmd: &str, timeout: Duration) -> Option<String> {
    let sock = addr.to_socket_addrs().ok()?.next()?;
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&sock, timeout).ok()?;
    s.write_all(cmd.as_bytes()).ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The ensemble's verdict.
struct Verdict {
    leader: Option<Sid>,
    epoch: Option<i64>,
    reachable: usize,
    total: usize,
    quorum: String,
    /// Whether the agreed leader said it confirmed its leadership.
    confirmed: Option<bool>,
    /// Reachable servers that do not follow the agreed leader.
    dissent: Vec<Sid>,
}

impl Verdict {
    fn of(cfg: &Config, rows: &[Row]) -> Verdict {
        let q = &cfg.quorum;
        let quorum = match q {
            QuorumVerifier::Majority(m) => (m.voters().len() / 2 + 1).to_string(),
            QuorumVerifier::Hierarchical(_) => "by groups".to_string(),
        };
        let decided: Vec<(&Row, &ProbeReply)> = rows
            .iter()
            .filter_map(|r| r.reply.as_ref().ok().map(|p| (r, p)))
            .filter(|(_, p)| p.decided())
            .collect();
        let candidates: BTreeSet<Sid> = decided.iter().map(|(_, p)| p.leader).collect();
        let mut leader = None;
        for l in candidates {
            let leads = decided
                .iter()
                .any(|(r, p)| r.sid == l && p.server_state() == Some(ServerState::Leading));
            let backers: BTreeSet<Sid> = decided
                .iter()
                .filter(|(r, p)| p.leader == l && q.is_voter(r.sid))
                .map(|(r, _)| r.sid)
                .collect();
            if leads && q.contains_quorum(&backers) {
                leader = Some(l);
            }
        }
        let epoch = leader.and_then(|l| {
            rows.iter()
                .find(|r| r.sid == l)
                .and_then(|r| r.reply.as_ref().ok())
                .map(|p| p.peer_epoch)
        });
        let dissent = match leader {
            Some(l) => rows
                .iter()
                .filter(|r| {
                    r.reply
                        .as_ref()
                        .is_ok_and(|p| !p.decided() || p.leader != l)
                })
                .map(|r| r.sid)
                .collect(),
            None => Vec::new(),
        };
        let confirmed = leader.and_then(|l| rows.iter().find(|r| r.sid == l)?.confirmed);
        Verdict {
            leader,
            epoch,
            confirmed,
            reachable: rows.iter().filter(|r| r.reply.is_ok()).count(),
            total: rows.len(),
            quorum,
            dissent,
        }
    }

    fn line(&self) -> String {
        let tail = format!(
            "{}/{} reachable, quorum {}",
            self.reachable, self.total, self.quorum
        );
        match (self.leader, self.epoch) {
            (Some(l), Some(e)) => {
                let pending = if self.confirmed == Some(false) {
                    " (not confirmed yet)"
                } else {
                    ""
                };
                let mut s = format!("leader {l}{pending}, epoch {e}, {tail}");
                if !self.dissent.is_empty() {
                    let list: Vec<String> = self.dissent.iter().map(|s| s.to_string()).collect();
                    s.push_str(&format!("; not following it: {}", list.join(", ")));
                }
                s
            }
            _ => format!("no agreed leader: {tail}"),
        }
    }
}

fn reachable_text(r: &Row) -> String {
    match &r.reply {
        Ok(_) => "yes".into(),
        Err(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "no (refused)".into(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "no (timeout)".into(),
            std::io::ErrorKind::UnexpectedEof => "no (closed)".into(),
            _ => format!("no ({e})"),
        },
    }
}

fn confirmed_text(c: Option<bool>) -> &'static str {
    match c {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

/// A mixed-ensemble column: yes or no as the peer's `srvr` says, `?` when
/// it does not say, `-` when the server is unreachable.
fn mixed_text(r: &Row, pick: impl Fn(&Mixed) -> bool) -> &'static str {
    match (&r.reply, r.mixed) {
        (Err(_), _) => "-",
        (Ok(_), None) => "?",
        (Ok(_), Some(m)) => confirmed_text(Some(pick(&m))),
    }
}

fn table(rows: &[Row], v: &Verdict) -> String {
    let mut lines = vec![[
        "SID".to_string(),
        "ADDRESS".into(),
        "REACHABLE".into(),
        "STATE".into(),
        "LEADER".into(),
        "ROUND".into(),
        "EPOCH".into(),
        "CONFIRMED".into(),
        "FOLLOW-ONLY".into(),
        "REAL-MEMBERS".into(),
    ]];
    for r in rows {
        let sid = match r.role {
            LearnerType::Observer => format!("{} (observer)", r.sid),
            LearnerType::Participant => r.sid.to_string(),
        };
        let (state, leader, round, epoch) = match &r.reply {
            Ok(p) => (
                json::state_name(p.state),
                if p.decided() {
                    p.leader.to_string()
                } else {
                    format!("proposes {}", p.leader)
                },
                p.election_epoch.to_string(),
                p.peer_epoch.to_string(),
            ),
            Err(_) => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        lines.push([
            sid,
            r.address.clone(),
            reachable_text(r),
            state,
            leader,
            round,
            epoch,
            if r.reply.is_ok() {
                confirmed_text(r.confirmed).to_string()
            } else {
                "-".into()
            },
            mixed_text(r, |m| m.follow_only).into(),
            mixed_text(r, |m| m.real_members).into(),
        ]);
    }
    let mut widths = [0usize; 10];
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l.iter()) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&v.line());
    out.push('\n');
    if rows.iter().all(|r| {
        r.reply
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    }) {
        out.push_str(
            "hint: every server refused: are the election ports (the third field of server.N) right, and the peers running?\n",
        );
    }
    out
}

fn to_json(rows: &[Row], v: &Verdict) -> String {
    let opt = |o: Option<i64>| o.map_or("null".to_string(), |x| x.to_string());
    let servers: Vec<String> = rows
        .iter()
        .map(|r| {
            let role = match r.role {
                LearnerType::Observer => "observer",
                LearnerType::Participant => "participant",
            };
            let head = format!(
                r#""sid":{},"role":"{role}","address":"{}","reachable":{}"#,
                r.sid,
                json::escape(&r.address),
                r.reply.is_ok()
            );
            match &r.reply {
                Ok(p) => {
                    let (leader, proposal) = if p.decided() {
                        (Some(p.leader), None)
                    } else {
                        (None, Some(p.leader))
                    };
                    let flag = |o: Option<bool>| o.map_or("null".to_string(), |c| c.to_string());
                    let confirmed = flag(r.confirmed);
                    let follow_only = flag(r.mixed.map(|m| m.follow_only));
                    let real_members = flag(r.mixed.map(|m| m.real_members));
                    format!(
                        r#"{{{head},"state":"{}","leader":{},"proposal":{},"round":{},"peer_epoch":{},"zxid":{},"confirmed":{confirmed},"follow_only":{follow_only},"real_members":{real_members}}}"#,
                        json::state_name(p.state),
                        opt(leader),
                        opt(proposal),
                        p.election_epoch,
                        p.peer_epoch,
                        p.zxid
                    )
                }
                Err(e) => format!(
                    r#"{{{head},"error":"{}"}}"#,
                    json::escape(&e.to_string())
                ),
            }
        })
        .collect();
    format!(
        "{{\"servers\":[{}],\"leader\":{},\"epoch\":{},\"reachable\":{},\"total\":{},\"quorum\":{},\"verdict\":\"{}\"}}\n",
        servers.join(","),
        opt(v.leader),
        opt(v.epoch),
        v.reachable,
        v.total,
        // A number for a majority; null for groups (the rule is in the verdict).
        v.quorum.parse::<i64>().map_or("null".to_string(), |n| n.to_string()),
        json::escape(&v.line())
    )
}
