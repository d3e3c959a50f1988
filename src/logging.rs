//! The library's log lines: a level filter and one replaceable sink.
//!
//! By default lines at WARN and above go to stderr. A host (or the C ABI)
//! installs its own sink with [`set_sink`] to route them into its logging.

use parking_lot::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

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
}

/// A log sink: receives the level and the formatted line (no newline).
pub type Sink = Arc<dyn Fn(Level, &str) + Send + Sync>;

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sets the lowest level that is emitted.
pub fn set_level(level: Level) {
    MIN_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The lowest level that is emitted.
pub fn level() -> Level {
    Level::from_u8(MIN_LEVEL.load(Ordering::Relaxed))
}

/// Replaces the sink; `None` restores the stderr default.
pub fn set_sink(sink: Option<Sink>) {
    *SINK.write() = sink;
}

/// Whether a line at `level` would be emitted.
pub fn enabled(level: Level) -> bool {
    level as u8 >= MIN_LEVEL.load(Ordering::Relaxed)
}

/// Emits one line if its level passes the filter.
pub fn emit(level: Level, line: &str) {
    if !enabled(level) {
        return;
    }
    let sink = SINK.read().clone();
    match sink {
        Some(s) => s(level, line),
        None => eprintln!("zkelect {}: {}", level.name(), line),
    }
}

/// Logs a formatted line at a level: `log!(Level::Warn, "bad frame from {}", sid)`.
#[macro_export]
#[doc(hidden)]
macro_rules! log {
    ($lvl:expr, $($arg:tt)*) => {
        if $crate::logging::enabled($lvl) {
            $crate::logging::emit($lvl, &format!($($arg)*));
        }
    };
}
