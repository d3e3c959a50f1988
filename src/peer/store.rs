//! Where a peer keeps its [`Durable`] state: a small file of its own in
//! `dataDir`, or a host's synchronous store hook.
//!
//! The file, `zkelect.<sid>.state` in `dataDir`, is plain text:
//!
//! ```text
//! # zkelect durable state of sid 3; written before any acknowledgement
//! acceptedEpoch=5
//! round=48
//! ```
//!
//! It is written to a temporary name, fsynced, renamed over the old one,
//! and the directory is fsynced, so a crash leaves either the old or the
//! new content, never a torn one. A file that exists but cannot be read is
//! an error at start (naming the file and the line), never taken for an
//! empty one: that would forget a promise.

use super::lock::Lock;
use super::Error;
use crate::leadership::Durable;
use crate::types::Sid;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A host's store: called on the election thread with the state to keep;
/// it must return only once the state is durable (`Ok`) or could not be
/// stored (`Err` with a reason for the log). Nothing that depends on the
/// state is sent before it returns `Ok`.
pub type StoreHook = Arc<dyn Fn(Durable) -> Result<(), String> + Send + Sync>;

/// The durable store of one peer.
#[derive(Clone)]
pub(crate) enum Store {
    /// The file in `dataDir`, and the lock held there while the peer runs
    /// ([`super::lock`]).
    File(FileStore, Arc<Lock>),
    /// The host's hook, and what its store held when it was set.
    Hook(StoreHook),
}

impl Store {
    /// Writes `d` durably (and records its epoch in my lock file).
    pub(crate) fn save(&self, d: Durable) -> Result<(), String> {
        match self {
            Store::File(f, lock) => {
                f.save(d)
                    .map_err(|e| format!("{}: {e}", f.path().display()))?;
                lock.record_accepted(d.epoch)
                    .map_err(|e| format!("{}: {e}", lock.path().display()))
            }
            Store::Hook(h) => h(d),
        }
    }

    /// Records my promise to `leader` for `epoch` (cheaply, no fsync: the
    /// lock file), for the quarantine after a crash of this process; a
    /// host's hook keeps nothing of it.
    pub(crate) fn note_promise(&self, leader: Sid, epoch: i64) -> Result<(), String> {
        match self {
            Store::File(_, lock) => lock
                .record_promise(leader, epoch)
                .map_err(|e| format!("{}: {e}", lock.path().display())),
            Store::Hook(_) => Ok(()),
        }
    }

    /// Whom my earlier life last promised, when its record names my stored
    /// `epoch` ([`super::lock`]).
    pub(crate) fn earlier_promise(&self, epoch: i64) -> Option<Sid> {
        match self {
            Store::File(_, lock) => match lock.earlier() {
                Some((leader, e)) if e == epoch && epoch > 0 => Some(leader),
                _ => None,
            },
            Store::Hook(_) => None,
        }
    }

    /// Whether the process of `sid` that shares my `dataDir` is dead, and
    /// the epoch it recorded ([`super::lock::probe_dead`]); always `None`
    /// for a host's hook.
    pub(crate) fn probe_dead(&self, sid: Sid) -> Option<i64> {
        match self {
            Store::File(f, _) => super::lock::probe_dead(&f.dir, sid),
            Store::Hook(_) => None,
        }
    }
}

/// The state file of one sid in a directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
    path: PathBuf,
    sid: Sid,
}

impl FileStore {
    /// The state file of `sid` in `dir` (zoo.cfg's `dataDir`).
    pub fn new(dir: &Path, sid: Sid) -> FileStore {
        FileStore {
            dir: dir.to_path_buf(),
            path: dir.join(format!("zkelect.{sid}.state")),
            sid,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock of my sid in the same directory, held while the peer
    /// runs ([`super::lock`]).
    pub(crate) fn lock(&self) -> Result<Lock, Error> {
        Lock::acquire(&self.dir, self.sid).map_err(|e| Error::io(format!("sid {}", self.sid), e))
    }

    /// What the file holds; the default (epoch 0, round 0) if there is no
    /// file yet. An unreadable or malformed file is an error naming it.
    pub fn load(&self) -> Result<Durable, Error> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Durable::default()),
            Err(e) => return Err(Error::io(format!("reading {}", self.path.display()), e)),
        };
        parse(&text).map_err(|(line, why)| {
            Error::io(
                format!("reading {} line {line}", self.path.display()),
                io::Error::new(io::ErrorKind::InvalidData, why),
            )
        })
    }

    /// Writes `d`: temporary file, fsync, rename, fsync of the directory.
    pub fn save(&self, d: Durable) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!("zkelect.{}.state.tmp", self.sid));
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(render(self.sid, d).as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        File::open(&self.dir)?.sync_all()
    }
}

fn render(sid: Sid, d: Durable) -> String {
    format!(
        "# zkelect durable state of sid {sid}; written before any acknowledgement\n\
         acceptedEpoch={}\nround={}\n",
        d.epoch, d.round
    )
}

/// Parses the file; an error names the 1-based line.
fn parse(text: &str) -> Result<Durable, (usize, String)> {
    let (mut epoch, mut round) = (None, None);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let Some((k, v)) = line.split_once('=') else {
            return Err((n, format!("expected key=value, found {line:?}")));
        };
        let v: i64 = v
            .trim()
            .parse()
            .map_err(|_| (n, format!("{} is not a number: {:?}", k.trim(), v.trim())))?;
        if v < 0 {
            return Err((n, format!("{} is negative: {v}", k.trim())));
        }
        match k.trim() {
            "acceptedEpoch" => epoch = Some(v),
            "round" => round = Some(v),
            other => return Err((n, format!("unknown key {other}"))),
        }
    }
    match (epoch, round) {
        (Some(epoch), Some(round)) => Ok(Durable { epoch, round }),
        _ => Err((
            text.lines().count().max(1),
            "acceptedEpoch and round are both required".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zkelect-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn round_trips_and_starts_empty() {
        let d = dir("rt");
        let s = FileStore::new(&d, 3);
        assert_eq!(s.load().unwrap(), Durable::default());
        let v = Durable {
            epoch: 7,
            round: 48,
        };
        s.save(v).unwrap();
        assert_eq!(s.load().unwrap(), v);
        assert!(!d.join("zkelect.3.state.tmp").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_file_and_line() {
        let d = dir("bad");
        fs::create_dir_all(&d).unwrap();
        let s = FileStore::new(&d, 1);
        fs::write(s.path(), "# x\nacceptedEpoch=five\nround=1\n").unwrap();
        let e = s.load().unwrap_err().to_string();
        assert!(e.contains("zkelect.1.state line 2"), "{e}");
        assert!(e.contains("acceptedEpoch is not a number"), "{e}");
        fs::write(s.path(), "acceptedEpoch=1\n").unwrap();
        let e = s.load().unwrap_err().to_string();
        assert!(e.contains("both required"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }
}
