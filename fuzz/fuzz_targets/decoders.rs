//! Every public decoder of `zkelect::wire` on libFuzzer's inputs, with the
//! checks of `tests/fuzz.rs` (shared in `tests/support/wire_fuzz.rs`).
//! Allocation is bounded by libFuzzer's `-malloc_limit_mb`, e.g.
//! `cargo +nightly fuzz run decoders -- -malloc_limit_mb=16`.
#![no_main]

#[path = "../../tests/support/wire_fuzz.rs"]
mod wire_fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut seen = wire_fuzz::Accepted::default();
    wire_fuzz::check(data, &mut seen, &mut wire_fuzz::Unmetered);
});
