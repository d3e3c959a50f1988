//! Result codes, their messages, the per-thread detailed message, and the
//! panic boundary around every exported function.

use super::tables::zkelect_result::{self, *};
use crate::peer::Error;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failure with its code and the detailed message for the caller.
pub(crate) struct Failure {
    pub code: zkelect_result,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(code: zkelect_result, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match &e {
            Error::Config(_) => ZKELECT_ERR_CONFIG,
            Error::Io { .. } => ZKELECT_ERR_IO,
            Error::AlreadyRunning => ZKELECT_ERR_ALREADY_RUNNING,
            Error::NotRunning => ZKELECT_ERR_NOT_RUNNING,
        };
        Failure::new(code, e.to_string())
    }
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

/// Runs an exported function's body: a panic becomes `ZKELECT_ERR_PANIC`, a
/// failure sets this thread's detailed message, success clears it.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Failure>) -> zkelect_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            ZKELECT_OK
        }
        Ok(Err(fail)) => {
            set_last_error(&fail.message);
            fail.code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error (panic): {what}"));
            ZKELECT_ERR_PANIC
        }
    }
}

/// Like [`guard`] for functions that return a value instead of a code;
/// `fallback` is returned on panic.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The static message of a result code (any number a host passes).
pub(crate) fn message_of(code: i32) -> &'static CStr {
    match zkelect_result::from_raw(code) {
        Some(ZKELECT_OK) => c"ok",
        Some(ZKELECT_ERR_NULL) => c"a required pointer argument was NULL",
        Some(ZKELECT_ERR_CONFIG) => c"invalid configuration",
        Some(ZKELECT_ERR_IO) => c"socket, file or thread operation failed",
        Some(ZKELECT_ERR_ALREADY_RUNNING) => c"the peer is already running",
        Some(ZKELECT_ERR_NOT_RUNNING) => c"the peer is not running",
        Some(ZKELECT_ERR_TIMEOUT) => c"timed out",
        Some(ZKELECT_ERR_INVALID_ARGUMENT) => c"invalid argument",
        Some(ZKELECT_ERR_PANIC) => c"internal error (panic caught at the API boundary)",
        None => c"unknown result code",
    }
}

/// A pointer to this thread's detailed message (empty after a success).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}
