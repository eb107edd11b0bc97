//! Python tools from PyPI, each pinned in a venv of its own under
//! `target/tools/`: a pip install the first time, a file check after that.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{run_checked, workspace_root};

/// The venv's Python, with `requirement` (`name==version`, extras allowed)
/// installed into `target/tools/<venv>`.
pub fn ensure(venv: &str, requirement: &str) -> Result<PathBuf> {
    let venv = workspace_root().join("target/tools").join(venv);
    let python = venv.join("bin/python");
    // Written after a successful install; names what was installed.
    let marker = venv.join("installed.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == requirement) && python.exists() {
        return Ok(python);
    }
    eprintln!("xtask: installing {requirement} into {}", venv.display());
    let system_python = ["python3", "python"]
        .into_iter()
        .find(|p| crate::engines::on_path(p))
        .context("no python3 on PATH: install Python 3 (`apt-get install python3 python3-venv`) and run again")?;
    run_checked(Command::new(system_python).args(["-m", "venv"]).arg(&venv))
        .with_context(|| format!("creating the venv for {requirement} (Debian: `apt-get install python3-venv`)"))?;
    run_checked(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
    ]))
    .with_context(|| format!("pip install {requirement}"))?;
    std::fs::write(&marker, requirement).with_context(|| format!("writing {}", marker.display()))?;
    Ok(python)
}
