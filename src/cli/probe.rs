//! `zkelect probe`: ask any election port for its state and vote.

use super::args::Args;
use super::json;
use super::run::parse_num;
use std::time::Duration;
use zkelect::probe::{hint, probe, DEFAULT_PROBE_SID};

const HELP: &str = "\
usage: zkelect probe HOST:PORT [--sid S] [--timeout MS]

Connects to a ZooKeeper (or zkelect) election port (the third field of
server.N: host:2888:3888 -> :3888) as a non-voting sid and prints, as one
JSON line, the state and vote the server reports: \"leader\" once it has
decided (FOLLOWING, LEADING, OBSERVING), \"proposal\" while it is LOOKING
(the candidate it votes for, not a leader). Read-only: the server answers a
non-voter with its current vote and counts nothing; a zkelect peer logs the
probe at DEBUG only. 'zkelect status' probes a whole ensemble.

  --sid S         sid to connect as (default 9223372036854775806, which no
                  real ensemble uses; a sid larger than the server's keeps
                  the connection instead of being dialled back)
  --timeout MS    give up after MS milliseconds (default 5000)
";

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let a = Args::parse(argv, &["sid", "timeout"])?;
    if a.help {
        print!("{HELP}");
        return Ok(());
    }
    let [target] = a.positional.as_slice() else {
        return Err(format!("expected exactly one HOST:PORT\n\n{HELP}"));
    };
    let sid = a
        .get("sid")
        .map(|v| parse_num("sid", v))
        .transpose()?
        .unwrap_or(DEFAULT_PROBE_SID);
    let timeout = Duration::from_millis(a.value::<u64>("timeout")?.unwrap_or(5000));
    let r = probe(target, sid, timeout).map_err(|e| failed(target, &e))?;
    let config = match &r.config {
        Some(c) => format!("\"{}\"", json::escape(c)),
        None => "null".into(),
    };
    // A LOOKING server has no leader yet: its vote is only its proposal.
    let vote_key = if r.decided() { "leader" } else { "proposal" };
    println!(
        r#"{{"address":"{}","state":"{}","{vote_key}":{},"zxid":{},"election_epoch":{},"peer_epoch":{},"config":{config}}}"#,
        r.addr,
        json::state_name(r.state),
        r.leader,
        r.zxid,
        r.election_epoch,
        r.peer_epoch
    );
    Ok(())
}

/// The error of a failed probe, with a hint where one helps.
pub fn failed(target: &str, e: &std::io::Error) -> String {
    match hint(e) {
        Some(h) => format!("probe of {target} failed: {e}\nhint: {h}"),
        None => format!("probe of {target} failed: {e}"),
    }
}
