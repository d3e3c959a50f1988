//! The connection-request role: one asynchronous attempt per sid, never
//! serial (spec 2.2, ZOOKEEPER-3756).

use super::{resolve, socket, worker, CnxEvent, Inner};
use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crate::wire::HostPort;
use crossbeam_channel::Receiver;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

/// The connector thread: starts an attempt thread per request.
pub(super) fn run(inner: Arc<Inner>, requests: Receiver<(Sid, Vec<HostPort>)>) {
    for (sid, addrs) in requests.iter() {
        let i = inner.clone();
        let spawned = inner
            .threads
            .spawn(format!("zkelect-connect-{sid}"), move || {
                attempt(&i, sid, &addrs);
                i.in_flight.lock().remove(&sid);
            });
        if spawned.is_err() {
            inner.in_flight.lock().remove(&sid);
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
        &inner.halted,
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
        match open(inner, addr) {
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

fn open(inner: &Inner, addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = socket::connect(addr, inner.s.connect_timeout, &inner.stopping)?;
    socket::configure(&stream, inner.s.keep_alive)?;
    // One write: a 3.8 acceptor reads the address with a single read().
    stream.write_all(&inner.handshake)?;
    Ok(stream)
}
