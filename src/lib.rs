//! zkelect: Apache ZooKeeper 3.8's leader election (FastLeaderElection over the
//! election connection manager), wire-compatible with real ZooKeeper servers,
//! as an embeddable library.
//!
//! Layers, from the bottom:
//! - [`wire`]: handshake and notification encode/decode (pure).
//! - [`config`]: zoo.cfg parsing and ZooKeeper-identical config rendering (pure).
//! - [`quorum`]: majority and hierarchical quorum verifiers (pure).
//! - [`election`]: FastLeaderElection as a sans-I/O state machine (pure).
//! - [`leadership`]: what follows the election: confirmation with a new
//!   epoch, heartbeats, step-down and automatic re-election (pure).
//! - [`cnx`]: the election connection manager (threads and sockets).
//! - [`peer`]: the runtime that drives it all, and the public [`Peer`] API.
//!
//! # Example
//!
//! Three peers in one process elect a leader (this is
//! `examples/rust/ensemble.rs`, run as a doctest):
//!
#![doc = concat!("```rust\n", include_str!("../examples/rust/ensemble.rs"), "\n```")]

pub mod admin;
pub mod clock;
pub mod cnx;
pub mod config;
pub mod election;
pub mod ffi;
mod javatext;
pub mod leadership;
pub mod logging;
pub mod peer;
pub mod probe;
pub mod quorum;
pub mod tls;
pub mod types;
pub mod wire;

pub use leadership::{FollowOnly, Mode};
pub use peer::{Confirmed, Error, Event, Leader, Leadership, LossReason, Peer, Stats};
pub use types::{LearnerType, ServerState, Sid, Vote, Zxid};
