//! Helpers shared by this crate's integration tests.

use std::path::PathBuf;

/// `tests/data/<name>` of this crate. The folder comes from `cargo test` at run
/// time: the compile-time `CARGO_MANIFEST_DIR` is stale when a shared target
/// directory was built from another checkout.
pub fn test_data(name: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("tests/data")
        .join(name)
}
