//! The connection-receive role: listen, read handshakes off the listener
//! thread, and apply the keep/drop rule (spec 2.1, 2.3, 2.4).

use super::stream::{self, Stream};
use super::{socket, worker, CnxEvent, Inner, MAX_PENDING_HANDSHAKES};
use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crate::wire::{self, HandshakeError, ProtocolVersion};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Pause between bind attempts, as in ZooKeeper.
const BIND_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Binds `addr`, retrying `electionPortBindRetry` times one second apart
/// (0 = forever). The socket is registered so that stop can close it.
pub(super) fn bind_with_retry(inner: &Arc<Inner>, addr: SocketAddr) -> io::Result<TcpListener> {
    let mut failures = 0u32;
    loop {
        match socket::listen(addr) {
            Ok(l) => {
                inner.listeners.lock().push(l.try_clone()?);
                if inner.stopping() {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "stopping"));
                }
                return Ok(l);
            }
            Err(e) => {
                failures += 1;
                log!(
                    Level::Warn,
                    "cannot bind election address {addr} (attempt {failures}): {e}"
                );
                let budget = inner.s.bind_retry;
                if (budget != 0 && failures >= budget) || inner.stopping() {
                    return Err(e);
                }
                let deadline = std::time::Instant::now() + BIND_RETRY_PAUSE;
                while std::time::Instant::now() < deadline {
                    if inner.stopping() {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// The listener thread for one address: accept, hand each socket to a
/// handshake thread, re-bind after accept errors within the retry budget.
pub(super) fn run(inner: Arc<Inner>, addr: SocketAddr, mut listener: TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, from)) => handle_accepted(&inner, stream, from),
            Err(e) => {
                if inner.stopping() {
                    return;
                }
                log!(Level::Warn, "accept on {addr} failed: {e}; re-binding");
                drop(listener);
                match bind_with_retry(&inner, addr) {
                    Ok(l) => listener = l,
                    Err(e) => {
                        if !inner.stopping() {
                            log!(
                                Level::Error,
                                "election listener on {addr} gave up: {e}; this peer cannot accept election connections"
                            );
                            inner.emit(CnxEvent::ListenerFailed(addr));
                        }
                        return;
                    }
                }
            }
        }
    }
}

/// Where a test can hold the listener thread (see `cnx::tests`).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AcceptStage {
    /// A connection was accepted; nothing is tracked for it yet.
    Accepted,
    /// `handle_accepted` is done with it.
    Handled,
}

#[cfg(test)]
fn at_stage(inner: &Inner, stage: AcceptStage) {
    let hook = inner.accept_hook.lock().clone();
    if let Some(h) = hook {
        h(stage);
    }
}

fn handle_accepted(inner: &Arc<Inner>, stream: TcpStream, from: SocketAddr) {
    #[cfg(test)]
    at_stage(inner, AcceptStage::Accepted);
    track_and_read(inner, stream, from);
    #[cfg(test)]
    at_stage(inner, AcceptStage::Handled);
}

/// Registers an accepted socket in `pending` (so stop can close it) and
/// reads its handshake on a thread of its own.
fn track_and_read(inner: &Arc<Inner>, stream: TcpStream, from: SocketAddr) {
    if let Err(e) = socket::configure(&stream, inner.s.keep_alive) {
        log!(
            Level::Warn,
            "cannot set options on connection from {from}: {e}"
        );
        return;
    }
    let id = inner.next_conn();
    {
        let mut pending = inner.pending.lock();
        // Checked under the lock that shutdown drains `pending` with, after
        // it raised `stopping`: a socket accepted just before shutdown is
        // either drained (and closed) by it or closed here, never left to a
        // handshake read that stop would wait for until the timeout.
        if inner.stopping() {
            return;
        }
        if pending.len() >= MAX_PENDING_HANDSHAKES {
            log!(
                Level::Warn,
                "too many handshakes in progress; closing connection from {from}"
            );
            return;
        }
        match stream.try_clone() {
            Ok(c) => {
                pending.insert(id, c);
            }
            Err(e) => {
                log!(Level::Warn, "cannot track connection from {from}: {e}");
                return;
            }
        }
    }
    let i = inner.clone();
    let spawned = inner.threads.spawn(format!("zkelect-hs-{id}"), move || {
        let result = stream::accept(&i, stream)
            .and_then(|mut s| read_handshake(&i, &mut s).map(|(sid, hs)| (s, sid, hs)));
        i.pending.lock().remove(&id);
        match result {
            Ok((s, sid, hs)) => match stream::check_peer(&i, &s, from, sid) {
                Ok(()) => on_handshake(&i, s, from, sid, hs),
                Err(why) => stream::log_refusal(&i, from, &why),
            },
            Err(e) if i.stopping() => drop(e),
            Err(e) => stream::log_refusal(&i, from, &e),
        }
    });
    if spawned.is_err() {
        inner.pending.lock().remove(&id);
    }
}

/// Reads exactly the handshake's bytes (never into the frames behind it),
/// within the handshake timeout.
fn read_handshake(inner: &Inner, stream: &mut Stream) -> io::Result<(Sid, wire::Handshake)> {
    stream.set_read_timeout(Some(inner.s.handshake_timeout))?;
    let mut buf = vec![0u8; 8];
    stream.read_exact(&mut buf)?;
    loop {
        match wire::decode_handshake(&buf) {
            Ok((hs, _)) => {
                let mut sid = hs.sid;
                if hs.version == ProtocolVersion::Legacy && sid == i64::MAX {
                    // Legacy observers used a placeholder id; give each its own.
                    sid = inner.next_placeholder.fetch_sub(1, Ordering::Relaxed);
                }
                stream.set_read_timeout(None)?;
                return Ok((sid, hs));
            }
            Err(HandshakeError::Incomplete { needed }) if needed > buf.len() => {
                let have = buf.len();
                buf.resize(needed, 0);
                stream.read_exact(&mut buf[have..])?;
            }
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad handshake: {e}"),
                ))
            }
        }
    }
}

/// The acceptor's keep/drop rule (spec 2.4).
fn on_handshake(
    inner: &Arc<Inner>,
    stream: Stream,
    from: SocketAddr,
    sid: Sid,
    hs: wire::Handshake,
) {
    let my = inner.s.my_sid;
    if sid < my {
        drop(stream);
        if inner.has_fresh_connection(sid) {
            // The poke crossed the connection we just opened to it: keep ours.
            log!(
                Level::Debug,
                "poke from smaller sid {sid} ({from}) crossed our fresh connection; keeping it"
            );
            return;
        }
        // The smaller sid only pokes us: drop any connection we hold to it,
        // and dial back to the address it advertised (or the configured one).
        log!(
            Level::Debug,
            "connection from smaller sid {sid} ({from}); dialling back"
        );
        inner.drop_worker(sid);
        if hs.addresses.is_empty() {
            inner.connect_one(sid);
        } else {
            inner.connect_to(sid, hs.addresses);
        }
    } else if sid == my {
        log!(
            Level::Warn,
            "connection from {from} claims my own sid {sid}; closing it"
        );
    } else {
        worker::start(inner, sid, stream);
    }
}
