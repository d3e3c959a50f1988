//! zkelect: Apache ZooKeeper 3.8's leader election (FastLeaderElection over the
//! election connection manager), wire-compatible with real ZooKeeper servers,
//! as an embeddable library.
//!
//! Layers, from the bottom:
//! - [`wire`]: handshake and notification encode/decode (pure).
//! - [`config`]: zoo.cfg parsing and ZooKeeper-identical config rendering (pure).
//! - [`quorum`]: majority and hierarchical quorum verifiers (pure).
//! - [`election`]: FastLeaderElection as a sans-I/O state machine (pure).

pub mod config;
pub mod election;
pub mod quorum;
pub mod types;
pub mod wire;

pub use types::{LearnerType, ServerState, Sid, Vote, Zxid};
