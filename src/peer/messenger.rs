//! ZooKeeper's Messenger: a WorkerReceiver thread that decodes messages and
//! applies the reply rules, and a WorkerSender thread that encodes votes
//! (spec 5.11, 5.12).

use crate::cnx::{CnxManager, Received};
use crate::election::{Message, View};
use crate::leadership::route;
use crate::log;
use crate::logging::Level;
use crate::types::{ServerState, Sid};
use crate::wire;
use crossbeam_channel::{select, Receiver, Select, Sender, TrySendError};
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A vote to send, and to whom.
pub(crate) type Outgoing = (Sid, Message);

/// Capacity of the queue from the receive thread to the election thread.
/// When it is full the receive thread waits, so frames pile up in the
/// connection manager's receive queue of 100, where ZooKeeper's rule drops
/// the oldest (spec 2.5): one bounded queue, one drop point.
pub(crate) const DELIVER_CAPACITY: usize = 100;

/// Capacity of the queue of votes to send (from the election and receive
/// threads to the send thread). The send thread never waits on them (the
/// per-peer send queues drop the oldest), so a full queue only briefly
/// holds up its producers.
pub(crate) const OUT_CAPACITY: usize = 256;

/// Puts `item` on a bounded channel, waiting while it is full, until it is
/// taken or `stop` fires (its sender is dropped when the peer stops); then
/// the item is dropped. False if it was dropped.
pub(crate) fn send_or_stop<T>(tx: &Sender<T>, item: T, stop: &Receiver<()>) -> bool {
    let item = match tx.try_send(item) {
        Ok(()) => return true,
        Err(TrySendError::Disconnected(_)) => return false,
        Err(TrySendError::Full(back)) => back,
    };
    let mut sel = Select::new();
    let send = sel.send(tx);
    let halt = sel.recv(stop);
    let op = sel.select();
    match op.index() {
        i if i == send => op.send(tx, item).is_ok(),
        i => {
            debug_assert_eq!(i, halt);
            let _ = op.recv(stop);
            false
        }
    }
}

/// A notification for the election thread: sender, message, and whether
/// the reply rules deliver it to the election (else only the leadership
/// layer reads it).
pub(crate) type Forwarded = (Sid, Message, bool);

/// The receive thread: every frame from the connection manager is decoded,
/// answered according to the reply rules with the latest published view, and
/// handed to the election thread when the rules deliver it to the election,
/// or when it is a voter's notification that the leadership layer of a
/// decided peer reads (heartbeats, reports, hellos, LOOKING notifications).
/// Both queues it feeds are bounded; while one is full it waits, and the
/// connection manager's receive queue drops the oldest frames meanwhile.
pub(crate) fn receive_loop(
    frames: Receiver<Received>,
    stop: Receiver<()>,
    view: Arc<Mutex<View>>,
    voters: BTreeSet<Sid>,
    replies: Sender<Outgoing>,
    deliver: Sender<Forwarded>,
) {
    loop {
        let (sid, body) = select! {
            recv(frames) -> f => match f { Ok(f) => f, Err(_) => return },
            recv(stop) -> _ => return,
        };
        let n = match wire::decode_notification(&body) {
            Ok(n) => n,
            Err(e) => {
                log!(
                    Level::Warn,
                    "dropping malformed notification from sid {sid}: {e}"
                );
                continue;
            }
        };
        // Configs inside notifications are not applied: zkelect does not do
        // dynamic reconfiguration, and always sends its own committed config.
        let msg = Message {
            state: n.state,
            leader: n.leader,
            zxid: n.zxid,
            election_epoch: n.election_epoch,
            peer_epoch: n.peer_epoch,
            version: n.version,
        };
        log!(
            Level::Trace,
            "notification from sid {sid}: state {} leader {} zxid {:#x} round {:#x} peerEpoch {:#x} version {}",
            n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.version
        );
        let v = *view.lock();
        let r = route(&v, sid, voters.contains(&sid), &msg);
        if let Some(reply) = r.reply {
            if !send_or_stop(&replies, (sid, reply), &stop) {
                return;
            }
        }
        if r.forward && !send_or_stop(&deliver, (sid, msg, r.deliver), &stop) {
            return;
        }
    }
}

/// The send thread: encodes each vote with our config text and queues it on
/// the connection manager.
pub(crate) fn send_loop(
    votes: Receiver<Outgoing>,
    stop: Receiver<()>,
    cnx: Arc<CnxManager>,
    config_text: Arc<[u8]>,
) {
    loop {
        let (to, m) = select! {
            recv(votes) -> v => match v { Ok(v) => v, Err(_) => return },
            recv(stop) -> _ => return,
        };
        cnx.send(to, encode(&m, &config_text));
    }
}

/// The frame body of vote `m` with my config text (spec 3.1).
pub(crate) fn encode(m: &Message, config_text: &[u8]) -> Arc<[u8]> {
    let state = ServerState::from_i32(m.state).unwrap_or(ServerState::Looking);
    wire::encode_notification_body(
        state,
        m.leader,
        m.zxid,
        m.election_epoch,
        m.peer_epoch,
        config_text,
    )
    .into()
}
