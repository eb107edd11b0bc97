//! Several processes resolving and installing into one cache at once.

use std::process::{Command, Stdio};

use integration_tests::{Sandbox, augment_bin, describe, make_remote};

#[test]
fn four_processes_install_into_one_cache() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    for round in 0..3 {
        for name in ["alpha", "beta", "gamma", "delta"] {
            let out = sandbox.publish(&make_remote(&work, name, &format!("1.{round}.0"), "^1", 8, 32 * 1024));
            assert!(out.status.success(), "{}", describe(&out));
        }
        let registry = sandbox.registry();
        let args = sandbox.resolve_args(registry.to_str().unwrap(), &[]);
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(augment_bin()).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", describe(&out));
        }
        let cache = cache::BundleCache::open(&sandbox.cache()).unwrap();
        let report = cache.verify().unwrap();
        assert!(report.is_clean() && report.integrity_ok(), "round {round}: {report:?}");
        let active = cache.active_all().unwrap();
        assert_eq!(active.len(), 4);
        assert!(active.values().all(|v| *v == format!("1.{round}.0")), "{active:?}");
    }
}
