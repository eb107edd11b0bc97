//! Any bytes as a `remote.json`: parsing must return Ok or Err, never panic,
//! and an accepted manifest must survive a serialize/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = manifest::RemoteManifest::from_json(data) {
        let again = manifest::RemoteManifest::from_json(manifest.to_json_pretty().as_bytes())
            .expect("a manifest we accepted must parse again after serializing");
        assert_eq!(again, manifest);
    }
});
