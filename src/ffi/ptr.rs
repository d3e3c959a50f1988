//! Every pointer cast of the C ABI, in one place.

use super::error::Failure;
use super::tables::zkelect_result::{ZKELECT_ERR_INVALID_ARGUMENT, ZKELECT_ERR_NULL};
use crate::peer::Peer;
use std::ffi::{c_char, CStr};

/// The opaque peer handle behind `zkelect_peer *`.
pub struct PeerHandle {
    pub(crate) peer: Peer,
    /// The id of the C event callback, if one is set.
    pub(crate) callback: parking_lot::Mutex<Option<u64>>,
}

/// Borrows the handle behind a `zkelect_peer *`.
///
/// The caller of the exported function promises (header contract) that a
/// non-NULL pointer came from `zkelect_peer_new`/`_from_file` and was not
/// freed yet.
pub(crate) fn handle<'a>(p: *const PeerHandle, what: &str) -> Result<&'a PeerHandle, Failure> {
    // SAFETY: by the header contract a non-NULL handle is live and not freed
    // concurrently; all its methods take &self and are thread-safe.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::new(ZKELECT_ERR_NULL, format!("{what} is NULL")))
}

/// Moves a new handle to the heap and returns its pointer.
pub(crate) fn into_raw(h: PeerHandle) -> *mut PeerHandle {
    Box::into_raw(Box::new(h))
}

/// Takes back ownership of a handle for freeing; `None` for NULL.
pub(crate) fn from_raw(p: *mut PeerHandle) -> Option<Box<PeerHandle>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the header contract says `p` came from `into_raw` and is freed
    // once, with no other call on it in flight.
    Some(unsafe { Box::from_raw(p) })
}

/// Reads a NUL-terminated UTF-8 string argument.
pub(crate) fn str_arg<'a>(s: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::new(ZKELECT_ERR_NULL, format!("{what} is NULL")));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string that
    // stays valid for the duration of the call.
    let c = unsafe { CStr::from_ptr(s) };
    c.to_str().map_err(|e| {
        Failure::new(
            ZKELECT_ERR_INVALID_ARGUMENT,
            format!("{what} is not UTF-8: {e}"),
        )
    })
}

/// Writes an out-parameter; NULL is an error.
pub(crate) fn write_out<T>(out: *mut T, value: T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::new(ZKELECT_ERR_NULL, format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and, by the header contract, valid for writes of T.
    unsafe { out.write(value) };
    Ok(())
}

/// Checks an out-parameter up front, so nothing happens when it is NULL.
pub(crate) fn check_out<T>(out: *mut T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        Err(Failure::new(ZKELECT_ERR_NULL, format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

/// Userdata handed back to C callbacks. The host is responsible for the
/// thread-safety of what it points to (documented in the header).
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub *mut std::ffi::c_void);

// SAFETY: the pointer is only handed back to the host's own callbacks; the
// header documents that they run on library threads.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never dereferences it.
unsafe impl Sync for UserData {}
