//! Any bytes as an upload to the registry server (a tar or gzipped tar of a
//! remote): reading it must return Ok or Err, never panic, and an accepted
//! bundle must be within every limit, counted in the bytes it unpacked to.
//! Seeds in `fuzz/seeds/registry_bundle/` include the PAX `size` bomb of
//! issue 20 (headers claim 0 bytes, PAX records the real sizes):
//!
//! ```text
//! cargo +nightly fuzz run registry_bundle fuzz/seeds/registry_bundle
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_server::BundleLimits;

/// Small limits, so the fuzzer reaches them (and a breach is cheap to find).
const LIMITS: BundleLimits = BundleLimits { max_file_bytes: 64 * 1024, max_unpacked_bytes: 128 * 1024, max_entries: 64 };

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = registry_server::read_bundle(data, &LIMITS) {
        assert!(bundle.total_bytes() <= LIMITS.max_unpacked_bytes, "accepted {} bytes unpacked", bundle.total_bytes());
        assert!(bundle.files.len() <= LIMITS.max_entries);
        for file in &bundle.files {
            assert!(file.bytes.len() as u64 <= LIMITS.max_file_bytes, "{} is {} bytes", file.path, file.bytes.len());
            manifest::validate_bundle_path(&file.path).expect("an accepted path is a safe bundle path");
        }
        assert!(bundle.files.iter().any(|file| file.path == bundle.manifest.entry));
    }
});
