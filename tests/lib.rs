//! Cross-crate, end-to-end and fault-injection suites. This library holds
//! what the suites share: a sandbox that runs the real `augment` binary
//! against a registry and a cache in a temporary folder, and remote fixtures.
#![allow(clippy::unwrap_used)] // test-only code: a failed setup step should fail the test loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;

/// The `augment` binary built next to this test binary (`cargo test
/// --workspace` builds it before running any test), or the one
/// `AUGMENT_BIN` names (for a target dir that other checkouts share, where
/// the binary next to the tests may be another branch's).
pub fn augment_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("AUGMENT_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/augment
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let bin = profile_dir.join(format!("augment{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is missing: run `cargo build -p cli` first", bin.display());
    bin
}

/// A registry, a key pair and a cache in one temporary folder.
#[derive(Debug)]
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A sandbox with keys generated and an empty registry initialised.
    pub fn new() -> Self {
        let sandbox = Self { dir: tempfile::tempdir().expect("tempdir") };
        sandbox.ok(&["keygen", "--out", sandbox.keys().to_str().unwrap()]);
        let registry = sandbox.registry();
        let key = sandbox.key();
        sandbox.ok(&["registry", "init", registry.to_str().unwrap(), "--key", key.to_str().unwrap()]);
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn keys(&self) -> PathBuf {
        self.path().join("keys")
    }
    pub fn key(&self) -> PathBuf {
        self.keys().join("registry.key")
    }
    pub fn public_key(&self) -> PathBuf {
        self.keys().join("registry.pub")
    }
    pub fn registry(&self) -> PathBuf {
        self.path().join("registry")
    }
    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    /// Runs `augment ARGS` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(augment_bin()).args(args).env_remove("AUGMENT_CACHE_DIR").output().expect("run augment")
    }

    /// Runs `augment ARGS`, asserting success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(out.status.success(), "augment {args:?} failed: {}", describe(&out));
        out
    }

    /// Publishes a remote folder to the sandbox registry.
    pub fn publish(&self, remote_dir: &Path) -> Output {
        self.run(&[
            "publish",
            remote_dir.to_str().unwrap(),
            "--registry",
            self.registry().to_str().unwrap(),
            "--key",
            self.key().to_str().unwrap(),
        ])
    }

    /// The argument list of `augment resolve --json` against `registry` into the sandbox cache.
    pub fn resolve_args(&self, registry: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> =
            ["--json", "resolve", "--registry", registry, "--trust"].iter().map(|s| (*s).to_owned()).collect();
        args.push(self.public_key().to_string_lossy().into_owned());
        args.push("--cache-dir".into());
        args.push(self.cache().to_string_lossy().into_owned());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    /// `augment --json resolve` against the sandbox registry folder.
    pub fn resolve(&self, extra: &[&str]) -> Output {
        let registry = self.registry();
        let args = self.resolve_args(registry.to_str().unwrap(), extra);
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `augment --json cache list` as `(name, version, active)` triples.
    pub fn cached_versions(&self) -> Vec<(String, String, bool)> {
        let out = self.ok(&["--json", "cache", "list", "--cache-dir", self.cache().to_str().unwrap()]);
        let list = json(&out);
        list["versions"]
            .as_array()
            .expect("versions array")
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_owned(),
                    v["version"].as_str().unwrap().to_owned(),
                    v["active"].as_bool().unwrap(),
                )
            })
            .collect()
    }
}

/// The chosen `(name, version)` pairs of a `resolve --json` report.
pub fn chosen(report: &Value) -> Vec<(String, String)> {
    report["remotes"]
        .as_array()
        .expect("remotes array")
        .iter()
        .filter_map(|r| Some((r["name"].as_str()?.to_owned(), r["version"].as_str()?.to_owned())))
        .collect()
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {}", describe(out)))
}

pub fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes a built remote: `remote.json`, `remoteEntry.js` and `files`
/// further files of `size` deterministic pseudo-random bytes each.
pub fn make_remote(parent: &Path, name: &str, version: &str, host_api: &str, files: usize, size: usize) -> PathBuf {
    let dir = parent.join(format!("{name}-{version}"));
    std::fs::create_dir_all(dir.join("assets")).expect("create remote dir");
    let manifest = serde_json::json!({
        "name": name,
        "version": version,
        "entry": "remoteEntry.js",
        "hostApi": host_api,
        "shared": { "react": "^19.0.0" },
        "exposes": ["./App"],
    });
    std::fs::write(dir.join("remote.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    std::fs::write(dir.join("remoteEntry.js"), format!("export const remote = {name:?} + {version:?};\n")).unwrap();
    let seed = name.bytes().chain(version.bytes()).fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for i in 0..files {
        let mut bytes = vec![0u8; size];
        rng.fill(&mut bytes[..]);
        std::fs::write(dir.join("assets").join(format!("chunk-{i}.js")), bytes).unwrap();
    }
    dir
}

/// Polls `condition` until it holds or `deadline` passes.
pub fn wait_until(deadline: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < deadline {
        if condition() {
            return true;
        }
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    condition()
}

/// Everything a command printed: with `--json`, errors go to standard output.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Whether the tests may write `augment-it` keychain entries for the built-in
/// providers: only in a throw-away keyring (HOME or XDG_DATA_HOME under the
/// temp dir, as `cargo xtask test` and crates/secrets/run-keychain-tests.sh
/// arrange), so that a run on a desktop never overwrites a real key. Anywhere
/// else the test fails saying how to run it, unless `AUGMENT_SKIP_KEYCHAIN_TESTS=1`.
pub fn private_keychain(test: &str) -> bool {
    if std::env::var("AUGMENT_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED {test}: AUGMENT_SKIP_KEYCHAIN_TESTS=1 (it needs a private gnome-keyring)");
        return false;
    }
    let temp = std::env::temp_dir();
    let private = ["XDG_DATA_HOME", "HOME"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|dir| Path::new(&dir).starts_with(&temp)));
    assert!(
        private,
        "{test} stores keys for the built-in providers, so it runs only against a throw-away keyring: \
         use `cargo xtask test`, or crates/secrets/run-keychain-tests.sh -p integration-tests"
    );
    true
}

/// The signed part of `registry_dir`'s `snapshot.json`, for tests that sign
/// a successor of their own (forged, expired, pushed ahead).
pub fn read_snapshot(registry_dir: &Path) -> registry::Snapshot {
    let envelope: Value = serde_json::from_slice(&std::fs::read(registry_dir.join("snapshot.json")).unwrap()).unwrap();
    let mut signed = envelope["signed"].clone();
    signed.as_object_mut().unwrap().remove("_type");
    serde_json::from_value(signed).unwrap()
}
