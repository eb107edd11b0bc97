//! Memory over a working session (issue 16): the WebDriver scenario of
//! `tests/shell/endurance.rs` against release builds of the app and of the
//! bare Tauri window, for `AUGMENT_ENDURANCE_MINUTES` (30 by default). It
//! needs what the shell's end-to-end tests need (`cargo xtask setup`).

use std::process::Command;

use anyhow::{Context, Result};

use crate::{run_checked, workspace_root};

const SCENARIO: &str = "endurance::memory_with_a_big_dataset_and_after_scripted_use";

pub fn run() -> Result<String> {
    let root = workspace_root();
    let (shell_bin, hello_bin, _) = crate::bench_shell::build(&root)?;
    crate::setup::build_remotes(&root)?;
    let report = tempfile::NamedTempFile::new()?;
    run_checked(
        Command::new("cargo")
            .current_dir(&root)
            .args(["test", "--workspace", "--locked", "--test", "shell", "--", "--ignored", "--exact", SCENARIO])
            .arg("--nocapture")
            .env("AUGMENT_ENDURANCE_APP", &shell_bin)
            .env("AUGMENT_ENDURANCE_HELLO", &hello_bin)
            .env("AUGMENT_ENDURANCE_REPORT", report.path()),
    )?;
    std::fs::read_to_string(report.path()).context("reading the endurance scenario's report")
}

/// Runs only this section (`cargo test -p xtask bench_memory_only -- --ignored --nocapture`;
/// `AUGMENT_ENDURANCE_MINUTES=2` for a short try).
#[cfg(test)]
mod only {
    #[test]
    #[ignore = "builds release apps and runs for 30 minutes; run on demand"]
    fn bench_memory_only() {
        println!("{}", super::run().unwrap());
    }
}
