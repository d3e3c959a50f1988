//! What one connection manager counts for the peer's statistics
//! ([`crate::peer::Stats`]): plain relaxed atomics, bumped where the event
//! happens, read at any time.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a connection manager; one set per [`crate::Peer`], kept
/// across its restarts.
#[derive(Debug, Default)]
pub struct CnxCounters {
    connection_errors: AtomicU64,
    frames_dropped: AtomicU64,
    frames_received: AtomicU64,
    frames_sent: AtomicU64,
}

impl CnxCounters {
    /// Connection attempts that failed (refused, timed out, no address) and
    /// connections closed because of a bad frame.
    pub fn connection_errors(&self) -> u64 {
        self.connection_errors.load(Ordering::Relaxed)
    }

    /// Received frames dropped because the receive queue was full (spec
    /// 2.5: the oldest goes).
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped.load(Ordering::Relaxed)
    }

    /// Frames received from peers.
    pub fn frames_received(&self) -> u64 {
        self.frames_received.load(Ordering::Relaxed)
    }

    /// Frames queued for sending to peers (my own loop-back included).
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent.load(Ordering::Relaxed)
    }

    pub(crate) fn connection_error(&self) {
        self.connection_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, dropped: usize) {
        self.frames_received.fetch_add(1, Ordering::Relaxed);
        if dropped > 0 {
            self.frames_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn sent(&self) {
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
    }
}
