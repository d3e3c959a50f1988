//! Host callbacks: the event callback of a peer and the global log callback,
//! each registered with its userdata and an optional finalizer.
#![allow(non_camel_case_types)]

use super::ptr::UserData;
use super::types::zkelect_event;
use crate::logging::Level;
use std::ffi::{c_char, c_void, CString};

/// Receives one event. `event` is valid only during the call. Runs on the
/// peer's notifier thread.
pub type zkelect_event_cb =
    Option<extern "C" fn(userdata: *mut c_void, event: *const zkelect_event)>;

/// Receives one log line (NUL-terminated, no newline, valid only during the
/// call) with its level (`ZKELECT_LOG_*`). May run on any library thread.
pub type zkelect_log_cb =
    Option<extern "C" fn(userdata: *mut c_void, level: i32, message: *const c_char)>;

/// Stores a peer's durable state (`epoch`: the highest accepted epoch;
/// `round`: the round high-water mark) and returns 0 only once it is
/// durable (written and fsynced), anything else if it could not be stored.
/// Runs on the peer's election thread; nothing that depends on the state is
/// sent before it returns 0.
pub type zkelect_store_cb =
    Option<extern "C" fn(userdata: *mut c_void, epoch: i64, round: i64) -> i32>;

/// Releases a callback's userdata. Called exactly once, after the last call
/// of the callback it belongs to has returned.
pub type zkelect_free_cb = Option<extern "C" fn(userdata: *mut c_void)>;

/// A registered C event callback; dropping it runs the finalizer.
pub(crate) struct EventCallback {
    pub cb: extern "C" fn(*mut c_void, *const zkelect_event),
    pub user: UserData,
    pub free: zkelect_free_cb,
}

impl EventCallback {
    pub(crate) fn call(&self, e: &zkelect_event) {
        (self.cb)(self.user.0, e);
    }
}

impl Drop for EventCallback {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            f(self.user.0);
        }
    }
}

/// A registered C log callback; dropping it runs the finalizer.
pub(crate) struct LogCallback {
    pub cb: extern "C" fn(*mut c_void, i32, *const c_char),
    pub user: UserData,
    pub free: zkelect_free_cb,
}

impl LogCallback {
    pub(crate) fn call(&self, level: Level, line: &str) {
        let c = CString::new(line.replace('\0', " ")).unwrap_or_default();
        (self.cb)(self.user.0, level as i32, c.as_ptr());
    }
}

impl Drop for LogCallback {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            f(self.user.0);
        }
    }
}

/// A registered C store callback; dropping it runs the finalizer.
pub(crate) struct StoreCallback {
    pub cb: extern "C" fn(*mut c_void, i64, i64) -> i32,
    pub user: UserData,
    pub free: zkelect_free_cb,
}

impl StoreCallback {
    pub(crate) fn call(&self, epoch: i64, round: i64) -> Result<(), String> {
        match (self.cb)(self.user.0, epoch, round) {
            0 => Ok(()),
            rc => Err(format!("the host's store callback returned {rc}")),
        }
    }
}

impl Drop for StoreCallback {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            f(self.user.0);
        }
    }
}
