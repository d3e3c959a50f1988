//! zkelect: Apache ZooKeeper 3.8's leader election (FastLeaderElection over the
//! election connection manager), wire-compatible with real ZooKeeper servers,
//! as an embeddable library.
//!
//! Layers, from the bottom:
//! - [`wire`]: handshake and notification encode/decode (pure).
//! - [`config`]: zoo.cfg parsing and ZooKeeper-identical config rendering (pure).
//! - [`quorum`]: majority and hierarchical quorum verifiers (pure).
//! - [`election`]: FastLeaderElection as a sans-I/O state machine (pure).
//! - [`cnx`]: the election connection manager (threads and sockets).
//! - [`peer`]: the runtime that drives it all, and the public [`Peer`] API.

pub mod cnx;
pub mod config;
pub mod election;
pub mod ffi;
pub mod logging;
pub mod peer;
pub mod probe;
pub mod quorum;
pub mod types;
pub mod wire;

pub use peer::{Error, Event, Leader, Peer};
pub use types::{LearnerType, ServerState, Sid, Vote, Zxid};
