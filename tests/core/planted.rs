//! Issue 20, point 2: the cache holds one copy of each `name@version`, and a
//! copy is present only when its files are the ones the resolving registry
//! lists. Another registry cannot plant its code under a trusted registry's
//! remote, and `cache verify` compares each version with the signed metadata
//! of the registry it came from.

use std::path::Path;

use integration_tests::{Sandbox, describe, json, make_remote};
use serde_json::Value;

/// `augment --json resolve` of `registry`'s folder into `cache`, trusting its key.
fn resolve_from(registry: &Sandbox, cache: &Path) -> Value {
    let out = registry.ok(&[
        "--json",
        "resolve",
        "--registry",
        registry.registry().to_str().unwrap(),
        "--trust",
        registry.public_key().to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    json(&out)
}

fn outcome<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["remotes"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{report}"))
}

/// The bytes the `mfe` scheme would serve for a file of an installed version.
fn served(cache: &Path, name: &str, version: &str, path: &str) -> Vec<u8> {
    let cache = cache::BundleCache::open(cache).unwrap();
    let (blob, _) = cache.file_path(name, version, path).unwrap().expect("file installed");
    std::fs::read(blob).unwrap()
}

/// `alpha 1.1.0` published to `sandbox`'s registry with `entry` as its entry file.
fn publish_alpha(sandbox: &Sandbox, entry: &str) {
    let dir = make_remote(&sandbox.path().join("remotes"), "alpha", "1.1.0", "^1", 1, 256);
    std::fs::write(dir.join("remoteEntry.js"), entry).unwrap();
    let out = sandbox.publish(&dir);
    assert!(out.status.success(), "{}", describe(&out));
}

const TRUSTED: &str = "export const from = 'the team registry';\n";
const PLANTED: &str = "export const from = 'somebody else';\n";

#[test]
fn point_2_another_registrys_alpha_1_1_0_is_replaced_by_the_trusted_registrys() {
    let (trusted, other) = (Sandbox::new(), Sandbox::new());
    publish_alpha(&trusted, TRUSTED);
    publish_alpha(&other, PLANTED);
    let cache = trusted.cache();

    let planted = resolve_from(&other, &cache);
    assert_eq!(outcome(&planted, "alpha")["verdict"], "installed", "{planted}");
    assert_eq!(served(&cache, "alpha", "1.1.0", "remoteEntry.js"), PLANTED.as_bytes());

    let report = resolve_from(&trusted, &cache);
    let alpha = outcome(&report, "alpha");
    assert_eq!(alpha["version"], "1.1.0", "{report}");
    assert_eq!(alpha["verdict"], "installed", "the other registry's copy is not the trusted one's: {report}");
    assert_eq!(served(&cache, "alpha", "1.1.0", "remoteEntry.js"), TRUSTED.as_bytes(), "the trusted bytes are served");
    let list = json(&trusted.ok(&["--json", "cache", "list", "--cache-dir", cache.to_str().unwrap()]));
    let installed = &list["versions"].as_array().unwrap()[0];
    let from = installed["registry"].as_str().unwrap_or_default();
    assert!(from.contains(trusted.registry().to_str().unwrap()), "{list}");

    // A second resolve finds the trusted copy present: nothing to download.
    let again = resolve_from(&trusted, &cache);
    assert_eq!(outcome(&again, "alpha")["verdict"], "cached", "{again}");
    let verify = json(&trusted.ok(&["--json", "cache", "verify", "--cache-dir", cache.to_str().unwrap()]));
    assert_eq!(verify["sources"]["matched"], 1, "{verify}");
}

#[test]
fn point_2_a_later_registry_never_replaces_the_copy_of_one_that_takes_precedence() {
    let (team, mirror) = (Sandbox::new(), Sandbox::new());
    publish_alpha(&team, TRUSTED);
    publish_alpha(&mirror, PLANTED);
    let cache_dir = team.cache();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cache = cache::BundleCache::open(&cache_dir).unwrap();
    let request = |registry: &Sandbox, yields_to: Vec<String>| {
        let mut request = api::ResolveRequest::new(
            Some(registry.registry().to_string_lossy().into_owned()),
            manifest::HostProfile::builtin(),
        );
        request.trust = Some(registry.public_key().to_string_lossy().into_owned());
        request.yields_to = yields_to;
        request
    };

    // The shell's order: the team registry first, then the mirror, which yields to it.
    let team_report = runtime.block_on(api::resolve(&cache, &request(&team, vec![]), &api::NoProgress)).unwrap();
    assert_eq!(team_report.remotes[0].version.as_deref(), Some("1.1.0"));
    let yields_to = vec![team.registry().to_string_lossy().into_owned()];
    let mirror_report = runtime.block_on(api::resolve(&cache, &request(&mirror, yields_to), &api::NoProgress)).unwrap();

    let alpha = &mirror_report.remotes[0];
    assert_eq!(alpha.version, None, "the mirror's only alpha is shadowed: {mirror_report:?}");
    let reason = alpha.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("takes precedence"), "{reason}");
    assert_eq!(mirror_report.registry.status.state, api::RegistryState::Online, "a shadowed version is no failure");
    assert_eq!(served(&cache_dir, "alpha", "1.1.0", "remoteEntry.js"), TRUSTED.as_bytes());
}

#[test]
fn point_2_cache_verify_compares_each_version_with_its_registrys_metadata() {
    let sandbox = Sandbox::new();
    let dir = make_remote(&sandbox.path().join("remotes"), "alpha", "1.0.0", "^1", 1, 256);
    assert!(sandbox.publish(&dir).status.success());
    let report = json(&sandbox.resolve(&[]));
    assert_eq!(outcome(&report, "alpha")["verdict"], "installed", "{report}");
    let cache_dir = sandbox.cache();
    let verify_args = ["--json", "cache", "verify", "--cache-dir", cache_dir.to_str().unwrap()];
    assert_eq!(json(&sandbox.ok(&verify_args))["sources"]["matched"], 1);

    // Point the entry file at another blob of the cache: every blob still
    // matches its own hash, but the version is no longer what was signed.
    let db = rusqlite::Connection::open(cache_dir.join("index.sqlite")).unwrap();
    let changed = db
        .execute(
            "UPDATE files SET (sha256, length) =
                 (SELECT sha256, length FROM files WHERE path = 'assets/chunk-0.js')
             WHERE path = 'remoteEntry.js'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);

    let out = sandbox.run(&verify_args);
    assert_eq!(out.status.code(), Some(6), "a version that differs from its metadata is damage: {}", describe(&out));
    let verify = json(&out);
    assert!(verify["problems"].as_array().unwrap().is_empty(), "the blobs themselves are whole: {verify}");
    let mismatched = &verify["sources"]["mismatched"][0];
    assert_eq!(mismatched["name"], "alpha", "{verify}");
    assert!(mismatched["detail"].as_str().unwrap().contains("remoteEntry.js"), "{verify}");

    let human = sandbox.run(&["cache", "verify", "--cache-dir", cache_dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("alpha@1.0.0") && text.contains("files differ"), "{text}");
}
