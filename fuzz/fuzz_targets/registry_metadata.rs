//! Any bytes as registry metadata: root, snapshot and per-remote index
//! parsing and verification must return Ok or Err, never panic.
//!
//! Seeds in `fuzz/seeds/registry_metadata/` are real documents and the
//! attack review's shapes (issue 20): a snapshot version pushed to the top
//! by a leaked key, an index over its limit, a file path escaping the
//! bundle, a version listed twice, a blob over the limit; the registry
//! crate's `fuzz_seeds` test runs them on stable. Run with
//! `cargo +nightly fuzz run registry_metadata fuzz/seeds/registry_metadata`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use registry::author::documents;
use registry::{Limits, Root, SigningKey, TrustAnchor};

static ROOT: LazyLock<Root> = LazyLock::new(|| {
    let key = SigningKey::from_secret_bytes(&[7; 32]).public_key();
    let expires = jiff::Timestamp::from_second(4_000_000_000).expect("a valid time");
    documents::new_root(1, expires, &[key.clone()], 1, &[key], 1).expect("a valid root")
});

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let now = jiff::Timestamp::from_second(1_800_000_000).expect("a valid time");
    let _ = TrustAnchor::from_root_json(data);
    let _ = registry::verify_root_chain(&ROOT, &[data], &limits);
    let _ = registry::verify_snapshot(&ROOT, data, Some(1), now, &limits);
    let _ = registry::parse_remote_index("fuzzed", data, &limits);
});
