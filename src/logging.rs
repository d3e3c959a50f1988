//! The library's log lines: a level filter, one replaceable sink, and the
//! [`log`](https://docs.rs/log) facade for Rust hosts.
//!
//! Where a line goes, first match wins:
//!
//! 1. a sink installed with [`set_sink`] (the C, Python and Java log
//!    callbacks install one) receives every line at or above [`level`], as
//!    `[myid:1] [zkelect-election] message`;
//! 2. else, when the process has a `log` logger (`log::max_level()` is not
//!    `Off`, as after `env_logger::init()`), the line is a `log` record with
//!    the calling module as target (`zkelect::peer::election`, ...) and the
//!    message `[myid:1] message`; the logger's own filter decides, not
//!    [`set_level`];
//! 3. else lines at or above [`level`] (WARN by default) go to stderr in a
//!    layout modelled on ZooKeeper's:
//!    `2026-12-01T21:11:56.123Z [myid:1] - WARN  [zkelect-election] - message`
//!    (ISO 8601 UTC with milliseconds, my sid, level, thread name).
//!
//! The sid is the one of the peer whose thread logs: every thread a peer
//! starts (the connection layer's too) is marked with it. A host thread
//! calling into the library carries the sid when the process runs one peer
//! (the case of `zkelect run`), and `[myid:]`, as ZooKeeper prints for
//! threads without one, when it runs several.

use crate::types::Sid;
use parking_lot::{Mutex, RwLock};
use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Severity of a log line. The numbers are part of the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Fine-grained tracing of every message.
    Trace = 0,
    /// Diagnostic detail.
    Debug = 1,
    /// Normal operation milestones.
    Info = 2,
    /// Something unexpected that the library handled.
    Warn = 3,
    /// Something that stops part of the library from working.
    Error = 4,
}

impl Level {
    /// The upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    /// Decodes the ABI number; values above 4 mean ERROR.
    pub fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            _ => Level::Error,
        }
    }

    /// The same level in the `log` crate.
    pub fn to_log(self) -> log::Level {
        match self {
            Level::Trace => log::Level::Trace,
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
            Level::Error => log::Level::Error,
        }
    }
}

/// A log sink: receives the level and the line (no newline), prefixed with
/// the sid and the thread: `[myid:1] [zkelect-election] message`.
pub type Sink = Arc<dyn Fn(Level, &str) + Send + Sync>;

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);
static SINK: RwLock<Option<Sink>> = RwLock::new(None);
/// Whether a sink is installed (read on every `enabled` check).
static HAVE_SINK: AtomicU8 = AtomicU8::new(0);
/// The sids of the peers running in this process (one entry per run).
static RUNNING: Mutex<Vec<Sid>> = Mutex::new(Vec::new());

thread_local! {
    static THREAD_SID: Cell<Option<Sid>> = const { Cell::new(None) };
}

/// Sets the lowest level that is emitted to the sink and to stderr (a
/// `log` logger filters by itself).
pub fn set_level(level: Level) {
    MIN_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The lowest level that is emitted to the sink and to stderr.
pub fn level() -> Level {
    Level::from_u8(MIN_LEVEL.load(Ordering::Relaxed))
}

/// Replaces the sink; `None` restores the default (`log` if the process
/// has a logger, else stderr).
pub fn set_sink(sink: Option<Sink>) {
    let mut s = SINK.write();
    HAVE_SINK.store(u8::from(sink.is_some()), Ordering::Relaxed);
    *s = sink;
}

/// Whether the process has a `log` logger that takes zkelect's lines.
fn to_log_facade() -> bool {
    HAVE_SINK.load(Ordering::Relaxed) == 0 && log::max_level() != log::LevelFilter::Off
}

/// Whether a line at `level` would be emitted.
pub fn enabled(level: Level) -> bool {
    if to_log_facade() {
        level.to_log() <= log::max_level()
    } else {
        level as u8 >= MIN_LEVEL.load(Ordering::Relaxed)
    }
}

#[doc(hidden)]
/// Emits one line if its level passes the filter; the sid is the one of
/// the calling thread's peer, if known.
pub fn emit(level: Level, line: &str) {
    emit_from("zkelect", None, level, line);
}

#[doc(hidden)]
/// As [`emit`], for a line about the peer `sid` logged from a thread that is
/// not one of its own (e.g. the host's, while it builds the peer).
pub fn emit_as(sid: Sid, level: Level, line: &str) {
    emit_from("zkelect", Some(sid), level, line);
}

/// The implementation of [`emit`] and of the `log!` macro: `target` is the
/// calling module, for `log` loggers.
#[doc(hidden)]
pub fn emit_from(target: &str, sid: Option<Sid>, level: Level, line: &str) {
    if !enabled(level) {
        return;
    }
    let sid = sid.or_else(current_sid);
    let myid = sid.map(|s| s.to_string()).unwrap_or_default();
    if to_log_facade() {
        let logger = log::logger();
        let meta = log::Metadata::builder()
            .level(level.to_log())
            .target(target)
            .build();
        if logger.enabled(&meta) {
            logger.log(
                &log::Record::builder()
                    .metadata(meta)
                    .args(format_args!("[myid:{myid}] {line}"))
                    .build(),
            );
        }
        return;
    }
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    let sink = SINK.read().clone();
    match sink {
        Some(s) => s(level, &format!("[myid:{myid}] [{thread}] {line}")),
        None => eprintln!(
            "{} [myid:{myid}] - {:<5} [{thread}] - {line}",
            utc_timestamp(SystemTime::now()),
            level.name()
        ),
    }
}

/// The sid of the calling thread's peer; else the sid of the only peer
/// running in the process, if exactly one runs.
fn current_sid() -> Option<Sid> {
    THREAD_SID
        .with(Cell::get)
        .or_else(|| only_sid(&RUNNING.lock()))
}

/// The sid all of `running` share, if any.
fn only_sid(running: &[Sid]) -> Option<Sid> {
    let first = running.first()?;
    running.iter().all(|s| s == first).then_some(*first)
}

/// Marks the calling thread as one of `sid`'s, for its log lines.
pub(crate) fn set_thread_sid(sid: Option<Sid>) {
    THREAD_SID.with(|c| c.set(sid));
}

/// While alive, `sid` counts as running in this process (see the module
/// docs on sids). Taken when a peer starts, dropped when its election
/// thread ends.
pub(crate) struct PeerScope(Sid);

impl PeerScope {
    /// Registers `sid` as running.
    pub(crate) fn register(sid: Sid) -> PeerScope {
        RUNNING.lock().push(sid);
        PeerScope(sid)
    }
}

impl Drop for PeerScope {
    fn drop(&mut self) {
        let mut running = RUNNING.lock();
        if let Some(i) = running.iter().position(|s| *s == self.0) {
            running.swap_remove(i);
        }
    }
}

#[doc(hidden)]
/// `t` as an ISO 8601 UTC timestamp with milliseconds,
/// `2026-12-01T21:11:56.123Z` (the time before 1970 prints as 1970).
pub fn utc_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Logs a formatted line at a level: `log!(Level::Warn, "bad frame from {}", sid)`.
#[macro_export]
#[doc(hidden)]
macro_rules! log {
    ($lvl:expr, $($arg:tt)*) => {
        if $crate::logging::enabled($lvl) {
            $crate::logging::emit_from(module_path!(), None, $lvl, &format!($($arg)*));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_iso_8601_utc_with_milliseconds() {
        let at = |s: u64, ms: u64| {
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        // `date -u -d @1796160716` and friends.
        assert_eq!(at(1_796_160_716, 123), "2026-12-01T21:31:56.123Z");
        assert_eq!(at(951_782_400, 9), "2000-02-29T00:00:00.009Z");
        assert_eq!(at(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
        assert_eq!(at(1_709_164_800, 0), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn the_sid_comes_from_the_thread_then_from_the_only_running_peer() {
        std::thread::spawn(|| {
            assert_eq!(THREAD_SID.with(Cell::get), None);
            set_thread_sid(Some(7));
            assert_eq!(current_sid(), Some(7));
        })
        .join()
        .unwrap();
        {
            let _scope = PeerScope::register(-7);
            assert!(RUNNING.lock().contains(&-7));
        }
        assert!(!RUNNING.lock().contains(&-7));
        assert_eq!(only_sid(&[]), None);
        assert_eq!(only_sid(&[3]), Some(3));
        assert_eq!(only_sid(&[3, 3]), Some(3));
        assert_eq!(only_sid(&[3, 4]), None);
    }
}
