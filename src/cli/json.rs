//! JSON lines for events (hand-written: a handful of flat objects).

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

/// One event as a JSON object on one line, tagged with my sid.
pub fn event(sid: i64, e: &Event) -> String {
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
    }
}

/// The name of a raw state ordinal, or `UNKNOWN(n)`.
pub fn state_name(state: i32) -> String {
    ServerState::from_i32(state)
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| format!("UNKNOWN({state})"))
}
