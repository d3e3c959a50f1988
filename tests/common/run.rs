//! `zkelect run` processes for the tests: started with their stdout read
//! line by line on a thread, killed and reaped when dropped.

use super::DEADLINE;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// One `zkelect run` process and the lines it prints.
pub struct Proc {
    /// Its sid.
    pub sid: i64,
    /// The process.
    pub child: Child,
    /// Its stdout, one JSON line per event.
    pub lines: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `zkelect run --config cfg --myid sid`.
pub fn spawn(cfg: &Path, sid: i64) -> Proc {
    spawn_with(cfg, sid, &[])
}

/// As [`spawn`], with extra arguments.
pub fn spawn_with(cfg: &Path, sid: i64, extra: &[&str]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["run", "--config"])
        .arg(cfg)
        .args(["--myid", &sid.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start zkelect run");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Proc {
        sid,
        child,
        lines: rx,
    }
}

/// The next line of `p` for which `pick` holds, within [`DEADLINE`].
pub fn next_line(p: &Proc, what: &str, pick: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = p
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("sid {} printed no {what}", p.sid));
        if pick(&line) {
            return line;
        }
    }
}

/// Sends `sig` (e.g. `-TERM`) to the process.
pub fn signal(p: &Proc, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &p.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {}", p.sid);
}
