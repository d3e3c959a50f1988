//! The connection-request role: one asynchronous attempt per sid, never
//! serial (spec 2.2, ZOOKEEPER-3756).

use super::stream::Stream;
use super::{resolve, socket, worker, CnxEvent, Inner};
use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crate::wire::HostPort;
use crossbeam_channel::{select, Receiver};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

/// The connector thread: starts an attempt thread per request, until the
/// manager stops.
pub(super) fn run(inner: Arc<Inner>, requests: Receiver<(Sid, Vec<HostPort>)>) {
    loop {
        let (sid, addrs) = select! {
            recv(requests) -> r => match r {
                Ok(r) => r,
                Err(_) => return,
            },
            recv(inner.stop.waiter()) -> _ => return,
        };
        if inner.stopping() {
            return;
        }
        let i = inner.clone();
        let spawned = inner
            .threads
            .spawn(format!("zkelect-connect-{sid}"), move || {
                attempt(&i, sid, &addrs);
                i.end_attempt(sid);
            });
        if spawned.is_err() {
            inner.end_attempt(sid);
        }
    }
}

/// Connect, send the handshake in one write, then keep the socket if my sid
/// is the larger one, or close it (a poke that makes the larger sid dial us).
fn attempt(inner: &Arc<Inner>, sid: Sid, addrs: &[HostPort]) {
    // Host names are looked up off this thread: stop() joins it, and a
    // lookup cannot be interrupted (see `resolve`).
    let (targets, errors) = resolve::resolve_all(
        &inner.s.resolver,
        addrs,
        inner.s.connect_timeout,
        inner.stop.waiter(),
    );
    if targets.is_empty() {
        if !inner.stopping() {
            inner.counters.connection_error();
            log!(
                Level::Warn,
                "cannot resolve any address of sid {sid}: {}",
                errors.join("; ")
            );
        }
        return;
    }
    let mut last_err = None;
    let mut all_refused = true;
    for addr in targets {
        match open(inner, sid, addr, addrs) {
            Ok(stream) => {
                if sid > inner.s.my_sid {
                    inner.note_poke(sid);
                    log!(
                        Level::Debug,
                        "poked sid {sid} at {addr}; it will connect back"
                    );
                } else {
                    worker::start(inner, sid, stream);
                }
                return;
            }
            Err(e) => {
                all_refused &= e.kind() == io::ErrorKind::ConnectionRefused;
                last_err = Some((addr, e));
            }
        }
    }
    if let Some((addr, e)) = last_err {
        if !inner.stopping() {
            inner.counters.connection_error();
            log!(Level::Debug, "cannot connect to sid {sid} at {addr}: {e}");
            if all_refused {
                inner.emit(CnxEvent::Refused(sid));
            }
        }
    }
}

/// Connects to `addr`, runs TLS when it is on and sends the handshake. The
/// socket is tracked in `sid`'s slot meanwhile, so that stop can shut it
/// down and end the attempt at once.
fn open(inner: &Inner, sid: Sid, addr: SocketAddr, addrs: &[HostPort]) -> io::Result<Stream> {
    let opened = open_tracked(inner, sid, addr, addrs);
    inner.untrack_dialing(sid);
    opened
}

fn open_tracked(
    inner: &Inner,
    sid: Sid,
    addr: SocketAddr,
    addrs: &[HostPort],
) -> io::Result<Stream> {
    let tcp = socket::connect(addr, inner.s.connect_timeout, |s| {
        inner.track_dialing(sid, s)
    })?;
    socket::configure(&tcp, inner.s.keep_alive)?;
    let mut stream = match &inner.s.tls {
        None => Stream::Plain(tcp),
        Some(ctx) => {
            let tls = tls_connect(inner, ctx, tcp, sid, addr, addrs);
            if let Err(e) = &tls {
                let why = e.to_string();
                if !inner.stopping() && ctx.refusal(addr.ip(), &why).is_some() {
                    log!(
                        Level::Warn,
                        "TLS connection to sid {sid} at {addr} refused: {why}"
                    );
                }
            }
            tls?
        }
    };
    // One write: a 3.8 acceptor reads the address with a single read().
    stream.write_all(&inner.handshake)?;
    Ok(stream)
}

/// The dialling side's TLS handshake (under the connect timeout), then the
/// sid binding check of the certificate against the configured host of
/// `sid` (see [`crate::tls`]).
fn tls_connect(
    inner: &Inner,
    ctx: &crate::tls::TlsContext,
    tcp: std::net::TcpStream,
    sid: Sid,
    addr: SocketAddr,
    addrs: &[HostPort],
) -> io::Result<Stream> {
    // The host as written for this address (a DNS name stays a name).
    let host = addrs
        .iter()
        .find(|a| a.port == addr.port() && a.host.parse::<std::net::IpAddr>() == Ok(addr.ip()))
        .or_else(|| addrs.iter().find(|a| a.port == addr.port()))
        .map(|a| a.host.clone())
        .unwrap_or_else(|| addr.ip().to_string());
    let stream = Stream::connect_tls(tcp, ctx, &host, inner.s.connect_timeout)?;
    if ctx.config().sid_binding {
        if let Some(configured) = inner.s.peers.get(&sid) {
            let hosts: Vec<String> = configured.iter().map(|a| a.host.clone()).collect();
            let bound = match stream.peer_certificate() {
                Some(cert) => crate::tls::TlsContext::check_names(&cert, &hosts),
                None => Err("it sent no certificate".into()),
            };
            if let Err(why) = bound {
                stream.shutdown();
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("sid binding: {why}, the host of server.{sid}"),
                ));
            }
        }
    }
    Ok(stream)
}
