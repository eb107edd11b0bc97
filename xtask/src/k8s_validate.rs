//! The Kubernetes schema validator for docker/k8s (issue 18, point 6):
//! PyPI `kubernetes-validate`, which bundles the Kubernetes JSON schemas of
//! every release it supports, so validation runs offline. Installed by
//! `cargo xtask test`, which hands its path to the suites in
//! `AUGMENT_K8S_VALIDATE` (crates/stack/tests/deploy_files.rs runs it).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

use crate::python_tool;

/// 1.37.0 ships the schemas of Kubernetes 1.25 to 1.37.
pub const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";

/// Installs the validator if needed; returns its executable.
pub fn ensure() -> Result<PathBuf> {
    let python = python_tool::ensure("k8s-validate-venv", KUBERNETES_VALIDATE)?;
    let validator = python.with_file_name("kubernetes-validate");
    if !validator.is_file() {
        bail!("{KUBERNETES_VALIDATE} installed no {}", validator.display());
    }
    Ok(validator)
}

/// Tells the suites run by `command` where the validator is.
pub fn apply(validator: &std::path::Path, command: &mut Command) {
    command.env("AUGMENT_K8S_VALIDATE", validator);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Installs the validator the way `cargo xtask test` does and checks it
    /// runs strict and offline: a misspelt field is refused.
    /// `cargo test -p xtask k8s_validate -- --ignored`.
    #[test]
    #[ignore = "installs kubernetes-validate from PyPI the first time; `cargo xtask test` runs it for real"]
    fn the_validator_installs_and_refuses_an_unknown_field() {
        let validator = ensure().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("service.yaml");
        let service = "apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec:\n  ports: [{ port: 80 }]\n";
        std::fs::write(&manifest, service).unwrap();
        let check = |path: &std::path::Path| Command::new(&validator).arg("--strict").arg(path).output().unwrap();
        assert!(check(&manifest).status.success());
        std::fs::write(&manifest, service.replace("ports:", "portz:")).unwrap();
        let refused = check(&manifest);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stdout).contains("portz"), "{refused:?}");
    }
}
