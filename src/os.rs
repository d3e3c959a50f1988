//! Safe wrappers over the few OS calls that std does not offer: signal
//! handling for `zkelect run`, CLOCK_BOOTTIME for the clock, and `flock`
//! for the same-host lock. Apart from the C ABI in `ffi`, this is the only
//! module with `unsafe` code; it is not part of the C ABI, so the command
//! and the library use it without reaching into `ffi`.

use std::io;

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and in every thread it
/// starts afterwards), so that [`wait_for_termination`] can take them
/// synchronously. Call it before starting any thread.
pub fn block_termination_signals() -> io::Result<()> {
    let set = termination_set();
    // SAFETY: `set` is a valid, initialised sigset_t; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Waits until SIGINT, SIGTERM or SIGHUP arrives and returns its number.
pub fn wait_for_termination() -> io::Result<i32> {
    let set = termination_set();
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is a valid sigset_t and `sig` a valid out-pointer for the call.
    let rc = unsafe { libc::sigwait(&set, &mut sig) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(sig)
}

/// SIGHUP's number, for callers that treat it apart.
pub const SIGHUP: i32 = libc::SIGHUP;

fn termination_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` points to a sigset_t we own.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
    }
    set
}

/// The time since boot on CLOCK_BOOTTIME, which, unlike CLOCK_MONOTONIC
/// (what `std::time::Instant` reads on Linux), keeps counting while the
/// system is suspended. `None` only if the kernel refuses the clock.
pub fn boottime() -> Option<std::time::Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec owned by this frame, and
    // CLOCK_BOOTTIME is a clock id the call accepts (Linux 2.6.39 and later).
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 || ts.tv_sec < 0 || ts.tv_nsec < 0 {
        return None;
    }
    Some(std::time::Duration::new(
        ts.tv_sec as u64,
        ts.tv_nsec as u32,
    ))
}

/// Tries to take an exclusive `flock` on `file` without waiting: `Ok(true)`
/// if taken, `Ok(false)` if another open file description holds it. The
/// lock lives as long as the file stays open (or until [`unlock_file`]),
/// and the kernel drops it when the process dies.
pub fn try_lock_file(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call (borrowed
    // from `file`); flock has no memory arguments.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Lets go of a lock taken with [`try_lock_file`].
pub fn unlock_file(file: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: as in `try_lock_file`.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
