//! The Python binding (bindings/python): its pytest suite and the Python
//! example, against the libzkelect.so of this build.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[path = "support/fencing.rs"]
mod fencing;
#[path = "support/native.rs"]
mod native;

/// libzkelect.so of this build profile.
fn library() -> PathBuf {
    native::lib_dir().join("libzkelect.so")
}

/// Whether `python3 -c <check>` succeeds; in CI a failure is an error,
/// elsewhere the test says it is skipped and returns.
fn have(check: &str, what: &str, install: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(std::env::var("CI").is_err(), "{what} is required in CI");
        eprintln!("SKIPPED: {what} not installed ({install})");
    }
    ok
}

/// Runs a Python command against this build's library (with the package
/// from the source tree), killing it after `limit`; returns its stdout.
fn python(args: &[&str], limit: Duration, name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("zkelect-py-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new("python3")
        .args(args)
        .current_dir(root())
        .env("ZKELECT_LIBRARY", library())
        .env("PYTHONPATH", root().join("bindings/python/src"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("cannot run python3");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    match status {
        Some(s) if s.success() => stdout,
        Some(s) => panic!("python3 {args:?} failed: {s}\nstdout:\n{stdout}\nstderr:\n{stderr}"),
        None => panic!("python3 {args:?} hung for {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"),
    }
}

#[test]
fn pytest_suite_passes() {
    if !have("import pytest", "pytest", "python3 -m pip install pytest") {
        return;
    }
    let out = python(
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "bindings/python/tests",
        ],
        Duration::from_secs(600),
        "pytest",
    );
    assert!(out.contains(" passed"), "{out}");
    assert!(!out.contains(" failed"), "{out}");
}

#[test]
fn example_ensemble_elects_and_fences() {
    if !have("import ctypes", "python3", "apt-get install python3") {
        return;
    }
    let out = python(
        &["examples/python/ensemble.py"],
        Duration::from_secs(60),
        "example",
    );
    // First the confirmed leadership as each peer sees it, one leader...
    let sids: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("sid ") && l.contains(", leader "))
        .collect();
    assert_eq!(sids.len(), 3, "{out}");
    assert_eq!(
        sids.iter().filter(|l| l.contains("LEADING")).count(),
        1,
        "{out}"
    );
    assert_eq!(
        sids.iter().filter(|l| l.contains("FOLLOWING")).count(),
        2,
        "{out}"
    );
    let leaders: Vec<&str> = sids
        .iter()
        .filter_map(|l| l.split(", leader ").nth(1))
        .filter_map(|r| r.split_whitespace().next())
        .collect();
    assert_eq!(leaders.len(), 3, "{out}");
    assert!(leaders.iter().all(|l| *l == leaders[0]), "{out}");
    // ...then the fenced writes across the fail-over, as every example.
    fencing::check_fencing_output(&out);
}
