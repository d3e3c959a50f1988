//! A read-only look at any election port: connect as a non-voting sid, send
//! one notification, and read back the state and vote the server reports
//! (spec 5.11: a message from a non-voter is always answered).

use crate::types::{ServerState, Sid, NO_VOTE};
use crate::wire::{self, HostPort, ProtocolVersion};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The sid a probe uses unless told otherwise: larger than any sid a real
/// ensemble uses, so the server keeps our connection instead of dialling
/// back, and not `i64::MAX`, which is the legacy observer placeholder.
pub const DEFAULT_PROBE_SID: Sid = i64::MAX - 1;

/// What an election port reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReply {
    /// The address probed.
    pub addr: SocketAddr,
    /// The server's state ordinal (see [`ServerState::from_i32`]).
    pub state: i32,
    /// Its current vote's leader.
    pub leader: Sid,
    /// Its current vote's zxid.
    pub zxid: i64,
    /// Its round (logicalclock).
    pub election_epoch: i64,
    /// Its current vote's peer epoch.
    pub peer_epoch: i64,
    /// The config text it sent, if any.
    pub config: Option<String>,
}

impl ProbeReply {
    /// The state, if valid.
    pub fn server_state(&self) -> Option<ServerState> {
        ServerState::from_i32(self.state)
    }

    /// Whether the server reported a decided state (FOLLOWING, LEADING or
    /// OBSERVING): then `leader` is the leader it elected. While LOOKING,
    /// `leader` is only the candidate it proposes.
    pub fn decided(&self) -> bool {
        matches!(
            self.server_state(),
            Some(ServerState::Following | ServerState::Leading | ServerState::Observing)
        )
    }
}

/// A hint for a failed probe, when the error suggests a common mistake: a
/// refused connection usually means the port is not an election port.
pub fn hint(e: &io::Error) -> Option<&'static str> {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Some(
            "nothing listens there: is it the election port? It is the third field of \
             server.N (host:2888:3888 -> :3888), not the quorum port (the second) or the client port",
        ),
        // A zkelect peer (followOnly=auto) closes every connection to its
        // quorum port at once; a ZooKeeper leader's quorum port does not
        // answer an election handshake either.
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Some(
            "the server closed the connection without answering: is it the election port?              It is the third field of server.N (host:2888:3888 -> :3888), not the quorum port              (the second)",
        ),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Some(
            "no answer in time: a firewall, a stopped process, or not an election port",
        ),
        _ => None,
    }
}

/// Probes `target` (`host:port`) as `sid`, waiting up to `timeout`.
///
/// The probed server answers like any peer's, and a zkelect peer logs the
/// connection of a sid outside its configuration at DEBUG only.
///
/// The probe sends a 40-byte (3.4-format) notification, which carries no
/// config text: a real 3.8 server parses any config it receives, and an
/// empty one can kill its receive thread, while the 40-byte form is
/// accepted as it is.
pub fn probe(target: &str, sid: Sid, timeout: Duration) -> io::Result<ProbeReply> {
    probe_tls(target, sid, timeout, None)
}

/// As [`probe`], over quorum TLS when `tls` is given (the keys of the
/// ensemble's zoo.cfg, see [`crate::tls::TlsContext::load`]).
pub fn probe_tls(
    target: &str,
    sid: Sid,
    timeout: Duration,
    tls: Option<&crate::tls::TlsContext>,
) -> io::Result<ProbeReply> {
    let addr = target.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("cannot resolve {target}"))
    })?;
    let deadline = Instant::now() + timeout;
    let tcp = TcpStream::connect_timeout(&addr, timeout)?;
    tcp.set_nodelay(true)?;
    let local = tcp.local_addr()?;
    let mut s = wrap_tls(tcp, target, tls, timeout)?;
    let me = HostPort {
        host: local.ip().to_string(),
        port: local.port(),
    };
    // Handshake in one write; the frame may follow in the same segment.
    s.write_all(&wire::encode_handshake(ProtocolVersion::V1, sid, &[me]))?;
    let body =
        wire::encode_notification_body_v1(ServerState::Looking, NO_VOTE, NO_VOTE, 0, NO_VOTE);
    s.write_all(&wire::encode_frame(&body))?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer from {addr}"),
            ));
        }
        s.set_read_timeout(Some(left))?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len)
            .map_err(|e| timed_out(e, addr, timeout))?;
        let n = wire::check_frame_len(i32::from_be_bytes(len))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let mut frame = vec![0u8; n];
        s.read_exact(&mut frame)
            .map_err(|e| timed_out(e, addr, timeout))?;
        let Ok(m) = wire::decode_notification(&frame) else {
            continue;
        };
        return Ok(ProbeReply {
            addr,
            state: m.state,
            leader: m.leader,
            zxid: m.zxid,
            election_epoch: m.election_epoch,
            peer_epoch: m.peer_epoch,
            config: m.config.map(|c| String::from_utf8_lossy(&c).into_owned()),
        });
    }
}

/// A read that ran into its timeout says so (Linux reports `WouldBlock`).
fn timed_out(e: io::Error, addr: SocketAddr, timeout: Duration) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer from {addr} within {} ms", timeout.as_millis()),
        ),
        _ => e,
    }
}

/// The probe's socket, inside TLS when `tls` is given: the server's
/// certificate is checked against the host of `target` when hostname
/// verification is on.
fn wrap_tls(
    tcp: TcpStream,
    target: &str,
    tls: Option<&crate::tls::TlsContext>,
    timeout: Duration,
) -> io::Result<crate::cnx::Stream> {
    match tls {
        None => Ok(crate::cnx::Stream::Plain(tcp)),
        Some(ctx) => {
            let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
            crate::cnx::Stream::connect_tls(tcp, ctx, host, timeout)
                .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake with {target}: {e}")))
        }
    }
}
