//! Installs what the project needs on a fresh Debian machine, and skips what
//! is already there so a second run costs well under a second.

use std::process::Command;

use anyhow::{Context, Result};

use crate::run_checked;

/// What the machine is being prepared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The app and the headless CLI.
    Run,
    /// Everything the test suites start: the keychain daemon and its tools.
    Test,
}

/// Debian packages per purpose. The tests need a real Secret Service
/// (gnome-keyring in a D-Bus session) and `secret-tool` to check it from outside.
fn apt_packages(purpose: Purpose) -> &'static [&'static str] {
    match purpose {
        Purpose::Run => &[],
        Purpose::Test => &["gnome-keyring", "libsecret-tools", "dbus-x11", "dbus"],
    }
}

pub fn ensure(purpose: Purpose) -> Result<()> {
    let missing: Vec<&str> = apt_packages(purpose).iter().copied().filter(|p| !is_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    anyhow::ensure!(
        is_root(),
        "missing system packages: {}. Install them with `sudo apt-get install -y {}` and run again",
        missing.join(" "),
        missing.join(" ")
    );
    run_checked(Command::new("apt-get").arg("update").arg("-qq")).context("apt-get update")?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("apt-get install")
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| out.stdout.starts_with(b"0")).unwrap_or(false)
}
