//! An election connection's byte stream: plain TCP, or TLS over it
//! (`sslQuorum=true`). The ZooKeeper handshake and frames go through it
//! unchanged either way.
//!
//! A TLS connection's state (one `rustls::Connection`) is shared by its
//! send and receive workers behind a mutex, which is never held while
//! waiting for the network to deliver bytes:
//! - the receive side reads raw bytes from the socket without the lock (a
//!   blocking read that closing the socket wakes, as for plain TCP), then
//!   takes the lock to feed them to rustls and take out plaintext;
//! - the send side takes the lock to encrypt a frame and write the records
//!   to the socket, so records leave in order. The write can only wait when
//!   the peer's receive buffer is full; election frames are small and one
//!   at a time per peer, and the peer's receive worker keeps reading its
//!   socket without a lock, so that does not chain into a deadlock.
//!
//! Raw bytes read before the ZooKeeper handshake was decoded stay in the
//! shared state, so nothing read by the handshake thread is lost to the
//! receive worker.

use crate::tls::TlsContext;
use parking_lot::Mutex;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConnection, Connection, ServerConnection};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The first byte of every TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// One election connection, plain or TLS; clones share the connection.
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(TlsStream),
}

/// The TLS variant of [`Stream`].
pub(crate) struct TlsStream {
    tcp: TcpStream,
    state: Arc<Mutex<TlsState>>,
    scratch: Vec<u8>,
}

struct TlsState {
    conn: Connection,
    /// Raw bytes read from the socket and not yet given to rustls.
    raw: Vec<u8>,
    /// The socket reached end of file (told to rustls).
    eof: bool,
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl Stream {
    /// The socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.tcp,
        }
    }

    /// Another handle on the same connection (a worker's half).
    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Plain(s) => Stream::Plain(s.try_clone()?),
            Stream::Tls(t) => Stream::Tls(TlsStream {
                tcp: t.tcp.try_clone()?,
                state: t.state.clone(),
                scratch: Vec::new(),
            }),
        })
    }

    /// The remote address, if the socket still knows it.
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }

    /// Shuts the socket down both ways, waking any read or write on it.
    pub(crate) fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Sets the socket's read timeout.
    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(t)
    }

    /// The peer's end-entity certificate (TLS with a client certificate or
    /// on the dialling side), else `None`.
    pub(crate) fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(t) => t
                .state
                .lock()
                .conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.clone().into_owned()),
        }
    }

    /// Runs the accepting side's TLS handshake on `tcp` within `timeout`.
    /// A first byte that cannot start TLS is reported as such (a plaintext
    /// peer, or garbage) without waiting for more.
    pub(crate) fn accept_tls(
        tcp: TcpStream,
        ctx: &TlsContext,
        timeout: Duration,
    ) -> io::Result<Stream> {
        let deadline = Instant::now() + timeout;
        tcp.set_read_timeout(Some(timeout))?;
        let mut first = [0u8; 1];
        let n = tcp.peek(&mut first).map_err(|e| timed_out(e, timeout))?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before sending a TLS handshake",
            ));
        }
        if first[0] != TLS_HANDSHAKE_RECORD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not TLS (first byte 0x{:02x}, a TLS handshake starts with 0x16): a plaintext \
                     peer or garbage on a TLS election port",
                    first[0]
                ),
            ));
        }
        let (_, server) = ctx.configs();
        let conn = ServerConnection::new(server).map_err(tls_error)?;
        Stream::handshake(tcp, conn.into(), deadline, timeout)
    }

    /// Runs the dialling side's TLS handshake on `tcp` within `timeout`,
    /// checking the accepting peer's certificate against `host` when
    /// hostname verification is on.
    pub(crate) fn connect_tls(
        tcp: TcpStream,
        ctx: &TlsContext,
        host: &str,
        timeout: Duration,
    ) -> io::Result<Stream> {
        let deadline = Instant::now() + timeout;
        let name = match crate::tls::server_name(host) {
            Some(n) => n,
            None => rustls::pki_types::ServerName::IpAddress(tcp.peer_addr()?.ip().into()),
        };
        let (client, _) = ctx.configs();
        let conn = ClientConnection::new(client, name).map_err(tls_error)?;
        Stream::handshake(tcp, conn.into(), deadline, timeout)
    }

    /// Runs the TLS handshake by `deadline`. Each read waits for the
    /// network until the deadline; stop wakes it by shutting the socket
    /// down (the manager tracks every socket whose handshake is running:
    /// `pending` on the accepting side, the slot's `dialing` socket on the
    /// dialling side).
    fn handshake(
        tcp: TcpStream,
        mut conn: Connection,
        deadline: Instant,
        timeout: Duration,
    ) -> io::Result<Stream> {
        let left = |deadline: Instant| {
            let d = deadline.saturating_duration_since(Instant::now());
            if d.is_zero() {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("TLS handshake not done after {} ms", timeout.as_millis()),
                ))
            } else {
                Ok(d)
            }
        };
        let mut sock = &tcp;
        while conn.is_handshaking() {
            while conn.wants_write() {
                tcp.set_write_timeout(Some(left(deadline)?))?;
                conn.write_tls(&mut sock)
                    .map_err(|e| timed_out(e, timeout))?;
            }
            if !conn.is_handshaking() {
                break;
            }
            tcp.set_read_timeout(Some(left(deadline)?))?;
            let n = conn
                .read_tls(&mut sock)
                .map_err(|e| timed_out(e, timeout))?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake (it may not \
                     speak TLS, or it refused our certificate)",
                ));
            }
            if let Err(e) = conn.process_new_packets() {
                // Tell the peer why (an alert), best effort.
                while conn.wants_write() {
                    if conn.write_tls(&mut sock).is_err() {
                        break;
                    }
                }
                return Err(tls_error(e));
            }
        }
        while conn.wants_write() {
            tcp.set_write_timeout(Some(left(deadline)?))?;
            conn.write_tls(&mut sock)
                .map_err(|e| timed_out(e, timeout))?;
        }
        tcp.set_write_timeout(None)?;
        tcp.set_read_timeout(None)?;
        Ok(Stream::Tls(TlsStream {
            tcp,
            state: Arc::new(Mutex::new(TlsState {
                conn,
                raw: Vec::new(),
                eof: false,
            })),
            scratch: Vec::new(),
        }))
    }
}

fn timed_out(e: io::Error, timeout: Duration) -> io::Error {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS handshake not done after {} ms", timeout.as_millis()),
        )
    } else {
        e
    }
}

impl TlsState {
    /// Writes every pending TLS record to `tcp`.
    fn flush(&mut self, mut tcp: &TcpStream) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut tcp)?;
        }
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(_) => Ok(()),
        }
    }
}

/// How much is read from the socket at once.
const READ_CHUNK: usize = 16 * 1024;

impl TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut st = self.state.lock();
                match st.conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                // No plaintext is buffered: give rustls what was read.
                if !st.raw.is_empty() {
                    let raw = std::mem::take(&mut st.raw);
                    let n = st.conn.read_tls(&mut &raw[..])?;
                    if n == 0 {
                        return Err(io::Error::other("TLS: rustls takes no more input"));
                    }
                    st.raw = raw[n..].to_vec();
                    let processed = st.conn.process_new_packets();
                    st.flush(&self.tcp)?;
                    processed.map_err(tls_error)?;
                    continue;
                }
                if st.eof {
                    return Ok(0);
                }
            }
            // Wait for the network without the lock.
            self.scratch.resize(READ_CHUNK, 0);
            let n = (&self.tcp).read(&mut self.scratch)?;
            let mut st = self.state.lock();
            if n == 0 {
                st.eof = true;
                st.conn.read_tls(&mut &[][..])?;
                st.conn.process_new_packets().map_err(tls_error)?;
            } else {
                st.raw.extend_from_slice(&self.scratch[..n]);
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut st = self.state.lock();
        let mut rest = buf;
        while !rest.is_empty() {
            let n = st.conn.writer().write(rest)?;
            st.flush(&self.tcp)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "TLS connection refuses more data",
                ));
            }
            rest = &rest[n..];
        }
        Ok(buf.len())
    }
}

/// The accepting side's first step on a new socket: plain TCP as it is, or
/// the TLS handshake, done by `deadline` (the whole handshake's).
pub(super) fn accept(
    inner: &super::Inner,
    tcp: TcpStream,
    deadline: Instant,
) -> io::Result<Stream> {
    match &inner.s.tls {
        None => Ok(Stream::Plain(tcp)),
        Some(ctx) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no time left for the TLS handshake",
                ));
            }
            Stream::accept_tls(tcp, ctx, left)
                .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake failed: {e}")))
        }
    }
}

/// The accepting side's checks once the peer's ZooKeeper handshake named
/// its sid: its certificate must name the address it connects from
/// (`ssl.quorum.hostnameVerification`) and, with `ssl.quorum.sidBinding`,
/// the configured host of the sid it claims. The error is the reason.
pub(super) fn check_peer(
    inner: &super::Inner,
    stream: &Stream,
    from: SocketAddr,
    sid: crate::types::Sid,
) -> Result<(), String> {
    let Some(ctx) = &inner.s.tls else {
        return Ok(());
    };
    let cert = stream.peer_certificate();
    let cfg = ctx.config();
    if cfg.hostname_verification {
        if let Some(cert) = &cert {
            TlsContext::check_names(cert, &[from.ip().to_string()]).map_err(|why| {
                format!("hostname verification: {why}, the address it connects from")
            })?;
        }
    }
    if cfg.sid_binding {
        if let Some(configured) = inner.s.peers.get(&sid) {
            let hosts: Vec<String> = configured.iter().map(|a| a.host.clone()).collect();
            let Some(cert) = &cert else {
                return Err(format!(
                    "sid binding: it claims sid {sid} without a certificate"
                ));
            };
            TlsContext::check_names(cert, &hosts).map_err(|why| {
                format!("sid binding: it claims sid {sid}, but {why}, the host of server.{sid}")
            })?;
        }
    }
    Ok(())
}

/// Logs a refused connection from `from`, once per kind and address in a
/// while when TLS is on (see [`TlsContext::refusal`]); always without it.
pub(super) fn log_refusal(inner: &super::Inner, from: SocketAddr, why: &dyn std::fmt::Display) {
    let why = why.to_string();
    let left_out = match &inner.s.tls {
        None => Some(0),
        Some(ctx) => ctx.refusal(from.ip(), &why),
    };
    match left_out {
        None => {}
        Some(0) => crate::log!(
            crate::logging::Level::Warn,
            "closing connection from {from}: {why}"
        ),
        Some(n) => crate::log!(
            crate::logging::Level::Warn,
            "closing connection from {from}: {why} ({n} more like it from {} not logged)",
            from.ip()
        ),
    }
}
