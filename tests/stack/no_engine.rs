//! No engine at the address given: the one clear message, a failing exit
//! code, and nothing created anywhere.
#![allow(clippy::unwrap_used)] // test-only code

use crate::harness::{Kind, augment_with_host, engine_host, engine_lock, labelled};

const MESSAGE: &str = "Docker is not running: start Docker Desktop or Podman, or set DOCKER_HOST";

#[test]
fn a_dead_engine_is_a_clear_error_for_every_command() {
    // Its turn too: `augment_with_host` reads the binaries folder, which
    // first_try.rs empties for a moment.
    let _turn = engine_lock();
    let dir = tempfile::tempdir().unwrap();
    // A socket file nobody listens on (an engine that died), and no file at all.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let missing = dir.path().join("missing.sock");
    let definition = dir.path().join("stack.toml");
    let mut stack = stack::StackDefinition::built_in().unwrap();
    stack.name = format!("t{}-dead", std::process::id());
    std::fs::write(&definition, toml::to_string(&stack).unwrap()).unwrap();

    for socket in [&stale, &missing] {
        let host = format!("unix://{}", socket.display());
        for command in [&["stack", "up"][..], &["stack", "status"], &["stack", "down"], &["stack", "logs", "parsers"]] {
            let output = augment_with_host(&host, command, Some(&definition));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{command:?} on {host}: {stderr}");
            assert!(stderr.contains(MESSAGE), "{command:?} on {host}: {stderr}");
        }
    }

    // Nothing reached a real engine under this stack's name either.
    if let Some(host) = engine_host(Kind::Docker) {
        assert_eq!(labelled(&host, &stack.name), (vec![], vec![], vec![]));
    }
}
