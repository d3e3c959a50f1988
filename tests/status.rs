//! Issue 19, points 4 and 5, against real ZooKeeper 3.8 servers (Debian's
//! `zookeeper` package; without it the test prints a note and passes,
//! except in CI): `zkelect status` of a real ensemble and of a mixed one,
//! and each four-letter word of a `zkelect run` peer compared field by
//! field with a real server's answer to the same word, read by the same
//! parsers. The zkelect-only side is in tests/admin.rs.

#[path = "support/admin.rs"]
mod admin;
mod common; // the harness takes its ports from here
#[path = "interop/harness.rs"]
#[allow(dead_code)]
mod harness;

use admin::*;
use harness::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zkelect::Sid;

const ANSWER: Duration = Duration::from_secs(10);

/// A `zkelect run` child, killed when dropped.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What kind of value a field holds, for comparing answers whose numbers
/// differ: an integer, a decimal, hex (`0x...`), a/b/c, or text.
fn kind(v: &str) -> &'static str {
    if v.parse::<i64>().is_ok() {
        "int"
    } else if v.parse::<f64>().is_ok() {
        "decimal"
    } else if v
        .strip_prefix("0x")
        .is_some_and(|h| i64::from_str_radix(h, 16).is_ok())
    {
        "hex"
    } else if v.split('/').count() == 3 && v.split('/').all(|p| p.parse::<f64>().is_ok()) {
        "triple"
    } else {
        "text"
    }
}

/// The `;client` form of the ensemble's server lines, so that `status`
/// knows each server's four-letter-word port.
fn status_config(ens: &Ensemble, sids: &[Sid]) -> std::path::PathBuf {
    let mut text = String::new();
    for &sid in sids {
        let s = ens.slot(sid);
        let a = &s.addrs[0];
        text.push_str(&format!(
            "server.{sid}={}:{}:{};127.0.0.1:{}\n",
            a.ip, a.quorum, a.election, s.client_port
        ));
    }
    let path = ens.slot(1).dir.join("status.cfg");
    std::fs::write(&path, text).unwrap();
    path
}

/// One table row's cells by column name.
fn rows(out: &str) -> BTreeMap<String, Vec<String>> {
    out.lines()
        .skip(1)
        .take_while(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|l| {
            let cells: Vec<String> = l.split_whitespace().map(String::from).collect();
            (cells[0].clone(), cells)
        })
        .collect()
}

#[test]
fn status_and_four_letter_words_next_to_real_zookeeper() {
    let Some(_serial) = begin() else { return };
    let mut ens = Ensemble::new(Layout {
        slots: 3,
        real: &[2, 3],
        ..Layout::default()
    });
    // Server 3 keeps ZooKeeper's default whitelist (srvr only), to read
    // its refusals; server 2 allows every word, to compare the answers.
    let cfg3 = ens.slot(3).cfg_path();
    let text = std::fs::read_to_string(&cfg3).unwrap();
    std::fs::write(&cfg3, text.replace("4lw.commands.whitelist=*\n", "")).unwrap();
    ens.start_reals(&[2, 3]);
    let first = ens.wait_first_decisions(&[2, 3]);
    assert_eq!(first[&3].leader, 3, "{first:?}");
    ens.wait_synced(&[2, 3]);
    let epoch = ens.current_epoch(3).expect("the leader's currentEpoch");
    let status_cfg = status_config(&ens, &[1, 2, 3]);
    let status_cfg = status_cfg.to_str().unwrap();

    // The real ensemble alone (slot 1 empty), from a real server's own
    // zoo.cfg: the leader, its epoch, and slot 1 unreachable.
    let real_cfg = ens.slot(2).cfg_path();
    let (rc, out, err) = run_cli(&["status", "--config", real_cfg.to_str().unwrap()]);
    assert_eq!(rc, 0, "{out}{err}");
    assert_eq!(
        out.lines().last().unwrap(),
        format!("leader 3, epoch {epoch}, 2/3 reachable, quorum 2"),
        "{out}"
    );
    let r = rows(&out);
    assert_eq!(r["1"][2..4], ["no", "(refused)"], "{out}");
    assert_eq!(r["2"][2..5], ["yes", "FOLLOWING", "3"], "{out}");
    assert_eq!(r["3"][2..5], ["yes", "LEADING", "3"], "{out}");
    // With the client ports known, the real servers' srvr tells that they
    // finished their sync.
    let (rc, out, _) = run_cli(&["status", "--config", status_cfg]);
    assert_eq!(rc, 0, "{out}");
    let r = rows(&out);
    // CONFIRMED, then FOLLOW-ONLY and REAL-MEMBERS, which a real server's
    // srvr does not tell.
    for sid in ["2", "3"] {
        assert_eq!(r[sid][7..], ["yes", "?", "?"], "{out}");
    }

    // A zkelect peer fills slot 1, from the very zoo.cfg a real server
    // would read (clientPort, clientPortAddress, 4lw.commands.whitelist=*).
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(["run", "--config"])
        .arg(ens.slot(1).cfg_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start zkelect run");
    let stdout = child.stdout.take().unwrap();
    let _run = Run(child);
    let mut lines = BufReader::new(stdout).lines();
    let elected = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("\"event\":\"elected\""))
        .expect("slot 1 decides");
    assert!(elected.contains("\"leader\":3"), "{elected}");
    let (mine, real) = (ens.slot(1).client_port, ens.slot(2).client_port);
    wait_for("slot 1's srvr to report a mode", || {
        nc(mine, "srvr", ANSWER).filter(|t| t.contains("Mode: follower"))
    });

    // A word outside the whitelist: the real server's refusal is the text
    // zkelect sends (tests/admin.rs, default_whitelist_is_srvr_only).
    for cmd in ["ruok", "stat", "mntr", "conf", "dump"] {
        assert_eq!(
            nc(ens.slot(3).client_port, cmd, ANSWER).unwrap(),
            format!("{cmd} is not executed because it is not in the whitelist.\n")
        );
    }

    // ruok, and a word that is none: the same answers.
    assert_eq!(nc(mine, "ruok", ANSWER), nc(real, "ruok", ANSWER));
    assert_eq!(nc(real, "ruok", ANSWER).as_deref(), Some("imok"));
    assert_eq!(nc(mine, "xyzw", ANSWER), nc(real, "xyzw", ANSWER));

    // srvr and stat: every line of the real answer is in ours, with the
    // same kind of value; the mode is the same.
    for cmd in ["srvr", "stat"] {
        let (r, rc) = parse_srvr(&nc(real, cmd, ANSWER).unwrap());
        let (m, mc) = parse_srvr(&nc(mine, cmd, ANSWER).unwrap());
        for (k, v) in &r {
            let ours = m
                .get(k)
                .unwrap_or_else(|| panic!("{cmd}: no {k:?} line in {m:?}"));
            assert_eq!(kind(ours), kind(v), "{cmd} {k}: {ours:?} vs real {v:?}");
        }
        assert_eq!(m["Mode"], r["Mode"]);
        assert_eq!(m["Mode"], "follower");
        assert!(m["Zookeeper version"].starts_with("3.8.0-"));
        assert!(r["Zookeeper version"].starts_with("3.8.0-"));
        assert_eq!(mc.len(), rc.len(), "{cmd} clients: {mc:?} vs {rc:?}");
        for (a, b) in mc.iter().zip(&rc) {
            let shape = |c: &str| {
                let (_, tail) = c.split_once('[').unwrap();
                tail.chars()
                    .filter(|c| !c.is_ascii_digit())
                    .collect::<String>()
            };
            assert!(a.starts_with(" /127.0.0.1:") && b.starts_with(" /127.0.0.1:"));
            assert_eq!(shape(a), shape(b), "{a} vs {b}");
        }
    }

    // mntr: every zk_ key we send, the real server sends too, with the
    // same kind of value; the ones that say the same thing agree.
    let r = parse_mntr(&nc(real, "mntr", ANSWER).unwrap());
    let m = parse_mntr(&nc(mine, "mntr", ANSWER).unwrap());
    for (k, v) in m.iter().filter(|(k, _)| k.starts_with("zk_")) {
        let theirs = r
            .get(k)
            .unwrap_or_else(|| panic!("mntr: the real server has no {k}"));
        assert_eq!(kind(v), kind(theirs), "mntr {k}: {v:?} vs real {theirs:?}");
    }
    for k in [
        "zk_server_state",
        "zk_quorum_size",
        "zk_num_alive_connections",
    ] {
        assert_eq!(m[k], r[k], "mntr {k}");
    }
    assert_eq!(r["zk_peer_state"], "following - broadcast");
    let phase = if m["zkelect_confirmed"] == "true" {
        "broadcast"
    } else {
        "discovery"
    };
    assert_eq!(m["zk_peer_state"], format!("following - {phase}"));
    assert!(m
        .keys()
        .all(|k| k.starts_with("zk_") || k.starts_with("zkelect_")));

    // conf: our ZooKeeper keys are the real server's, the shared settings
    // agree, and the membership is the same text.
    let (r, rm) = parse_conf(&nc(real, "conf", ANSWER).unwrap());
    let (m, mm) = parse_conf(&nc(mine, "conf", ANSWER).unwrap());
    let own = ["finalizeWait", "leadershipMode"];
    for k in m.keys().filter(|k| !own.contains(&k.as_str())) {
        assert!(r.contains_key(k), "conf: the real server has no {k}: {r:?}");
    }
    for k in [
        "tickTime",
        "initLimit",
        "syncLimit",
        "electionAlg",
        "peerType",
        "secureClientPort",
    ] {
        assert_eq!(m[k], r[k], "conf {k}");
    }
    assert_eq!((m["serverId"].as_str(), r["serverId"].as_str()), ("1", "2"));
    assert_eq!(m["clientPort"], mine.to_string());
    assert_eq!(m["electionPort"], ens.slot(1).addrs[0].election.to_string());
    assert_eq!(r["electionPort"], ens.slot(2).addrs[0].election.to_string());
    assert_eq!(mm, rm, "the membership lines");

    // status of the mixed ensemble: all reachable, one leader.
    let (rc, out, _) = run_cli(&["status", "--config", status_cfg]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(
        out.lines().last().unwrap(),
        format!("leader 3, epoch {epoch}, 3/3 reachable, quorum 2"),
        "{out}"
    );
    let r = rows(&out);
    assert_eq!(r["1"][2..5], ["yes", "FOLLOWING", "3"], "{out}");
    assert_ne!(r["1"][7], "?", "{out}");
    // The zkelect peer's srvr says whether it votes follow-only and knows
    // of real members; the real servers' does not.
    for cell in &r["1"][8..] {
        assert!(cell == "yes" || cell == "no", "{out}");
    }
    assert_eq!(r["1"].len(), 10, "{out}");
    let (rc, json, _) = run_cli(&["status", "--config", status_cfg, "--json"]);
    assert_eq!(rc, 0);
    assert!(
        json.contains(&format!(
            "\"leader\":3,\"epoch\":{epoch},\"reachable\":3,\"total\":3"
        )),
        "{json}"
    );
    assert_eq!(
        json.matches("\"follow_only\":null,\"real_members\":null")
            .count(),
        2,
        "{json}"
    );
    drop(_run);
    ens.finish();
}
