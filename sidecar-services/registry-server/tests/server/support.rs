//! A registry folder with keys and tokens, and the server binary running
//! over it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use registry_server::Storage;

/// How long a server may take to start or reach a pause point.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A registry folder, its key, and a place for remotes.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = registry::SigningKey::generate();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        key.write_pem_file(&dir.path().join("keys/registry.key")).unwrap();
        key.public_key().write_pem_file(&dir.path().join("keys/registry.pub")).unwrap();
        registry::init(&dir.path().join("registry"), &key, &key, registry::Expiry::default()).unwrap();
        Self { dir }
    }

    pub fn registry(&self) -> PathBuf {
        self.dir.path().join("registry")
    }
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("keys/registry.key")
    }

    /// Mints a token for `remotes`, as `augment registry token create` does.
    pub async fn token(&self, remotes: &[&str]) -> String {
        let storage = Storage::local(&self.registry()).unwrap();
        let remotes: Vec<String> = remotes.iter().map(|r| (*r).to_owned()).collect();
        let (token, _) = registry_server::tokens::create(&storage, &remotes, None).await.unwrap();
        token.to_string()
    }

    /// A built remote folder with `extra` files of `size` bytes.
    pub fn remote(&self, name: &str, version: &str, extra: &[(&str, &[u8])]) -> PathBuf {
        let dir = self.dir.path().join("remotes-src").join(format!("{name}-{version}"));
        test_support::sample_remote(&dir, name, version, "^1.0.0", extra).unwrap();
        dir
    }

    pub fn server(&self) -> Server {
        Server::start(&self.registry(), &self.key_file(), &[])
    }

    /// The snapshot as clients see it, verified with the registry's key.
    pub fn snapshot(&self) -> registry::Snapshot {
        let root =
            match registry::TrustAnchor::from_root_json(&std::fs::read(self.registry().join("root.json")).unwrap())
                .unwrap()
            {
                registry::TrustAnchor::Root(root) => root,
                registry::TrustAnchor::Key(_) => unreachable!("root.json is a root"),
            };
        let bytes = std::fs::read(self.registry().join("snapshot.json")).unwrap();
        registry::verify_snapshot(&root, &bytes, None, jiff::Timestamp::now(), &registry::Limits::default())
            .unwrap()
            .into_snapshot()
    }

    /// `remotes/<name>.json` as served, checked against the snapshot.
    pub fn index(&self, name: &str) -> Option<registry::RemoteIndex> {
        let snapshot = self.snapshot();
        let entry = snapshot.remotes.get(name)?;
        let bytes = std::fs::read(self.registry().join(format!("remotes/{name}.json"))).unwrap();
        Some(registry::verify_remote_index(entry, name, &bytes, &registry::Limits::default()).unwrap())
    }

    /// Every file in the tree (relative paths), for "nothing stored" checks.
    pub fn tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![self.registry()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    pending.push(entry.path());
                } else {
                    let relative = entry.path().strip_prefix(self.registry()).unwrap().to_string_lossy().into_owned();
                    if relative != ".publish.lock" {
                        out.push(relative);
                    }
                }
            }
        }
        out.sort();
        out
    }
}

/// The `registry-server` binary, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    lines: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(dir: &Path, key: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_registry-server"));
        command
            .args(["--listen", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .arg("--signing-key-file")
            .arg(key)
            .env("RUST_LOG", "registry_server=debug,info")
            .env_remove("REGISTRY_SIGNING_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self { child, url: String::new(), lines };
        let line = server.wait_for_line("registry-server listening on ");
        server.url = line.trim_start_matches("registry-server listening on ").trim().to_owned();
        server
    }

    /// Waits (with a deadline) for a stdout line starting with `prefix`.
    pub fn wait_for_line(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(err) => panic!("the server never printed {prefix:?}: {err}"),
            }
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap()
}

/// POSTs a packed remote folder, named as its remote.json names it (what
/// `augment publish --registry URL` sends).
pub async fn publish(url: &str, token: Option<&str>, remote_dir: &Path) -> reqwest::Response {
    let manifest = std::fs::read(remote_dir.join("remote.json")).unwrap();
    let name = manifest::RemoteManifest::from_json(&manifest).unwrap().name;
    let body = registry_server::bundle::pack_dir(remote_dir).unwrap();
    publish_bytes(url, token, &name, body).await
}

/// POSTs `body` as an upload of the remote `name` (`?name=`, which the
/// token's scope is checked against before the body is read).
pub async fn publish_bytes(url: &str, token: Option<&str>, name: &str, body: Vec<u8>) -> reqwest::Response {
    let mut request = client().post(format!("{url}/api/v1/publish")).query(&[("name", name)]).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The JSON error body `{ code, message }` of a refused request.
pub async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A tar archive built by hand, for uploads `pack_dir` would never produce.
pub fn tar_of(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, bytes, link) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        {
            // Write the name raw, so `..` and absolute paths survive (the
            // builder's own setters refuse them, as a careful client would).
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
        }
        if let Some(link) = link {
            header.set_link_name(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}
