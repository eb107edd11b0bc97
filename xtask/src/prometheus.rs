//! Prometheus for the local stack's `monitoring` profile and its test
//! (tests/stack/monitoring.rs): the Debian package `prometheus`, downloaded
//! with `apt-get download` and unpacked with `dpkg-deb -x` into
//! `target/tools/prometheus`, where the stack crate looks for it
//! (`stack::locate_prometheus`). Unpacked rather than installed: installing
//! would also create a system user and start a system service, which a
//! build machine (or a developer's) does not want. A file check when done.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{run_checked, workspace_root};

/// The variables the stack crate and the tests read the binaries from.
pub const PROMETHEUS_ENV: &str = "AUGMENT_PROMETHEUS_BIN";
pub const PROMTOOL_ENV: &str = "AUGMENT_PROMTOOL_BIN";

/// The unpacked package's binaries.
#[derive(Debug, Clone)]
pub struct Prometheus {
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
}

impl Prometheus {
    /// Sets [`PROMETHEUS_ENV`] and [`PROMTOOL_ENV`] on `command`.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env(PROMETHEUS_ENV, &self.prometheus).env(PROMTOOL_ENV, &self.promtool)
    }
}

/// Unpacks the package into `target/tools/prometheus` unless it is there.
pub fn ensure() -> Result<Prometheus> {
    let root = workspace_root().join("target/tools/prometheus");
    let found = Prometheus { prometheus: root.join("usr/bin/prometheus"), promtool: root.join("usr/bin/promtool") };
    if found.prometheus.is_file() && found.promtool.is_file() {
        return Ok(found);
    }
    eprintln!("xtask: unpacking the Debian package prometheus into {}", root.display());
    let download = tempfile::tempdir().context("making a temp dir for the download")?;
    let fetch =
        || run_checked(Command::new("apt-get").current_dir(download.path()).args(["download", "-qq", "prometheus"]));
    if fetch().is_err() {
        // A fresh machine has no package lists yet.
        run_checked(Command::new("apt-get").args(["update", "-qq"])).context("apt-get update")?;
        fetch().context("apt-get download prometheus")?;
    }
    let deb = std::fs::read_dir(download.path())?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "deb"))
        .context("apt-get download left no .deb")?;
    // Into a fresh folder, renamed into place: never half unpacked.
    let partial = root.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    run_checked(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial)).context("dpkg-deb -x")?;
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&partial, &root).with_context(|| format!("moving the package into {}", root.display()))?;
    anyhow::ensure!(
        found.prometheus.is_file() && found.promtool.is_file(),
        "the package holds no usr/bin/prometheus and usr/bin/promtool"
    );
    Ok(found)
}

#[cfg(test)]
mod tests {
    /// The install `cargo xtask setup` and `cargo xtask test` do, on its own:
    /// `cargo test -p xtask prometheus_unpacks -- --ignored` (downloads the
    /// package when target/tools/prometheus does not hold it yet).
    #[test]
    #[ignore = "downloads a Debian package; run on demand"]
    fn prometheus_unpacks_and_runs() -> anyhow::Result<()> {
        let tools = super::ensure()?;
        for binary in [&tools.prometheus, &tools.promtool] {
            let output = std::process::Command::new(binary).arg("--version").output()?;
            let text =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            anyhow::ensure!(output.status.success() && text.contains("version 2."), "{}: {text}", binary.display());
        }
        Ok(())
    }
}
