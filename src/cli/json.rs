//! JSON lines for events (hand-written: a handful of flat objects).

use std::time::SystemTime;
use zkelect::{Event, ServerState};

/// Escapes a string for a JSON string literal.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The `"ts":"..."` member that opens every event line: the time it is
/// printed, ISO 8601 UTC with milliseconds.
pub fn ts() -> String {
    ts_at(SystemTime::now())
}

/// As [`ts`], for the time `t`.
pub fn ts_at(t: SystemTime) -> String {
    format!(r#""ts":"{}""#, zkelect::logging::utc_timestamp(t))
}

/// One event as a JSON object on one line, stamped with the time now and
/// tagged with my sid: `{"ts":"2026-12-01T21:11:56.123Z","event":...}`.
pub fn event(sid: i64, e: &Event) -> String {
    event_at(SystemTime::now(), sid, e)
}

/// As [`event`], stamped with `t`.
pub fn event_at(t: SystemTime, sid: i64, e: &Event) -> String {
    let body = fields(sid, e);
    format!("{{{},{}", ts_at(t), &body[1..])
}

/// As [`event`], with what the peer says of a mixed ensemble appended to
/// the `state` and `elected` lines: `"follow_only"` (my vote is follow-only
/// now) and `"real_members"` (I learned of real ZooKeeper servers), as the
/// peer's snapshot `mixed` reports them when the line is printed. Other
/// events are as [`event`] prints them.
pub fn event_mixed(sid: i64, e: &Event, mixed: Option<(bool, bool)>) -> String {
    let line = event(sid, e);
    match (e, mixed) {
        (Event::StateChanged { .. } | Event::Elected(_), Some((f, r))) => with_mixed(&line, f, r),
        _ => line,
    }
}

/// `line` (one JSON object) with the two mixed-ensemble members appended.
fn with_mixed(line: &str, follow_only: bool, real_members: bool) -> String {
    let body = line.strip_suffix('}').unwrap_or(line);
    format!(r#"{body},"follow_only":{follow_only},"real_members":{real_members}}}"#)
}

/// The event's object without the time stamp.
fn fields(sid: i64, e: &Event) -> String {
    match e {
        Event::StateChanged { old, new } => format!(
            r#"{{"event":"state","sid":{sid},"state":"{}","old":"{}"}}"#,
            new.name(),
            old.name()
        ),
        Event::Elected(l) => format!(
            r#"{{"event":"elected","sid":{sid},"state":"{}","leader":{},"zxid":{},"election_epoch":{},"peer_epoch":{},"elapsed_ms":{}}}"#,
            l.state.name(),
            l.leader,
            l.zxid,
            l.election_epoch,
            l.peer_epoch,
            l.elapsed.as_millis()
        ),
        Event::LeaderLost { leader, reason } => format!(
            r#"{{"event":"leader_lost","sid":{sid},"leader":{leader},"reason":"{reason}"}}"#
        ),
        Event::PeerConnected(p) => format!(r#"{{"event":"connected","sid":{sid},"peer":{p}}}"#),
        Event::PeerDisconnected(p) => {
            format!(r#"{{"event":"disconnected","sid":{sid},"peer":{p}}}"#)
        }
        Event::Leading { epoch } => {
            format!(r#"{{"event":"leading","sid":{sid},"epoch":{epoch}}}"#)
        }
        Event::LeadershipLost { epoch, reason } => format!(
            r#"{{"event":"leadership_lost","sid":{sid},"epoch":{epoch},"reason":"{reason}"}}"#
        ),
        Event::LeadershipFailed { epoch, reason } => format!(
            r#"{{"event":"leadership_failed","sid":{sid},"epoch":{epoch},"reason":"{reason}"}}"#
        ),
        Event::Following { leader, epoch } => {
            format!(r#"{{"event":"following","sid":{sid},"leader":{leader},"epoch":{epoch}}}"#)
        }
        Event::Observing { leader, epoch } => {
            format!(r#"{{"event":"observing","sid":{sid},"leader":{leader},"epoch":{epoch}}}"#)
        }
        Event::EpochAccepted { epoch } => {
            format!(r#"{{"event":"epoch_accepted","sid":{sid},"epoch":{epoch}}}"#)
        }
        Event::EpochStoreFailed { epoch } => {
            format!(r#"{{"event":"epoch_store_failed","sid":{sid},"epoch":{epoch}}}"#)
        }
        // `Event` is non-exhaustive: an event this command does not know yet
        // still makes a line, named by its Rust debug form.
        other => format!(
            r#"{{"event":"other","sid":{sid},"debug":"{}"}}"#,
            escape(&format!("{other:?}"))
        ),
    }
}

/// The name of a raw state ordinal, or `UNKNOWN(n)`.
pub fn state_name(state: i32) -> String {
    ServerState::from_i32(state)
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| format!("UNKNOWN({state})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn every_event_line_opens_with_its_time_and_keeps_its_fields() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_160_716_123);
        assert_eq!(
            event_at(t, 3, &Event::Leading { epoch: 7 }),
            r#"{"ts":"2026-12-01T21:31:56.123Z","event":"leading","sid":3,"epoch":7}"#
        );
        assert_eq!(
            with_mixed(&event_at(t, 3, &Event::Leading { epoch: 7 }), true, false),
            r#"{"ts":"2026-12-01T21:31:56.123Z","event":"leading","sid":3,"epoch":7,"follow_only":true,"real_members":false}"#
        );
        assert_eq!(
            event_at(t, 1, &Event::PeerConnected(2)),
            r#"{"ts":"2026-12-01T21:31:56.123Z","event":"connected","sid":1,"peer":2}"#
        );
    }
}
