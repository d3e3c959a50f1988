//! Socket set-up: options, an interruptible connect with a timeout, and the
//! listening socket.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Applies ZooKeeper's options to an election socket (spec 2.7).
pub(crate) fn configure(stream: &TcpStream, keep_alive: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    socket2::SockRef::from(stream).set_keepalive(keep_alive)?;
    Ok(())
}

/// Connects with a timeout (socket2's `connect_timeout`: a non-blocking
/// connect and one `poll` for its end, no sleeping). `track` is handed a
/// handle on the socket before the connect starts, so that stop can shut
/// it down: that ends the wait at once (a shut-down socket polls as hung
/// up, also when it was shut down before the connect began), so stopping
/// never waits for a black-holed peer. An error from `track` is returned
/// without connecting.
pub(crate) fn connect(
    addr: SocketAddr,
    timeout: Duration,
    track: impl FnOnce(TcpStream) -> io::Result<()>,
) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    track(sock.try_clone()?.into())?;
    match sock.connect_timeout(&SockAddr::from(addr), timeout) {
        Ok(()) => Ok(sock.into()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "connect to {addr} timed out after {} ms",
                timeout.as_millis()
            ),
        )),
        Err(e) => Err(e),
    }
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
