//! A registry (in a folder, or in a bucket of the local S3) with keys and
//! tokens, and the server binary running over it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use registry_server::Storage;

/// How long a server may take to start or reach a pause point.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A registry folder, its key, and a place for remotes. With
/// [`on_s3`](Self::on_s3), the registry lives under a prefix of the local
/// S3's bucket instead (the folder then only seeded it).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    s3: Option<S3Registry>,
}

/// A registry's place in the local S3.
struct S3Registry {
    s3: LocalS3,
    prefix: String,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = registry::SigningKey::generate();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        key.write_pem_file(&dir.path().join("keys/registry.key")).unwrap();
        key.public_key().write_pem_file(&dir.path().join("keys/registry.pub")).unwrap();
        registry::init(&dir.path().join("registry"), &key, &key, registry::Expiry::default()).unwrap();
        Self { dir, s3: None }
    }

    /// A registry initialised as [`new`](Self::new) does, then copied into
    /// its own prefix of the local S3's bucket (as an operator would upload
    /// `augment registry init`'s folder); its servers run on S3 storage.
    pub async fn on_s3(s3: &LocalS3) -> Self {
        let mut fixture = Self::new();
        let name = fixture.dir.path().file_name().unwrap().to_string_lossy().trim_start_matches('.').to_owned();
        let prefix = format!("fixtures/{}-{name}", std::process::id());
        let storage = s3.storage(&s3.bucket, &prefix);
        for key in fixture.tree() {
            storage.put(&key, std::fs::read(fixture.registry().join(&key)).unwrap().into()).await.unwrap();
        }
        fixture.s3 = Some(S3Registry { s3: s3.clone(), prefix });
        fixture
    }

    /// The registry's prefix in the local S3's bucket ([`on_s3`](Self::on_s3) only).
    pub fn s3_prefix(&self) -> Option<&str> {
        self.s3.as_ref().map(|place| place.prefix.as_str())
    }

    /// The registry's storage, as the server opens it.
    pub fn storage(&self) -> Storage {
        match &self.s3 {
            Some(place) => place.s3.storage(&place.s3.bucket, &place.prefix),
            None => Storage::local(&self.registry()).unwrap(),
        }
    }

    pub fn registry(&self) -> PathBuf {
        self.dir.path().join("registry")
    }
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("keys/registry.key")
    }

    /// Mints a token for `remotes`, as `augment registry token create` does.
    pub async fn token(&self, remotes: &[&str]) -> String {
        let storage = self.storage();
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

    /// A server over this fixture's registry, in its folder or on S3.
    pub fn server(&self) -> Server {
        match &self.s3 {
            Some(place) => Server::start_on_s3(&place.s3, &place.s3.bucket, &place.prefix, &self.key_file(), &[]),
            None => Server::start(&self.registry(), &self.key_file(), &[]),
        }
    }

    /// The snapshot as clients see it, verified with the registry's key
    /// (folder fixtures; [`stored_snapshot`](Self::stored_snapshot) reads any).
    pub fn snapshot(&self) -> registry::Snapshot {
        let root = root_of(&std::fs::read(self.registry().join("root.json")).unwrap());
        snapshot_of(&root, &std::fs::read(self.registry().join("snapshot.json")).unwrap())
    }

    /// `remotes/<name>.json` as served, checked against the snapshot.
    pub fn index(&self, name: &str) -> Option<registry::RemoteIndex> {
        let snapshot = self.snapshot();
        let entry = snapshot.remotes.get(name)?;
        let bytes = std::fs::read(self.registry().join(format!("remotes/{name}.json"))).unwrap();
        Some(registry::verify_remote_index(entry, name, &bytes, &registry::Limits::default()).unwrap())
    }

    /// An object of the registry as stored (folder or S3), `None` if absent.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.storage().get(key).await.unwrap().map(|object| object.bytes.to_vec())
    }

    /// The registry's root as stored.
    pub async fn stored_root(&self) -> registry::Root {
        root_of(&self.object("root.json").await.expect("root.json is stored"))
    }

    /// The snapshot as stored, verified with the registry's key.
    pub async fn stored_snapshot(&self) -> registry::Snapshot {
        let root = self.stored_root().await;
        snapshot_of(&root, &self.object("snapshot.json").await.expect("snapshot.json is stored"))
    }

    /// `remotes/<name>.json` as stored, checked against the stored snapshot.
    pub async fn stored_index(&self, name: &str) -> Option<registry::RemoteIndex> {
        let snapshot = self.stored_snapshot().await;
        let entry = snapshot.remotes.get(name)?;
        let bytes = self.object(&format!("remotes/{name}.json")).await.expect("a pinned index is stored");
        Some(registry::verify_remote_index(entry, name, &bytes, &registry::Limits::default()).unwrap())
    }

    /// Every file in the folder's tree (relative paths), for "nothing
    /// stored" checks.
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

fn root_of(bytes: &[u8]) -> registry::Root {
    match registry::TrustAnchor::from_root_json(bytes).unwrap() {
        registry::TrustAnchor::Root(root) => root,
        registry::TrustAnchor::Key(_) => unreachable!("root.json is a root"),
    }
}

fn snapshot_of(root: &registry::Root, bytes: &[u8]) -> registry::Snapshot {
    registry::verify_snapshot(root, bytes, None, jiff::Timestamp::now(), &registry::Limits::default())
        .unwrap()
        .into_snapshot()
}

/// The local S3-compatible server the S3 tests run against: its endpoint
/// and bucket from `AUGMENT_TEST_S3_ENDPOINT` and `AUGMENT_TEST_S3_BUCKET`,
/// credentials and region from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
/// and `AWS_REGION`. `cargo xtask test` starts one (moto, xtask/src/s3.rs)
/// and sets them all.
#[derive(Debug, Clone)]
pub struct LocalS3 {
    pub endpoint: String,
    pub bucket: String,
    access_key_id: String,
    secret_access_key: String,
    region: String,
}

impl LocalS3 {
    /// The configured local S3, or `None` (said loudly) when
    /// `AUGMENT_SKIP_S3_TESTS=1`. Panics with how to run the tests otherwise.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let names =
            ["AUGMENT_TEST_S3_ENDPOINT", "AUGMENT_TEST_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
        let missing: Vec<&str> = names.into_iter().filter(|name| var(name).is_none()).collect();
        if missing.is_empty() {
            return Some(Self {
                endpoint: var("AUGMENT_TEST_S3_ENDPOINT").unwrap(),
                bucket: var("AUGMENT_TEST_S3_BUCKET").unwrap(),
                access_key_id: var("AWS_ACCESS_KEY_ID").unwrap(),
                secret_access_key: var("AWS_SECRET_ACCESS_KEY").unwrap(),
                region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            });
        }
        let message = format!(
            "the S3 tests need a local S3-compatible server, and {} is not set. Run the suite through \
             `cargo xtask test`, which starts one (moto, xtask/src/s3.rs) and sets these; or start moto's \
             server yourself, create a bucket and set AUGMENT_TEST_S3_ENDPOINT (http://127.0.0.1:PORT), \
             AUGMENT_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            missing.join(", ")
        );
        if std::env::var("AUGMENT_SKIP_S3_TESTS").as_deref() == Ok("1") {
            eprintln!("\n!!!!! SKIPPED: {message}; AUGMENT_SKIP_S3_TESTS=1 is set — S3 storage was NOT tested !!!!!\n");
            return None;
        }
        panic!("{message}; set AUGMENT_SKIP_S3_TESTS=1 to skip these tests deliberately");
    }

    /// The same S3 reached through another endpoint (a proxy in front of it).
    pub fn through(&self, endpoint: String) -> Self {
        Self { endpoint, ..self.clone() }
    }

    /// S3 storage on `bucket` under `prefix`, configured as a server started
    /// with [`server_env`](Self::server_env) configures it.
    pub fn storage(&self, bucket: &str, prefix: &str) -> Storage {
        let builder = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key);
        Storage::s3_with(builder, bucket, Some(prefix)).unwrap()
    }

    /// The `AWS_*` variables that point a server at this S3.
    pub fn server_env(&self) -> [(&'static str, &str); 5] {
        [
            ("AWS_ENDPOINT", &self.endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", &self.region),
            ("AWS_ACCESS_KEY_ID", &self.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &self.secret_access_key),
        ]
    }

    /// The server command for `bucket`/`prefix` of this S3, as `registry-server`
    /// is configured in a deployment (REGISTRY_S3_* and AWS_* variables).
    pub fn server_command(&self, bucket: &str, prefix: &str, key: &Path) -> Command {
        let mut command = Server::command(key);
        command.env("REGISTRY_S3_BUCKET", bucket).env("REGISTRY_S3_PREFIX", prefix);
        for (name, value) in self.server_env() {
            command.env(name, value);
        }
        command
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
        let mut command = Self::command(key);
        command.arg("--dir").arg(dir);
        Self::spawn(command, env)
    }

    /// A server on `bucket`/`prefix` of the local S3.
    pub fn start_on_s3(s3: &LocalS3, bucket: &str, prefix: &str, key: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(s3.server_command(bucket, prefix, key), env)
    }

    /// The binary on a free loopback port with `key`, storage not chosen yet.
    pub fn command(key: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_registry-server"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .arg("--signing-key-file")
            .arg(key)
            .env("RUST_LOG", "registry_server=debug,info")
            .env_remove("REGISTRY_SIGNING_KEY");
        for name in ["REGISTRY_DIR", "REGISTRY_S3_BUCKET", "REGISTRY_S3_PREFIX"] {
            command.env_remove(name);
        }
        command
    }

    fn spawn(mut command: Command, env: &[(&str, &str)]) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
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
