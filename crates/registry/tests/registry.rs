//! The registry protocol end to end: keys, signatures, root rotation,
//! snapshots, remote indexes, authoring a folder, and fetching over file://
//! and loopback HTTP with injected faults.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use registry::author::documents;
use registry::{
    ClientOptions, Expiry, Fetched, Limits, PublishOptions, PublishReport, Refresh, RegistryClient, RegistryError,
    RegistrySource, Root, SigningKey, Snapshot, SnapshotCheck, TrustAnchor,
};
use tempfile::TempDir;

/// A deterministic key, so failures reproduce.
fn key(seed: u8) -> SigningKey {
    SigningKey::from_secret_bytes(&[seed; 32])
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn limits() -> Limits {
    Limits::default()
}

/// A registry folder signed with one key for both roles, as the CLI makes.
struct Fixture {
    temp: TempDir,
    key: SigningKey,
}

impl Fixture {
    fn new() -> Self {
        let temp = tempfile::tempdir().expect("a temporary folder");
        let key = key(1);
        registry::init(&temp.path().join("registry"), &key, &key, Expiry::default()).expect("init an empty registry");
        Self { temp, key }
    }

    fn dir(&self) -> PathBuf {
        self.temp.path().join("registry")
    }

    fn remote_dir(&self, name: &str, version: &str) -> PathBuf {
        self.temp.path().join("remotes-src").join(format!("{name}-{version}"))
    }

    fn publish(&self, name: &str, version: &str, files: &[(&str, &[u8])]) -> PublishReport {
        let remote = self.remote_dir(name, version);
        test_support::sample_remote(&remote, name, version, "^1.0.0", files).expect("write a sample remote");
        registry::publish(&self.dir(), &remote, &self.key, &PublishOptions::default()).expect("publish succeeds")
    }

    fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.dir().join(path)).expect("the registry file exists")
    }

    fn write(&self, path: &str, bytes: &[u8]) {
        std::fs::write(self.dir().join(path), bytes).expect("write a registry file")
    }

    fn root(&self) -> Root {
        registry::verify_root(&self.read("root.json"), &TrustAnchor::Key(self.key.public_key()), now(), &limits())
            .expect("the registry's root verifies with its key")
    }

    fn snapshot(&self) -> Snapshot {
        registry::verify_snapshot(&self.root(), &self.read("snapshot.json"), None, now(), &limits())
            .expect("the registry's snapshot verifies")
            .into_snapshot()
    }
}

fn sign_snapshot(snapshot: &Snapshot, keys: &[&SigningKey]) -> Vec<u8> {
    documents::sign_snapshot(snapshot, keys).expect("sign a snapshot")
}

fn in_a_year() -> Timestamp {
    documents::expires_at(now(), Duration::from_secs(365 * 24 * 3600)).expect("a year from now")
}

/// Parses an envelope, lets `edit` change it, and writes it back.
fn edit_json(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).expect("valid JSON");
    edit(&mut value);
    serde_json::to_vec_pretty(&value).expect("serialize JSON")
}

mod keys {
    use super::*;

    #[test]
    fn private_and_public_keys_survive_a_pem_round_trip() {
        let original = SigningKey::generate();
        let pem = original.to_pem().expect("encode");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
        let parsed = SigningKey::from_pem(&pem).expect("decode");
        assert_eq!(parsed.key_id(), original.key_id());

        let public_pem = original.public_key().to_pem().expect("encode public key");
        assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"), "SPKI PEM");
        assert_eq!(registry::PublicKey::from_pem(&public_pem).expect("decode public key"), original.public_key());
        assert_eq!(original.key_id().len(), 64, "a key id is a hex sha256");
    }

    #[test]
    fn the_key_file_is_private_and_never_overwritten() {
        let temp = tempfile::tempdir().expect("temp dir");
        let path = temp.path().join("registry.key");
        let key = SigningKey::generate();
        key.write_pem_file(&path).expect("write the key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read a signing key");
        }
        let again = SigningKey::generate().write_pem_file(&path);
        assert!(matches!(again, Err(RegistryError::KeyExists { .. })), "got {again:?}");
        assert_eq!(
            SigningKey::read_pem_file(&path).expect("read back").key_id(),
            key.key_id(),
            "the first key is intact"
        );
    }

    #[test]
    fn debug_output_of_a_signing_key_shows_only_its_id() {
        let key = key(7);
        let debug = format!("{key:?}");
        assert!(debug.contains(&key.key_id()));
        let secret_hex = hex::encode([7u8; 32]);
        assert!(!debug.contains(&secret_hex), "the secret must never be printed");
    }

    #[test]
    fn trust_anchors_parse_from_hex_pem_and_root_json() {
        let fixture = Fixture::new();
        let public = fixture.key.public_key();

        let from_hex = TrustAnchor::parse(&public.to_hex()).expect("a hex key");
        assert_eq!(from_hex, TrustAnchor::Key(public));

        let pub_path = fixture.temp.path().join("registry.pub");
        public.write_pem_file(&pub_path).expect("write registry.pub");
        let from_pem = TrustAnchor::parse(&pub_path.display().to_string()).expect("a PEM file");
        assert_eq!(from_pem, TrustAnchor::Key(public));

        let root_path = fixture.dir().join("root.json");
        match TrustAnchor::parse(&root_path.display().to_string()).expect("a root.json") {
            TrustAnchor::Root(root) => assert_eq!(root, fixture.root()),
            other => panic!("expected a root anchor, got {other:?}"),
        }

        for bad in ["", "not-a-key", "abcd", &"g".repeat(64)] {
            let result = TrustAnchor::parse(bad);
            assert!(matches!(result, Err(RegistryError::TrustAnchor { .. })), "{bad:?} gave {result:?}");
        }
    }
}

mod signing {
    use super::*;

    #[test]
    fn documents_signed_by_the_registry_verify() {
        let fixture = Fixture::new();
        let root = fixture.root();
        assert_eq!(root.version, 1);
        assert_eq!(root.roles.root.keyids, vec![fixture.key.key_id()]);
        let check =
            registry::verify_snapshot(&root, &fixture.read("snapshot.json"), None, now(), &limits()).expect("verifies");
        assert!(check.is_fresh());
        assert_eq!(check.snapshot().version, 1);
        assert!(check.snapshot().remotes.is_empty());
    }

    #[test]
    fn a_changed_signed_field_is_refused() {
        let fixture = Fixture::new();
        let tampered = edit_json(&fixture.read("snapshot.json"), |value| value["signed"]["version"] = 99.into());
        let result = registry::verify_snapshot(&fixture.root(), &tampered, None, now(), &limits());
        assert!(matches!(result, Err(RegistryError::BadSignature { role: "snapshot", .. })), "got {result:?}");
    }

    #[test]
    fn an_added_unknown_field_is_covered_by_the_signature() {
        let fixture = Fixture::new();
        let tampered = edit_json(&fixture.read("snapshot.json"), |value| value["signed"]["mirror"] = "evil".into());
        let result = registry::verify_snapshot(&fixture.root(), &tampered, None, now(), &limits());
        assert!(matches!(result, Err(RegistryError::BadSignature { .. })), "got {result:?}");
    }

    #[test]
    fn unknown_fields_that_were_signed_are_accepted_and_kept() {
        let fixture = Fixture::new();
        let mut snapshot = fixture.snapshot();
        snapshot.extra.insert("futureField".into(), serde_json::json!({ "nested": [1, 2] }));
        let bytes = sign_snapshot(&snapshot, &[&fixture.key]);
        let verified = registry::verify_snapshot(&fixture.root(), &bytes, None, now(), &limits()).expect("verifies");
        assert_eq!(verified.snapshot().extra.get("futureField"), Some(&serde_json::json!({ "nested": [1, 2] })));
    }

    #[test]
    fn a_snapshot_signed_by_an_unknown_key_is_refused() {
        let fixture = Fixture::new();
        let stranger = key(99);
        let bytes = sign_snapshot(&fixture.snapshot(), &[&stranger]);
        let result = registry::verify_snapshot(&fixture.root(), &bytes, None, now(), &limits());
        match result {
            Err(RegistryError::UnknownKey { keyids, .. }) => assert_eq!(keyids, stranger.key_id()),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
    }

    #[test]
    fn an_unsigned_snapshot_is_refused() {
        let fixture = Fixture::new();
        let bytes = sign_snapshot(&fixture.snapshot(), &[]);
        let result = registry::verify_snapshot(&fixture.root(), &bytes, None, now(), &limits());
        assert!(matches!(result, Err(RegistryError::ThresholdNotMet { valid: 0, threshold: 1, .. })), "got {result:?}");
    }

    #[test]
    fn a_root_handed_in_as_a_snapshot_is_refused_by_type() {
        let fixture = Fixture::new();
        let result = registry::verify_snapshot(&fixture.root(), &fixture.read("root.json"), None, now(), &limits());
        assert!(matches!(result, Err(RegistryError::WrongType { expected: "snapshot", .. })), "got {result:?}");
    }

    #[test]
    fn thresholds_above_one_count_each_key_once() {
        let (root_key, a, b) = (key(10), key(11), key(12));
        let root =
            documents::new_root(1, in_a_year(), &[root_key.public_key()], 1, &[a.public_key(), b.public_key()], 2)
                .expect("a root with a 2-of-2 snapshot role");
        let root_bytes = documents::sign_root(&root, &[&root_key]).expect("sign root");
        let root = registry::verify_root(&root_bytes, &TrustAnchor::Key(root_key.public_key()), now(), &limits())
            .expect("root");
        let snapshot = documents::empty_snapshot(in_a_year());

        let one = sign_snapshot(&snapshot, &[&a]);
        let result = registry::verify_snapshot(&root, &one, None, now(), &limits());
        assert!(matches!(result, Err(RegistryError::ThresholdNotMet { valid: 1, threshold: 2, .. })), "got {result:?}");

        // The same signature twice must not count as two.
        let doubled = edit_json(&one, |value| {
            let signature = value["signatures"][0].clone();
            value["signatures"].as_array_mut().expect("signatures").push(signature);
        });
        let result = registry::verify_snapshot(&root, &doubled, None, now(), &limits());
        assert!(matches!(result, Err(RegistryError::ThresholdNotMet { valid: 1, .. })), "got {result:?}");

        let both = sign_snapshot(&snapshot, &[&a, &b]);
        assert!(registry::verify_snapshot(&root, &both, None, now(), &limits()).is_ok());
    }

    #[test]
    fn a_root_that_does_not_list_the_trusted_key_is_refused() {
        let fixture = Fixture::new();
        let result = registry::verify_root(
            &fixture.read("root.json"),
            &TrustAnchor::Key(key(42).public_key()),
            now(),
            &limits(),
        );
        assert!(matches!(result, Err(RegistryError::AnchorKeyNotInRoot { .. })), "got {result:?}");
    }

    #[test]
    fn an_expired_root_is_refused() {
        let root_key = key(3);
        let past = Timestamp::from_second(1_000_000_000).expect("2001");
        let root =
            documents::new_root(1, past, &[root_key.public_key()], 1, &[root_key.public_key()], 1).expect("root");
        let bytes = documents::sign_root(&root, &[&root_key]).expect("sign");
        let result = registry::verify_root(&bytes, &TrustAnchor::Key(root_key.public_key()), now(), &limits());
        assert!(matches!(&result, Err(error) if error.is_expired()), "got {result:?}");
    }

    #[test]
    fn errors_name_the_origin_once_a_client_adds_it() {
        let error = RegistryError::Rollback { document: "snapshot.json".into(), found: 7, seen: 9 };
        let message = error.with_origin("https://example.test/snapshot.json").to_string();
        assert!(
            message.starts_with("snapshot.json from https://example.test/snapshot.json is version 7 but version 9"),
            "{message}"
        );
        assert!(message.contains("rollback"), "{message}");
    }
}

mod root_rotation {
    use super::*;

    #[test]
    fn a_rotated_root_chains_from_the_previous_one() {
        let fixture = Fixture::new();
        let first = fixture.root();
        let new_key = key(2);
        let report =
            registry::rotate_root(&fixture.dir(), &fixture.key, &new_key, &new_key, Expiry::default()).expect("rotate");
        assert_eq!(report.root_version, 2);
        assert_eq!(report.snapshot_version, 2);

        let second_bytes = fixture.read("roots/2.root.json");
        assert_eq!(second_bytes, fixture.read("root.json"), "root.json is the newest root");
        let second = registry::verify_root_chain(&first, &[&second_bytes], &limits()).expect("the chain verifies");
        assert_eq!(second.version, 2);
        assert_eq!(second.roles.root.keyids, vec![new_key.key_id()]);

        // The same through verify_root with the old root as the anchor.
        let via_anchor = registry::verify_root(&second_bytes, &TrustAnchor::Root(first.clone()), now(), &limits())
            .expect("verifies");
        assert_eq!(via_anchor, second);

        // The re-signed snapshot verifies under both roots, so no client is
        // locked out while the rotation propagates.
        let snapshot = fixture.read("snapshot.json");
        assert!(registry::verify_snapshot(&first, &snapshot, None, now(), &limits()).is_ok());
        assert!(registry::verify_snapshot(&second, &snapshot, None, now(), &limits()).is_ok());

        // The old key alone no longer anchors the registry.
        let result =
            registry::verify_root(&second_bytes, &TrustAnchor::Key(fixture.key.public_key()), now(), &limits());
        assert!(matches!(result, Err(RegistryError::AnchorKeyNotInRoot { .. })), "got {result:?}");
    }

    #[test]
    fn a_root_not_signed_by_its_predecessor_is_refused() {
        let fixture = Fixture::new();
        let first = fixture.root();
        let usurper = key(66);
        let forged = documents::rotated_root(&first, &[usurper.public_key()], &[usurper.public_key()], in_a_year())
            .expect("root");
        let bytes = documents::sign_root(&forged, &[&usurper]).expect("sign");
        let result = registry::verify_root_chain(&first, &[&bytes], &limits());
        assert!(matches!(result, Err(RegistryError::UnknownKey { role: "root", .. })), "got {result:?}");
    }

    #[test]
    fn a_root_not_signed_by_its_own_keys_is_refused() {
        let fixture = Fixture::new();
        let first = fixture.root();
        let new_key = key(5);
        let next = documents::rotated_root(&first, &[new_key.public_key()], &[new_key.public_key()], in_a_year())
            .expect("root");
        let bytes = documents::sign_root(&next, &[&fixture.key]).expect("signed by the old key only");
        let result = registry::verify_root_chain(&first, &[&bytes], &limits());
        assert!(
            matches!(result, Err(RegistryError::UnknownKey { .. } | RegistryError::ThresholdNotMet { .. })),
            "got {result:?}"
        );
    }

    #[test]
    fn skipping_a_version_is_refused() {
        let fixture = Fixture::new();
        let first = fixture.root();
        let mut third =
            documents::rotated_root(&first, &[fixture.key.public_key()], &[fixture.key.public_key()], in_a_year())
                .expect("root");
        third.version = 3;
        let bytes = documents::sign_root(&third, &[&fixture.key]).expect("sign");
        let chained = registry::verify_root_chain(&first, &[&bytes], &limits());
        assert!(matches!(chained, Err(RegistryError::RootVersionGap { expected: 2, found: 3, .. })), "got {chained:?}");
        let direct = registry::verify_root(&bytes, &TrustAnchor::Root(first), now(), &limits());
        assert!(matches!(direct, Err(RegistryError::RootVersionGap { .. })), "got {direct:?}");
    }

    #[test]
    fn an_older_root_than_the_trusted_one_is_a_rollback() {
        let fixture = Fixture::new();
        let first_bytes = fixture.read("root.json");
        registry::rotate_root(&fixture.dir(), &fixture.key, &fixture.key, &fixture.key, Expiry::default())
            .expect("renew");
        let second = fixture.root();
        assert_eq!(second.version, 2, "renewing with the same keys still makes a new version");
        let result = registry::verify_root(&first_bytes, &TrustAnchor::Root(second), now(), &limits());
        assert!(matches!(result, Err(RegistryError::Rollback { found: 1, seen: 2, .. })), "got {result:?}");
    }

    #[test]
    fn two_different_roots_with_one_version_are_refused() {
        let fixture = Fixture::new();
        let trusted = fixture.root();
        let mut other = trusted.clone();
        other.expires = in_a_year().checked_add(jiff::SignedDuration::from_hours(1)).expect("later");
        let bytes = documents::sign_root(&other, &[&fixture.key]).expect("sign");
        let result = registry::verify_root(&bytes, &TrustAnchor::Root(trusted), now(), &limits());
        assert!(matches!(result, Err(RegistryError::RootForked { version: 1, .. })), "got {result:?}");
    }
}

mod snapshot {
    use super::*;

    #[test]
    fn resigning_renews_an_expired_snapshot_and_reports_the_root_expiry() {
        let temp = tempfile::tempdir().expect("a temporary folder");
        let dir = temp.path().join("registry");
        let signer = key(1);
        let expiry = Expiry { snapshot: Duration::ZERO, ..Expiry::default() };
        let first = registry::init(&dir, &signer, &signer, expiry).expect("init");
        let read = |path: &str| std::fs::read(dir.join(path)).expect("a registry file");
        let check = registry::verify_snapshot(&first, &read("snapshot.json"), None, now(), &limits()).expect("signed");
        assert!(!check.is_fresh(), "a snapshot valid for zero seconds is expired at once");

        let report = registry::resign_snapshot(&dir, &signer, Duration::from_secs(3600)).expect("re-sign");
        assert_eq!(report.snapshot_version, 2, "same contents, one version newer");
        assert_eq!((report.root_version, report.root_expires), (first.version, first.expires), "the root is untouched");
        let check =
            registry::verify_snapshot(&first, &read("snapshot.json"), Some(1), now(), &limits()).expect("verifies");
        assert!(check.is_fresh(), "fresh again: {check:?}");
        assert_eq!(check.snapshot().expires, report.snapshot_expires);
        assert!(!documents::expires_within(report.root_expires, now(), documents::ROOT_EXPIRY_WARNING));
        assert!(documents::expires_within(report.snapshot_expires, now(), Duration::from_secs(3600)));

        // Only a snapshot key of the root may re-sign.
        let result = registry::resign_snapshot(&dir, &key(9), Duration::from_secs(3600));
        assert!(matches!(result, Err(RegistryError::KeyNotAuthorized { role: "snapshot", .. })), "got {result:?}");
    }

    #[test]
    fn an_older_snapshot_than_one_seen_is_a_rollback() {
        let fixture = Fixture::new();
        let old = fixture.read("snapshot.json");
        fixture.publish("alpha", "1.0.0", &[]);
        let root = fixture.root();
        let result = registry::verify_snapshot(&root, &old, Some(2), now(), &limits());
        match result {
            Err(error @ RegistryError::Rollback { found: 1, seen: 2, .. }) => {
                assert!(error.to_string().contains("possible rollback attack"), "{error}");
            }
            other => panic!("expected a rollback error, got {other:?}"),
        }
        // The same version again is the same snapshot fetched twice: fine.
        let current = fixture.read("snapshot.json");
        assert!(registry::verify_snapshot(&root, &current, Some(2), now(), &limits()).is_ok());
    }

    #[test]
    fn an_expired_snapshot_is_verified_but_not_fresh() {
        let fixture = Fixture::new();
        let mut snapshot = fixture.snapshot();
        snapshot.version = 2;
        snapshot.expires = Timestamp::from_second(1_600_000_000).expect("2020");
        let bytes = sign_snapshot(&snapshot, &[&fixture.key]);
        let check =
            registry::verify_snapshot(&fixture.root(), &bytes, Some(1), now(), &limits()).expect("signed and newer");
        assert!(matches!(check, SnapshotCheck::Expired(ref expired) if expired.version == 2), "got {check:?}");
        assert!(!check.is_fresh());
    }

    #[test]
    fn an_oversize_snapshot_is_refused_before_parsing() {
        let fixture = Fixture::new();
        let small = Limits { snapshot: 64, ..Limits::default() };
        let result = registry::verify_snapshot(&fixture.root(), &fixture.read("snapshot.json"), None, now(), &small);
        assert!(matches!(result, Err(RegistryError::TooLarge { limit: 64, .. })), "got {result:?}");
    }

    #[test]
    fn garbage_is_malformed() {
        let fixture = Fixture::new();
        for garbage in
            [&b""[..], b"{", b"[]", br#"{"signed": 1, "signatures": []}"#, br#"{"signed": {}, "signatures": []}"#]
        {
            let result = registry::verify_snapshot(&fixture.root(), garbage, None, now(), &limits());
            assert!(
                matches!(result, Err(RegistryError::Malformed { .. })),
                "{:?} gave {result:?}",
                String::from_utf8_lossy(garbage)
            );
        }
    }
}

mod index {
    use super::*;
    use registry::SnapshotEntry;

    /// A published registry's index for `alpha`, as bytes and JSON.
    fn published() -> (Fixture, Vec<u8>) {
        let fixture = Fixture::new();
        fixture.publish("alpha", "1.0.0", &[("assets/app.js", b"console.log(1)")]);
        let bytes = fixture.read("remotes/alpha.json");
        (fixture, bytes)
    }

    fn entry_for(bytes: &[u8]) -> SnapshotEntry {
        SnapshotEntry { sha256: registry::sha256_hex(bytes), length: bytes.len() as u64 }
    }

    #[test]
    fn a_published_index_verifies_against_its_snapshot_entry() {
        let (fixture, bytes) = published();
        let snapshot = fixture.snapshot();
        let entry = snapshot.remotes.get("alpha").expect("the snapshot lists alpha");
        let index = registry::verify_remote_index(entry, "alpha", &bytes, &limits()).expect("verifies");
        let version = index.versions.first().expect("one version");
        assert_eq!(version.manifest.version.to_string(), "1.0.0");
        let paths: Vec<&str> = version.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(paths, ["assets/app.js", "remote.json", "remoteEntry.js"]);
    }

    #[test]
    fn an_index_that_differs_from_the_snapshot_is_refused() {
        let (fixture, bytes) = published();
        let entry = fixture.snapshot().remotes["alpha"].clone();
        let mut changed = bytes.clone();
        let last = changed.len() - 2;
        changed[last] = b' ';
        let result = registry::verify_remote_index(&entry, "alpha", &changed, &limits());
        assert!(matches!(result, Err(RegistryError::HashMismatch { .. })), "got {result:?}");

        let mut longer = bytes;
        longer.push(b'\n');
        let result = registry::verify_remote_index(&entry, "alpha", &longer, &limits());
        assert!(matches!(result, Err(RegistryError::LongerThanDeclared { .. })), "got {result:?}");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let (_fixture, bytes) = published();
        for path in ["../escape.js", "/etc/passwd", "assets\\app.js", "assets/../../x", "C:/x", "a//b", "./a", ""] {
            let edited = edit_json(&bytes, |value| value["versions"][0]["files"][0]["path"] = path.into());
            let result = registry::verify_remote_index(&entry_for(&edited), "alpha", &edited, &limits());
            assert!(matches!(result, Err(RegistryError::UnsafePath { .. })), "{path:?} gave {result:?}");
        }
    }

    #[test]
    fn a_manifest_with_an_unknown_permission_refuses_the_index_naming_it() {
        let (_fixture, bytes) = published();
        let edited = edit_json(&bytes, |value| {
            value["versions"][0]["manifest"]["permissions"] = serde_json::json!(["data:read", "net:any"]);
        });

        let result = registry::verify_remote_index(&entry_for(&edited), "alpha", &edited, &limits());

        let Err(error @ RegistryError::Malformed { .. }) = result else { panic!("was not refused: {result:?}") };
        let message = error.to_string();
        assert!(message.contains("remotes/alpha.json"), "{message}");
        assert!(
            message.contains("unknown permission `net:any`; known permissions: data:read, data:write"),
            "{message}"
        );
    }

    #[test]
    fn structural_problems_are_refused() {
        let (_fixture, bytes) = published();
        let check = |what: &str, edit: &dyn Fn(&mut serde_json::Value), expected: &dyn Fn(&RegistryError) -> bool| {
            let edited = edit_json(&bytes, |value| edit(value));
            let result = registry::verify_remote_index(&entry_for(&edited), "alpha", &edited, &limits());
            match result {
                Err(error) => assert!(expected(&error), "{what}: unexpected error {error:?}"),
                Ok(_) => panic!("{what}: was accepted"),
            }
        };
        check("missing entry file", &|v| v["versions"][0]["manifest"]["entry"] = "missing.js".into(), &|e| {
            matches!(e, RegistryError::InvalidIndex { .. })
        });
        check("index name", &|v| v["name"] = "beta".into(), &|e| matches!(e, RegistryError::NameMismatch { .. }));
        check("manifest name", &|v| v["versions"][0]["manifest"]["name"] = "beta".into(), &|e| {
            matches!(e, RegistryError::NameMismatch { .. })
        });
        check(
            "duplicate version",
            &|v| {
                let first = v["versions"][0].clone();
                v["versions"].as_array_mut().expect("versions").push(first);
            },
            &|e| matches!(e, RegistryError::DuplicateVersion { .. }),
        );
        check(
            "invalid manifest",
            &|v| v["versions"][0]["manifest"]["requires"] = serde_json::json!({ "alpha": "^1" }),
            &|e| matches!(e, RegistryError::Manifest { .. }),
        );
        check("bad range", &|v| v["versions"][0]["manifest"]["hostApi"] = "not a range".into(), &|e| {
            matches!(e, RegistryError::Malformed { .. })
        });
        check(
            "duplicate path",
            &|v| {
                let file = v["versions"][0]["files"][0].clone();
                v["versions"][0]["files"].as_array_mut().expect("files").push(file);
            },
            &|e| matches!(e, RegistryError::InvalidIndex { .. }),
        );
        check(
            "file and folder",
            &|v| {
                let mut file = v["versions"][0]["files"][0].clone();
                file["path"] = "assets".into();
                v["versions"][0]["files"].as_array_mut().expect("files").push(file);
            },
            &|e| matches!(e, RegistryError::InvalidIndex { .. }),
        );
        check("bad hash", &|v| v["versions"][0]["files"][0]["sha256"] = "ABC".into(), &|e| {
            matches!(e, RegistryError::InvalidIndex { .. })
        });
        check("huge file", &|v| v["versions"][0]["files"][0]["length"] = (1u64 << 40).into(), &|e| {
            matches!(e, RegistryError::TooLarge { .. })
        });
    }

    #[test]
    fn blobs_are_checked_for_length_and_hash() {
        let data = b"hello";
        let sha = registry::sha256_hex(data);
        assert!(registry::verify_blob(&sha, 5, data).is_ok());
        assert!(matches!(registry::verify_blob(&sha, 5, b"hellO"), Err(RegistryError::HashMismatch { .. })));
        assert!(matches!(
            registry::verify_blob(&sha, 5, b"hell"),
            Err(RegistryError::LengthMismatch { actual: 4, .. })
        ));
        assert!(matches!(registry::verify_blob(&sha, 5, b"hello!"), Err(RegistryError::LongerThanDeclared { .. })));
    }
}

mod publish {
    use super::*;

    #[test]
    fn publishing_writes_blobs_an_index_entry_and_a_new_snapshot() {
        let fixture = Fixture::new();
        let report = fixture.publish("alpha", "1.0.0", &[("assets/app.js", b"console.log(1)")]);
        assert_eq!((report.name.as_str(), report.version.to_string().as_str()), ("alpha", "1.0.0"));
        assert_eq!(report.files, 3);
        assert_eq!(report.blobs_written, 3);
        assert_eq!(report.snapshot_version, 2);

        let snapshot = fixture.snapshot();
        assert_eq!(snapshot.version, 2);
        let entry = &snapshot.remotes["alpha"];
        let index = registry::verify_remote_index(entry, "alpha", &fixture.read("remotes/alpha.json"), &limits())
            .expect("index");
        for file in &index.versions[0].files {
            let blob = fixture.read(&registry::blob_path(&file.sha256));
            registry::verify_blob(&file.sha256, file.length, &blob).expect("every blob matches its index entry");
        }

        // A second version shares unchanged files.
        let second = fixture.publish("alpha", "1.1.0", &[("assets/app.js", b"console.log(1)")]);
        assert_eq!(second.snapshot_version, 3);
        assert!(second.blobs_reused >= 1, "assets/app.js is already stored: {second:?}");
        let snapshot = fixture.snapshot();
        let index = registry::verify_remote_index(
            &snapshot.remotes["alpha"],
            "alpha",
            &fixture.read("remotes/alpha.json"),
            &limits(),
        )
        .expect("index");
        let versions: Vec<String> = index.versions.iter().map(|v| v.manifest.version.to_string()).collect();
        assert_eq!(versions, ["1.0.0", "1.1.0"]);
    }

    #[test]
    fn an_existing_version_is_refused_and_nothing_changes() {
        let fixture = Fixture::new();
        fixture.publish("alpha", "1.0.0", &[]);
        let before = fixture.read("snapshot.json");
        let remote = fixture.remote_dir("alpha", "1.0.0-again");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[("changed.js", b"new")]).expect("remote");
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default());
        match result {
            Err(error @ RegistryError::VersionExists { .. }) => {
                assert!(error.to_string().contains("bump `version`"), "{error}");
            }
            other => panic!("expected VersionExists, got {other:?}"),
        }
        assert_eq!(fixture.read("snapshot.json"), before, "the snapshot is untouched");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_the_remote_folder_is_refused() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[]).expect("remote");
        std::os::unix::fs::symlink("/etc/passwd", remote.join("passwd")).expect("symlink");
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default());
        assert!(
            matches!(result, Err(RegistryError::Symlink { ref path }) if path.ends_with("passwd")),
            "got {result:?}"
        );
        assert_eq!(fixture.snapshot().version, 1, "nothing was published");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_name_with_a_backslash_is_refused() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[("a\\b.js", b"x")]).expect("remote");
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default());
        assert!(
            matches!(result, Err(RegistryError::UnsafePath { ref path, .. }) if path == "a\\b.js"),
            "got {result:?}"
        );
    }

    #[test]
    fn an_oversize_manifest_is_refused() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[]).expect("remote");
        let padding = "x".repeat(registry::MAX_MANIFEST_BYTES as usize);
        let manifest = format!(
            r#"{{"name":"alpha","version":"1.0.0","entry":"remoteEntry.js","hostApi":"^1","shared":{{}},"description":"{padding}"}}"#
        );
        std::fs::write(remote.join("remote.json"), manifest).expect("write");
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default());
        assert!(
            matches!(result, Err(RegistryError::TooLarge { limit, .. }) if limit == registry::MAX_MANIFEST_BYTES),
            "got {result:?}"
        );
    }

    #[test]
    fn a_malformed_manifest_is_refused_with_the_field_named() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "definitely not semver", &[]).expect("remote");
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default());
        match result {
            Err(error @ RegistryError::Manifest { .. }) => {
                assert!(error.to_string().contains("hostApi"), "{error}")
            }
            other => panic!("expected a manifest error, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_entry_file_is_refused() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[]).expect("remote");
        std::fs::remove_file(remote.join("remoteEntry.js")).expect("remove the entry");
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default());
        assert!(matches!(result, Err(RegistryError::EntryMissing { .. })), "got {result:?}");
    }

    #[test]
    fn compatibility_with_a_host_is_reported_or_refused() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "2.0.0");
        test_support::sample_remote(&remote, "alpha", "2.0.0", "^2.0.0", &[]).expect("remote");
        let refuse = PublishOptions {
            profile: Some(manifest::HostProfile::builtin()),
            refuse_incompatible: true,
            ..PublishOptions::default()
        };
        let result = registry::publish(&fixture.dir(), &remote, &fixture.key, &refuse);
        match result {
            Err(error @ RegistryError::Incompatible { .. }) => {
                assert!(error.to_string().contains("host API ^2.0.0"), "{error}")
            }
            other => panic!("expected Incompatible, got {other:?}"),
        }
        let warn = PublishOptions { refuse_incompatible: false, ..refuse };
        let report = registry::publish(&fixture.dir(), &remote, &fixture.key, &warn).expect("published with a warning");
        assert_eq!(report.incompatibilities.len(), 1, "{report:?}");
    }

    #[test]
    fn a_key_that_is_not_a_snapshot_key_is_refused() {
        let fixture = Fixture::new();
        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[]).expect("remote");
        let result = registry::publish(&fixture.dir(), &remote, &key(77), &PublishOptions::default());
        assert!(matches!(result, Err(RegistryError::KeyNotAuthorized { role: "snapshot", .. })), "got {result:?}");
    }

    #[test]
    fn init_refuses_an_existing_registry_and_publish_refuses_a_missing_one() {
        let fixture = Fixture::new();
        let again = registry::init(&fixture.dir(), &fixture.key, &fixture.key, Expiry::default());
        assert!(matches!(again, Err(RegistryError::RegistryExists { .. })), "got {again:?}");

        let remote = fixture.remote_dir("alpha", "1.0.0");
        test_support::sample_remote(&remote, "alpha", "1.0.0", "^1.0.0", &[]).expect("remote");
        let nowhere = fixture.temp.path().join("nowhere");
        let result = registry::publish(&nowhere, &remote, &fixture.key, &PublishOptions::default());
        assert!(matches!(result, Err(RegistryError::NotARegistry { .. })), "got {result:?}");
        assert!(!nowhere.exists(), "no lock file was left behind in a wrong path");
    }

    #[test]
    fn yanking_marks_the_version_and_signs_a_new_snapshot() {
        let fixture = Fixture::new();
        fixture.publish("alpha", "1.0.0", &[]);
        let version = manifest::Version::new(1, 0, 0);
        let report =
            registry::yank(&fixture.dir(), "alpha", &version, true, &fixture.key, registry::DEFAULT_SNAPSHOT_EXPIRY)
                .expect("yank");
        assert!(report.changed);
        assert_eq!(report.snapshot_version, 3);
        let snapshot = fixture.snapshot();
        let index = registry::verify_remote_index(
            &snapshot.remotes["alpha"],
            "alpha",
            &fixture.read("remotes/alpha.json"),
            &limits(),
        )
        .expect("index");
        assert!(index.versions[0].yanked);
        assert!(index.candidates()[0].yanked);

        let again =
            registry::yank(&fixture.dir(), "alpha", &version, true, &fixture.key, registry::DEFAULT_SNAPSHOT_EXPIRY)
                .expect("yank again");
        assert!(!again.changed);
        assert_eq!(fixture.snapshot().version, 3, "nothing changed, nothing re-signed");

        let missing = registry::yank(
            &fixture.dir(),
            "alpha",
            &manifest::Version::new(9, 0, 0),
            true,
            &fixture.key,
            registry::DEFAULT_SNAPSHOT_EXPIRY,
        );
        assert!(
            matches!(missing, Err(RegistryError::VersionNotFound { ref offered, .. }) if offered == "1.0.0"),
            "got {missing:?}"
        );
    }

    #[test]
    fn a_publish_that_crashed_before_its_snapshot_can_be_completed() {
        let fixture = Fixture::new();
        let before = fixture.read("snapshot.json");
        fixture.publish("alpha", "1.0.0", &[]);
        // Put the old snapshot back: now the index has a version no snapshot covers.
        fixture.write("snapshot.json", &before);
        let remote = fixture.remote_dir("alpha", "1.0.0");
        let report =
            registry::publish(&fixture.dir(), &remote, &fixture.key, &PublishOptions::default()).expect("completes");
        assert!(report.resumed);
        assert_eq!(report.blobs_written, 0, "the blobs were already there");
        let snapshot = fixture.snapshot();
        assert!(
            registry::verify_remote_index(
                &snapshot.remotes["alpha"],
                "alpha",
                &fixture.read("remotes/alpha.json"),
                &limits()
            )
            .is_ok()
        );
    }

    #[test]
    fn concurrent_publishes_into_one_folder_all_land() {
        let fixture = Fixture::new();
        let publishes = 8;
        let remotes: Vec<(String, PathBuf)> = (0..publishes)
            .map(|i| {
                // Two remotes, four versions each, so publishes also race on one index.
                let name = if i % 2 == 0 { "alpha" } else { "beta" };
                let version = format!("1.{i}.0");
                let dir = fixture.remote_dir(name, &version);
                let content = format!("// build {i}");
                test_support::sample_remote(&dir, name, &version, "^1.0.0", &[("app.js", content.as_bytes())])
                    .expect("remote");
                (name.to_owned(), dir)
            })
            .collect();
        let registry_dir = fixture.dir();
        std::thread::scope(|scope| {
            let handles: Vec<_> = remotes
                .iter()
                .map(|(_, dir)| {
                    let registry_dir = &registry_dir;
                    let key = &fixture.key;
                    scope.spawn(move || registry::publish(registry_dir, dir, key, &PublishOptions::default()))
                })
                .collect();
            for handle in handles {
                handle.join().expect("the thread did not panic").expect("every publish succeeds");
            }
        });
        let snapshot = fixture.snapshot();
        assert_eq!(snapshot.version, 1 + publishes as u64);
        let mut total = 0;
        for name in ["alpha", "beta"] {
            let index = registry::verify_remote_index(
                &snapshot.remotes[name],
                name,
                &fixture.read(&registry::remote_index_path(name)),
                &limits(),
            )
            .expect("each index matches the final snapshot");
            assert_eq!(index.versions.len(), 4, "{name}: {:?}", index.versions);
            total += index.versions.len();
        }
        assert_eq!(total, publishes);
    }
}

mod transport {
    use super::*;
    use test_support::{Fault, RegistryServer};

    fn client(source: &str, options: ClientOptions) -> RegistryClient {
        RegistryClient::new(RegistrySource::parse(source).expect("a source"), options).expect("a client")
    }

    /// The same as `client`, for tests where a local variable shadows it.
    fn client_for(source: &str, options: ClientOptions) -> RegistryClient {
        client(source, options)
    }

    fn quick() -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(1),
            read_idle_timeout: Duration::from_secs(1),
            limits: Limits::default(),
        }
    }

    /// A registry with one remote, served over loopback HTTP.
    async fn served() -> (Fixture, RegistryServer, registry::FileEntry) {
        let fixture = Fixture::new();
        fixture.publish("alpha", "1.0.0", &[("assets/app.js", &[7u8; 10_000])]);
        let server = RegistryServer::start(fixture.dir()).await.expect("start the server");
        let snapshot = fixture.snapshot();
        let index = registry::verify_remote_index(
            &snapshot.remotes["alpha"],
            "alpha",
            &fixture.read("remotes/alpha.json"),
            &limits(),
        )
        .expect("index");
        let blob = index.versions[0].files.iter().find(|file| file.path == "assets/app.js").expect("the asset").clone();
        (fixture, server, blob)
    }

    #[test]
    fn sources_parse_or_are_refused_with_a_reason() {
        let cases: &[(&str, Option<&str>)] = &[
            ("file:///srv/registry", Some("file:///srv/registry/")),
            ("/srv/registry", Some("file:///srv/registry/")),
            ("http://127.0.0.1:8080/reg", Some("http://127.0.0.1:8080/reg/")),
            ("HTTPS://example.com", Some("https://example.com/")),
            ("ftp://example.com/reg", None),
            ("s3://bucket/reg", None),
            ("https://user:secret@example.com/", None),
            ("https://example.com/?token=1", None),
            ("", None),
        ];
        for (input, expected) in cases {
            let parsed = RegistrySource::parse(input);
            match (expected, parsed) {
                (Some(display), Ok(source)) => assert_eq!(source.to_string(), *display, "{input}"),
                (None, Err(RegistryError::UnsupportedSource { .. })) => {}
                (expected, got) => panic!("{input:?}: expected {expected:?}, got {got:?}"),
            }
        }
        let relative = RegistrySource::parse("some/relative").expect("a relative path");
        assert!(matches!(relative, RegistrySource::Folder(ref path) if path.is_absolute()), "{relative:?}");
    }

    #[tokio::test]
    async fn a_second_fetch_with_the_etag_is_answered_304() {
        let (_fixture, server, _) = served().await;
        let client = client(&server.url(), ClientOptions::default());
        let first =
            client.fetch_document("snapshot.json", registry::MAX_SNAPSHOT_BYTES, None).await.expect("first fetch");
        let Fetched::Body { etag: Some(etag), bytes } = first else {
            panic!("expected a body with an ETag, got {first:?}")
        };
        assert!(!bytes.is_empty());
        let second =
            client.fetch_document("snapshot.json", registry::MAX_SNAPSHOT_BYTES, Some(&etag)).await.expect("second");
        assert_eq!(second, Fetched::NotModified);

        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!((requests[0].if_none_match.as_deref(), requests[0].status), (None, Some(200)));
        assert_eq!((requests[1].if_none_match.as_deref(), requests[1].status), (Some(etag.as_str()), Some(304)));
    }

    #[tokio::test]
    async fn a_full_refresh_then_a_no_change_refresh_sends_only_conditional_requests() {
        let (fixture, server, _) = served().await;
        let client = client(&server.url(), ClientOptions::default());
        let anchor = TrustAnchor::Key(fixture.key.public_key());

        let Refresh::Updated { value: root, etag: root_etag, .. } =
            client.refresh_root(&anchor, None, now()).await.expect("root")
        else {
            panic!("a first fetch has a body");
        };
        let Refresh::Updated { value: check, etag: snapshot_etag, .. } =
            client.fetch_snapshot(&root, None, None, now()).await.expect("snapshot")
        else {
            panic!("a first fetch has a body");
        };
        let snapshot = check.into_snapshot();
        let (index, _) = client.fetch_remote_index("alpha", &snapshot.remotes["alpha"]).await.expect("index");
        for file in &index.versions[0].files {
            let blob = client.fetch_blob(&file.sha256, file.length).await.expect("blob");
            assert_eq!(blob.len() as u64, file.length);
        }

        server.clear_requests();
        let trusted = TrustAnchor::Root(root.clone());
        let again = client.refresh_root(&trusted, root_etag.as_deref(), now()).await.expect("root again");
        assert_eq!(again, Refresh::NotModified);
        let again =
            client.fetch_snapshot(&root, Some(snapshot.version), snapshot_etag.as_deref(), now()).await.expect("again");
        assert_eq!(again, Refresh::NotModified);
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert!(requests.iter().all(|r| r.if_none_match.is_some() && r.status == Some(304)), "{requests:?}");
    }

    #[tokio::test]
    async fn a_client_walks_root_rotations_over_http() {
        let (fixture, server, _) = served().await;
        let client = client(&server.url(), ClientOptions::default());
        let first = fixture.root();
        let (second_key, third_key) = (key(20), key(30));
        registry::rotate_root(&fixture.dir(), &fixture.key, &second_key, &second_key, Expiry::default())
            .expect("rotate to 2");
        registry::rotate_root(&fixture.dir(), &second_key, &third_key, &third_key, Expiry::default())
            .expect("rotate to 3");

        let refreshed = client.refresh_root(&TrustAnchor::Root(first), None, now()).await.expect("chains to 3");
        let Refresh::Updated { value: root, .. } = refreshed else { panic!("expected a new root") };
        assert_eq!(root.version, 3);
        assert_eq!(root.roles.snapshot.keyids, vec![third_key.key_id()]);
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["root.json", "roots/2.root.json", "roots/3.root.json"]);
        let check = client.fetch_snapshot(&root, None, None, now()).await.expect("snapshot under the new root");
        assert!(matches!(check, Refresh::Updated { value: SnapshotCheck::Fresh(_), .. }));
    }

    #[tokio::test]
    async fn a_client_given_a_rotated_out_key_walks_from_the_first_root() {
        let (fixture, server, _) = served().await;
        let client = client(&server.url(), ClientOptions::default());
        let (second_key, third_key) = (key(21), key(31));
        registry::rotate_root(&fixture.dir(), &fixture.key, &second_key, &second_key, Expiry::default())
            .expect("rotate to 2");
        registry::rotate_root(&fixture.dir(), &second_key, &third_key, &third_key, Expiry::default())
            .expect("rotate to 3");

        // A desktop configured with the first key before the rotations (first
        // contact now) follows the chain that key starts.
        let anchor = TrustAnchor::Key(fixture.key.public_key());
        let refreshed = client.refresh_root(&anchor, None, now()).await.expect("chains from root 1 to 3");
        let Refresh::Updated { value: root, .. } = refreshed else { panic!("expected a root") };
        assert_eq!(root.version, 3);
        assert_eq!(root.roles.root.keyids, vec![third_key.key_id()]);
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["root.json", "roots/1.root.json", "roots/2.root.json", "roots/3.root.json"]);

        // A key that never signed root 1 gains nothing from the walk.
        let stranger = TrustAnchor::Key(key(77).public_key());
        let result = client.refresh_root(&stranger, None, now()).await;
        assert!(matches!(result, Err(RegistryError::AnchorKeyNotInRoot { .. })), "got {result:?}");
    }

    #[tokio::test]
    async fn a_stalled_server_times_out_instead_of_hanging() {
        let (_fixture, server, blob) = served().await;
        server.set_fault(&registry::blob_path(&blob.sha256), Fault::Stall);
        let client = client(&server.url(), quick());
        let started = std::time::Instant::now();
        let result = client.fetch_blob(&blob.sha256, blob.length).await;
        let elapsed = started.elapsed();
        assert!(matches!(result, Err(RegistryError::Timeout { .. })), "got {result:?}");
        assert!(result.as_ref().is_err_and(RegistryError::is_network));
        assert!(elapsed < Duration::from_secs(5), "the 1 s timeout took {elapsed:?}");
        assert!(elapsed >= Duration::from_millis(900), "it should have waited for the timeout, took {elapsed:?}");
    }

    #[tokio::test]
    async fn more_bytes_than_declared_are_refused() {
        let (_fixture, server, blob) = served().await;
        let path = registry::blob_path(&blob.sha256);
        let client = client(&server.url(), quick());
        for fault in [Fault::ExtraBytes(1), Fault::ExtraBytes(100_000), Fault::ExtraBytesWithLength(1)] {
            server.set_fault(&path, fault.clone());
            let result = client.fetch_blob(&blob.sha256, blob.length).await;
            match result {
                Err(error @ RegistryError::LongerThanDeclared { declared, .. }) => {
                    assert_eq!(declared, blob.length);
                    assert!(error.to_string().contains("more than the declared"), "{error}");
                }
                other => panic!("{fault:?}: expected LongerThanDeclared, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn truncated_and_cut_off_bodies_are_refused() {
        let (_fixture, server, blob) = served().await;
        let path = registry::blob_path(&blob.sha256);
        let client = client(&server.url(), quick());

        server.set_fault(&path, Fault::Truncate(100));
        let result = client.fetch_blob(&blob.sha256, blob.length).await;
        assert!(matches!(result, Err(RegistryError::LengthMismatch { actual: 100, .. })), "got {result:?}");

        server.set_fault(&path, Fault::CutOff(100));
        let result = client.fetch_blob(&blob.sha256, blob.length).await;
        assert!(matches!(result, Err(RegistryError::Transfer { .. })), "got {result:?}");
    }

    #[tokio::test]
    async fn a_changed_blob_is_refused() {
        let (fixture, server, blob) = served().await;
        let path = registry::blob_path(&blob.sha256);
        let mut bytes = fixture.read(&path);
        bytes[0] ^= 1;
        fixture.write(&path, &bytes);
        let result = client(&server.url(), quick()).fetch_blob(&blob.sha256, blob.length).await;
        assert!(matches!(result, Err(RegistryError::HashMismatch { .. })), "got {result:?}");
    }

    #[tokio::test]
    async fn an_oversize_document_is_refused_with_or_without_a_content_length() {
        let (fixture, server, _) = served().await;
        let client = client(&server.url(), quick());
        let result = client.fetch_document("snapshot.json", 16, None).await;
        assert!(
            matches!(result, Err(RegistryError::TooLarge { limit: 16, size: Some(_), .. })),
            "announced: {result:?}"
        );

        // Chunked, so the limit is only caught while counting.
        server.set_fault("snapshot.json", Fault::ExtraBytes(0));
        let result = client.fetch_document("snapshot.json", 16, None).await;
        assert!(matches!(result, Err(RegistryError::TooLarge { limit: 16, size: None, .. })), "counted: {result:?}");

        let file = client_for(&fixture.dir().display().to_string(), quick());
        let result = file.fetch_document("snapshot.json", 16, None).await;
        assert!(matches!(result, Err(RegistryError::TooLarge { limit: 16, .. })), "file: {result:?}");
    }

    #[tokio::test]
    async fn an_index_from_an_older_snapshot_is_refused() {
        let (fixture, server, _) = served().await;
        let old_index = fixture.read("remotes/alpha.json");
        fixture.publish("alpha", "1.1.0", &[]);
        // A mirror serving the new snapshot with the old index.
        fixture.write("remotes/alpha.json", &old_index);
        let client = client(&server.url(), quick());
        let snapshot = fixture.snapshot();
        let result = client.fetch_remote_index("alpha", &snapshot.remotes["alpha"]).await;
        match result {
            Err(error @ (RegistryError::HashMismatch { .. } | RegistryError::LengthMismatch { .. })) => {
                assert!(error.to_string().contains(&server.url()), "the error names the URL: {error}");
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn file_and_http_sources_give_identical_documents() {
        let (fixture, server, blob) = served().await;
        let over_http = client(&server.url(), ClientOptions::default());
        let from_folder = client(&format!("file://{}", fixture.dir().display()), ClientOptions::default());
        let from_path = client(&fixture.dir().display().to_string(), ClientOptions::default());
        for path in ["root.json", "roots/1.root.json", "snapshot.json", "remotes/alpha.json"] {
            let mut bodies = Vec::new();
            for client in [&over_http, &from_folder, &from_path] {
                match client.fetch_document(path, registry::MAX_REMOTE_INDEX_BYTES, None).await.expect("fetch") {
                    Fetched::Body { bytes, .. } => bodies.push(bytes),
                    Fetched::NotModified => panic!("an unconditional fetch has a body"),
                }
            }
            assert_eq!(bodies[0], bodies[1], "{path}");
            assert_eq!(bodies[0], bodies[2], "{path}");
            assert_eq!(&bodies[0][..], &fixture.read(path)[..], "{path}");
        }
        let http_blob = over_http.fetch_blob(&blob.sha256, blob.length).await.expect("http blob");
        let file_blob = from_folder.fetch_blob(&blob.sha256, blob.length).await.expect("file blob");
        assert_eq!(http_blob, file_blob);
    }

    #[tokio::test]
    async fn missing_files_failing_servers_and_offline_hosts_are_told_apart() {
        let (fixture, server, _) = served().await;
        let client = client(&server.url(), quick());

        let missing = client.fetch_document("remotes/nope.json", 1024, None).await;
        assert!(
            matches!(missing, Err(RegistryError::NotFound { ref url }) if url.ends_with("remotes/nope.json")),
            "{missing:?}"
        );
        let folder = client_for(&fixture.dir().display().to_string(), quick());
        let missing = folder.fetch_document("remotes/nope.json", 1024, None).await;
        assert!(matches!(missing, Err(RegistryError::NotFound { .. })), "{missing:?}");

        server.set_fault("snapshot.json", Fault::Status(503));
        let failing = client.fetch_document("snapshot.json", 1 << 20, None).await;
        assert!(matches!(failing, Err(RegistryError::HttpStatus { status: 503, .. })), "{failing:?}");

        server.set_fault("snapshot.json", Fault::Offline);
        let dropped = client.fetch_document("snapshot.json", 1 << 20, None).await;
        assert!(dropped.as_ref().is_err_and(RegistryError::is_network), "{dropped:?}");

        server.clear_faults();
        server.go_offline().await;
        let offline = client.fetch_document("snapshot.json", 1 << 20, None).await;
        assert!(matches!(offline, Err(RegistryError::Unreachable { .. })), "{offline:?}");
        server.go_online().await.expect("listen again");
        assert!(client.fetch_document("snapshot.json", 1 << 20, None).await.is_ok(), "back online");
    }

    #[tokio::test]
    async fn a_stale_registry_over_http_is_reported_expired() {
        let (fixture, server, _) = served().await;
        let mut snapshot = fixture.snapshot();
        snapshot.version += 1;
        snapshot.expires = Timestamp::from_second(1_600_000_000).expect("2020");
        fixture.write("snapshot.json", &sign_snapshot(&snapshot, &[&fixture.key]));
        let client = client(&server.url(), quick());
        let refreshed = client.fetch_snapshot(&fixture.root(), Some(2), None, now()).await.expect("verified");
        assert!(matches!(refreshed, Refresh::Updated { value: SnapshotCheck::Expired(_), .. }), "{refreshed:?}");
    }

    /// Every chunk of a blob download, or the first error.
    async fn drain(client: &RegistryClient, blob: &registry::FileEntry) -> Result<Vec<u8>, RegistryError> {
        let mut download = client.open_blob(&blob.sha256, blob.length).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = download.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    #[tokio::test]
    async fn a_streamed_blob_arrives_whole_from_a_server_and_a_folder() {
        let (fixture, server, blob) = served().await;
        let expected = fixture.read(&registry::blob_path(&blob.sha256));
        for source in [server.url(), fixture.dir().display().to_string()] {
            let bytes = drain(&client(&source, quick()), &blob).await.expect("the blob streams");
            assert_eq!(bytes, expected, "from {source}");
        }
    }

    #[tokio::test]
    async fn a_streamed_blob_of_the_wrong_length_is_refused() {
        let (fixture, server, blob) = served().await;
        let path = registry::blob_path(&blob.sha256);
        let http = client(&server.url(), quick());
        server.set_fault(&path, Fault::ExtraBytes(100));
        let result = drain(&http, &blob).await;
        assert!(matches!(result, Err(RegistryError::LongerThanDeclared { .. })), "got {result:?}");
        server.set_fault(&path, Fault::Truncate(100));
        let result = drain(&http, &blob).await;
        assert!(matches!(result, Err(RegistryError::LengthMismatch { actual: 100, .. })), "got {result:?}");
        server.set_fault(&path, Fault::Stall);
        let result = drain(&http, &blob).await;
        assert!(matches!(result, Err(RegistryError::Timeout { .. })), "got {result:?}");

        let mut bytes = fixture.read(&path);
        bytes.truncate(100);
        fixture.write(&path, &bytes);
        let result = drain(&client(&fixture.dir().display().to_string(), quick()), &blob).await;
        assert!(matches!(result, Err(RegistryError::LengthMismatch { actual: 100, .. })), "got {result:?}");
    }
}
