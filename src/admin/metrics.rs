//! The peer's figures as a Prometheus page (text exposition format 0.0.4)
//! on `GET /metrics`, with the names of ZooKeeper's Prometheus provider
//! where they apply (`election_time`, `looking_count`, `quorum_size`,
//! `uptime`, `leader_uptime`) and `zkelect_` names for the rest.
//!
//! The HTTP side is the least that Prometheus needs: one HTTP/1.x request
//! per connection, `GET` or `HEAD` of `/metrics` (with any query), the
//! answer with a `Content-Length`, then the close. Anything else is a 404
//! or 405; a request that does not arrive within the deadline is closed.

use super::Handler;
use crate::config::Config;
use crate::peer::Stats;
use crate::types::ServerState;
use crate::Peer;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// The longest request head read; longer ones get a 431.
const MAX_HEAD: usize = 8 * 1024;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The page for `stats` of a peer with config `c`.
pub fn render(s: &Stats, c: &Config) -> String {
    let mut p = Page::default();
    // ZooKeeper's names (its Prometheus provider; election_time is a
    // summary there, with a 0.5 quantile that zkelect does not estimate).
    p.family(
        "election_time",
        "summary",
        "Time from LOOKING to the decision of each election, in ms",
    );
    p.sample("election_time_count", "", s.elections);
    p.sample("election_time_sum", "", s.total_election_time.as_millis());
    p.family(
        "looking_count",
        "counter",
        "Times this peer went LOOKING (each start and each new election)",
    );
    p.sample("looking_count", "", s.looking_count);
    p.family("quorum_size", "gauge", "Voting members of the ensemble");
    p.sample("quorum_size", "", c.quorum.voters().len());
    p.family("uptime", "gauge", "Time since the peer started, in ms");
    p.sample("uptime", "", s.uptime.as_millis());
    if s.state == ServerState::Leading && s.confirmed.is_some() {
        p.family(
            "leader_uptime",
            "gauge",
            "Time since this peer's leadership was confirmed, in ms",
        );
        p.sample(
            "leader_uptime",
            "",
            s.confirmed_for.unwrap_or_default().as_millis(),
        );
    }
    // zkelect's own.
    p.family(
        "zkelect_state",
        "gauge",
        "1 for the peer's current election state, 0 for the others",
    );
    for st in [
        ServerState::Looking,
        ServerState::Following,
        ServerState::Leading,
        ServerState::Observing,
    ] {
        p.sample(
            "zkelect_state",
            &format!("state=\"{}\"", st.name()),
            u8::from(st == s.state),
        );
    }
    let leader = match (s.confirmed, s.state) {
        (Some(c), _) => c.leader,
        (None, ServerState::Looking) => -1,
        (None, _) => s.vote.leader,
    };
    p.gauge(
        "zkelect_leader",
        "The leader's sid (confirmed, else decided), -1 while LOOKING",
        leader,
    );
    p.gauge(
        "zkelect_epoch",
        "The highest epoch this peer accepted",
        s.accepted_epoch,
    );
    p.gauge(
        "zkelect_confirmed",
        "1 while the leadership is confirmed with a new epoch",
        u8::from(s.confirmed.is_some()),
    );
    p.gauge(
        "zkelect_follow_only",
        "1 while this peer's vote is follow-only (it votes but never wins the election)",
        u8::from(s.follow_only),
    );
    p.gauge(
        "zkelect_real_members",
        "1 once this peer learned that the ensemble has real ZooKeeper servers",
        u8::from(s.real_members),
    );
    p.gauge(
        "zkelect_election_round",
        "The election round (logicalclock)",
        s.round,
    );
    p.gauge(
        "zkelect_last_election_time_ms",
        "Duration of the last election, in ms",
        s.last_election_time.map_or(0, |d| d.as_millis()),
    );
    p.gauge(
        "zkelect_connected_peers",
        "Members of the configuration connected now",
        s.connected_peers.len(),
    );
    p.counter(
        "zkelect_elections_total",
        "Elections that ended in a decision",
        s.elections,
    );
    p.counter(
        "zkelect_leadership_changes_total",
        "Confirmed leaderships begun (a new leader or a new epoch)",
        s.leadership_changes,
    );
    p.counter(
        "zkelect_connection_errors_total",
        "Failed election connection attempts and connections closed for a bad frame",
        s.connection_errors,
    );
    p.counter(
        "zkelect_frames_dropped_total",
        "Received election frames dropped because the receive queue was full",
        s.frames_dropped,
    );
    p.counter(
        "zkelect_frames_received_total",
        "Election frames received",
        s.frames_received,
    );
    p.counter(
        "zkelect_frames_sent_total",
        "Election frames queued for sending",
        s.frames_sent,
    );
    p.out
}

#[derive(Default)]
struct Page {
    out: String,
}

impl Page {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, v: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {v}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {v}");
        }
    }

    fn gauge(&mut self, name: &str, help: &str, v: impl std::fmt::Display) {
        self.family(name, "gauge", help);
        self.sample(name, "", v);
    }

    fn counter(&mut self, name: &str, help: &str, v: impl std::fmt::Display) {
        self.family(name, "counter", help);
        self.sample(name, "", v);
    }
}

/// The handler for [`super::AdminServer`].
pub fn handler(peer: Arc<Peer>) -> Handler {
    Arc::new(move |conn: &mut TcpStream| {
        let head = match read_head(conn) {
            Ok(h) => h,
            Err(status) => {
                respond(conn, status, "", false);
                return;
            }
        };
        let line = head.lines().next().unwrap_or("");
        let mut parts = line.split(' ');
        let (method, target, proto) = (parts.next(), parts.next(), parts.next());
        if !proto.is_some_and(|p| p.starts_with("HTTP/1.")) || parts.next().is_some() {
            respond(conn, "400 Bad Request", "", false);
            return;
        }
        let path = target.unwrap_or("").split('?').next().unwrap_or("");
        if path != "/metrics" {
            respond(conn, "404 Not Found", "try /metrics\n", true);
            return;
        }
        match method {
            Some("GET") => {
                let page = render(&peer.stats(), peer.config());
                respond(conn, "200 OK", &page, true);
            }
            Some("HEAD") => {
                let page = render(&peer.stats(), peer.config());
                respond(conn, "200 OK", &page, false);
            }
            _ => respond(conn, "405 Method Not Allowed", "", false),
        }
    })
}

/// Reads up to the blank line that ends the head (the server reads no
/// body: GET and HEAD have none).
fn read_head(conn: &mut TcpStream) -> Result<String, &'static str> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = conn.read(&mut chunk).map_err(|_| "408 Request Timeout")?;
        if n == 0 {
            return Err("400 Bad Request");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n").or_else(|| find(&buf, b"\n\n")) {
            buf.truncate(end);
            return String::from_utf8(buf).map_err(|_| "400 Bad Request");
        }
        if buf.len() > MAX_HEAD {
            return Err("431 Request Header Fields Too Large");
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn respond(conn: &mut TcpStream, status: &str, body: &str, with_body: bool) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    if with_body {
        let _ = conn.write_all(body.as_bytes());
    }
    let _ = conn.flush();
}
