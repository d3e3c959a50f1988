//! What operators of a ZooKeeper ensemble look at, served for a zkelect
//! peer: ZooKeeper's four-letter words on `clientPort` ([`fourlw`]) and
//! Prometheus metrics on `metricsProvider.httpPort` ([`metrics`]), both
//! from the peer's [`crate::Peer::stats`]. `zkelect run` starts them when
//! the config sets those keys.
//!
//! Each server is one OS thread on a std [`TcpListener`]: it accepts a
//! connection, reads the request under a short deadline
//! ([`READ_DEADLINE`]), answers, closes, and takes the next. Requests are
//! tiny and answered from memory, so one at a time is enough; a client that
//! sends nothing holds the next one up for the deadline at most.
//! [`AdminServer::stop`] (also on drop) wakes the accept, closes the
//! connection being served and joins the thread: nothing is left behind.

pub mod fourlw;
pub mod metrics;

use crate::log;
use crate::logging::Level;
use parking_lot::Mutex;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a connection may take to send its request (and to take the
/// answer) before it is closed.
pub const READ_DEADLINE: Duration = Duration::from_secs(2);

/// Serves one accepted connection; the server closes it afterwards.
pub type Handler = Arc<dyn Fn(&mut TcpStream) + Send + Sync>;

/// A running admin server: one acceptor thread that serves each connection
/// in turn.
pub struct AdminServer {
    name: String,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    listener: TcpListener,
    current: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// Binds `host:port` and starts serving with `handler`. `name` names the
    /// thread (`zkelect-admin-<name>`) and the log lines.
    pub fn start(name: &str, host: &str, port: u16, handler: Handler) -> io::Result<AdminServer> {
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"))
            })?;
        let listener = TcpListener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let current: Arc<Mutex<Option<TcpStream>>> = Arc::default();
        let (l, stop, cur) = (listener.try_clone()?, stopping.clone(), current.clone());
        let label = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("zkelect-admin-{name}"))
            .spawn(move || serve(&label, l, &stop, &cur, &handler))?;
        log!(Level::Info, "{name} server listening on {addr}");
        Ok(AdminServer {
            name: name.to_string(),
            addr,
            stopping,
            listener,
            current,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes the connection being served and joins the
    /// thread. Idempotent.
    pub fn stop(&mut self) {
        let Some(t) = self.thread.take() else { return };
        self.stopping.store(true, Ordering::Release);
        // Shutting a listening socket down wakes a blocked accept on Linux.
        let _ = socket2::SockRef::from(&self.listener).shutdown(Shutdown::Both);
        if let Some(c) = self.current.lock().as_ref() {
            let _ = c.shutdown(Shutdown::Both);
        }
        let _ = t.join();
        log!(Level::Debug, "{} on {} stopped", self.name, self.addr);
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(
    name: &str,
    listener: TcpListener,
    stopping: &AtomicBool,
    current: &Mutex<Option<TcpStream>>,
    handler: &Handler,
) {
    loop {
        let (mut conn, from) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                log!(Level::Warn, "{name}: accept failed: {e}");
                // E.g. out of file descriptors: do not spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let tracked = conn.try_clone().ok();
        {
            let mut cur = current.lock();
            // Checked under the lock stop() closes `current` with.
            if stopping.load(Ordering::Acquire) {
                return;
            }
            *cur = tracked;
        }
        let _ = conn.set_read_timeout(Some(READ_DEADLINE));
        let _ = conn.set_write_timeout(Some(READ_DEADLINE));
        let _ = conn.set_nodelay(true);
        log!(Level::Debug, "{name}: request from {from}");
        handler(&mut conn);
        close_gracefully(conn);
        *current.lock() = None;
    }
}

/// How long a close waits for the client to finish sending.
const LINGER: Duration = Duration::from_millis(200);

/// Ends a connection without losing the answer: the FIN first, then what
/// the client still sends (the newline of `echo mntr | nc`) is read and
/// dropped until it closes too, for [`LINGER`] at most. Closing a socket
/// with unread input would send a reset, which can discard the answer
/// before the client reads it.
fn close_gracefully(mut conn: TcpStream) {
    use std::io::Read;
    let _ = conn.shutdown(Shutdown::Write);
    let _ = conn.set_read_timeout(Some(LINGER));
    let deadline = std::time::Instant::now() + LINGER;
    let mut sink = [0u8; 512];
    let mut left = 64 * 1024;
    while left > 0 && std::time::Instant::now() < deadline {
        match conn.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left -= n.min(left),
        }
    }
}
