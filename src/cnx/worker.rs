//! Per-peer SendWorker and RecvWorker threads (spec 2.5, 2.6).

use super::slot::{SendQueue, WorkerHandle};
use super::stream::Stream;
use super::{queue, CnxEvent, Inner};
use crate::log;
use crate::logging::Level;
use crate::types::Sid;
use crate::wire;
use crossbeam_channel::{bounded, select, Receiver};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

/// Registers `stream` as the connection to `sid`, replacing (and closing)
/// any older one, and starts its two workers.
pub(super) fn start(inner: &Arc<Inner>, sid: Sid, stream: Stream) {
    let conn = inner.next_conn();
    let (send_stream, recv_stream, handle_stream) =
        match (stream.try_clone(), stream.tcp().try_clone()) {
            (Ok(a), Ok(b)) => (a, stream, b),
            _ => {
                log!(
                    Level::Warn,
                    "cannot clone socket for sid {sid}; dropping connection"
                );
                return;
            }
        };
    let (hang_up, hung_up) = bounded::<()>(0);
    let q = {
        let mut slots = inner.slots.lock();
        if inner.stopping() {
            let _ = handle_stream.shutdown(Shutdown::Both);
            return;
        }
        // Under the slots lock, so that the end of an older connection to
        // an unconfigured sid cannot drop the queue this one uses.
        let slot = slots.entry(sid).or_default();
        slot.poked = None;
        let q = slot.queue();
        let replaced = slot.worker.replace(WorkerHandle {
            conn,
            since: std::time::Instant::now(),
            stream: handle_stream,
            hang_up,
        });
        if let Some(old) = replaced {
            let _ = old.stream.shutdown(Shutdown::Both);
        }
        q
    };
    let i = inner.clone();
    let send = inner.threads.spawn(format!("zkelect-send-{sid}"), move || {
        send_loop(&i, sid, send_stream, q, hung_up);
        finish(&i, sid, conn);
    });
    let i = inner.clone();
    let recv = inner.threads.spawn(format!("zkelect-recv-{sid}"), move || {
        recv_loop(&i, sid, recv_stream);
        finish(&i, sid, conn);
    });
    if send.is_err() || recv.is_err() {
        finish(inner, sid, conn);
        return;
    }
    inner.emit(CnxEvent::Connected(sid));
}

/// Ends connection `conn` to `sid` if it is still the live one.
fn finish(inner: &Inner, sid: Sid, conn: u64) {
    let mut slots = inner.slots.lock();
    let Some(slot) = slots.get_mut(&sid) else {
        return;
    };
    if slot.worker.as_ref().is_some_and(|w| w.conn == conn) {
        if let Some(w) = slot.worker.take() {
            let _ = w.stream.shutdown(Shutdown::Both);
        }
        inner.tidy(&mut slots, sid);
        drop(slots);
        inner.note_progress();
        if !inner.stopping() {
            inner.emit(CnxEvent::Disconnected(sid));
        }
    }
}

fn write_frame(stream: &mut Stream, body: &[u8]) -> io::Result<()> {
    stream.write_all(&wire::encode_frame(body))
}

fn send_loop(inner: &Inner, sid: Sid, mut stream: Stream, queue: SendQueue, hung_up: Receiver<()>) {
    let q = &queue.rx;
    // ZOOKEEPER-481: a new connection first repeats the last message sent to
    // that sid, unless something newer is already queued.
    if q.is_empty() {
        let last = inner
            .slots
            .lock()
            .get(&sid)
            .and_then(|slot| slot.last_sent.clone());
        if let Some(m) = last {
            if write_frame(&mut stream, &m).is_err() {
                return;
            }
        }
    }
    loop {
        select! {
            recv(q) -> m => {
                let Ok(m) = m else { return };
                if inner.s.peers.contains_key(&sid) {
                    // Only configured sids reconnect; an unconfigured one's
                    // state ends with its connection.
                    inner.slots.lock().entry(sid).or_default().last_sent = Some(m.clone());
                }
                let wrote = write_frame(&mut stream, &m);
                queue.written();
                inner.note_progress();
                if let Err(e) = wrote {
                    if !inner.stopping() {
                        log!(Level::Debug, "send to sid {sid} failed: {e}");
                    }
                    // Keep the message for the next connection (as ZooKeeper's
                    // lastMessageSent does).
                    return;
                }
            }
            recv(hung_up) -> _ => return,
        }
    }
}

fn recv_loop(inner: &Inner, sid: Sid, mut stream: Stream) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    loop {
        let mut len = [0u8; 4];
        if let Err(e) = stream.read_exact(&mut len) {
            if !inner.stopping() && e.kind() != io::ErrorKind::UnexpectedEof {
                log!(Level::Debug, "connection to sid {sid} ({peer}) closed: {e}");
            }
            return;
        }
        let n = match wire::check_frame_len(i32::from_be_bytes(len)) {
            Ok(n) => n,
            Err(e) => {
                inner.counters.connection_error();
                log!(Level::Warn, "closing connection to sid {sid} ({peer}): {e}");
                return;
            }
        };
        let mut body = vec![0u8; n];
        if let Err(e) = stream.read_exact(&mut body) {
            if !inner.stopping() {
                log!(
                    Level::Debug,
                    "connection to sid {sid} ({peer}) closed mid-frame: {e}"
                );
            }
            return;
        }
        let dropped = queue::push_drop_oldest(&inner.recv_tx, &inner.recv_rx, (sid, body));
        inner.counters.received(dropped);
    }
}
