//! zkelect: Apache ZooKeeper 3.8's leader election (FastLeaderElection over the
//! election connection manager), wire-compatible with real ZooKeeper servers,
//! as an embeddable library.
//!
//! # The API
//!
//! - [`Peer`] runs one election peer from a zoo.cfg ([`Peer::from_file`],
//!   [`Peer::from_config_text`], [`Peer::builder`], or a parsed [`Config`]
//!   with [`Peer::new`]); [`Peer::start`] and [`Peer::stop`] run and end it.
//! - What it tells: [`Event`]s (through [`Peer::on_event`] or
//!   [`Peer::subscribe`]), with [`LossReason`] saying why a leadership
//!   ended; snapshots: [`Peer::state`], [`Peer::vote`], [`Peer::leader`]
//!   ([`Leader`]), [`Peer::confirmed`] ([`Confirmed`]), [`Peer::leadership`]
//!   ([`Leadership`]), [`Peer::stats`] ([`Stats`]).
//! - Fencing epochs: [`Durable`] is what a peer keeps across restarts, in a
//!   [`FileStore`] under `dataDir` or through the host's own store
//!   ([`Peer::set_epoch_store`]).
//! - [`Mode`] and [`FollowOnly`] are the leadership settings a config
//!   chooses; [`Error`] is every failure of the API.
//! - [`config`] is the parsed zoo.cfg ([`Config`]), [`quorum`] its quorum
//!   verifiers, [`logging`] where the library's log lines go, and
//!   [`clock::now`] the clock that lease deadlines are read on.
//! - Plain types shared by all of it: [`Sid`], [`Zxid`], [`Vote`],
//!   [`ServerState`], [`LearnerType`].
//!
//! The same API is offered to C (`include/zkelect.h`), Python and Java; the
//! `zkelect` command (`run`, `demo`, `probe`, `status`) is built on it.
//!
//! Inside, from the bottom: the wire encoding, the zoo.cfg model, the quorum
//! verifiers, FastLeaderElection as a sans-I/O state machine, the leadership
//! that follows it (confirmation with a new epoch, heartbeats, step-down,
//! re-election; also sans-I/O), the election connection manager (threads
//! and sockets), and the runtime behind [`Peer`]. Those modules are not
//! part of the API: the ones the command and the tests reach are public but
//! hidden from this documentation, and may change at any release.
//!
//! # Example
//!
//! Three peers in one process elect a leader (this is
//! `examples/rust/ensemble.rs`, run as a doctest):
//!
#![doc = concat!("```rust\n", include_str!("../examples/rust/ensemble.rs"), "\n```")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod logging;
pub mod quorum;

#[doc(hidden)]
pub mod admin;
#[doc(hidden)]
pub mod cnx;
#[doc(hidden)]
pub mod election;
#[allow(unsafe_code)]
mod ffi;
mod javatext;
#[doc(hidden)]
pub mod leadership;
#[doc(hidden)]
#[allow(unsafe_code)]
pub mod os;
#[doc(hidden)]
pub mod peer;
#[doc(hidden)]
pub mod probe;
#[doc(hidden)]
pub mod tls;
#[doc(hidden)]
pub mod types;
#[doc(hidden)]
pub mod wire;

pub use config::{Config, ConfigError};
pub use leadership::{Durable, FollowOnly, Mode};
pub use peer::{
    Confirmed, Error, Event, FileStore, Leader, Leadership, LossReason, Peer, PeerBuilder, Stats,
};
pub use types::{LearnerType, ServerState, Sid, Vote, Zxid};
