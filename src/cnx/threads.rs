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
    /// The sid whose threads these are: their log lines carry it.
    owner: Option<crate::types::Sid>,
}

impl ThreadSet {
    /// A set whose threads log as `sid`'s (`[myid:N]`), also when the
    /// process runs several peers.
    pub(crate) fn owned_by(sid: crate::types::Sid) -> ThreadSet {
        ThreadSet {
            owner: Some(sid),
            ..ThreadSet::default()
        }
    }

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
        let owner = self.owner;
        let handle = thread::Builder::new().name(name).spawn(move || {
            if owner.is_some() {
                crate::logging::set_thread_sid(owner);
            }
            f()
        })?;
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
    /// caller is one of the set, its handle is returned unjoined, so that
    /// someone else can join it once it has returned (dropping the handle
    /// would detach it, and nothing could then wait for it).
    pub(crate) fn join_all(&self) -> Option<JoinHandle<()>> {
        *self.closed.lock() = true;
        let me = thread::current().id();
        let mut own = None;
        loop {
            let batch: Vec<_> = self.handles.lock().drain(..).collect();
            if batch.is_empty() {
                return own;
            }
            for h in batch {
                if h.thread().id() == me {
                    own = Some(h);
                } else {
                    let _ = h.join();
                }
            }
        }
    }

    /// In a forked child, where none of these threads exists: refuses new
    /// threads and lets go of every handle without joining or detaching it
    /// (both would act on a thread of the parent; `pthread_detach` on one
    /// crashes). The handles' memory is leaked, once per fork. A lock held
    /// by a thread of the parent at the fork stays held in the child, so
    /// the locks are only tried.
    pub(crate) fn forget_all_in_child(&self) {
        if let Some(mut closed) = self.closed.try_lock_for(CHILD_LOCK_WAIT) {
            *closed = true;
        }
        if let Some(mut handles) = self.handles.try_lock_for(CHILD_LOCK_WAIT) {
            for h in handles.drain(..) {
                std::mem::forget(h);
            }
        }
    }
}

/// How long a forked child tries a lock that a thread of the parent may
/// have held at the fork (and that then stays held for ever in the child).
pub(crate) const CHILD_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(50);
