//! Provider keys reach the connector as a read-only folder (one file per
//! provider), never through the container's environment.
#![allow(clippy::unwrap_used)] // test-only code

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::harness::{Kind, TestStack, bin_dir, engine_host, engine_lock, get, runtime};

const KEY: &str = "sk-test-only-not-a-real-key-4711";

#[test]
fn the_connector_reads_keys_from_a_read_only_folder_and_its_environment_holds_none() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _turn = engine_lock();
    let stack = TestStack::new(&host, "keys");
    let keys = tempfile::tempdir().unwrap();
    let file = keys.path().join("openai");
    std::fs::write(&file, KEY).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Owned by an ordinary user, as on a desktop (these tests may run as root):
    // only that user can read the file, and the container runs as its owner.
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&file).unwrap()) == 0 {
        for path in [keys.path(), file.as_path()] {
            std::os::unix::fs::chown(path, Some(4242), Some(4242)).unwrap();
        }
    }

    let output = Command::new(integration_tests::augment_bin())
        .args(["--json", "stack", "up", "--definition"])
        .arg(stack.definition_path())
        .env("DOCKER_HOST", &host)
        .env("AUGMENT_STACK_BIN_DIR", bin_dir())
        .env("AUGMENT_STACK_KEYS_DIR", keys.path())
        .env_remove("AUGMENT_OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", integration_tests::describe(&output));

    let token = stack.token();
    let (status, providers) = get(&format!("http://127.0.0.1:{}/v1/providers", stack.port("connector")), Some(&token));
    assert_eq!(status, 200, "{providers}");
    let openai = providers
        .as_array()
        .into_iter()
        .flatten()
        .chain(providers["providers"].as_array().into_iter().flatten())
        .find(|p| p["id"] == "openai")
        .cloned()
        .unwrap_or_else(|| panic!("openai listed: {providers}"));
    assert_eq!(openai["key"], "file", "the 0600 key file is readable in the container: {providers}");

    let engine = stack.engine();
    let inspected =
        runtime().block_on(engine.client().inspect_container(&format!("{}-connector", stack.name), None)).unwrap();
    let env = inspected.config.and_then(|c| c.env).unwrap_or_default();
    assert!(!env.iter().any(|e| e.contains(KEY) || e.starts_with("AUGMENT_OPENAI_API_KEY")), "{env:?}");
    let mounts = inspected.mounts.unwrap_or_default();
    let keys_mount = mounts.iter().find(|m| m.destination.as_deref() == Some("/run/secrets/augment")).expect("mounted");
    assert_eq!(keys_mount.rw, Some(false), "mounted read-only: {keys_mount:?}");
}
