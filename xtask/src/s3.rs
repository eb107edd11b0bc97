//! A real S3-compatible server on loopback for the registry server's S3
//! tests (sidecar-services/registry-server/tests/server/s3.rs) and its
//! S3 benchmark: moto's S3 (PyPI `moto[server]`, pinned), installed into a
//! venv under `target/tools/` on first use and started single-threaded by
//! `s3_server.py` (which says why) on a free port, with one bucket.
//! Stopped when the [`S3Guard`] drops.
//!
//! moto checks no credentials; the ones passed are placeholders that
//! satisfy the AWS clients.
//!
//! ```ignore
//! let s3 = s3::start_local_s3("augment-tests")?;
//! s3.apply_test_env(&mut Command::new("cargo")); // AUGMENT_TEST_S3_* + AWS_*
//! ```

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{run_checked, workspace_root};

/// The moto release the tests were written against: 5.1 added If-Match on
/// PutObject, which the registry server's compare-and-swap needs.
pub const MOTO_VERSION: &str = "5.2.5";
/// moto imports most of its services at start: a few seconds.
const START_DEADLINE: Duration = Duration::from_secs(60);
const LAUNCHER: &str = include_str!("s3_server.py");
/// `python -c UPLOAD ENDPOINT BUCKET PREFIX DIR`, with boto3 from moto's venv.
const UPLOAD: &str = r#"
import os, sys, boto3
endpoint, bucket, prefix, root = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint)
for folder, _, names in os.walk(root):
    for name in names:
        path = os.path.join(folder, name)
        key = os.path.relpath(path, root)
        if key != ".publish.lock":
            s3.upload_file(path, bucket, f"{prefix}/{key}")
"#;
const ACCESS_KEY_ID: &str = "augment-test";
const SECRET_ACCESS_KEY: &str = "augment-test-secret";
const REGION: &str = "us-east-1";

/// A running local S3 with one bucket; stops it on drop.
#[derive(Debug)]
pub struct S3Guard {
    child: Child,
    endpoint: String,
    bucket: String,
    log: PathBuf,
    /// The venv's Python (with boto3, which moto depends on).
    python: PathBuf,
}

impl S3Guard {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Copies every file under `dir` (a registry folder made by `augment
    /// registry init`) to `prefix/` in the bucket, as an operator uploads one.
    pub fn upload_dir(&self, dir: &Path, prefix: &str) -> Result<()> {
        run_checked(
            Command::new(&self.python)
                .args(["-c", UPLOAD, &self.endpoint, &self.bucket, prefix])
                .arg(dir)
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
                .env("AWS_DEFAULT_REGION", REGION),
        )
        .with_context(|| format!("uploading {} to the local S3", dir.display()))
    }

    /// The variables a `registry-server` reads to use this S3 (plus
    /// `REGISTRY_S3_BUCKET`, which the caller sets with its own prefix).
    pub fn server_env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
        ]
    }

    /// Sets what the registry-server S3 tests read on `command`:
    /// `AUGMENT_TEST_S3_ENDPOINT`, `AUGMENT_TEST_S3_BUCKET` and the `AWS_*`
    /// credentials and region.
    pub fn apply_test_env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env("AUGMENT_TEST_S3_ENDPOINT", &self.endpoint).env("AUGMENT_TEST_S3_BUCKET", &self.bucket);
        for (name, value) in self.server_env() {
            if name != "AWS_ENDPOINT" && name != "AWS_ALLOW_HTTP" {
                command.env(name, value);
            }
        }
        command
    }
}

impl Drop for S3Guard {
    fn drop(&mut self) {
        // moto keeps everything in memory: nothing to flush, so no SIGTERM dance.
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("xtask: stopped the local S3 (log: {})", self.log.display());
    }
}

/// Installs moto if needed and starts it with `bucket` created.
pub fn start_local_s3(bucket: &str) -> Result<S3Guard> {
    let python = ensure_moto()?;
    let dir = workspace_root().join("target/tools");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let launcher = dir.join("s3_server.py");
    std::fs::write(&launcher, LAUNCHER).with_context(|| format!("writing {}", launcher.display()))?;
    let log = dir.join("s3-server.log");
    let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let started = Instant::now();
    let mut child = Command::new(&python)
        .arg(&launcher)
        .arg(bucket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {}", python.display()))?;
    let stdout = child.stdout.take().context("the local S3 has no stdout")?;
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut guard = S3Guard { child, endpoint: String::new(), bucket: bucket.to_owned(), log, python };
    guard.endpoint = loop {
        let left = START_DEADLINE.saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("s3 listening on ") {
                    break url.trim().to_owned();
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = guard.child.wait().map(|s| s.to_string()).unwrap_or_default();
                bail!("the local S3 exited ({status}) before it listened:\n{}", tail(&guard.log));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!("the local S3 did not listen within {} s:\n{}", START_DEADLINE.as_secs(), tail(&guard.log))
            }
        }
    };
    eprintln!(
        "xtask: local S3 (moto) on {} with bucket {bucket} after {:.1} s",
        guard.endpoint,
        started.elapsed().as_secs_f64()
    );
    Ok(guard)
}

/// The venv's Python, with moto installed (a pip install the first time,
/// a file check after that).
fn ensure_moto() -> Result<PathBuf> {
    crate::python_tool::ensure("moto-venv", &format!("moto[server]=={MOTO_VERSION}"))
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts and stops the local S3 and checks it answers S3 (a listing of
    /// its bucket) and is gone afterwards. Installs moto the first time:
    /// `cargo test -p xtask local_s3 -- --ignored`.
    #[test]
    #[ignore = "installs moto from PyPI the first time; `cargo xtask test` runs it for real"]
    fn local_s3_starts_with_its_bucket_and_stops() {
        let guard = start_local_s3("xtask-selftest").unwrap();
        let address = guard.endpoint.trim_start_matches("http://").to_owned();
        let listing = http_get(&address, "/xtask-selftest?list-type=2");
        assert!(listing.starts_with("HTTP/1.0 200"), "{listing}");
        assert!(listing.contains("<Name>xtask-selftest</Name>"), "{listing}");
        assert!(http_get(&address, "/no-such-bucket?list-type=2").contains("NoSuchBucket"));
        drop(guard);
        assert!(std::net::TcpStream::connect(&address).is_err(), "the server stopped");
    }

    /// One unsigned request (moto checks no signatures).
    fn http_get(address: &str, path: &str) -> String {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}
