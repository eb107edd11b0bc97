//! Where the service binaries come from, and building them when `up` runs
//! from a source checkout (issue 18, point 1: the stack starts on the first
//! try).
//!
//! ```text
//! --bin-dir / AUGMENT_STACK_BIN_DIR ──▶ Given      used as it is, or a clear error
//! next to augment, ../lib/Augment-It/stack-bin ──▶ Installed  used as it is, or a clear error
//! this checkout's static release folder ──▶ Checkout   cargo build (a no-op when fresh), then used
//! ```
//!
//! In a checkout cargo is always asked, since it alone knows exactly whether
//! a binary is stale (every path dependency's sources count); up to date,
//! that costs its freshness check, about a second.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::images::{PACKAGED_BIN_DIR, is_static};
use crate::static_build;
use crate::{StackDefinition, StackError};

/// Where the binaries folder was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinOrigin {
    /// `--bin-dir` or `AUGMENT_STACK_BIN_DIR`: the person chose it.
    Given,
    /// Beside the executable, or an installed package's `stack-bin` folder
    /// (also when it is missing: a package installed without them).
    Installed,
    /// This source checkout's static release folder, which `up` can fill.
    Checkout { workspace: PathBuf },
}

impl BinOrigin {
    fn name(&self) -> &'static str {
        match self {
            BinOrigin::Given => "given",
            BinOrigin::Installed => "installed",
            BinOrigin::Checkout { .. } => "checkout",
        }
    }
}

/// The binaries folder and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinLocation {
    pub dir: PathBuf,
    pub origin: BinOrigin,
}

/// Whether `up` may build missing or stale binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildPolicy {
    /// Build in a source checkout (cargo decides what is stale).
    #[default]
    InCheckout,
    /// Never build: use what is there (`--no-build`).
    Never,
}

/// What to do about the binaries before `up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinariesPlan {
    /// Use the folder as it is.
    Use,
    /// Run [`static_build::build`] in the checkout first.
    Build,
    /// Stop with [`StackError::BinariesMissing`].
    Refuse,
}

/// The decision, from what is known before anything runs: in a checkout
/// (unless building is refused) build, since only cargo knows whether a
/// present binary is stale; elsewhere use the folder when nothing is
/// missing, else refuse with what to do.
pub fn plan_binaries(origin: &BinOrigin, missing: &[String], policy: BuildPolicy) -> BinariesPlan {
    match (origin, policy) {
        (BinOrigin::Checkout { .. }, BuildPolicy::InCheckout) => BinariesPlan::Build,
        _ if missing.is_empty() => BinariesPlan::Use,
        _ => BinariesPlan::Refuse,
    }
}

/// The source checkout this crate was compiled from, when it is still there
/// at run time: `<manifest dir>/../..` holding the workspace's `Cargo.toml`
/// and this crate's own manifest (an installed `augment` names a build
/// machine's folder, which does not exist here).
pub fn checkout_root(stack_manifest_dir: &Path) -> Option<PathBuf> {
    let workspace = stack_manifest_dir.parent()?.parent()?;
    let is_checkout = workspace.join("Cargo.toml").is_file() && stack_manifest_dir.join("Cargo.toml").is_file();
    is_checkout.then(|| workspace.to_path_buf())
}

/// Where the binaries are: `given` (a flag) if any, else
/// `AUGMENT_STACK_BIN_DIR`, else the running executable's folder when it
/// holds them (an `augment` next to its sidecars), else an installed
/// package's [`PACKAGED_BIN_DIR`] when it holds them, else this source
/// checkout's static release folder, else the package folder (missing).
/// Probed with the definition's first binary.
pub fn locate_binaries(definition: &StackDefinition, given: Option<PathBuf>) -> BinLocation {
    let first = definition.services.first().map_or("parsers", |s| s.binary.as_str());
    locate(first, given)
}

pub(crate) fn locate(first_binary: &str, given: Option<PathBuf>) -> BinLocation {
    let given =
        given.or_else(|| std::env::var_os("AUGMENT_STACK_BIN_DIR").filter(|d| !d.is_empty()).map(PathBuf::from));
    if let Some(dir) = given {
        return BinLocation { dir, origin: BinOrigin::Given };
    }
    let holds_it = |dir: &Path| is_static(&dir.join(first_binary)).unwrap_or(false);
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf));
    if let Some(exe_dir) = &exe_dir {
        for dir in [exe_dir.clone(), exe_dir.join(PACKAGED_BIN_DIR)] {
            if holds_it(&dir) {
                return BinLocation { dir, origin: BinOrigin::Installed };
            }
        }
    }
    if let Some(workspace) = checkout_root(Path::new(env!("CARGO_MANIFEST_DIR"))) {
        let dir = static_build::expected_dir_here(&workspace);
        return BinLocation { dir, origin: BinOrigin::Checkout { workspace } };
    }
    let dir = exe_dir.map_or_else(|| PathBuf::from("/usr/lib/Augment-It/stack-bin"), |d| d.join(PACKAGED_BIN_DIR));
    BinLocation { dir, origin: BinOrigin::Installed }
}

/// The definition's binaries that `dir` lacks (or holds in a form a
/// `FROM scratch` image cannot run: not a static Linux executable).
pub fn missing_binaries(definition: &StackDefinition, dir: &Path) -> Vec<String> {
    definition
        .services
        .iter()
        // Tool images come from a tool on this machine, not the folder.
        .filter(|s| s.image.is_none())
        .map(|s| s.binary.clone())
        .filter(|binary| !is_static(&dir.join(binary)).unwrap_or(false))
        .collect()
}

/// What [`prepare_binaries`] did, for `up`'s report.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct PreparedBinaries {
    /// The folder `up` takes the binaries from.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub dir: PathBuf,
    /// `given`, `installed` or `checkout`.
    pub origin: &'static str,
    /// cargo ran (in a checkout).
    pub built: bool,
    /// The crates cargo compiled; empty when everything was up to date.
    pub compiled: Vec<String>,
}

/// Makes sure `definition`'s binaries are in `location`, building them in a
/// source checkout (see [`plan_binaries`]), with every line of progress
/// passed to `on_line` (the first says what runs). Blocks while cargo runs:
/// call it from a blocking task.
pub fn prepare_binaries(
    definition: &StackDefinition,
    location: &BinLocation,
    policy: BuildPolicy,
    on_line: &mut dyn FnMut(&str),
) -> Result<PreparedBinaries, StackError> {
    let missing = missing_binaries(definition, &location.dir);
    let prepared = |dir: PathBuf, built: bool, compiled: Vec<String>| PreparedBinaries {
        dir,
        origin: location.origin.name(),
        built,
        compiled,
    };
    match plan_binaries(&location.origin, &missing, policy) {
        BinariesPlan::Use => Ok(prepared(location.dir.clone(), false, Vec::new())),
        BinariesPlan::Refuse => Err(missing_error(location, missing, policy)),
        BinariesPlan::Build => {
            let BinOrigin::Checkout { workspace } = &location.origin else {
                return Err(missing_error(location, missing, policy));
            };
            on_line(&format!(
                "building the service binaries in {} ({})",
                workspace.display(),
                static_build::command_line()
            ));
            tracing::info!(workspace = %workspace.display(), "building the stack's service binaries");
            match static_build::build(workspace, on_line) {
                Ok(built) => {
                    let still_missing = missing_binaries(definition, &built.dir);
                    if !still_missing.is_empty() {
                        let built_location = BinLocation { dir: built.dir, origin: location.origin.clone() };
                        return Err(missing_error(&built_location, still_missing, BuildPolicy::Never));
                    }
                    Ok(prepared(built.dir, true, built.compiled))
                }
                // A checkout without a toolchain can still use binaries built before.
                Err(err) if err.is_cargo_missing() && missing.is_empty() => {
                    on_line("cargo was not found: using the binaries built before");
                    tracing::warn!("cargo not found; using the service binaries already built");
                    Ok(prepared(location.dir.clone(), false, Vec::new()))
                }
                Err(err) => Err(StackError::BinariesBuild {
                    command: static_build::command_line(),
                    workspace: workspace.clone(),
                    reason: err.to_string(),
                }),
            }
        }
    }
}

/// The error naming what is missing where, and what to do about it there.
fn missing_error(location: &BinLocation, missing: Vec<String>, policy: BuildPolicy) -> StackError {
    let what_to_do = match (&location.origin, policy) {
        (BinOrigin::Given, _) => "this folder was given with --bin-dir or AUGMENT_STACK_BIN_DIR: point it at a folder \
             holding the static service binaries, or leave it unset to use the installed ones (from a source \
             checkout, `augment stack up` then builds them)"
            .to_owned(),
        (BinOrigin::Installed, _) => "they ship with Augment-It in /usr/lib/Augment-It/stack-bin: reinstall the \
             package, or point --bin-dir (or AUGMENT_STACK_BIN_DIR) at a folder holding them"
            .to_owned(),
        (BinOrigin::Checkout { .. }, BuildPolicy::Never) => format!(
            "run `augment stack up` without --no-build to build them in this checkout, or build them with `{}`",
            static_build::command_line()
        ),
        (BinOrigin::Checkout { .. }, BuildPolicy::InCheckout) => format!(
            "the build finished without them; check the stack definition's `binary` names against the packages \
             built by `{}`",
            static_build::command_line()
        ),
    };
    StackError::BinariesMissing { dir: location.dir.clone(), missing, what_to_do }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Issue 18, point 1: a checkout builds (cargo knows what is stale,
    /// missing or not), unless told not to; an installed or given folder is
    /// used when complete and refused, never built, when not.
    #[test]
    fn point_1_a_checkout_builds_and_other_folders_are_used_or_refused() {
        let checkout = BinOrigin::Checkout { workspace: PathBuf::from("/src/augment") };
        let none = names(&[]);
        let some = names(&["gateway"]);
        for missing in [&none, &some] {
            assert_eq!(plan_binaries(&checkout, missing, BuildPolicy::InCheckout), BinariesPlan::Build);
        }
        assert_eq!(plan_binaries(&checkout, &none, BuildPolicy::Never), BinariesPlan::Use);
        assert_eq!(plan_binaries(&checkout, &some, BuildPolicy::Never), BinariesPlan::Refuse);
        for origin in [BinOrigin::Given, BinOrigin::Installed] {
            for policy in [BuildPolicy::InCheckout, BuildPolicy::Never] {
                assert_eq!(plan_binaries(&origin, &none, policy), BinariesPlan::Use, "{origin:?}");
                assert_eq!(plan_binaries(&origin, &some, policy), BinariesPlan::Refuse, "{origin:?}");
            }
        }
    }

    #[test]
    fn a_checkout_is_a_workspace_that_still_holds_this_crate() {
        let root = tempfile::tempdir().expect("tempdir");
        let manifest_dir = root.path().join("crates/stack");
        assert_eq!(checkout_root(&manifest_dir), None, "a build machine's folder, gone here");
        std::fs::create_dir_all(&manifest_dir).expect("mkdir");
        std::fs::write(root.path().join("Cargo.toml"), "[workspace]\n").expect("write");
        assert_eq!(checkout_root(&manifest_dir), None, "the crate itself is not there");
        std::fs::write(manifest_dir.join("Cargo.toml"), "[package]\n").expect("write");
        assert_eq!(checkout_root(&manifest_dir).as_deref(), Some(root.path()));
        // This crate is compiled from a checkout, so the tests run in one.
        assert!(checkout_root(Path::new(env!("CARGO_MANIFEST_DIR"))).is_some());
    }

    #[test]
    fn a_given_folder_wins_and_an_empty_one_is_missing_everything() {
        let definition = StackDefinition::built_in().expect("docker/stack.toml is valid");
        let empty = tempfile::tempdir().expect("tempdir");
        let location = locate_binaries(&definition, Some(empty.path().to_path_buf()));
        assert_eq!(location, BinLocation { dir: empty.path().to_path_buf(), origin: BinOrigin::Given });
        let missing = missing_binaries(&definition, empty.path());
        assert_eq!(missing, names(&["parsers", "connector", "gateway"]));
        // Not a static executable counts as missing too.
        std::fs::write(empty.path().join("parsers"), "#!/bin/sh\n").expect("write");
        assert_eq!(missing_binaries(&definition, empty.path()).len(), 3);
    }

    /// Outside a checkout nothing is built and the error says what to do there.
    #[test]
    fn point_1_a_given_or_installed_folder_without_binaries_says_what_to_do() {
        let definition = StackDefinition::built_in().expect("docker/stack.toml is valid");
        let empty = tempfile::tempdir().expect("tempdir");
        let mut lines = Vec::new();
        for (origin, advice) in [(BinOrigin::Given, "--bin-dir"), (BinOrigin::Installed, "reinstall")] {
            let location = BinLocation { dir: empty.path().to_path_buf(), origin };
            let err =
                prepare_binaries(&definition, &location, BuildPolicy::InCheckout, &mut |l| lines.push(l.to_owned()))
                    .expect_err("nothing to use");
            let message = err.to_string();
            assert_eq!(err.code(), "binary_missing");
            assert!(message.contains("parsers, connector, gateway"), "{message}");
            assert!(message.contains(&empty.path().display().to_string()), "{message}");
            assert!(message.contains(advice), "{message}");
        }
        let checkout = BinLocation {
            dir: empty.path().to_path_buf(),
            origin: BinOrigin::Checkout { workspace: empty.path().to_path_buf() },
        };
        let refused = prepare_binaries(&definition, &checkout, BuildPolicy::Never, &mut |l| lines.push(l.to_owned()))
            .expect_err("--no-build");
        assert!(refused.to_string().contains("without --no-build"), "{refused}");
        assert!(lines.is_empty(), "nothing was built: {lines:?}");
    }
}
