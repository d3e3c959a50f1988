//! The `zkelect` command.
fn main() {}
