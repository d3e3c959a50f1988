//! Where this build's C library is, for the tests that drive it from C,
//! Python and Java.

use std::path::{Path, PathBuf};

/// The directory holding `libzkelect.so` and `libzkelect.a` of the build
/// these tests belong to. `cargo test` leaves them in `deps/` (only `cargo
/// build` copies them up a level), so that copy, always from this very
/// build, is preferred.
pub fn lib_dir() -> PathBuf {
    let profile = Path::new(env!("CARGO_BIN_EXE_zkelect")).parent().unwrap();
    [profile.join("deps"), profile.to_path_buf()]
        .into_iter()
        .find(|d| d.join("libzkelect.so").exists() && d.join("libzkelect.a").exists())
        .unwrap_or_else(|| panic!("libzkelect.so/.a not built under {}", profile.display()))
}
