"""The package version; equals the Rust crate's and zkelect_version()."""

__version__ = "0.1.0"
