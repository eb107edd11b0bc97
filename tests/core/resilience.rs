//! A registry that fails, lies or attacks never blanks the workspace: after
//! each fault every cached version is still selected, the registry's state
//! and reason are reported (`registry.state`, `registry.reason`,
//! `registry.lastVerifiedAt`), refusals keep exit code 3, and once the
//! registry behaves again the next resolve updates normally (nothing the
//! client trusts was changed by the bad answer).

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use integration_tests::{Sandbox, chosen, describe, json, make_remote, read_snapshot};
use registry::author::documents;
use serde_json::Value;
use test_support::{Fault, RegistryServer};

const REMOTES: [&str; 3] = ["alpha", "beta", "gamma"];

/// Three remotes at 1.0.0 verified and cached over loopback HTTP, then 1.1.0
/// of each published: the next healthy resolve installs all three.
struct Fixture {
    sandbox: Sandbox,
    server: RegistryServer,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Self::with_versions(&["1.0.0"]);
        let first = fixture.resolve(&[]);
        assert!(first.status.success(), "{}", describe(&first));
        assert_eq!(chosen(&json(&first)), at("1.0.0"));
        fixture.publish("1.1.0");
        fixture
    }

    fn with_versions(versions: &[&str]) -> Self {
        let sandbox = Sandbox::new();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(RegistryServer::start(sandbox.registry())).unwrap();
        let fixture = Self { sandbox, server, runtime };
        for version in versions {
            fixture.publish(version);
        }
        fixture
    }

    fn publish(&self, version: &str) {
        let work = self.sandbox.path().join("remotes");
        for name in REMOTES {
            let out = self.sandbox.publish(&make_remote(&work, name, version, "^1", 2, 4096));
            assert!(out.status.success(), "{}", describe(&out));
        }
    }

    fn resolve(&self, extra: &[&str]) -> Output {
        let mut extra = extra.to_vec();
        extra.extend(["--timeout", "2"]);
        let args = self.sandbox.resolve_args(&self.server.url(), &extra);
        self.sandbox.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn file(&self, path: &str) -> PathBuf {
        self.sandbox.registry().join(path)
    }

    /// Replaces a registry file for the duration of `check`, then puts it back.
    fn with_file(&self, path: &str, bytes: &[u8], check: impl FnOnce()) {
        let original = std::fs::read(self.file(path)).unwrap();
        std::fs::write(self.file(path), bytes).unwrap();
        check();
        std::fs::write(self.file(path), original).unwrap();
    }

    /// The registry behaves again: the next resolve is online and updates everything.
    fn recovers(&self) {
        self.server.clear_faults();
        let out = self.resolve(&[]);
        assert!(out.status.success(), "{}", describe(&out));
        let report = json(&out);
        assert_eq!(report["registry"]["state"], "online", "{report}");
        assert_eq!(chosen(&report), at("1.1.0"), "{report}");
    }

    fn signing_key(&self) -> registry::SigningKey {
        registry::SigningKey::read_pem_file(&self.sandbox.key()).unwrap()
    }

    fn snapshot(&self) -> registry::Snapshot {
        read_snapshot(&self.sandbox.registry())
    }
}

fn at(version: &str) -> Vec<(String, String)> {
    REMOTES.iter().map(|name| ((*name).to_owned(), version.to_owned())).collect()
}

/// The cache served what it had: `expected` selected, the registry reported
/// as `state` with a reason mentioning `needle` and when it last verified,
/// and the exit code scripts expect (3 for a refusal, 0 otherwise).
fn assert_cache_serves(out: &Output, state: &str, needle: &str, expected: &[(String, String)]) -> Value {
    let report = json(out);
    assert_eq!(report["registry"]["state"], state, "{}", describe(out));
    let reason = report["registry"]["reason"].as_str().unwrap_or_default().to_lowercase();
    assert!(reason.contains(&needle.to_lowercase()), "the reason should mention {needle:?}: {report}");
    assert!(report["registry"]["lastVerifiedAt"].is_i64(), "says when it last verified: {report}");
    assert_eq!(chosen(&report), expected, "every cached version is still selected: {report}");
    let code = if state == "refused" { 3 } else { 0 };
    assert_eq!(out.status.code(), Some(code), "{}", describe(out));
    report
}

#[test]
fn http_errors_captive_portals_and_garbage_leave_the_cache_serving() {
    let fixture = Fixture::new();
    let cases = [
        (Fault::Status(503), "503"),
        (Fault::Status(404), "does not exist"),
        (Fault::CaptivePortal, "malformed"),
        (Fault::Garbage, "malformed"),
    ];
    for (fault, needle) in cases {
        fixture.server.set_fault_everywhere(fault.clone());
        let out = fixture.resolve(&[]);
        assert_cache_serves(&out, "stale", needle, &at("1.0.0"));
        // The human output prints the same selection.
        fixture.server.set_fault_everywhere(fault);
        let args = fixture.sandbox.resolve_args(&fixture.server.url(), &["--timeout", "2"]);
        let human = fixture.sandbox.run(&args.iter().skip(1).map(String::as_str).collect::<Vec<_>>());
        let text = String::from_utf8_lossy(&human.stdout);
        assert!(text.contains("stale") && text.contains("last verified at"), "{}", describe(&human));
        assert!(REMOTES.iter().all(|name| text.contains(name)), "{}", describe(&human));
    }
    fixture.recovers();
}

#[test]
fn a_trickling_registry_times_out_and_the_cache_serves() {
    let fixture = Fixture::new();
    fixture.server.set_fault("root.json", Fault::Trickle(Duration::from_millis(200)));
    let out = fixture.resolve(&[]);
    assert_cache_serves(&out, "stale", "did not answer completely", &at("1.0.0"));
    fixture.recovers();
}

#[test]
fn no_route_to_the_registry_is_offline_and_a_registry_that_appears_midway_is_used() {
    let fixture = Fixture::new();
    fixture.runtime.block_on(fixture.server.go_offline());
    let out = fixture.resolve(&[]);
    assert_cache_serves(&out, "offline", "could not reach", &at("1.0.0"));
    fixture.runtime.block_on(fixture.server.go_online()).unwrap();
    fixture.recovers();
}

#[test]
fn a_snapshot_signed_by_the_wrong_key_is_refused_and_the_cache_serves() {
    let fixture = Fixture::new();
    let stranger = registry::SigningKey::generate();
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let forged = documents::sign_snapshot(&documents::next_snapshot(&fixture.snapshot(), None, expires), &[&stranger]);
    fixture.with_file("snapshot.json", &forged.unwrap(), || {
        let out = fixture.resolve(&[]);
        assert_cache_serves(&out, "refused", "key", &at("1.0.0"));
        assert!(integration_tests::text(&out).contains("error: refused"), "{}", describe(&out));
    });
    fixture.recovers();
}

#[test]
fn an_expired_snapshot_is_stale_and_the_cache_serves() {
    let fixture = Fixture::new();
    let expired_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let frozen = documents::next_snapshot(&fixture.snapshot(), None, expired_at);
    let signed = documents::sign_snapshot(&frozen, &[&fixture.signing_key()]).unwrap();
    fixture.with_file("snapshot.json", &signed, || {
        assert_cache_serves(&fixture.resolve(&[]), "stale", "expired", &at("1.0.0"));
    });
    // The frozen snapshot's version is not the newest any more once a
    // healthy one is signed after it.
    fixture.publish("1.1.1");
    let out = fixture.resolve(&[]);
    assert_eq!(json(&out)["registry"]["state"], "online", "{}", describe(&out));
    assert_eq!(chosen(&json(&out)), at("1.1.1"));
}

#[test]
fn an_older_snapshot_than_one_seen_is_refused_and_the_cache_serves() {
    let fixture = Fixture::with_versions(&["1.0.0"]);
    let old: Vec<(String, Vec<u8>)> =
        ["snapshot.json", "remotes/alpha.json", "remotes/beta.json", "remotes/gamma.json"]
            .iter()
            .map(|path| ((*path).to_owned(), std::fs::read(fixture.file(path)).unwrap()))
            .collect();
    fixture.publish("1.1.0");
    assert_eq!(chosen(&json(&fixture.resolve(&[]))), at("1.1.0"));
    // A mirror now serves the older, validly signed state (a rollback attack).
    for (path, bytes) in &old {
        std::fs::write(fixture.file(path), bytes).unwrap();
    }
    assert_cache_serves(&fixture.resolve(&[]), "refused", "already seen", &at("1.1.0"));
}

#[test]
fn one_bad_index_keeps_that_remote_and_every_other_remote_still_updates() {
    let fixture = Fixture::with_versions(&["1.0.0"]);
    let old_alpha_index = std::fs::read(fixture.file("remotes/alpha.json")).unwrap();
    assert!(fixture.resolve(&[]).status.success());
    fixture.publish("1.1.0");
    // The new snapshot with alpha's old index: mix-and-match.
    fixture.with_file("remotes/alpha.json", &old_alpha_index, || {
        let out = fixture.resolve(&[]);
        let expected = vec![
            ("alpha".to_owned(), "1.0.0".to_owned()),
            ("beta".to_owned(), "1.1.0".to_owned()),
            ("gamma".to_owned(), "1.1.0".to_owned()),
        ];
        let report = assert_cache_serves(&out, "refused", "alpha", &expected);
        let alpha = &report["remotes"][0];
        assert!(alpha["reason"].as_str().unwrap().contains("keeping 1.0.0"), "{report}");
    });
    fixture.recovers();
}

/// The blob files of `name` 1.1.0 that its 1.0.0 does not share.
fn new_blobs(fixture: &Fixture, name: &str) -> Vec<String> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(fixture.file(&format!("remotes/{name}.json"))).unwrap()).unwrap();
    let digests = |v: &Value| -> Vec<String> {
        v["files"].as_array().unwrap().iter().map(|f| f["sha256"].as_str().unwrap().to_owned()).collect()
    };
    let old = digests(&index["versions"][0]);
    digests(&index["versions"][1]).into_iter().filter(|d| !old.contains(d)).collect()
}

#[test]
fn a_tampered_blob_keeps_that_remote_and_every_other_remote_still_updates() {
    let fixture = Fixture::new();
    let blob = format!("blobs/sha256/{}", new_blobs(&fixture, "alpha")[0]);
    let mut tampered = std::fs::read(fixture.file(&blob)).unwrap();
    tampered[10] ^= 0x01;
    let expected = vec![
        ("alpha".to_owned(), "1.0.0".to_owned()),
        ("beta".to_owned(), "1.1.0".to_owned()),
        ("gamma".to_owned(), "1.1.0".to_owned()),
    ];
    fixture.with_file(&blob, &tampered, || {
        let report = assert_cache_serves(&fixture.resolve(&[]), "refused", "sha256", &expected);
        assert_eq!(report["remotes"][1]["verdict"], "installed", "{report}");
    });
    fixture.recovers();
}

#[test]
fn a_blob_the_registry_fails_to_serve_keeps_that_remote_and_the_others_update() {
    let fixture = Fixture::new();
    for digest in new_blobs(&fixture, "beta") {
        fixture.server.set_fault(&format!("blobs/sha256/{digest}"), Fault::Status(503));
    }
    let expected = vec![
        ("alpha".to_owned(), "1.1.0".to_owned()),
        ("beta".to_owned(), "1.0.0".to_owned()),
        ("gamma".to_owned(), "1.1.0".to_owned()),
    ];
    assert_cache_serves(&fixture.resolve(&[]), "stale", "beta 1.1.0 could not be installed", &expected);
    fixture.recovers();
}

/// Security review point 1: a root rotation interrupted by one cut-off
/// snapshot must not leave the client on the old root with the new root's
/// validator, refusing the honest registry for good.
#[test]
fn point_1_a_key_rotation_survives_a_cut_off_snapshot() {
    let fixture = Fixture::new();
    let old_key = fixture.signing_key();
    let new_key = registry::SigningKey::generate();
    registry::rotate_root(&fixture.sandbox.registry(), &old_key, &new_key, &new_key, registry::Expiry::default())
        .unwrap();
    fixture.server.set_fault("snapshot.json", Fault::CutOff(10));
    let cut = fixture.resolve(&[]);
    assert_cache_serves(&cut, "offline", "snapshot.json", &at("1.0.0"));
    fixture.server.clear_faults();
    let out = fixture.resolve(&[]);
    assert!(out.status.success(), "the rotated registry is trusted after the blip: {}", describe(&out));
    assert_eq!(json(&out)["registry"]["state"], "online", "{}", describe(&out));
    // The old key is revoked: a snapshot it signs is refused.
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let revoked = documents::sign_snapshot(&documents::next_snapshot(&fixture.snapshot(), None, expires), &[&old_key]);
    fixture.with_file("snapshot.json", &revoked.unwrap(), || {
        assert_cache_serves(&fixture.resolve(&[]), "refused", "key", &at("1.1.0"));
    });
}

/// Security review point 3: a leaked snapshot key pushed the version far
/// beyond anything honest; rotating the root (which revokes that key)
/// re-anchors the high-water mark, so the honest registry is trusted again.
#[test]
fn point_3_a_root_rotation_re_anchors_a_snapshot_version_pushed_by_a_leaked_key() {
    let fixture = Fixture::new();
    let leaked = fixture.signing_key();
    let mut pushed = fixture.snapshot();
    pushed.version = 999;
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let forged = documents::sign_snapshot(&documents::next_snapshot(&pushed, None, expires), &[&leaked]).unwrap();
    fixture.with_file("snapshot.json", &forged, || {
        let out = fixture.resolve(&[]);
        assert_eq!(json(&out)["registry"]["snapshotVersion"], 1000, "{}", describe(&out));
    });
    // The honest snapshot is now "older than one seen".
    assert_cache_serves(&fixture.resolve(&[]), "refused", "already seen", &at("1.1.0"));
    let new_key = registry::SigningKey::generate();
    registry::rotate_root(&fixture.sandbox.registry(), &leaked, &new_key, &new_key, registry::Expiry::default())
        .unwrap();
    let out = fixture.resolve(&[]);
    assert!(out.status.success(), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["registry"]["state"], "online", "{report}");
    assert!(report["registry"]["snapshotVersion"].as_u64().unwrap() < 1000, "{report}");
}
