//! Issue 20, point 3: one resolve downloads at most its budget, indexes and
//! blobs together, whatever the registry lists; what fits still installs.

use integration_tests::{Sandbox, make_remote};

const FILE_BYTES: usize = 256 * 1024;

#[test]
fn point_3_a_resolve_downloads_at_most_its_budget_and_what_fits_still_installs() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    for name in ["alpha", "beta"] {
        assert!(sandbox.publish(&make_remote(&work, name, "1.0.0", "^1", 1, FILE_BYTES)).status.success());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cache_dir = sandbox.cache();
    let cache = cache::BundleCache::open(&cache_dir).unwrap();
    let request = |budget: Option<u64>| {
        let mut request = api::ResolveRequest::new(
            Some(sandbox.registry().to_string_lossy().into_owned()),
            manifest::HostProfile::builtin(),
        );
        request.trust = Some(sandbox.public_key().to_string_lossy().into_owned());
        request.download_budget = budget;
        request
    };

    // Room for one remote's bundle (and both indexes), not for two.
    let budget = (FILE_BYTES as u64) * 3 / 2;
    let report = runtime.block_on(api::resolve(&cache, &request(Some(budget)), &api::NoProgress)).unwrap();
    let by_name = |name: &str| report.remotes.iter().find(|r| r.name == name).unwrap();
    assert_eq!(by_name("alpha").version.as_deref(), Some("1.0.0"), "{report:?}");
    assert_eq!(by_name("beta").version, None, "{report:?}");
    let reason = by_name("beta").reason.clone().unwrap_or_default();
    assert!(reason.contains("download budget"), "{reason}");
    assert_eq!(report.registry.status.state, api::RegistryState::Refused);
    let on_disk: u64 = walk(&cache_dir.join("blobs")).iter().map(|p| p.metadata().unwrap().len()).sum();
    assert!(on_disk <= budget, "{on_disk} bytes of blobs for a budget of {budget}");

    // With the default budget, the rest installs.
    let report = runtime.block_on(api::resolve(&cache, &request(None), &api::NoProgress)).unwrap();
    assert!(report.remotes.iter().all(|r| r.version.as_deref() == Some("1.0.0")), "{report:?}");
    assert_eq!(report.registry.status.state, api::RegistryState::Online);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}
