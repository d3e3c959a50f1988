//! FastLeaderElection as a sans-I/O state machine (spec 4 and 5).
//!
//! Nothing here reads a clock, sleeps, spawns or touches a socket. Time comes
//! in as a [`Duration`](std::time::Duration) since an arbitrary origin; the
//! machine answers with [`Action`]s (send this vote to that sid, connect to
//! everyone, decided) and tells when it next wants to be woken
//! ([`Fle::next_deadline`]).

mod fle;
mod message;
mod order;
mod reply;
mod tracker;

pub use fle::{
    is_follow_only_vote, Action, Decision, Fle, Settings, FOLLOW_ONLY_EPOCH,
    FOLLOW_ONLY_MIXED_ZXID, FOLLOW_ONLY_ZXID,
};
pub use message::{check_range, Message, RangeError, MAX_EPOCH, MAX_ROUND};
pub use order::{total_order, Proposal};
pub use reply::{respond, Response, View};
pub use tracker::{check_leader, has_all_quorums};

#[cfg(test)]
mod fle_tests;
