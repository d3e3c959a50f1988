//! The C ABI from C: the C tests under AddressSanitizer + UBSan and under
//! valgrind, the header as C++ and included twice, the exported symbols, the
//! C examples, and the pkg-config install.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "support/fencing.rs"]
mod fencing;
#[path = "support/native.rs"]
mod native;
use native::lib_dir;

const STRICT: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zkelect-c-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
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
        eprintln!("SKIPPED: {tool} is not installed (apt-get install {tool})");
    }
    ok
}

/// Compiles and links a C file against this build's library; the `-l`
/// flags of `extra` go after the source, the others before it.
fn compile(src: &Path, out: &Path, extra: &[&str]) {
    let lib = lib_dir();
    let (libs, flags): (Vec<&str>, Vec<&str>) = extra.iter().partition(|f| f.starts_with("-l"));
    run(Command::new("gcc")
        .args(STRICT)
        .args(flags)
        .arg("-I")
        .arg(root().join("include"))
        .arg(src)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lzkelect")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(libs)
        .arg("-lpthread"));
}

#[test]
fn c_tests_under_asan_and_ubsan() {
    let dir = tmp("asan");
    let bin = dir.join("test_abi");
    compile(
        &root().join("tests/c/test_abi.c"),
        &bin,
        &[
            "-g",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all",
        ],
    );
    // The sanitizer runtimes really are linked in.
    let ldd = String::from_utf8(run(Command::new("ldd").arg(&bin)).stdout).unwrap();
    assert!(ldd.contains("libasan"), "ASan not linked:\n{ldd}");
    assert!(ldd.contains("libubsan"), "UBSan not linked:\n{ldd}");
    let out = run(Command::new(&bin)
        .arg("100")
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok start_stop_cycles 100"), "{stdout}");
    // Issue 16: a host's stop/free waits for a callback that stopped its
    // own peer (a use-after-free under ASan before), and a forked child
    // stops and frees the parent's peers without disturbing them.
    assert!(
        stdout.contains("ok host_stop_waits_for_a_self_stopping_callback"),
        "{stdout}"
    );
    assert!(stdout.contains("ok fork_child_stops_and_frees"), "{stdout}");
    assert!(stdout.contains("ok fork_child_that_lives_on"), "{stdout}");
    assert!(stdout.contains("all C ABI tests passed"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn c_tests_under_valgrind() {
    if !have("valgrind") {
        return;
    }
    let dir = tmp("valgrind");
    let bin = dir.join("test_abi");
    compile(&root().join("tests/c/test_abi.c"), &bin, &["-g"]);
    let out = Command::new("valgrind")
        .args([
            "--error-exitcode=3",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
        ])
        .arg(&bin)
        .arg("10")
        // A forked child under memcheck reports the memory of the parent's
        // threads, which it cannot free, as lost; the fork test runs under
        // ASan above.
        .env("ZKELECT_TEST_SKIP_FORK", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "valgrind: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    assert!(stdout.contains("all C ABI tests passed"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn header_compiles_as_cpp_and_when_included_twice() {
    let dir = tmp("header");
    let src = dir.join("twice.c");
    std::fs::write(
        &src,
        "#include <zkelect.h>\n#include <zkelect.h>\nint main(void) { return ZKELECT_OK; }\n",
    )
    .unwrap();
    let inc = root().join("include");
    run(Command::new("gcc")
        .args(STRICT)
        .arg("-I")
        .arg(&inc)
        .args(["-fsyntax-only"])
        .arg(&src));
    let cpp = dir.join("twice.cpp");
    std::fs::copy(&src, &cpp).unwrap();
    run(Command::new("g++")
        .args([
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
            "-I",
        ])
        .arg(&inc)
        .arg(&cpp));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn shared_library_exports_only_zkelect_symbols() {
    let so = lib_dir().join("libzkelect.so");
    let out = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert!(names.contains(&"zkelect_peer_new"), "{text}");
    let foreign: Vec<&&str> = names
        .iter()
        .filter(|n| !n.starts_with("zkelect_"))
        .collect();
    assert!(foreign.is_empty(), "non-zkelect exports: {foreign:?}");
}

/// A base port with `n` consecutive free ports after it.
fn free_range(n: u16) -> u16 {
    for _ in 0..200 {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        if base > 65535 - n {
            continue;
        }
        let held: Vec<_> = (base..base + n)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == n as usize {
            return base;
        }
    }
    panic!("no range of {n} free ports");
}

/// The ensemble example's three lines name one leader, and that sid leads.
/// (Usually sid 3; a peer that starts late under load may miss the vote.)
fn assert_one_leader(stdout: &str) {
    let leaders: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split("leader ").nth(1))
        .filter_map(|r| r.split_whitespace().next())
        .collect();
    assert_eq!(leaders.len(), 3, "{stdout}");
    assert!(leaders.iter().all(|l| *l == leaders[0]), "{stdout}");
    assert!(
        stdout.contains(&format!("sid {}: LEADING", leaders[0])),
        "{stdout}"
    );
}

#[test]
fn example_ensemble_elects_a_leader() {
    let dir = tmp("ensemble");
    let bin = dir.join("ensemble");
    compile(&root().join("examples/c/ensemble.c"), &bin, &["-O2"]);
    let base = free_range(6);
    let out = run(Command::new(&bin).arg(base.to_string()));
    assert_one_leader(&String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(dir);
}

/// The fencing example: the confirmed leader's write is accepted, its
/// successor writes with a higher epoch, and the old epoch is refused.
#[test]
fn example_fencing_refuses_the_old_leaders_epoch() {
    if !Path::new("/usr/include/sqlite3.h").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "libsqlite3-dev is required in CI"
        );
        eprintln!("SKIPPED: sqlite3.h is not installed (apt-get install libsqlite3-dev)");
        return;
    }
    let dir = tmp("fencing");
    let bin = dir.join("fencing");
    compile(
        &root().join("examples/c/fencing.c"),
        &bin,
        &["-O2", "-lsqlite3"],
    );
    let base = free_range(6);
    let out = run(Command::new(&bin).arg(base.to_string()));
    fencing::check_fencing_output(&String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn example_peer_processes_elect_and_stop_on_sigterm() {
    let dir = tmp("peer");
    let bin = dir.join("peer");
    compile(&root().join("examples/c/peer.c"), &bin, &["-O2"]);
    let base = free_range(6);
    let mut cfg = String::from("tickTime=2000\ninitLimit=5\nsyncLimit=2\n");
    for i in 0..3u16 {
        cfg += &format!(
            "server.{}=127.0.0.1:{}:{}\n",
            i + 1,
            base + 2 * i,
            base + 2 * i + 1
        );
    }
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut kids = Vec::new();
    for sid in 1..=3 {
        let mut child = Command::new(&bin)
            .arg(&path)
            .arg(sid.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        kids.push((child, rx));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for (_, rx) in &kids {
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("an 'elected' line");
            if line.contains("elected leader") {
                assert!(line.contains("elected leader 3"), "{line}");
                break;
            }
        }
    }
    for (child, _) in &mut kids {
        run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
        let st = child.wait().unwrap();
        assert!(st.success(), "peer example exit {st}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pkg_config_install_and_static_link() {
    if !have("pkg-config") || !have("make") {
        return;
    }
    let dir = tmp("install");
    let prefix = dir.join("prefix");
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(root().join("examples/c"))
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("LIBDIR={}", lib_dir().display())));
    let pc_path = prefix.join("lib/pkgconfig");
    let pc = run(Command::new("pkg-config")
        .args(["--cflags", "--libs", "zkelect"])
        .env("PKG_CONFIG_PATH", &pc_path));
    let flags: Vec<String> = String::from_utf8(pc.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert!(flags.iter().any(|f| f == "-lzkelect"), "{flags:?}");
    let src = root().join("examples/c/ensemble.c");
    // Dynamic, with pkg-config's flags.
    let dynamic = dir.join("ensemble-dyn");
    run(Command::new("gcc")
        .args(STRICT)
        .arg(&src)
        .args(&flags)
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
        .arg("-o")
        .arg(&dynamic));
    // Static, with plain flags.
    let stat = dir.join("ensemble-static");
    run(Command::new("gcc")
        .args(STRICT)
        .arg(format!("-I{}", prefix.join("include").display()))
        .arg(&src)
        .arg(prefix.join("lib/libzkelect.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&stat));
    for bin in [&dynamic, &stat] {
        let base = free_range(6);
        let out = run(Command::new(bin).arg(base.to_string()));
        assert_one_leader(&String::from_utf8_lossy(&out.stdout));
    }
    let _ = std::fs::remove_dir_all(dir);
}
