//! Name resolution for the connector, off the stop path.
//!
//! `getaddrinfo` cannot be interrupted: a black-holed DNS server holds the
//! calling thread for as long as the resolver's timeouts say (seconds, or
//! longer with retries and search domains). A connection attempt therefore
//! never resolves a name on a thread that `stop()` joins: each lookup runs on
//! its own detached `zkelect-resolve` thread, and the attempt waits for the
//! answer only until the connect timeout passes or the manager stops. A
//! lookup that outlives its attempt finishes on its own; its thread holds no
//! socket and nothing of the manager but the resolver, and its answer is
//! dropped. IP literals are parsed on the spot and start no thread.

use crate::wire::HostPort;
use crossbeam_channel::{after, bounded, select, Receiver};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The most lookups running at once in this process. A DNS server that
/// never answers would otherwise leave one thread behind per attempt; past
/// this, an attempt to a host name fails at once (and is tried again later,
/// like any failed connect).
const MAX_LOOKUPS: usize = 64;

/// Lookups running now, over every connection manager of the process.
static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

type ResolveFn = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

/// How the connector turns a configured host name and port into socket
/// addresses. The default is the system resolver (`getaddrinfo`, as Java's
/// `InetAddress` uses); hosts with their own service discovery, and tests,
/// can plug in another. It is only called for names, never for IP literals,
/// and always on a thread of its own that `stop()` does not wait for.
#[derive(Clone)]
pub struct Resolver(Arc<ResolveFn>);

impl Resolver {
    /// The system resolver.
    pub fn system() -> Resolver {
        Resolver(Arc::new(|host, port| {
            Ok((host, port).to_socket_addrs()?.collect())
        }))
    }

    /// A resolver that calls `f(host, port)`. It may block; it may be
    /// called from several threads at once.
    pub fn from_fn(
        f: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Resolver {
        Resolver(Arc::new(f))
    }
}

impl Default for Resolver {
    fn default() -> Resolver {
        Resolver::system()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

/// Gives a lookup slot back when the lookup thread ends, however it ends.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        LOOKUPS.fetch_sub(1, Ordering::AcqRel);
    }
}

fn take_slot() -> Option<Slot> {
    LOOKUPS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_LOOKUPS).then_some(n + 1)
        })
        .ok()
        .map(|_| Slot)
}

/// Resolves every address, literals at once and names on lookup threads,
/// waiting at most `timeout` for the names and giving up as soon as `halt`
/// fires (its sender is dropped when the manager stops). Addresses keep the
/// configured order; names that fail or are too slow are left out, with the
/// reason in the returned errors.
pub(super) fn resolve_all(
    resolver: &Resolver,
    addrs: &[HostPort],
    timeout: Duration,
    halt: &Receiver<()>,
) -> (Vec<SocketAddr>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let deadline = after(timeout);
    for a in addrs {
        if let Ok(ip) = a.host.parse::<IpAddr>() {
            out.push(SocketAddr::new(ip, a.port));
            continue;
        }
        match lookup(resolver, a, &deadline, halt) {
            Ok(found) => out.extend(found),
            Err(e) => errors.push(format!("{a}: {e}")),
        }
    }
    (out, errors)
}

fn lookup(
    resolver: &Resolver,
    a: &HostPort,
    deadline: &Receiver<std::time::Instant>,
    halt: &Receiver<()>,
) -> io::Result<Vec<SocketAddr>> {
    let Some(slot) = take_slot() else {
        return Err(io::Error::other(format!(
            "{MAX_LOOKUPS} name lookups already in progress"
        )));
    };
    let (tx, rx) = bounded(1);
    let (f, host, port) = (resolver.0.clone(), a.host.clone(), a.port);
    std::thread::Builder::new()
        .name("zkelect-resolve".into())
        .spawn(move || {
            let _slot = slot;
            // The attempt may have given up; then nobody reads the answer.
            let _ = tx.send(f(&host, port));
        })?;
    select! {
        recv(rx) -> r => r.unwrap_or_else(|_| Err(io::Error::other("lookup thread ended"))),
        recv(deadline) -> _ => Err(io::Error::new(io::ErrorKind::TimedOut, "name lookup timed out")),
        recv(halt) -> _ => Err(io::Error::new(io::ErrorKind::Interrupted, "stopping")),
    }
}
