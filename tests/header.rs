//! The committed C header equals a fresh cbindgen generation, and the
//! version macro matches the crate.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let path = root.join("include/zkelect.h");
    if std::env::var_os("ZKELECT_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/zkelect.h is stale: run `ZKELECT_BLESS=1 cargo test --test header` and commit it"
    );
    let text = String::from_utf8(fresh).unwrap();
    let want = format!(
        "#define ZKELECT_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        text.contains(&want),
        "cbindgen.toml's version string must be {want}"
    );
}
