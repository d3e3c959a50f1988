//! FastLeaderElection (spec 5). Placeholder.
