//! The one `cargo build` of the static service binaries the stack's images
//! are made from, shared by `augment stack up` in a source checkout (through
//! [`crate::prepare_binaries`]) and by `cargo xtask` (test, dist, bench).
//!
//! xtask includes this file with `#[path]` instead of depending on the
//! stack crate, so building xtask does not compile bollard and reqwest; this
//! is why it uses only `std` and `serde_json` (which both have).

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target the binaries are built for: a static glibc build runs in a
/// `FROM scratch` image.
pub const STATIC_TARGET: &str = "x86_64-unknown-linux-gnu";

/// The flags the static service binaries are built with. The same string
/// everywhere, or cargo rebuilds them from scratch.
pub const STATIC_RUSTFLAGS: &str = "-C target-feature=+crt-static -C strip=debuginfo";

/// The packages built, always together in one invocation: cargo unifies
/// dependency features across the packages of an invocation, so building a
/// subset (the stack's three without the registry server) would compile
/// every shared dependency a second time with other features, and each
/// build would overwrite the other's binaries. The local stack runs the
/// first three; the registry server's and the auth service's images (team
/// deployments, `docker/k8s/`) and benchmarks use the other two.
pub const STATIC_PACKAGES: &[&str] = &["parsers-service", "gateway", "connector", "registry-server", "auth-service"];

/// Lines of cargo's output quoted when the build fails.
const FAILURE_TAIL: usize = 30;

/// The command line, for messages: `cargo build --release … -p …`.
pub fn command_line() -> String {
    let packages: Vec<String> = STATIC_PACKAGES.iter().map(|p| format!("-p {p}")).collect();
    format!(
        "RUSTFLAGS='{STATIC_RUSTFLAGS}' cargo build --release --locked --target {STATIC_TARGET} {}",
        packages.join(" ")
    )
}

/// Where cargo puts the binaries of `workspace` when no build has said so
/// yet: `CARGO_TARGET_DIR` (or `CARGO_BUILD_TARGET_DIR`), relative to the
/// workspace when relative, else `<workspace>/target`; then
/// `<target>/x86_64-unknown-linux-gnu/release`. (A `target-dir` set in a
/// cargo config file is only learnt from the build itself: [`build`]
/// reports where the binaries went.)
pub fn expected_dir(workspace: &Path, target_dir_variable: Option<&std::ffi::OsStr>) -> PathBuf {
    let target = match target_dir_variable.filter(|v| !v.is_empty()) {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join(STATIC_TARGET).join("release")
}

/// [`expected_dir`] with this process's environment.
pub fn expected_dir_here(workspace: &Path) -> PathBuf {
    let variable = std::env::var_os("CARGO_TARGET_DIR").or_else(|| std::env::var_os("CARGO_BUILD_TARGET_DIR"));
    expected_dir(workspace, variable.as_deref())
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct Built {
    /// The folder holding the binaries, as cargo reported their paths.
    pub dir: PathBuf,
    /// The crates cargo compiled (not fresh): empty when everything was up to date.
    pub compiled: Vec<String>,
}

/// Why a build failed.
#[derive(Debug)]
pub enum BuildError {
    /// cargo could not be started (not installed, not on `PATH`).
    Start(std::io::Error),
    /// Reading cargo's output failed.
    Read(std::io::Error),
    /// cargo ran and failed; its last lines of output.
    Failed { status: String, tail: String },
}

// Hand-written rather than thiserror's derive: xtask, which includes this
// file, does not depend on thiserror.
impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Start(err) => write!(f, "cargo could not be started ({err})"),
            BuildError::Read(err) => write!(f, "cargo's output could not be read ({err})"),
            BuildError::Failed { status, tail } => write!(f, "cargo {status}; its last lines:\n{tail}"),
        }
    }
}

impl std::error::Error for BuildError {}

impl BuildError {
    /// cargo is not installed here (as opposed to a build that failed).
    pub fn is_cargo_missing(&self) -> bool {
        matches!(self, BuildError::Start(err) if err.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Builds [`STATIC_PACKAGES`] in `workspace` with [`STATIC_RUSTFLAGS`] for
/// [`STATIC_TARGET`], passing each line cargo prints for people
/// ("Compiling gateway v0.1.0", "Finished …", warnings) to `on_line` as it
/// comes. Blocks until cargo ends. Up to date, this is cargo's freshness
/// check only (about a second).
pub fn build(workspace: &Path, on_line: &mut dyn FnMut(&str)) -> Result<Built, BuildError> {
    let mut child = Command::new("cargo")
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "--target", STATIC_TARGET])
        .args(STATIC_PACKAGES.iter().flat_map(|p| ["-p", p]))
        // Artifacts as JSON on stdout (where the binaries went, what was
        // compiled); the human lines and rendered diagnostics stay on stderr.
        .arg("--message-format=json-render-diagnostics")
        // RUSTFLAGS with --target apply to the target's artifacts only, so
        // build scripts and proc macros are shared with ordinary builds.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", STATIC_RUSTFLAGS)
        // Lines, not a progress bar redrawn in place.
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(BuildError::Start)?;
    let stdout = child.stdout.take().ok_or_else(|| BuildError::Read(std::io::Error::other("no stdout")))?;
    let stderr = child.stderr.take().ok_or_else(|| BuildError::Read(std::io::Error::other("no stderr")))?;
    // stdout on its own thread so neither pipe can fill while the other is read.
    let artifacts = std::thread::spawn(move || read_artifacts(BufReader::new(stdout)));
    let mut tail = VecDeque::with_capacity(FAILURE_TAIL);
    for line in BufReader::new(stderr).lines() {
        let line = line.map_err(BuildError::Read)?;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        on_line(line.trim_start());
        if tail.len() == FAILURE_TAIL {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
    }
    let status = child.wait().map_err(BuildError::Read)?;
    let (executables, compiled) =
        artifacts.join().map_err(|_| BuildError::Read(std::io::Error::other("the stdout reader panicked")))?;
    if !status.success() {
        return Err(BuildError::Failed { status: status.to_string(), tail: Vec::from(tail).join("\n") });
    }
    let dir = executables
        .iter()
        .find_map(|path| path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| expected_dir_here(workspace));
    Ok(Built { dir, compiled })
}

/// From cargo's JSON messages: the executables built and the crates compiled
/// (artifacts that were not fresh). Lines that are not JSON are skipped.
fn read_artifacts(reader: impl std::io::BufRead) -> (Vec<PathBuf>, Vec<String>) {
    let mut executables = Vec::new();
    let mut compiled = Vec::new();
    for line in reader.lines().map_while(Result::ok) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        if let Some(path) = message["executable"].as_str() {
            executables.push(PathBuf::from(path));
        }
        if message["fresh"] == false
            && let Some(name) = message["target"]["name"].as_str()
        {
            compiled.push(name.to_owned());
        }
    }
    (executables, compiled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_folder_follows_cargo_target_dir() {
        let workspace = Path::new("/src/augment");
        let default = expected_dir(workspace, None);
        assert_eq!(default, Path::new("/src/augment/target/x86_64-unknown-linux-gnu/release"));
        assert_eq!(expected_dir(workspace, Some("".as_ref())), default, "an empty variable is unset");
        let shared = expected_dir(workspace, Some("/work/shared-target".as_ref()));
        assert_eq!(shared, Path::new("/work/shared-target/x86_64-unknown-linux-gnu/release"));
        let relative = expected_dir(workspace, Some("out".as_ref()));
        assert_eq!(relative, Path::new("/src/augment/out/x86_64-unknown-linux-gnu/release"), "cargo runs there");
    }

    #[test]
    fn artifacts_name_the_binaries_folder_and_what_was_compiled() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"libc","kind":["lib"]},"fresh":true,"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"gateway","kind":["bin"]},"fresh":false,"executable":"/t/x86_64-unknown-linux-gnu/release/gateway"}"#,
            r#"{"reason":"build-finished","success":true}"#,
            "not json",
        ];
        let (executables, compiled) = read_artifacts(messages.join("\n").as_bytes());
        assert_eq!(executables, [PathBuf::from("/t/x86_64-unknown-linux-gnu/release/gateway")]);
        assert_eq!(compiled, ["gateway"]);
    }

    #[test]
    fn the_command_line_names_every_package_and_the_flags() {
        let line = command_line();
        for package in STATIC_PACKAGES {
            assert!(line.contains(&format!("-p {package}")), "{line}");
        }
        assert!(line.contains(STATIC_RUSTFLAGS) && line.contains(STATIC_TARGET), "{line}");
    }
}
