//! The quorum-port watch of a follow-only-auto peer: a real ZooKeeper
//! learner that connects to my quorum (Zab) port tried to sync with me, so
//! the ensemble has real members (no zkelect peer ever connects there).
//! The connection is closed at once (zkelect speaks no Zab); the election
//! thread hears of it ([`Control::ZabContact`]).

use super::election::Control;
use crate::log;
use crate::logging::Level;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// How often the accept loop looks for a connection and for the stop.
const POLL: Duration = Duration::from_millis(20);

/// Binds every address in `addrs` that can be bound (one in use is logged
/// and skipped: the watch is an optimisation, never a reason not to run).
pub(crate) fn bind(addrs: &[SocketAddr], sid: i64) -> Vec<TcpListener> {
    let mut out = Vec::new();
    for a in addrs {
        match TcpListener::bind(a).and_then(|l| l.set_nonblocking(true).map(|_| l)) {
            Ok(l) => out.push(l),
            Err(e) => log!(
                Level::Warn,
                "sid {sid}: cannot watch quorum port {a} for ZooKeeper learners ({e}); \
                 follow-only then relies on other zkelect peers' votes"
            ),
        }
    }
    out
}

/// Accepts until `stop` is dropped or `control` closes; each connection is
/// closed at once and reported.
pub(crate) fn run(listeners: Vec<TcpListener>, stop: Receiver<()>, control: Sender<Control>) {
    loop {
        match stop.try_recv() {
            Err(TryRecvError::Empty) => {}
            _ => return,
        }
        let mut seen = None;
        for l in &listeners {
            while let Ok((stream, from)) = l.accept() {
                drop(stream);
                seen = Some(from);
            }
        }
        if let Some(from) = seen {
            log!(
                Level::Info,
                "a ZooKeeper learner at {from} connected to my quorum port: the ensemble has real ZooKeeper servers"
            );
            if control.send(Control::ZabContact).is_err() {
                return;
            }
        }
        std::thread::sleep(POLL);
    }
}
