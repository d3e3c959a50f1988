//! What every fencing example (examples/{c,java,python}) must print: two
//! accepted writes by two leaders, the second with a higher epoch, and the
//! first leader's late write refused.

/// Checks a fencing example's stdout.
pub fn check_fencing_output(stdout: &str) {
    // "fenced write by sid S with epoch E: accepted"
    let writes: Vec<(i64, i64)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("fenced write by sid "))
        .map(|r| {
            let w: Vec<&str> = r.split_whitespace().collect();
            assert_eq!(w.get(4), Some(&"accepted"), "{stdout}");
            (
                w[0].parse().expect(stdout),
                w[3].trim_end_matches(':').parse().expect(stdout),
            )
        })
        .collect();
    assert_eq!(writes.len(), 2, "{stdout}");
    let ((old_sid, old), (new_sid, new)) = (writes[0], writes[1]);
    assert!(old_sid != new_sid && new > old && old >= 1, "{stdout}");
    let late = format!(
        "late write by sid {old_sid} with epoch {old}: refused (the store has seen epoch {new})"
    );
    assert!(stdout.contains(&late), "{stdout}");
    assert!(
        stdout.contains(&format!("sid {old_sid} leads with epoch {old}"))
            && stdout.contains(&format!("sid {new_sid} leads with epoch {new}")),
        "{stdout}"
    );
}
