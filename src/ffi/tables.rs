//! The C ABI's tables: result codes, server states (also used as roles),
//! event kinds and loss reasons. Each is one `#[repr(i32)]` enum that
//! cbindgen renders into include/zkelect.h as written (the variants carry
//! their full `ZKELECT_` names), and, where the crate has a Rust type for it,
//! one `abi_table!` that is the only mapping between the two: both
//! conversions, the decoding of numbers from C and the names all come from
//! it, and the compiler checks that it covers every variant of both sides.
//!
//! The numbers are stable: the bindings and hosts compiled against older
//! headers depend on them. A value is never reused.
#![allow(non_camel_case_types)]

use crate::peer::LossReason;
use crate::types::ServerState;
use std::ffi::CStr;

/// Declares a table's list of variants (each with its name as a static C
/// string) and, with `<=> RustType`, the one mapping to a Rust type.
///
/// `abi_table!(ty, "PREFIX_", [A, B])` gives `ty::TABLE`, `ty::from_raw` and
/// `ty::name`; `abi_table!(ty, "PREFIX_", Rust, [A => (pattern), ...])` also
/// gives `From<Rust> for ty` and `From<ty> for Rust`, each an exhaustive
/// `match`. Either way an exhaustive `match` over `ty` checks that the list
/// names every variant.
macro_rules! abi_table {
    ($ty:ident, $prefix:literal, [$($v:ident),+ $(,)?]) => {
        impl $ty {
            /// Every value with its name: the variant's identifier, NUL-terminated.
            pub(crate) const TABLE: &'static [($ty, &'static str)] =
                &[$(($ty::$v, concat!(stringify!($v), "\0"))),+];

            /// The value of this table with C number `raw`, if any.
            pub(crate) fn from_raw(raw: i32) -> Option<$ty> {
                Self::TABLE.iter().find(|(v, _)| *v as i32 == raw).map(|(v, _)| *v)
            }

            /// The name of C number `raw` without the table's prefix (a
            /// static, NUL-terminated string), `"unknown"` for other numbers.
            // Result codes are named by `zkelect_result_message` instead.
            #[allow(dead_code)]
            pub(crate) fn name(raw: i32) -> &'static CStr {
                let value = Self::from_raw(raw);
                Self::TABLE
                    .iter()
                    .find(|(v, _)| Some(*v) == value)
                    .and_then(|(_, n)| n.get($prefix.len()..))
                    .and_then(|n| CStr::from_bytes_with_nul(n.as_bytes()).ok())
                    .unwrap_or(c"unknown")
            }
        }

        const _: () = {
            // Fails to compile if the list above misses a variant.
            #[allow(dead_code)]
            fn every_variant_is_listed(v: $ty) {
                match v {
                    $($ty::$v => ()),+
                }
            }
        };
    };
    ($ty:ident, $prefix:literal, $rust:ty, [$($v:ident => ($($r:tt)+)),+ $(,)?]) => {
        abi_table!($ty, $prefix, [$($v),+]);

        impl From<$rust> for $ty {
            fn from(r: $rust) -> $ty {
                match r {
                    $($($r)+ => $ty::$v),+
                }
            }
        }

        impl From<$ty> for $rust {
            fn from(c: $ty) -> $rust {
                match c {
                    $($ty::$v => $($r)+),+
                }
            }
        }
    };
}

/// Result code of every fallible function. `ZKELECT_OK` (0) is success; the
/// numbers of the other codes are stable and never reused. Functions that
/// take a code from the host take it as `int32_t`, so that any number is
/// safe to pass.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zkelect_result {
    /// Success.
    ZKELECT_OK = 0,
    /// A required pointer argument was NULL.
    ZKELECT_ERR_NULL = 1,
    /// The configuration is invalid; the detailed message names the line or key.
    ZKELECT_ERR_CONFIG = 2,
    /// A socket, file or thread operation failed (e.g. the election port is taken).
    ZKELECT_ERR_IO = 3,
    /// `zkelect_peer_start` on a running peer.
    ZKELECT_ERR_ALREADY_RUNNING = 4,
    /// The operation needs a running peer.
    ZKELECT_ERR_NOT_RUNNING = 5,
    /// The wait ended before what it waits for (a decision, a confirmed
    /// leader) happened.
    ZKELECT_ERR_TIMEOUT = 6,
    /// An argument is out of range or a string is not UTF-8.
    ZKELECT_ERR_INVALID_ARGUMENT = 7,
    /// The library caught an internal panic; the call had no effect or only
    /// part of it. Please report it with the detailed message.
    ZKELECT_ERR_PANIC = 99,
}

abi_table!(
    zkelect_result,
    "ZKELECT_",
    [
        ZKELECT_OK,
        ZKELECT_ERR_NULL,
        ZKELECT_ERR_CONFIG,
        ZKELECT_ERR_IO,
        ZKELECT_ERR_ALREADY_RUNNING,
        ZKELECT_ERR_NOT_RUNNING,
        ZKELECT_ERR_TIMEOUT,
        ZKELECT_ERR_INVALID_ARGUMENT,
        ZKELECT_ERR_PANIC,
    ]
);

/// A server state, as ZooKeeper names it (the numbers are its wire
/// ordinals). Also a peer's role once an election decided or a leadership
/// is confirmed: `ZKELECT_STATE_LEADING`, `_FOLLOWING` or `_OBSERVING`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zkelect_state {
    /// Looking for a leader (an election runs; no role).
    ZKELECT_STATE_LOOKING = 0,
    /// Following the leader.
    ZKELECT_STATE_FOLLOWING = 1,
    /// Leading.
    ZKELECT_STATE_LEADING = 2,
    /// Observing (a non-voting member that knows the leader).
    ZKELECT_STATE_OBSERVING = 3,
}

abi_table!(
    zkelect_state,
    "ZKELECT_STATE_",
    ServerState,
    [
        ZKELECT_STATE_LOOKING => (ServerState::Looking),
        ZKELECT_STATE_FOLLOWING => (ServerState::Following),
        ZKELECT_STATE_LEADING => (ServerState::Leading),
        ZKELECT_STATE_OBSERVING => (ServerState::Observing),
    ]
);

/// The kind of a `zkelect_event`: which of its fields are set. New kinds
/// may be added: ignore kinds you do not know. The Rust side's one mapping
/// is `zkelect_event::from_event` (an exhaustive match over its events).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zkelect_event_kind {
    /// My state changed (`old_state` -> `new_state`).
    ZKELECT_EVENT_STATE_CHANGED = 1,
    /// An election ended; `leader`, `zxid`, `election_epoch`, `peer_epoch`,
    /// `new_state` (my role) and `elapsed_ms` are set. FastLeaderElection's
    /// decision, not yet something to act on: act on LEADING / FOLLOWING.
    ZKELECT_EVENT_LEADER_ELECTED = 2,
    /// The leader decided by the last election no longer counts (`leader`;
    /// my own sid if I led), for the reason in `reason`; a new election
    /// starts unless the reason is `ZKELECT_REASON_STOPPED`. Follows every
    /// LEADER_ELECTED exactly once before the next one.
    ZKELECT_EVENT_LEADER_LOST = 3,
    /// An election connection to `peer_sid` came up: a member of the
    /// configuration (a probe's or any other sid's connection is not
    /// reported).
    ZKELECT_EVENT_PEER_CONNECTED = 4,
    /// The election connection to `peer_sid` went down.
    ZKELECT_EVENT_PEER_DISCONNECTED = 5,
    /// A quorum confirmed me as leader with epoch `epoch`, the fencing token
    /// (strictly greater than any epoch confirmed before it). `leader` is my
    /// sid. Never emitted while already leading.
    ZKELECT_EVENT_LEADING = 6,
    /// I no longer lead epoch `epoch` (reason in `reason`). Follows every
    /// LEADING exactly once before the next LEADING, and comes before any
    /// other peer can be confirmed as leader.
    ZKELECT_EVENT_LEADERSHIP_LOST = 7,
    /// I was elected but gave up before a quorum confirmed epoch `epoch`
    /// (reason in `reason`); no LEADING was emitted for it.
    ZKELECT_EVENT_LEADERSHIP_FAILED = 8,
    /// My leader `leader` is confirmed with epoch `epoch`.
    ZKELECT_EVENT_FOLLOWING = 9,
    /// As FOLLOWING, for an observer.
    ZKELECT_EVENT_OBSERVING = 10,
    /// I accepted epoch `epoch`. Without `dataDir` or a store hook, store it
    /// and pass it to `zkelect_peer_set_epoch` before the next start of this
    /// peer, so epochs stay unique across process restarts.
    ZKELECT_EVENT_EPOCH_ACCEPTED = 11,
    /// The durable store could not keep an accepted epoch (`epoch`); nothing
    /// that depends on it was sent.
    ZKELECT_EVENT_EPOCH_STORE_FAILED = 12,
}

abi_table!(
    zkelect_event_kind,
    "ZKELECT_EVENT_",
    [
        ZKELECT_EVENT_STATE_CHANGED,
        ZKELECT_EVENT_LEADER_ELECTED,
        ZKELECT_EVENT_LEADER_LOST,
        ZKELECT_EVENT_PEER_CONNECTED,
        ZKELECT_EVENT_PEER_DISCONNECTED,
        ZKELECT_EVENT_LEADING,
        ZKELECT_EVENT_LEADERSHIP_LOST,
        ZKELECT_EVENT_LEADERSHIP_FAILED,
        ZKELECT_EVENT_FOLLOWING,
        ZKELECT_EVENT_OBSERVING,
        ZKELECT_EVENT_EPOCH_ACCEPTED,
        ZKELECT_EVENT_EPOCH_STORE_FAILED,
    ]
);

/// Why a leader was given up or a leadership ended (`zkelect_event.reason`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zkelect_reason {
    /// None (the event kind has no reason).
    ZKELECT_REASON_NONE = 0,
    /// The host called `zkelect_peer_restart_election`.
    ZKELECT_REASON_RESTARTED = 1,
    /// No heartbeat from the leader for `syncLimit` ticks (or none within
    /// `initLimit` ticks of a decision the leader's own vote did not back).
    ZKELECT_REASON_SILENT = 2,
    /// The connection to the leader broke and was not back within one tick
    /// (at once if refused, proven dead, or in fencing mode).
    ZKELECT_REASON_DISCONNECTED = 3,
    /// The leader does not lead any more (it started a new election, or
    /// follows another peer).
    ZKELECT_REASON_LEADER_LOOKING = 4,
    /// The leader no longer holds acknowledgements from a quorum.
    ZKELECT_REASON_NO_QUORUM = 5,
    /// No quorum confirmed the new epoch within `initLimit` ticks.
    ZKELECT_REASON_NOT_CONFIRMED = 6,
    /// The peer was stopped.
    ZKELECT_REASON_STOPPED = 7,
    /// Another leader is confirmed with a higher epoch.
    ZKELECT_REASON_SUPERSEDED = 8,
    /// (LEADERSHIP_LOST only) A follower had accepted a higher epoch; the
    /// leader proposes a higher one at once and emits LEADING again when a
    /// quorum confirms it, without a new election.
    ZKELECT_REASON_EPOCH_RAISED = 9,
}

abi_table!(
    zkelect_reason,
    "ZKELECT_REASON_",
    Option<LossReason>,
    [
        ZKELECT_REASON_NONE => (None),
        ZKELECT_REASON_RESTARTED => (Some(LossReason::Restarted)),
        ZKELECT_REASON_SILENT => (Some(LossReason::Silent)),
        ZKELECT_REASON_DISCONNECTED => (Some(LossReason::Disconnected)),
        ZKELECT_REASON_LEADER_LOOKING => (Some(LossReason::LeaderLooking)),
        ZKELECT_REASON_NO_QUORUM => (Some(LossReason::NoQuorum)),
        ZKELECT_REASON_NOT_CONFIRMED => (Some(LossReason::NotConfirmed)),
        ZKELECT_REASON_STOPPED => (Some(LossReason::Stopped)),
        ZKELECT_REASON_SUPERSEDED => (Some(LossReason::Superseded)),
        ZKELECT_REASON_EPOCH_RAISED => (Some(LossReason::EpochRaised)),
    ]
);

impl From<LossReason> for zkelect_reason {
    fn from(r: LossReason) -> zkelect_reason {
        Some(r).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_constants_without_their_prefix() {
        assert_eq!(zkelect_event_kind::name(6), c"LEADING");
        assert_eq!(zkelect_event_kind::name(12), c"EPOCH_STORE_FAILED");
        assert_eq!(zkelect_event_kind::name(0), c"unknown");
        assert_eq!(zkelect_event_kind::name(-7), c"unknown");
        assert_eq!(zkelect_state::name(3), c"OBSERVING");
        assert_eq!(zkelect_state::name(4), c"unknown");
        assert_eq!(zkelect_reason::name(0), c"NONE");
        assert_eq!(zkelect_reason::name(5), c"NO_QUORUM");
        assert_eq!(zkelect_reason::name(10), c"unknown");
        assert_eq!(zkelect_result::name(99), c"ERR_PANIC");
        for (v, n) in zkelect_event_kind::TABLE {
            assert!(n.starts_with("ZKELECT_EVENT_"), "{v:?}");
        }
        for (v, n) in zkelect_reason::TABLE {
            assert!(n.starts_with("ZKELECT_REASON_"), "{v:?}");
        }
        for (v, n) in zkelect_state::TABLE {
            assert!(n.starts_with("ZKELECT_STATE_"), "{v:?}");
        }
    }

    #[test]
    fn the_names_agree_with_the_rust_names() {
        for (v, _) in zkelect_state::TABLE {
            let s: ServerState = (*v).into();
            assert_eq!(zkelect_state::name(*v as i32).to_str().unwrap(), s.name());
            // The numbers are ZooKeeper's wire ordinals.
            assert_eq!(*v as i32, s.as_i32());
        }
        for (v, _) in zkelect_reason::TABLE {
            let name = zkelect_reason::name(*v as i32).to_str().unwrap();
            match Option::<LossReason>::from(*v) {
                Some(r) => {
                    assert_eq!(name.to_lowercase(), r.name());
                    assert_eq!(*v as i32, r.code(), "{r}");
                }
                None => assert_eq!(name, "NONE"),
            }
        }
    }

    #[test]
    fn raw_numbers_decode_to_the_table_only() {
        assert_eq!(
            zkelect_reason::from_raw(7),
            Some(zkelect_reason::ZKELECT_REASON_STOPPED)
        );
        assert_eq!(zkelect_reason::from_raw(42), None);
        assert_eq!(
            zkelect_state::from_raw(2),
            Some(zkelect_state::ZKELECT_STATE_LEADING)
        );
        assert_eq!(zkelect_result::from_raw(8), None);
        for (v, _) in zkelect_result::TABLE {
            assert_eq!(zkelect_result::from_raw(*v as i32), Some(*v));
        }
    }
}
