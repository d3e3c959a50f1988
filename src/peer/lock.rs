//! The lock a peer holds in `dataDir` while it runs, `zkelect.<sid>.lock`:
//! one live process per sid and `dataDir`, and, for peers of one host that
//! share a `dataDir`, proof that a leader's process is dead.
//!
//! The holder keeps an exclusive `flock` on the file from start to stop
//! (the kernel drops it when the process dies, however it dies) and writes
//! into it, before anything depends on an accepted epoch, the highest epoch
//! it accepted:
//!
//! ```text
//! pid=4242
//! acceptedEpoch=5
//! promisedTo=3
//! promisedEpoch=5
//! ```
//!
//! (`promisedTo`/`promisedEpoch`: the leader it last acknowledged, and for
//! which epoch.) A restarted process reads what its earlier life left
//! there before it writes its own ([`Lock::earlier`]): when the promise's
//! epoch equals the fsynced state file's, that promise was its last (a
//! new epoch is stored before it is acknowledged), and the quarantine after
//! the restart need only keep it from acknowledging anyone but that
//! leader. After a crash of the machine the record may be older than the
//! state file (it is not fsynced); then the epochs differ and the full
//! quarantine applies.
//!
//! A follower that gave an acknowledgement for epoch E to leader L, whose
//! connection to L broke, tries to take L's lock ([`probe_dead`]). If it
//! can, and the file says L accepted at least E, then the process of L
//! that led E is gone (sids are unique among live processes, and the lock
//! makes them so on one host), and the promise has nothing left to
//! protect. A file that does not exist (L runs on another host, or uses
//! another `dataDir`) or that names a lower epoch (left by an earlier run)
//! proves nothing. The content needs no fsync: only processes of this
//! host, which see the page cache, read it.

use crate::os::{try_lock_file, unlock_file};
use crate::types::Sid;
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a starting peer retries a held lock: a follower probing it
/// holds it for a moment.
const ACQUIRE_WAIT: Duration = Duration::from_millis(500);

/// The lock file of `sid` in `dir`.
pub(crate) fn path(dir: &Path, sid: Sid) -> PathBuf {
    dir.join(format!("zkelect.{sid}.lock"))
}

/// The lock held while a peer runs; released on drop (and by the kernel if
/// the process dies).
///
/// Never unlocked explicitly, only closed: an `flock` belongs to the open
/// file description, which a forked child shares with its parent, so a
/// child that unlocked its copy would release the parent's lock, while a
/// child that closes its copy ([`Lock::close_in_child`]) leaves it held.
#[derive(Debug)]
pub(crate) struct Lock {
    /// `None` once a forked child closed its copy.
    file: Mutex<Option<File>>,
    path: PathBuf,
    /// The earlier holder's last promise: (leader, epoch).
    earlier: Option<(Sid, i64)>,
    /// What I record: my accepted epoch and my last promise.
    now: Mutex<(i64, Option<(Sid, i64)>)>,
}

impl Lock {
    /// Takes the lock of `sid` in `dir`, creating the file, retrying for a
    /// moment while another process holds it. The error names the file and
    /// the holder's pid.
    pub(crate) fn acquire(dir: &Path, sid: Sid) -> io::Result<Lock> {
        std::fs::create_dir_all(dir)?;
        let path = path(dir, sid);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let deadline = Instant::now() + ACQUIRE_WAIT;
        loop {
            match try_lock_file(&file) {
                Ok(true) => break,
                Ok(false) if Instant::now() < deadline => {
                    // Bounded: a probing follower lets go within microseconds.
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(false) => {
                    let holder = read_field(&file, "pid")
                        .map(|p| format!(" (pid {p})"))
                        .unwrap_or_default();
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "{} is held by another process{holder}: is sid {sid} already running with this dataDir?",
                            path.display()
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        let field = |k: &str| read_field(&file, k).and_then(|v| v.parse::<i64>().ok());
        let accepted = field("acceptedEpoch").unwrap_or(0);
        let earlier = field("promisedTo").zip(field("promisedEpoch"));
        let lock = Lock {
            file: Mutex::new(Some(file)),
            path,
            earlier,
            // Kept as it was until I accept or promise anything: my
            // quarantine carries the earlier life's promise on.
            now: Mutex::new((accepted, earlier)),
        };
        lock.write()?;
        Ok(lock)
    }

    /// The earlier holder's last promise, (leader, epoch), if it recorded one.
    pub(crate) fn earlier(&self) -> Option<(Sid, i64)> {
        self.earlier
    }

    /// Records `epoch` as the highest I accepted.
    pub(crate) fn record_accepted(&self, epoch: i64) -> io::Result<()> {
        self.now.lock().0 = epoch;
        self.write()
    }

    /// Records my promise to `leader` for `epoch`.
    pub(crate) fn record_promise(&self, leader: Sid, epoch: i64) -> io::Result<()> {
        self.now.lock().1 = Some((leader, epoch));
        self.write()
    }

    /// In a forked child: closes the child's copy of the file, which leaves
    /// the parent's lock held (see [`Lock`]); nothing is written to it from
    /// then on. The parent's threads may have held the file's lock at the
    /// fork, so it is only tried; if it stays taken, the copy stays open
    /// until the child exits or execs (it is close-on-exec).
    pub(crate) fn close_in_child(&self) {
        if let Some(mut f) = self.file.try_lock_for(crate::cnx::threads::CHILD_LOCK_WAIT) {
            f.take();
        }
    }

    fn write(&self) -> io::Result<()> {
        let file = self.file.lock();
        let Some(file) = file.as_ref() else {
            return Ok(());
        };
        let now = self.now.lock();
        let (accepted, promise) = *now;
        let promised = promise
            .map(|(l, e)| format!("promisedTo={l}\npromisedEpoch={e}\n"))
            .unwrap_or_default();
        let text = format!(
            "pid={}\nacceptedEpoch={accepted}\n{promised}",
            std::process::id()
        );
        let mut f = file;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(text.as_bytes())?;
        file.set_len(text.len() as u64)
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether the process that holds `sid`'s lock in `dir` is gone: `Some`
/// with the epoch it recorded if the lock exists, could be taken, and says
/// so; `None` if the file does not exist, is held, or says nothing. The
/// lock is let go at once.
pub(crate) fn probe_dead(dir: &Path, sid: Sid) -> Option<i64> {
    let file = File::open(path(dir, sid)).ok()?;
    if !try_lock_file(&file).ok()? {
        return None;
    }
    let epoch = read_field(&file, "acceptedEpoch").and_then(|v| v.parse().ok());
    let _ = unlock_file(&file);
    epoch
}

fn read_field(file: &File, key: &str) -> Option<String> {
    let mut f = file;
    f.seek(SeekFrom::Start(0)).ok()?;
    let mut text = String::new();
    f.take(4096).read_to_string(&mut text).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zkelect-lock-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_held_lock_proves_nothing_and_a_released_one_names_its_epoch() {
        let d = dir("probe");
        assert_eq!(probe_dead(&d, 3), None, "no file: no proof");
        let l = Lock::acquire(&d, 3).unwrap();
        l.record_accepted(7).unwrap();
        l.record_promise(2, 7).unwrap();
        assert_eq!(probe_dead(&d, 3), None, "held: alive");
        drop(l);
        assert_eq!(probe_dead(&d, 3), Some(7));
        // The next holder learns what the earlier one recorded.
        let again = Lock::acquire(&d, 3).unwrap();
        assert_eq!(again.earlier(), Some((2, 7)));
        drop(again);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_second_holder_is_refused_with_the_file_and_pid() {
        let d = dir("twice");
        let _l = Lock::acquire(&d, 2).unwrap();
        let e = Lock::acquire(&d, 2).unwrap_err().to_string();
        assert!(
            e.contains("zkelect.2.lock is held by another process"),
            "{e}"
        );
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
