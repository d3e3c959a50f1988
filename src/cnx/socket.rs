//! Socket set-up: options, an interruptible connect with a timeout, and the
//! listening socket.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Applies ZooKeeper's options to an election socket (spec 2.7).
pub(crate) fn configure(stream: &TcpStream, keep_alive: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    socket2::SockRef::from(stream).set_keepalive(keep_alive)?;
    Ok(())
}

/// Connects with a timeout, giving up early when `stop` is raised so that
/// stopping never waits for a black-holed peer. The connect runs
/// non-blocking and is checked with a short, growing back-off: loopback
/// connects complete in microseconds, a dead host costs a few wake-ups.
pub(crate) fn connect(
    addr: SocketAddr,
    timeout: Duration,
    stop: &AtomicBool,
) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    match sock.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(20);
    loop {
        if let Some(e) = sock.take_error()? {
            return Err(e);
        }
        if sock.peer_addr().is_ok() {
            break;
        }
        if stop.load(Ordering::Acquire) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopping"));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connect to {addr} timed out after {} ms",
                    timeout.as_millis()
                ),
            ));
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(5));
    }
    sock.set_nonblocking(false)?;
    Ok(sock.into())
}

/// Binds a listening socket with SO_REUSEADDR and ZooKeeper's backlog of 50.
pub(crate) fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        let _ = sock.set_only_v6(false);
    }
    sock.bind(&SockAddr::from(addr))?;
    sock.listen(50)?;
    Ok(sock.into())
}
