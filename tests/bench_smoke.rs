//! The benchmark driver runs (one quick pass, small N), so it cannot rot.
//! Nothing here asserts a time: numbers are for BENCHMARKS.md.

use std::process::Command;

#[test]
fn bench_quick_runs_and_writes_json() {
    let json = std::env::temp_dir().join(format!("zkelect-bench-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["bench", "--quick", "--idle-secs", "1", "--json"])
        .arg(&json)
        .output()
        .expect("run zkelect bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in ["fresh n=3", "unreachable voter", "scale n=9", "idle n=5"] {
        assert!(stdout.contains(row), "missing row {row}:\n{stdout}");
    }
    let written = std::fs::read_to_string(&json).expect("JSON written");
    let _ = std::fs::remove_file(&json);
    assert!(written.contains("\"results\":["), "{written}");
    assert!(written.contains("\"median\":"), "{written}");
}
