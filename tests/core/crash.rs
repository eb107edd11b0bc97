//! SIGKILL at random points during installs: the cache must stay consistent.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{Sandbox, augment_bin, make_remote};
use rand::{Rng as _, SeedableRng as _};

const KILLS_WANTED: usize = 200;

#[test]
fn sigkill_during_install_never_leaves_a_half_visible_version() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    for name in ["alpha", "beta", "gamma"] {
        assert!(sandbox.publish(&make_remote(&work, name, "1.0.0", "^1", 16, 16 * 1024)).status.success());
    }
    let registry = sandbox.registry();
    let resolve_into = |cache: &std::path::Path| {
        let mut args = sandbox.resolve_args(registry.to_str().unwrap(), &[]);
        let at = args.iter().position(|a| a == "--cache-dir").unwrap();
        args[at + 1] = cache.to_string_lossy().into_owned();
        let mut command = Command::new(augment_bin());
        command.args(args).stdout(Stdio::null()).stderr(Stdio::null());
        command
    };

    // How long an uninterrupted install takes here; kill points spread over it.
    let started = Instant::now();
    assert!(resolve_into(&sandbox.path().join("timing-cache")).status().unwrap().success());
    let full_install = started.elapsed();

    let seed = rand::random::<u64>();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut kills, mut mid_install_kills, mut completed, mut generation) = (0, 0, 0, 0);
    // Kill points are drawn from [0, window]. The window adapts to how long
    // installs take right now on this shared machine: it shrinks when a run
    // finished before its kill point and grows when the kill landed, so about
    // half the runs are interrupted whatever the load.
    let mut window_micros = full_install.as_micros() as f64 * 1.2;
    for attempt in 0..KILLS_WANTED * 10 {
        if kills >= KILLS_WANTED {
            break;
        }
        let cache_dir = sandbox.path().join(format!("crash-cache-{generation}"));
        let delay = Duration::from_micros(rng.gen_range(0..=window_micros as u64));
        let blobs_before = walk_files(&cache_dir.join("blobs"));
        let mut child = resolve_into(&cache_dir).spawn().unwrap();
        // Aim at the install phase: wait until this run has written a blob
        // (or has already finished), then kill at a random point after that.
        let mut exited = false;
        integration_tests::wait_until(Duration::from_secs(10), || {
            exited = matches!(child.try_wait(), Ok(Some(_)));
            exited || walk_files(&cache_dir.join("blobs")) > blobs_before
        });
        // The sleep picks the random kill point; it waits for no condition.
        if !exited {
            std::thread::sleep(delay);
        }
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "attempt {attempt} (seed {seed}): an uninterrupted resolve failed");
                completed += 1;
                generation += 1;
                window_micros *= 0.8;
            }
            None => {
                child.kill().unwrap(); // SIGKILL on Unix
                child.wait().unwrap();
                kills += 1;
                window_micros *= 1.1;
            }
        }
        if !cache_dir.join("index.sqlite").exists() {
            continue;
        }
        let cache = cache::BundleCache::open(&cache_dir).unwrap();
        let report = cache.verify().unwrap();
        assert!(report.integrity_ok(), "attempt {attempt} (seed {seed}): integrity check failed: {report:?}");
        assert!(report.is_clean(), "attempt {attempt} (seed {seed}): a visible version is damaged: {report:?}");
        let versions = cache.versions().unwrap();
        for version in &versions {
            for file in &version.files {
                assert!(
                    cache.has_blob(&file.sha256, file.length),
                    "{}@{} is half visible",
                    version.name,
                    version.version
                );
            }
        }
        // Blobs on disk but fewer than three versions visible: the kill landed mid-install.
        let blobs_written = walk_files(&cache_dir.join("blobs")) > 0;
        if blobs_written && versions.len() < 3 {
            mid_install_kills += 1;
        }
    }
    eprintln!(
        "{kills} kills ({mid_install_kills} after blobs were written), {completed} completed installs, seed {seed}"
    );
    assert!(kills >= KILLS_WANTED, "only {kills} kills landed (seed {seed})");
    assert!(completed > 0, "no install ever completed after kills (seed {seed})");
    assert!(
        mid_install_kills >= KILLS_WANTED / 2,
        "only {mid_install_kills} of {kills} kills landed after blobs were written (seed {seed})"
    );
}

fn walk_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 }).sum()
}
