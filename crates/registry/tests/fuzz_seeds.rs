//! The fuzz seeds of `registry_metadata` (the attack review's metadata
//! shapes, issue 20) through the same calls as the fuzz target, on stable:
//! no panic, and every hostile index refused.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::Path;

use registry::{Limits, SigningKey, TrustAnchor, author::documents};

#[test]
fn every_metadata_seed_is_ok_or_err_and_the_hostile_indexes_are_refused() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/registry_metadata");
    let key = SigningKey::from_secret_bytes(&[7; 32]).public_key();
    let expires = jiff::Timestamp::from_second(4_000_000_000).unwrap();
    let root = documents::new_root(1, expires, &[key], 1, &[key], 1).unwrap();
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let limits = Limits::default();
    let mut seen = 0;
    for entry in std::fs::read_dir(&seeds).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let _ = TrustAnchor::from_root_json(&data);
        let _ = registry::verify_root_chain(&root, &[&data], &limits);
        let _ = registry::verify_snapshot(&root, &data, Some(1), now, &limits);
        let index = registry::parse_remote_index("alpha", &data, &limits);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("index-") {
            assert!(index.is_err(), "{name} was accepted");
        }
        if name == "index.json" {
            assert!(index.is_ok(), "the honest index was refused: {index:?}");
        }
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} seeds in {}", seeds.display());
}
