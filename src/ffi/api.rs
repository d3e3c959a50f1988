//! The exported functions. Every body runs inside `guard`, so no panic
//! crosses into C.
//!
//! One file over 500 lines on purpose: every exported function of the C ABI,
//! each a few lines inside `guard`, in one place to compare with the header.

use super::callbacks::*;
use super::error::{guard, guard_value, last_error_ptr, message_of, Failure};
use super::ptr::{self, check_out, handle, str_arg, write_out, PeerHandle, UserData};
use super::tables::zkelect_result::*;
use super::types::*;
use crate::logging::{self, Level};
use crate::peer::Peer;
use parking_lot::Mutex;
use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sid_arg(my_sid: i64) -> Option<i64> {
    (my_sid != ZKELECT_MYID_FROM_DATADIR).then_some(my_sid)
}

/// A wait's timeout; `UINT64_MAX` and other huge values wait "forever"
/// (136 years) rather than overflow the clock.
fn timeout(timeout_ms: u64) -> Duration {
    Duration::from_millis(timeout_ms.min(u64::from(u32::MAX) * 1000))
}

fn new_handle(peer: Peer) -> PeerHandle {
    PeerHandle {
        peer,
        callback: Mutex::new(None),
    }
}

/// Creates a peer from zoo.cfg text. `my_sid` is this peer's sid, or
/// `ZKELECT_MYID_FROM_DATADIR` to read `<dataDir>/myid`. On success `*out`
/// receives a new handle that the caller frees with `zkelect_peer_free`.
/// Errors: `ZKELECT_ERR_NULL`, `ZKELECT_ERR_INVALID_ARGUMENT` (not UTF-8),
/// `ZKELECT_ERR_CONFIG` (the detailed message names the line and key, or the
/// sid that is not in the server list).
#[no_mangle]
pub extern "C" fn zkelect_peer_new(
    config_text: *const c_char,
    my_sid: i64,
    out: *mut *mut PeerHandle,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let text = str_arg(config_text, "config_text")?;
        let p = Peer::from_config_text(text, sid_arg(my_sid))?;
        write_out(out, ptr::into_raw(new_handle(p)), "out")
    })
}

/// Creates a peer from a zoo.cfg file. As `zkelect_peer_new`, plus
/// `ZKELECT_ERR_CONFIG` when the file cannot be read (the message names it).
#[no_mangle]
pub extern "C" fn zkelect_peer_from_file(
    path: *const c_char,
    my_sid: i64,
    out: *mut *mut PeerHandle,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let path = str_arg(path, "path")?;
        let p = Peer::from_file(Path::new(path), sid_arg(my_sid))?;
        write_out(out, ptr::into_raw(new_handle(p)), "out")
    })
}

/// Stops (if needed) and frees a peer. `NULL` is a no-op. No other call on
/// this handle may be in flight or follow; double free is undefined
/// behaviour. Waits as `zkelect_peer_stop` does: when it returns no callback
/// of the peer runs, including one that stopped its own peer earlier. May
/// be called from the peer's own event callback; the callback's userdata is
/// then released after the callback returns. In a forked child of the
/// process that started the peer it only releases the child's copies of the
/// peer's sockets and files (see `zkelect_peer_stop`) and the memory it can
/// (the parent's threads' memory stays allocated in the child).
#[no_mangle]
pub extern "C" fn zkelect_peer_free(peer: *mut PeerHandle) {
    guard_value((), || drop(ptr::from_raw(peer)));
}

/// Sets the last zxid this peer reports; read at the start of each election.
#[no_mangle]
pub extern "C" fn zkelect_peer_set_zxid(peer: *const PeerHandle, zxid: i64) -> zkelect_result {
    guard(|| {
        handle(peer, "peer")?.peer.set_zxid(zxid);
        Ok(())
    })
}

/// Sets the current epoch this peer reports; read at the start of each
/// election (the peer reports the larger of this and the epoch it accepted).
/// Pass the last `ZKELECT_EVENT_EPOCH_ACCEPTED` epoch here before starting a
/// restarted process, so that epochs stay unique across restarts; a peer
/// started with an epoch above 0 acknowledges no leader for `syncLimit`
/// ticks.
#[no_mangle]
pub extern "C" fn zkelect_peer_set_epoch(peer: *const PeerHandle, epoch: i64) -> zkelect_result {
    guard(|| {
        handle(peer, "peer")?.peer.set_epoch(epoch);
        Ok(())
    })
}

/// Writes this peer's sid to `*out_sid`.
#[no_mangle]
pub extern "C" fn zkelect_peer_get_sid(
    peer: *const PeerHandle,
    out_sid: *mut i64,
) -> zkelect_result {
    guard(|| {
        let h = handle(peer, "peer")?;
        write_out(out_sid, h.peer.my_sid(), "out_sid")
    })
}

/// Binds the election port(s) and starts the election. A stopped peer can
/// be started again (like a restarted process: its round counter starts
/// over). Errors: `ZKELECT_ERR_ALREADY_RUNNING`, `ZKELECT_ERR_IO` (e.g. the
/// port is taken; the message names the address).
#[no_mangle]
pub extern "C" fn zkelect_peer_start(peer: *const PeerHandle) -> zkelect_result {
    guard(|| Ok(handle(peer, "peer")?.peer.start()?))
}

/// Stops the peer: closes its sockets and joins its threads. Events raised
/// before the call, and the last ones it raises itself
/// (`ZKELECT_EVENT_LEADERSHIP_LOST` / `_LEADER_LOST` with
/// `ZKELECT_REASON_STOPPED` if it led or followed), are delivered before it
/// returns; no callback runs after it returns. Called from a callback of
/// this peer it cannot wait for that callback: it returns while it runs,
/// nothing more is delivered (the last events neither), and a later
/// `zkelect_peer_stop` or `zkelect_peer_free` from any other thread waits
/// until that callback has returned. Idempotent; stopping a stopped peer is
/// `ZKELECT_OK`.
///
/// In a forked child (fork() after `zkelect_peer_start`), where the peer's
/// threads do not exist, it joins nothing, runs no callback and never
/// calls shutdown() on the sockets shared with the parent: it closes the
/// child's copies of the listening sockets, connections and the `dataDir`
/// lock file (closing the copy leaves the parent's lock held), and returns
/// `ZKELECT_OK`. The parent's peer is undisturbed. The peer cannot be
/// started again in the child (`ZKELECT_ERR_IO`).
#[no_mangle]
pub extern "C" fn zkelect_peer_stop(peer: *const PeerHandle) -> zkelect_result {
    guard(|| {
        handle(peer, "peer")?.peer.stop();
        Ok(())
    })
}

/// Writes the current state and vote to `*out`: while LOOKING, the current
/// proposal; once decided, the winning vote.
#[no_mangle]
pub extern "C" fn zkelect_peer_get_vote(
    peer: *const PeerHandle,
    out: *mut zkelect_vote,
) -> zkelect_result {
    guard(|| {
        let h = handle(peer, "peer")?;
        let mut v: zkelect_vote = h.peer.vote().into();
        v.state = h.peer.state().into();
        write_out(out, v, "out")
    })
}

/// Waits up to `timeout_ms` for a decision and writes it to `*out`. Returns
/// at once if a leader is known. This is FastLeaderElection's decision, not
/// yet a confirmed leader: to act as (or on) the leader, use
/// `zkelect_peer_wait_for_confirmed`. Errors: `ZKELECT_ERR_TIMEOUT`,
/// `ZKELECT_ERR_NOT_RUNNING` (not started, or stopped while waiting).
#[no_mangle]
pub extern "C" fn zkelect_peer_wait_for_leader(
    peer: *const PeerHandle,
    timeout_ms: u64,
    out: *mut zkelect_leader,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let h = handle(peer, "peer")?;
        if !h.peer.is_running() {
            return Err(Failure::new(
                ZKELECT_ERR_NOT_RUNNING,
                "the peer is not running",
            ));
        }
        match h.peer.wait_for_leader(timeout(timeout_ms)) {
            Some(l) => write_out(out, l.into(), "out"),
            None if !h.peer.is_running() => Err(Failure::new(
                ZKELECT_ERR_NOT_RUNNING,
                "the peer stopped while waiting",
            )),
            None => Err(Failure::new(
                ZKELECT_ERR_TIMEOUT,
                format!("no leader within {timeout_ms} ms"),
            )),
        }
    })
}

/// Writes my lease to `*out`: whether I lead confirmed at the moment of the
/// call, with which epoch, and for how long if no new acknowledgement
/// arrives. Call it right before acting as leader: events arrive
/// asynchronously, and a paused or suspended process may resume with a
/// LEADING event it no longer holds. The lease bounds who believes it
/// leads; tag every write with the epoch so the resource can refuse older
/// ones.
#[no_mangle]
pub extern "C" fn zkelect_peer_get_lease(
    peer: *const PeerHandle,
    out: *mut zkelect_lease,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let l = handle(peer, "peer")?.peer.leadership();
        let mut lease = zkelect_lease::default();
        if let (Some(deadline), Some(c)) = (l.lease_deadline, l.confirmed) {
            lease.leads_now = 1;
            lease.epoch = c.epoch;
            lease.remaining_ns = ns(deadline.saturating_sub(l.now));
            lease.deadline_ns = ns(deadline);
        }
        write_out(out, lease, "out")
    })
}

/// Writes my leadership to `*out` as one consistent snapshot: whether a
/// leadership is confirmed, my role, the leader, the epoch (the fencing
/// token), the lease and the election's state, all read at one moment
/// (separate calls to `zkelect_peer_get_vote` and `zkelect_peer_get_lease`
/// may each see a different one). Works on a stopped peer too (`running`
/// is 0, nothing is confirmed). Errors: `ZKELECT_ERR_NULL`.
#[no_mangle]
pub extern "C" fn zkelect_peer_get_leadership(
    peer: *const PeerHandle,
    out: *mut zkelect_leadership,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let l = handle(peer, "peer")?.peer.leadership();
        write_out(out, l.into(), "out")
    })
}

/// Writes my statistics to `*out` (`zkelect_stats`): state, leader,
/// confirmation, epoch, round, and the counters (elections and their
/// durations, LOOKING periods, leadership changes, connection errors,
/// dropped frames). Works on a stopped peer too. Errors: `ZKELECT_ERR_NULL`.
#[no_mangle]
pub extern "C" fn zkelect_peer_get_stats(
    peer: *const PeerHandle,
    out: *mut zkelect_stats,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let s = handle(peer, "peer")?.peer.stats();
        write_out(out, (&s).into(), "out")
    })
}

/// Waits up to `timeout_ms` until a quorum confirms a leadership (I lead,
/// or my leader is confirmed) and writes it to `*out` as in
/// `zkelect_peer_get_leadership`, with `confirmed` 1. Returns at once if one
/// is confirmed now. This, not `zkelect_peer_wait_for_leader`, is the leader
/// to act on: with `epoch` as the fencing token, and after checking
/// `zkelect_peer_get_lease` right before acting as leader. Errors:
/// `ZKELECT_ERR_NULL`, `ZKELECT_ERR_TIMEOUT`, `ZKELECT_ERR_NOT_RUNNING` (not
/// started, or stopped while waiting).
#[no_mangle]
pub extern "C" fn zkelect_peer_wait_for_confirmed(
    peer: *const PeerHandle,
    timeout_ms: u64,
    out: *mut zkelect_leadership,
) -> zkelect_result {
    guard(|| {
        check_out(out, "out")?;
        let p = &handle(peer, "peer")?.peer;
        let not_running = |what: &str| Err(Failure::new(ZKELECT_ERR_NOT_RUNNING, what));
        if !p.is_running() {
            return not_running("the peer is not running");
        }
        let deadline = Instant::now() + timeout(timeout_ms);
        loop {
            let found = p.wait_for_confirmed(deadline.saturating_duration_since(Instant::now()));
            let l = p.leadership();
            if l.confirmed.is_some() {
                return write_out(out, l.into(), "out");
            }
            if !p.is_running() {
                return not_running("the peer stopped while waiting");
            }
            if found.is_none() || Instant::now() >= deadline {
                return Err(Failure::new(
                    ZKELECT_ERR_TIMEOUT,
                    format!("no confirmed leader within {timeout_ms} ms"),
                ));
            }
            // Confirmed, then lost again before the snapshot: wait on.
        }
    })
}

/// The clock leases are measured on, in nanoseconds (CLOCK_BOOTTIME on
/// Linux: counts suspend, the same for every process of the machine).
#[no_mangle]
pub extern "C" fn zkelect_clock_now_ns() -> u64 {
    guard_value(0, || {
        u64::try_from(crate::clock::now().as_nanos()).unwrap_or(u64::MAX)
    })
}

/// Keeps the peer's durable state (the accepted epoch and a round
/// high-water mark) through `store` instead of the file
/// `zkelect.<sid>.state` in `dataDir`. `held_epoch` and `held_round` are
/// what the host's store holds now (0 and 0 if nothing yet). `store` runs
/// on the election thread and returns 0 only once the state is durable; an
/// acknowledgement of an epoch waits for it, and a non-zero return emits
/// `ZKELECT_EVENT_EPOCH_STORE_FAILED` and acknowledges nothing. Takes effect
/// at the next `zkelect_peer_start`. `userdata` and `free_userdata` as for
/// event callbacks. Errors: `ZKELECT_ERR_NULL` (peer or store),
/// `ZKELECT_ERR_INVALID_ARGUMENT` (a negative held value).
#[no_mangle]
pub extern "C" fn zkelect_peer_set_epoch_store(
    peer: *const PeerHandle,
    held_epoch: i64,
    held_round: i64,
    store: zkelect_store_cb,
    userdata: *mut c_void,
    free_userdata: zkelect_free_cb,
) -> zkelect_result {
    let user = UserData(userdata);
    guard(move || {
        let cb = StoreCallback {
            cb: match store {
                Some(f) => f,
                None => {
                    if let Some(f) = free_userdata {
                        f(user.0);
                    }
                    return Err(Failure::new(ZKELECT_ERR_NULL, "store is NULL"));
                }
            },
            user,
            free: free_userdata,
        };
        let h = handle(peer, "peer")?;
        if held_epoch < 0 || held_round < 0 {
            return Err(Failure::new(
                ZKELECT_ERR_INVALID_ARGUMENT,
                format!("held_epoch {held_epoch} and held_round {held_round} must not be negative"),
            ));
        }
        let held = crate::leadership::Durable {
            epoch: held_epoch,
            round: held_round,
        };
        h.peer
            .set_epoch_store(held, move |d| cb.call(d.epoch, d.round));
        Ok(())
    })
}

/// Starts a new election round: the host's way to say the leader is gone.
/// Not needed to recover from a dead or cut-off leader: the peer notices
/// (`syncLimit` ticks without heartbeats, or a broken connection) and
/// re-elects by itself. A `ZKELECT_EVENT_LEADER_LOST` event
/// (`ZKELECT_REASON_RESTARTED`) follows if a leader was known, preceded on
/// a leader by `ZKELECT_EVENT_LEADERSHIP_LOST` or `_FAILED`.
/// Errors: `ZKELECT_ERR_NOT_RUNNING`.
#[no_mangle]
pub extern "C" fn zkelect_peer_restart_election(peer: *const PeerHandle) -> zkelect_result {
    guard(|| Ok(handle(peer, "peer")?.peer.restart_election()?))
}

/// Sets the peer's event callback, replacing any previous one (whose
/// `free_userdata` then runs once its last call has returned). A NULL
/// `callback` removes it. Callbacks run on the peer's notifier thread, one
/// at a time and in order, never while the library holds a lock; they may
/// call any function of this API, including `zkelect_peer_stop` and
/// `zkelect_peer_free` on their own peer. `userdata` is passed back as is;
/// `free_userdata` (may be NULL) runs exactly once.
#[no_mangle]
pub extern "C" fn zkelect_peer_set_event_callback(
    peer: *const PeerHandle,
    callback: zkelect_event_cb,
    userdata: *mut c_void,
    free_userdata: zkelect_free_cb,
) -> zkelect_result {
    let user = UserData(userdata);
    guard(move || {
        let h = match handle(peer, "peer") {
            Ok(h) => h,
            Err(e) => {
                // The host handed us ownership of userdata; release it.
                if let Some(f) = free_userdata {
                    f(user.0);
                }
                return Err(e);
            }
        };
        let new_id = callback.map(|cb| {
            let c = Arc::new(EventCallback {
                cb,
                user,
                free: free_userdata,
            });
            let sid = h.peer.my_sid();
            h.peer
                .on_event(move |e| c.call(&zkelect_event::from_event(sid, e)))
        });
        if callback.is_none() {
            if let Some(f) = free_userdata {
                f(user.0);
            }
        }
        let old = std::mem::replace(&mut *h.callback.lock(), new_id);
        if let Some(id) = old {
            h.peer.remove_callback(id);
        }
        Ok(())
    })
}

/// Routes the library's log lines to `callback` (process-wide), with
/// `userdata` and its finalizer as for event callbacks. NULL restores the
/// default: lines at WARN and above on stderr.
#[no_mangle]
pub extern "C" fn zkelect_set_log_callback(
    callback: zkelect_log_cb,
    userdata: *mut c_void,
    free_userdata: zkelect_free_cb,
) -> zkelect_result {
    let user = UserData(userdata);
    guard(move || {
        match callback {
            Some(cb) => {
                let c = Arc::new(LogCallback {
                    cb,
                    user,
                    free: free_userdata,
                });
                logging::set_sink(Some(Arc::new(move |l: Level, s: &str| c.call(l, s))));
            }
            None => {
                logging::set_sink(None);
                if let Some(f) = free_userdata {
                    f(user.0);
                }
            }
        }
        Ok(())
    })
}

/// Sets the lowest level that is logged (`ZKELECT_LOG_*`; default WARN).
/// Errors: `ZKELECT_ERR_INVALID_ARGUMENT` for a value outside 0..4.
#[no_mangle]
pub extern "C" fn zkelect_set_log_level(level: i32) -> zkelect_result {
    guard(|| {
        if !(ZKELECT_LOG_TRACE..=ZKELECT_LOG_ERROR).contains(&level) {
            return Err(Failure::new(
                ZKELECT_ERR_INVALID_ARGUMENT,
                format!("log level {level} is not one of 0 (trace) to 4 (error)"),
            ));
        }
        logging::set_level(Level::from_u8(level as u8));
        Ok(())
    })
}

/// The static, NUL-terminated message of a result code (never NULL; lives
/// for the whole process; "unknown result code" for a number that is not a
/// `zkelect_result`).
#[no_mangle]
pub extern "C" fn zkelect_result_message(code: i32) -> *const c_char {
    guard_value(c"unknown result code".as_ptr(), || {
        message_of(code).as_ptr()
    })
}

/// The name of an event kind without its prefix, e.g. "LEADING" for
/// `ZKELECT_EVENT_LEADING`: static, NUL-terminated, never NULL; "unknown"
/// for a number that is not a `zkelect_event_kind` (e.g. a kind of a newer
/// library).
#[no_mangle]
pub extern "C" fn zkelect_event_kind_name(kind: i32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || {
        zkelect_event_kind::name(kind).as_ptr()
    })
}

/// The name of a state (or role) without its prefix, e.g. "LEADING" for
/// `ZKELECT_STATE_LEADING` (ZooKeeper's names): static, NUL-terminated,
/// never NULL; "unknown" for a number that is not a `zkelect_state`.
#[no_mangle]
pub extern "C" fn zkelect_state_name(state: i32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || zkelect_state::name(state).as_ptr())
}

/// The name of a loss reason without its prefix, e.g. "NO_QUORUM" for
/// `ZKELECT_REASON_NO_QUORUM`: static, NUL-terminated, never NULL;
/// "unknown" for a number that is not a `zkelect_reason`.
#[no_mangle]
pub extern "C" fn zkelect_reason_name(reason: i32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || {
        zkelect_reason::name(reason).as_ptr()
    })
}

/// The detailed message of the last failed call on this thread (empty after
/// a successful call). Never NULL; valid until the next call into the
/// library on this thread.
#[no_mangle]
pub extern "C" fn zkelect_last_error_message() -> *const c_char {
    guard_value(c"".as_ptr(), last_error_ptr)
}

/// The library version, e.g. "0.1.0" (static, never NULL). Equals
/// `ZKELECT_VERSION_STRING` of the header it was built with.
#[no_mangle]
pub extern "C" fn zkelect_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
