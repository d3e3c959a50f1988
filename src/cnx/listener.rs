//! The connection-receive role: listen, read handshakes off the listener
//! thread, and apply the keep/drop rule (spec 2.1, 2.3, 2.4).

use super::admission::{Admission, RateLimit, MAX_PER_ADDRESS};
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
use std::time::{Duration, Instant};

/// Pause between bind attempts, as in ZooKeeper.
const BIND_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// The accept backlog of an election port (the kernel caps it at
/// `net.core.somaxconn`). ZooKeeper's 50 overflows under a burst of
/// connections faster than the listener accepts them, and a connection
/// attempt that finds the backlog full loses its SYN and retries only
/// after a second; a deep backlog only costs kernel memory for connections
/// that are accepted anyway.
const BACKLOG: i32 = 1024;

/// The longest handshake: version, sid, length and the longest address.
const LONGEST_HANDSHAKE: usize = 20 + wire::MAX_ADDRESS_LEN;

/// Binds `addr`, retrying `electionPortBindRetry` times one second apart
/// (0 = forever). The socket is registered so that stop can close it.
pub(super) fn bind_with_retry(inner: &Arc<Inner>, addr: SocketAddr) -> io::Result<TcpListener> {
    let mut failures = 0u32;
    loop {
        match socket::listen(addr) {
            Ok(l) => {
                // Listening again on a listening socket sets its backlog.
                socket2::SockRef::from(&l).listen(BACKLOG)?;
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
                // Stop ends the pause at once.
                if inner.stop.wait_timeout(BIND_RETRY_PAUSE) {
                    return Err(e);
                }
            }
        }
    }
}

/// The listener thread for one address: accept, hand each socket to a
/// handshake thread, re-bind after accept errors within the retry budget.
pub(super) fn run(inner: Arc<Inner>, addr: SocketAddr, mut listener: TcpListener) {
    let warn = Arc::new(Warnings::new());
    let mut scratch = vec![0u8; LONGEST_HANDSHAKE];
    loop {
        match listener.accept() {
            Ok((stream, from)) => handle_accepted(&inner, stream, from, &warn, &mut scratch),
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

fn handle_accepted(
    inner: &Arc<Inner>,
    stream: TcpStream,
    from: SocketAddr,
    warn: &Arc<Warnings>,
    scratch: &mut [u8],
) {
    #[cfg(test)]
    at_stage(inner, AcceptStage::Accepted);
    track_and_read(inner, stream, from, warn, scratch);
    #[cfg(test)]
    at_stage(inner, AcceptStage::Handled);
}

/// Rate limits of the WARN lines that a flood of connections repeats, one
/// set per listener thread.
struct Warnings {
    /// A handshake closed to make room (see `admission`).
    evicted: RateLimit,
    /// A handshake that failed (timed out, closed, malformed).
    failed: RateLimit,
    /// Anything else about one accepted connection.
    other: RateLimit,
}

/// At most one line of each kind per this long.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Warnings {
    fn new() -> Warnings {
        Warnings {
            evicted: RateLimit::new(WARN_EVERY),
            failed: RateLimit::new(WARN_EVERY),
            other: RateLimit::new(WARN_EVERY),
        }
    }
}

/// Registers an accepted socket in `pending` (so stop and eviction can
/// close it; see `admission`) and reads its handshake on a thread of its
/// own.
fn track_and_read(
    inner: &Arc<Inner>,
    stream: TcpStream,
    from: SocketAddr,
    warn: &Arc<Warnings>,
    scratch: &mut [u8],
) {
    if let Err(e) = socket::configure(&stream, inner.s.keep_alive) {
        warn.other.log(Level::Warn, || {
            format!("cannot set options on connection from {from}: {e}")
        });
        return;
    }
    // A TLS handshake never counts as arrived: its first bytes are the
    // ClientHello, and what could stall comes after them.
    let arrived = inner.s.tls.is_none() && handshake_arrived(&stream, scratch);
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
        let tracked = match stream.try_clone() {
            Ok(c) => c,
            Err(e) => {
                warn.other.log(Level::Warn, || {
                    format!("cannot track connection from {from}: {e}")
                });
                return;
            }
        };
        match pending.admit(id, from, tracked, arrived) {
            Admission::Admitted => {}
            Admission::Evicted(ev) => warn.evicted.log(Level::Warn, || {
                let why = if ev.same_address {
                    format!("{MAX_PER_ADDRESS} from its address")
                } else {
                    format!("{MAX_PENDING_HANDSHAKES} in all")
                };
                format!(
                    "too many handshakes in progress ({why}); closed the oldest unfinished one, from {}, to admit {from}",
                    ev.from
                )
            }),
            Admission::Refused => {
                warn.evicted.log(Level::Warn, || {
                    format!("too many handshakes in progress; closing connection from {from}")
                });
                return;
            }
        }
    }
    let i = inner.clone();
    let w = warn.clone();
    let spawned = inner.threads.spawn(format!("zkelect-hs-{id}"), move || {
        // One deadline for the whole exchange: the TLS handshake (when on)
        // and the ZooKeeper handshake behind it.
        let deadline = Instant::now() + i.s.handshake_timeout;
        let result = stream::accept(&i, stream, deadline)
            .and_then(|mut s| read_handshake(&i, &mut s, deadline).map(|(sid, hs)| (s, sid, hs)));
        // Not ours any more: evicted (already reported) or drained by stop;
        // either way the socket is shut down.
        let ours = i.pending.lock().finish(id);
        match result {
            Ok((s, sid, hs)) if ours => match stream::check_peer(&i, &s, from, sid) {
                Ok(()) => on_handshake(&i, s, from, sid, hs, &w),
                Err(why) => stream::log_refusal(&i, from, &why),
            },
            Ok(_) => {}
            Err(e) if !ours || i.stopping() => drop(e),
            Err(e) if i.s.tls.is_some() => stream::log_refusal(&i, from, &e),
            Err(e) => w.failed.log(Level::Warn, || {
                format!("closing connection from {from}: {e}")
            }),
        }
    });
    if let Err(e) = spawned {
        inner.pending.lock().finish(id);
        if !inner.stopping() {
            warn.other.log(Level::Warn, || {
                format!("cannot start a handshake thread for {from}: {e}; closing it")
            });
        }
    }
}

/// Whether the whole handshake has arrived on `stream` already: a peek
/// that never waits (the socket is non-blocking meanwhile). A peer sends
/// its handshake with its first write, so under a flood, when accepted
/// connections wait in the backlog, a peer's handshake is there when its
/// connection is accepted, and it is then never evicted (see `admission`).
/// `scratch` holds the longest handshake. False on any error: the read
/// on the handshake thread reports it.
fn handshake_arrived(stream: &TcpStream, scratch: &mut [u8]) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let complete = match stream.peek(scratch) {
        Ok(n) => !matches!(
            wire::decode_handshake(&scratch[..n]),
            Err(HandshakeError::Incomplete { .. })
        ),
        Err(_) => false,
    };
    stream.set_nonblocking(false).is_ok() && complete
}

/// Reads exactly the handshake's bytes (never into the frames behind it),
/// all of them by `deadline` (one handshake timeout from the accept, TLS
/// included): a client that trickles bytes does not get a fresh timeout
/// with each one.
fn read_handshake(
    inner: &Inner,
    stream: &mut Stream,
    deadline: Instant,
) -> io::Result<(Sid, wire::Handshake)> {
    let timeout = inner.s.handshake_timeout;
    let mut buf = vec![0u8; 8];
    read_exact_by(stream, &mut buf, 0, deadline, timeout)?;
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
            // `needed` is at most 20 + MAX_ADDRESS_LEN (wire checks the length).
            Err(HandshakeError::Incomplete { needed }) if needed > buf.len() => {
                let have = buf.len();
                buf.resize(needed, 0);
                read_exact_by(stream, &mut buf, have, deadline, timeout)?;
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

/// Fills `buf[from..]` from `stream` before `deadline`.
fn read_exact_by(
    stream: &mut Stream,
    buf: &mut [u8],
    from: usize,
    deadline: Instant,
    timeout: Duration,
) -> io::Result<()> {
    let mut got = from;
    let want = buf.len();
    while got < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let timed_out = |got: usize| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "handshake not complete within {} ms ({got} of {} bytes so far)",
                    timeout.as_millis(),
                    want
                ),
            )
        };
        if left.is_zero() {
            return Err(timed_out(got));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("closed after {got} handshake bytes"),
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out(got))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The acceptor's keep/drop rule (spec 2.4).
fn on_handshake(
    inner: &Arc<Inner>,
    stream: Stream,
    from: SocketAddr,
    sid: Sid,
    hs: wire::Handshake,
    warn: &Warnings,
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
        warn.other.log(Level::Warn, || {
            format!("connection from {from} claims my own sid {sid}; closing it")
        });
    } else {
        worker::start(inner, sid, stream);
    }
}
