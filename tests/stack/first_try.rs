//! Issue 18, point 1: the stack starts on the first try. From a source
//! checkout `stack up` builds missing service binaries itself, with cargo's
//! progress on stderr; containers and images carry the version that made
//! them, `status` says when it is not this one, and `up` recreates them.
#![allow(clippy::unwrap_used)] // test-only code

use std::path::{Path, PathBuf};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use serde_json::Value;

use crate::harness::{Kind, TestStack, bin_dir, engine_host, engine_lock, field, ids, runtime};

/// The checkout's static release folder, where `augment` (compiled from this
/// checkout) looks and builds when no folder is given.
fn checkout_bin_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    stack::static_build::expected_dir_here(&workspace)
}

/// `augment <args> --definition <file>` against `host` with no binaries
/// folder given: `augment` finds this checkout's.
fn augment_in_checkout(stack: &TestStack, args: &[&str]) -> std::process::Output {
    std::process::Command::new(integration_tests::augment_bin())
        .args(args)
        .arg("--definition")
        .arg(stack.definition_path())
        .env("DOCKER_HOST", &stack.host)
        .env_remove("AUGMENT_STACK_BIN_DIR")
        .output()
        .unwrap()
}

/// Moves the stack's binaries out of the checkout's folder (hard links kept
/// beside it) and puts back any still missing when dropped, so a failure
/// here cannot take the binaries from the tests that follow.
struct Emptied {
    dir: PathBuf,
    kept: tempfile::TempDir,
    names: Vec<String>,
}

impl Emptied {
    fn new(dir: &Path, names: &[&str]) -> Self {
        let kept = tempfile::tempdir_in(dir).unwrap();
        for name in names {
            std::fs::hard_link(dir.join(name), kept.path().join(name)).unwrap();
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        Emptied { dir: dir.to_owned(), kept, names: names.iter().map(|n| (*n).to_owned()).collect() }
    }
}

impl Drop for Emptied {
    fn drop(&mut self) {
        for name in &self.names {
            if !self.dir.join(name).exists() {
                let _ = std::fs::hard_link(self.kept.path().join(name), self.dir.join(name));
            }
        }
    }
}

/// `augment stack up` with no binaries folder given, in this checkout, whose
/// static release folder lacks the three service binaries: it runs the
/// build (stderr shows it line by line), the binaries are there again, and
/// the stack comes up healthy from them.
///
/// Cost: one `cargo build` of the static binaries. Where they were built
/// before with the same flags (CI: xtask's `engines::build_stack_binaries`,
/// the same invocation), cargo finds everything fresh and only links the
/// missing files back: about a second. From nothing it is a full release
/// build of four services (minutes).
#[test]
fn up_in_a_checkout_builds_missing_binaries_then_starts() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    // Also keeps the other tests of this suite off the folder while it is empty.
    let _turn = engine_lock();
    let dir = checkout_bin_dir();
    // Built before (the suite needs them anyway), so only relinking is left.
    assert_eq!(
        bin_dir().canonicalize().unwrap(),
        dir.canonicalize().unwrap(),
        "this test empties the checkout's folder, so it expects AUGMENT_STACK_BIN_DIR to be unset or to name it"
    );
    let stack = TestStack::new(&host, "build");
    let names = ["parsers", "gateway", "connector"];
    let emptied = Emptied::new(&dir, &names);
    assert!(names.iter().all(|n| !dir.join(n).exists()), "emptied");

    // --no-build refuses to build them, says what to do and creates nothing.
    let refused = augment_in_checkout(&stack, &["stack", "up", "--no-build"]);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{message}");
    assert!(message.contains("parsers, connector, gateway are not in"), "{message}");
    assert!(message.contains("without --no-build"), "{message}");
    assert_eq!(stack.labelled(), (vec![], vec![], vec![]), "a refused up leaves nothing behind");

    let output = augment_in_checkout(&stack, &["--json", "stack", "up"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}", integration_tests::describe(&output));

    // Progress came line by line on stderr, as JSON objects under --json.
    let progress: Vec<Value> = stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let lines: Vec<&str> =
        progress.iter().filter(|p| p["event"] == "build").filter_map(|p| p["line"].as_str()).collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("building the service binaries in")), "{stderr}");
    assert!(lines.iter().any(|l| l.starts_with("Finished")), "cargo's own lines are passed on: {stderr}");

    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["binaries"]["origin"], "checkout", "{report}");
    assert_eq!(report["binaries"]["built"], true, "{report}");
    let used = PathBuf::from(report["binaries"]["dir"].as_str().unwrap());
    assert_eq!(used.canonicalize().unwrap(), dir.canonicalize().unwrap(), "{report}");
    for name in names {
        assert!(stack::is_static(&dir.join(name)).unwrap_or(false), "{name} is back in {}", dir.display());
    }
    assert!(field(&report, "action").values().all(|a| a == "created"), "{report}");
    drop(emptied);

    // --no-build never builds: with the binaries present it just uses them.
    let again = augment_in_checkout(&stack, &["--json", "stack", "up", "--no-build"]);
    assert!(again.status.success(), "{}", integration_tests::describe(&again));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["binaries"]["built"], false, "{again}");
}

/// A given folder without the binaries is never built into: the error names
/// what is missing and what to do, and nothing is created.
#[test]
fn up_with_a_given_empty_folder_says_what_to_do_and_creates_nothing() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _turn = engine_lock();
    let stack = TestStack::new(&host, "given");
    let empty = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(integration_tests::augment_bin())
        .args(["stack", "up", "--definition"])
        .arg(stack.definition_path())
        .arg("--bin-dir")
        .arg(empty.path())
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("parsers, connector, gateway are not in"), "{stderr}");
    assert!(stderr.contains("--bin-dir or AUGMENT_STACK_BIN_DIR"), "says what to do: {stderr}");
    assert!(!stderr.contains("Compiling") && !stderr.contains("building the service binaries"), "{stderr}");
    assert_eq!(stack.labelled(), (vec![], vec![], vec![]), "a refused up leaves nothing behind");
}

/// A container made by another version: `status` says the stack and this
/// `augment` disagree, `up` recreates that container (a stopped one of this
/// version would only be started), and then they agree.
#[test]
fn a_container_of_another_version_is_reported_and_recreated() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _turn = engine_lock();
    let stack = TestStack::new(&host, "version");
    let up = stack.json(&["stack", "up"], 0);
    let status = stack.json(&["stack", "status"], 0);
    assert_eq!(status["version"], stack::VERSION, "{status}");
    assert_eq!(status["version_mismatch"], Value::Null, "{status}");
    assert!(field(&status, "version").values().all(|v| v == stack::VERSION), "{status}");

    // The images carry the version too: a label and a second tag.
    let engine = stack.engine();
    let image = up["services"][0]["image"].as_str().unwrap().to_owned();
    let inspected = runtime().block_on(engine.client().inspect_image(&image)).unwrap();
    let labels = inspected.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get(stack::LABEL_VERSION).map(String::as_str), Some(stack::VERSION), "{labels:?}");
    let service = up["services"][0]["service"].as_str().unwrap();
    let version_tag = format!("{}{service}:{}", stack::IMAGE_PREFIX, stack::VERSION);
    let tagged = runtime().block_on(engine.client().inspect_image(&version_tag)).unwrap();
    assert_eq!(tagged.id, inspected.id, "{version_tag} is the same image");

    // The parsers container replaced by one an older version made: same
    // image and settings (its config hash too), another version label; not started.
    let name = format!("{}-parsers", stack.name);
    let old = "0.0.1-older";
    runtime().block_on(async {
        let docker = engine.client();
        let current = docker.inspect_container(&name, None).await.unwrap();
        let config = current.config.unwrap();
        let mut labels = config.labels.unwrap();
        labels.insert(stack::LABEL_VERSION.to_owned(), old.to_owned());
        docker
            .remove_container(&name, Some(RemoveContainerOptions { force: true, ..Default::default() }))
            .await
            .unwrap();
        let body =
            ContainerCreateBody { image: config.image, env: config.env, labels: Some(labels), ..Default::default() };
        docker
            .create_container(Some(CreateContainerOptions { name: Some(name.clone()), ..Default::default() }), body)
            .await
            .unwrap();
    });

    let status = stack.json(&["stack", "status"], 7);
    assert_eq!(status["version_mismatch"]["running"], serde_json::json!([old, stack::VERSION]), "{status}");
    assert_eq!(status["version_mismatch"]["this"], stack::VERSION, "{status}");
    assert_eq!(field(&status, "version")["parsers"], old, "{status}");
    let human = stack.augment(&["stack", "status"]);
    let text = String::from_utf8_lossy(&human.stdout);
    let expected = format!(
        "the stack runs {old} and {}, this augment is {}: run `augment stack up` to update",
        stack::VERSION,
        stack::VERSION
    );
    assert!(text.contains(&expected), "{text}");

    let repaired = stack.json(&["stack", "up"], 0);
    let actions = field(&repaired, "action");
    assert_eq!(actions["parsers"], "recreated", "another version's container is replaced, not started: {repaired}");
    assert_eq!(actions["gateway"], "unchanged", "{repaired}");
    assert_ne!(ids(&repaired)["parsers"], ids(&up)["parsers"]);
    let status = stack.json(&["stack", "status"], 0);
    assert_eq!(status["version_mismatch"], Value::Null, "{status}");
}
