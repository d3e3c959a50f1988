//! The Java binding (bindings/java): its build script, its JUnit suite under
//! `-Xcheck:jni` (which also checks the binding's tables against
//! include/zkelect.h), and the Java example, against this build's
//! libzkelect.a.
//! Without a JDK, gcc or the JUnit 5 jars the tests say SKIPPED and pass,
//! except in CI (`CI` set), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

const JUNIT: &str = "/usr/share/java/junit-platform-console-standalone.jar";
/// The tests of this file; the last one to finish removes the build dir.
const TESTS: usize = 3;
/// Debian's libxerial-sqlite-jdbc-java, for the fencing example.
const SQLITE_JDBC: &str = "/usr/share/java/sqlite-jdbc.jar";
static FINISHED: AtomicUsize = AtomicUsize::new(0);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[path = "support/fencing.rs"]
mod fencing;
#[path = "support/native.rs"]
mod native;

/// The directory holding libzkelect.a of this build profile.
fn lib_dir() -> PathBuf {
    native::lib_dir()
}

/// A build dir of this test process, so that concurrent runs and
/// bindings/java/build do not meet.
fn build_dir() -> PathBuf {
    std::env::temp_dir().join(format!("zkelect-java-{}", std::process::id()))
}

/// Whether a tool exists; in CI a missing tool is a failure, elsewhere the
/// test says so and returns.
fn have(tool: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(std::env::var("CI").is_err(), "{tool} is required in CI");
        eprintln!("SKIPPED: {tool} is not installed (apt-get install openjdk-17-jdk-headless gcc)");
    }
    ok
}

fn have_junit() -> bool {
    let ok = Path::new(JUNIT).exists();
    if !ok {
        assert!(std::env::var("CI").is_err(), "{JUNIT} is required in CI");
        eprintln!("SKIPPED: {JUNIT} is missing (apt-get install junit5)");
    }
    ok
}

fn run(cmd: &mut Command) -> Output {
    let started = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    for bad in ["WARNING in native method", "FATAL ERROR in native method"] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "-Xcheck:jni complained:\n{stdout}\n{stderr}"
        );
    }
    eprintln!("{cmd:?}: {:.1} s", started.elapsed().as_secs_f64());
    out
}

/// Runs bindings/java/build.sh once for this process; false when skipped.
fn built() -> bool {
    static BUILT: OnceLock<bool> = OnceLock::new();
    *BUILT.get_or_init(|| {
        if !(have("javac") && have("java") && have("jar") && have("gcc")) {
            return false;
        }
        run(Command::new("bash")
            .arg(root().join("bindings/java/build.sh"))
            .env("ZKELECT_LIB_DIR", lib_dir())
            .env("ZKELECT_JAVA_BUILD_DIR", build_dir()));
        let jar = String::from_utf8(
            run(Command::new("jar")
                .arg("tf")
                .arg(build_dir().join("zkelect.jar")))
            .stdout,
        )
        .unwrap();
        assert!(
            jar.lines()
                .any(|l| l.starts_with("native/") && l.ends_with("/libzkelect_jni.so")),
            "the jar lacks the native library:\n{jar}"
        );
        true
    })
}

/// Counts a finished test; the last one removes the build dir.
struct Finish;

impl Drop for Finish {
    fn drop(&mut self) {
        if FINISHED.fetch_add(1, Ordering::SeqCst) + 1 == TESTS {
            let _ = std::fs::remove_dir_all(build_dir());
        }
    }
}

#[test]
fn java_binding_junit_suite_passes_under_xcheck_jni() {
    let _finish = Finish;
    if !built() || !have_junit() {
        return;
    }
    let out = run(Command::new("bash")
        .arg(root().join("bindings/java/build.sh"))
        .arg("test")
        .env("ZKELECT_JAVA_BUILD_DIR", build_dir()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" 0 tests failed"), "{stdout}");
    assert!(!stdout.contains(" 0 tests successful"), "{stdout}");
    // The JUnit tree, with the suite's own timing line, for the test log.
    eprintln!("{stdout}");
}

#[test]
fn java_example_elects_a_leader() {
    let _finish = Finish;
    if !built() {
        return;
    }
    // The example as a user runs it: only the jar on the class path, so the
    // library packed in it is loaded.
    let out = run(Command::new("java")
        .arg("-Xcheck:jni")
        .arg("-cp")
        .arg(build_dir().join("zkelect.jar"))
        .arg(root().join("examples/java/Ensemble.java"))
        .env_remove("LD_LIBRARY_PATH"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("sid ")).collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(": LEADING, leader 3 "))
            .count(),
        1,
        "{stdout}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(": FOLLOWING, leader 3 "))
            .count(),
        2,
        "{stdout}"
    );
    // The example waits for a confirmed leader: all three report one epoch.
    let epochs: Vec<i64> = lines
        .iter()
        .map(|l| {
            let at = l.find("(epoch ").expect(l) + "(epoch ".len();
            let n = &l[at..];
            n[..n.find(')').expect(l)].parse().expect(l)
        })
        .collect();
    assert!(
        epochs[0] >= 1 && epochs.iter().all(|e| *e == epochs[0]),
        "{stdout}"
    );
}

#[test]
fn java_fencing_example_refuses_the_old_leaders_epoch() {
    let _finish = Finish;
    if !built() {
        return;
    }
    if !Path::new(SQLITE_JDBC).exists() {
        assert!(
            std::env::var("CI").is_err(),
            "{SQLITE_JDBC} is required in CI"
        );
        eprintln!("SKIPPED: {SQLITE_JDBC} is missing (apt-get install libxerial-sqlite-jdbc-java)");
        return;
    }
    let class_path = format!(
        "{}:{SQLITE_JDBC}",
        build_dir().join("zkelect.jar").display()
    );
    let out = run(Command::new("java")
        .arg("-Xcheck:jni")
        .arg("-cp")
        .arg(class_path)
        .arg(root().join("examples/java/Fencing.java"))
        .env_remove("LD_LIBRARY_PATH"));
    fencing::check_fencing_output(&String::from_utf8_lossy(&out.stdout));
}
