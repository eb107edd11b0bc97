use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::thread;

use cache::BundleCache;

use crate::{SHARED, fresh, install};

const CHILD_ENV: &str = "CACHE_TEST_CHILD_DIR";

/// Nine versions over three remotes; versions of a remote share a library
/// blob and every version shares `SHARED`, so installers collide on blobs.
fn pool() -> Vec<(String, String)> {
    ["a", "b", "c"]
        .iter()
        .flat_map(|n| ["1.0.0", "1.1.0", "2.0.0"].iter().map(move |v| (n.to_string(), v.to_string())))
        .collect()
}

fn install_pool(cache: &BundleCache, rotate: usize) {
    let mut versions = pool();
    let len = versions.len();
    versions.rotate_left(rotate % len);
    for (name, version) in versions {
        let own = format!("{name}@{version} entry");
        let lib = format!("{name} library");
        install(
            cache,
            &name,
            &version,
            &[("remoteEntry.js", own.as_bytes()), ("lib.js", lib.as_bytes()), ("shared.js", SHARED)],
        );
        cache.set_active(&name, &version).unwrap();
    }
}

fn assert_pool_installed_and_sound(dir: &Path) {
    let cache = BundleCache::open(dir).unwrap();
    let got: Vec<_> = cache.versions().unwrap().into_iter().map(|v| (v.name, v.version)).collect();
    let mut want = pool();
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want, "every version installed exactly once");
    let report = cache.verify().unwrap();
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.integrity, ["ok"]);
    assert_eq!(report.blobs_checked, 9 + 3 + 1);
    assert_eq!(cache.active_all().unwrap().len(), 3);
}

#[test]
fn threads_and_separate_instances_install_overlapping_versions_at_once() {
    let (dir, shared_instance) = fresh();
    let separate = 3;
    let sharing = 2;
    let barrier = Barrier::new(separate + sharing);
    thread::scope(|s| {
        for i in 0..separate {
            let (barrier, dir) = (&barrier, dir.path());
            s.spawn(move || {
                let own = BundleCache::open(dir).unwrap();
                barrier.wait();
                install_pool(&own, i * 2);
            });
        }
        for i in 0..sharing {
            let (barrier, cache) = (&barrier, &shared_instance);
            s.spawn(move || {
                barrier.wait();
                install_pool(cache, i * 3 + 1);
            });
        }
    });
    assert_pool_installed_and_sound(dir.path());
}

#[test]
fn many_openers_of_a_fresh_directory_agree_on_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let openers = 6;
    let barrier = Barrier::new(openers);
    thread::scope(|s| {
        for i in 0..openers {
            let (barrier, dir) = (&barrier, dir.path());
            s.spawn(move || {
                barrier.wait();
                let cache = BundleCache::open(dir).unwrap();
                cache.pin(&format!("r{i}"), "1.0.0").unwrap();
            });
        }
    });
    let cache = BundleCache::open(dir.path()).unwrap();
    assert_eq!(cache.pins().unwrap().len(), openers, "every opener could write");
}

/// Installs from separate processes (this test binary re-run as children)
/// while threads of this process install too.
#[test]
fn separate_processes_install_overlapping_versions_at_once() {
    let (dir, _cache) = fresh();
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = (0..2)
        .map(|i| {
            Command::new(&exe)
                .args(["concurrency::child_process_installer", "--exact", "--ignored", "--nocapture"])
                .env(CHILD_ENV, dir.path())
                .env("CACHE_TEST_CHILD_ROTATE", (i * 4 + 2).to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Wait until each child has opened the cache, then release everyone at once.
    let mut outputs = Vec::new();
    for child in &mut children {
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "child exited before it was ready: {seen}");
            seen.push_str(&line);
            if line.trim() == "ready" {
                break;
            }
        }
        outputs.push((stdout, seen));
    }
    let barrier = Barrier::new(3);
    thread::scope(|s| {
        for i in 0..2 {
            let (barrier, dir) = (&barrier, dir.path());
            s.spawn(move || {
                let own = BundleCache::open(dir).unwrap();
                barrier.wait();
                install_pool(&own, i * 5);
            });
        }
        barrier.wait();
        for child in &mut children {
            child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
        }
    });
    for (child, (mut stdout, mut seen)) in children.into_iter().zip(outputs) {
        std::io::Read::read_to_string(&mut stdout, &mut seen).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{seen}\n{stderr}");
        assert!(seen.contains("1 passed"), "the child really ran the installer:\n{seen}");
    }
    assert_pool_installed_and_sound(dir.path());
}

/// The child side of `separate_processes_install_overlapping_versions_at_once`;
/// ignored so it only runs when that test starts it.
#[test]
#[ignore = "started as a child process by separate_processes_install_overlapping_versions_at_once"]
fn child_process_installer() {
    let dir = std::env::var_os(CHILD_ENV).expect("run only as a child of the multi-process test");
    let rotate: usize = std::env::var("CACHE_TEST_CHILD_ROTATE").unwrap().parse().unwrap();
    let cache = BundleCache::open(Path::new(&dir)).unwrap();
    println!("ready");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");
    install_pool(&cache, rotate);
    assert_eq!(cache.versions().unwrap().len(), 9, "at least this child installed the whole pool");
}
