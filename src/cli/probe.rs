//! `zkelect probe`: ask any election port for its state and vote.

use super::args::Args;
use super::json;
use super::run::parse_num;
use std::time::Duration;
use zkelect::probe::{hint, probe_tls, DEFAULT_PROBE_SID};

const HELP: &str = "\
usage: zkelect probe HOST:PORT [--sid S] [--timeout MS] [--config FILE]

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
  --config FILE   a zoo.cfg whose quorum TLS keys (sslQuorum=true,
                  ssl.quorum.*) the probe uses to speak TLS to the port
";

/// Entry point.
pub fn main(argv: &[String]) -> Result<(), String> {
    let a = Args::parse(argv, &["sid", "timeout", "config"])?;
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
    let tls = tls_from(a.get("config"))?;
    let r = probe_tls(target, sid, timeout, tls.as_ref()).map_err(|e| failed(target, &e))?;
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

/// The quorum TLS keys of `--config`, when it turns TLS on.
fn tls_from(config: Option<&str>) -> Result<Option<zkelect::tls::TlsContext>, String> {
    let Some(path) = config else {
        return Ok(None);
    };
    let c = zkelect::config::Config::load(std::path::Path::new(path)).map_err(|e| e.to_string())?;
    tls_of(&c, path)
}

/// The quorum TLS keys of a loaded config (from `path`), when it turns TLS
/// on: `probe --config` and `status` speak TLS with them.
pub fn tls_of(
    c: &zkelect::config::Config,
    path: &str,
) -> Result<Option<zkelect::tls::TlsContext>, String> {
    c.tls
        .as_ref()
        .map(|t| {
            zkelect::tls::TlsContext::load(t).map_err(|mut e| {
                e.file = Some(path.into());
                e.to_string()
            })
        })
        .transpose()
}
