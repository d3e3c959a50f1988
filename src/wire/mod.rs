//! Handshake and notification codec (spec 2.3, 2.6, 3). Placeholder.
