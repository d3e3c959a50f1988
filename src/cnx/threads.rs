//! A registry of the threads a component started, so that stopping it can
//! join every one of them.

use parking_lot::Mutex;
use std::io;
use std::thread::{self, JoinHandle, ThreadId};

/// Named threads started by one component, joined on [`ThreadSet::join_all`].
#[derive(Default)]
pub(crate) struct ThreadSet {
    handles: Mutex<Vec<JoinHandle<()>>>,
    closed: Mutex<bool>,
}

impl ThreadSet {
    /// Spawns a named thread unless the set is closed. Finished threads are
    /// reaped on the way so the list stays short. Returns the new thread's id.
    pub(crate) fn spawn<F>(&self, name: String, f: F) -> io::Result<ThreadId>
    where
        F: FnOnce() + Send + 'static,
    {
        let closed = self.closed.lock();
        if *closed {
            return Err(io::Error::other("stopping"));
        }
        let handle = thread::Builder::new().name(name).spawn(f)?;
        let id = handle.thread().id();
        let mut handles = self.handles.lock();
        let (done, live): (Vec<_>, Vec<_>) = handles.drain(..).partition(|h| h.is_finished());
        *handles = live;
        handles.push(handle);
        drop(handles);
        drop(closed);
        for h in done {
            let _ = h.join();
        }
        Ok(id)
    }

    /// Refuses new threads from now on and joins every thread, including
    /// those started while joining. A thread cannot join itself: if the
    /// caller is one of the set, it is skipped (it is on its way out).
    pub(crate) fn join_all(&self) {
        *self.closed.lock() = true;
        let me = thread::current().id();
        loop {
            let batch: Vec<_> = self.handles.lock().drain(..).collect();
            if batch.is_empty() {
                return;
            }
            for h in batch {
                if h.thread().id() != me {
                    let _ = h.join();
                }
            }
        }
    }
}
