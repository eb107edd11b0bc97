//! The registry over loopback HTTP: conditional requests, faults, timeouts, offline.

use std::time::{Duration, Instant};

use integration_tests::{Sandbox, chosen, describe, json, make_remote};
use test_support::{Fault, RegistryServer};

struct Served {
    sandbox: Sandbox,
    server: RegistryServer,
    runtime: tokio::runtime::Runtime,
}

impl Served {
    /// A sandbox registry with `remotes` (name, files) published, served over loopback HTTP.
    fn new(remotes: &[(&str, usize)]) -> Self {
        let sandbox = Sandbox::new();
        let work = sandbox.path().join("remotes");
        for (name, files) in remotes {
            assert!(sandbox.publish(&make_remote(&work, name, "1.0.0", "^1", *files, 8192)).status.success());
        }
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(RegistryServer::start(sandbox.registry())).unwrap();
        Self { sandbox, server, runtime }
    }

    fn resolve(&self, extra: &[&str]) -> std::process::Output {
        let args = self.sandbox.resolve_args(&self.server.url(), extra);
        self.sandbox.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

#[test]
fn a_second_resolve_with_nothing_changed_is_two_conditional_requests_answered_304() {
    let served = Served::new(&[("alpha", 2), ("beta", 2), ("gamma", 1)]);
    let first = served.resolve(&[]);
    assert!(first.status.success(), "{}", describe(&first));
    served.server.clear_requests();

    let second = served.resolve(&[]);
    assert!(second.status.success(), "{}", describe(&second));
    let report = json(&second);
    assert_eq!(report["registry"]["state"], "online");
    assert_eq!(chosen(&report).len(), 3);
    let requests = served.server.requests();
    let mut paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    // Both go out at once, so they may arrive in either order.
    paths.sort_unstable();
    assert_eq!(paths, ["root.json", "snapshot.json"], "only the two signed documents are checked");
    for request in &requests {
        assert!(request.if_none_match.is_some(), "{} was not conditional", request.path);
        assert_eq!(request.status, Some(304), "{} was not answered 304", request.path);
    }
}

#[test]
fn offline_mode_makes_no_request_and_an_unreachable_server_falls_back_to_the_cache() {
    let served = Served::new(&[("alpha", 2)]);
    assert!(served.resolve(&[]).status.success());
    served.server.clear_requests();

    let offline = served.resolve(&["--offline"]);
    assert!(offline.status.success(), "{}", describe(&offline));
    assert_eq!(chosen(&json(&offline)), [("alpha".to_owned(), "1.0.0".to_owned())]);
    assert!(served.server.requests().is_empty(), "--offline sent {:?}", served.server.requests());

    served.runtime.block_on(served.server.go_offline());
    let probe = served.resolve(&["--timeout", "5"]);
    assert!(probe.status.success(), "{}", describe(&probe));
    let report = json(&probe);
    assert_eq!(report["registry"]["state"], "offline", "{report}");
    assert_eq!(chosen(&report), [("alpha".to_owned(), "1.0.0".to_owned())]);
}

#[test]
fn a_response_longer_than_declared_is_refused() {
    let served = Served::new(&[("alpha", 1)]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(served.sandbox.registry().join("remotes/alpha.json")).unwrap()).unwrap();
    for file in index["versions"][0]["files"].as_array().unwrap() {
        let path = format!("blobs/sha256/{}", file["sha256"].as_str().unwrap());
        served.server.set_fault(&path, Fault::ExtraBytes(4096));
    }
    let out = served.resolve(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(integration_tests::text(&out).contains("declared"), "{}", describe(&out));
    assert!(served.sandbox.cached_versions().is_empty());
}

#[test]
fn a_stalled_server_times_out_instead_of_hanging() {
    let served = Served::new(&[("alpha", 1)]);
    served.server.set_fault("snapshot.json", Fault::Stall);
    let started = Instant::now();
    let out = served.resolve(&["--timeout", "1"]);
    let elapsed = started.elapsed();
    // Nothing is cached, so the timeout surfaces as "unreachable" (exit 5).
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(integration_tests::text(&out).contains("did not answer completely within"), "{}", describe(&out));
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}: the timeout did not bound the request");
}
