//! `cargo xtask test`: every suite, with the real services they need.

use std::process::Command;

use anyhow::Result;

use crate::{run_checked, setup, workspace_root};

pub fn run() -> Result<()> {
    setup::ensure(setup::Purpose::Test)?;
    let root = workspace_root();
    // Build everything once up front so test binaries do not compete for the
    // two cores while timing-sensitive tests (timeouts, kills) run.
    run_checked(Command::new("cargo").current_dir(&root).args(["build", "--workspace", "--all-targets", "--locked"]))?;
    let keyring_home = tempfile::tempdir()?;
    // A private D-Bus session with an unlocked gnome-keyring: the secrets tests
    // talk to a real Secret Service and read items back with `secret-tool`.
    let script = r#"printf test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@""#;
    run_checked(
        Command::new("dbus-run-session")
            .current_dir(&root)
            .env("XDG_DATA_HOME", keyring_home.path())
            .args(["--", "sh", "-c", script, "sh"])
            .args(["cargo", "test", "--workspace", "--locked", "--no-fail-fast"]),
    )
}
