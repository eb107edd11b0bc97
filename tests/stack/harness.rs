//! Engines, binaries, throw-away stack definitions and the `augment` binary.
#![allow(clippy::unwrap_used)] // test-only code: a failed setup step should fail the test loudly

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use serde_json::Value;
use stack::{Engine, LABEL_STACK, StackDefinition};

/// One engine test at a time (see the suite docs).
pub fn engine_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Podman,
}

fn skipping() -> bool {
    std::env::var("AUGMENT_SKIP_ENGINE_TESTS").is_ok_and(|v| v == "1")
}

/// The address of a live engine of `kind`, or `None` (with a loud message)
/// when none answers and AUGMENT_SKIP_ENGINE_TESTS=1. Panics otherwise.
pub fn engine_host(kind: Kind) -> Option<String> {
    let (variable, candidates): (&str, &[&str]) = match kind {
        Kind::Docker => ("DOCKER_HOST", &["unix:///var/run/docker.sock", "unix:///tmp/docker.sock"]),
        Kind::Podman => ("AUGMENT_PODMAN_HOST", &["unix:///tmp/podman.sock", "unix:///run/podman/podman.sock"]),
    };
    let mut tried = Vec::new();
    let configured = std::env::var(variable).ok().filter(|v| !v.is_empty());
    let hosts: Vec<String> = match configured {
        Some(host) => vec![host],
        None => candidates.iter().map(|c| (*c).to_owned()).collect(),
    };
    for host in hosts {
        match runtime().block_on(Engine::connect_to(&host)) {
            Ok(engine) => {
                let expected = match kind {
                    Kind::Docker => stack::EngineKind::Docker,
                    Kind::Podman => stack::EngineKind::Podman,
                };
                if engine.kind() == expected {
                    return Some(host);
                }
                tried.push(format!("{host}: a {:?} engine, not {kind:?}", engine.kind()));
            }
            Err(err) => tried.push(format!("{host}: {err}")),
        }
    }
    let message = format!(
        "no {kind:?} engine answered ({}). Start one with `cargo xtask test` (xtask/src/engines.rs) or set {variable}",
        tried.join("; ")
    );
    if skipping() {
        eprintln!("\n!!!!! SKIPPED: {message}; AUGMENT_SKIP_ENGINE_TESTS=1 is set !!!!!\n");
        None
    } else {
        panic!("{message}; set AUGMENT_SKIP_ENGINE_TESTS=1 to skip these tests deliberately");
    }
}

/// The folder with the static parsers, gateway and connector binaries.
pub fn bin_dir() -> PathBuf {
    let dir = std::env::var_os("AUGMENT_STACK_BIN_DIR").map_or_else(
        || stack::static_build::expected_dir_here(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")),
        PathBuf::from,
    );
    for binary in ["parsers", "gateway", "connector"] {
        let path = dir.join(binary);
        assert!(
            stack::is_static(&path).unwrap_or(false),
            "{} is missing or not static: build the images' binaries with xtask's engines::build_stack_binaries(), \
             `augment stack up` in this checkout, or `{}`",
            path.display(),
            stack::static_build::command_line()
        );
    }
    dir
}

/// A stack with a unique name and free ports, defined in a temporary file,
/// taken down (whatever the test did) when dropped.
pub struct TestStack {
    pub name: String,
    pub host: String,
    pub definition: StackDefinition,
    dir: tempfile::TempDir,
}

impl TestStack {
    pub fn new(host: &str, purpose: &str) -> Self {
        let mut definition = StackDefinition::built_in().unwrap();
        definition.name = format!("t{}-{purpose}", std::process::id());
        let ports = test_support::free_loopback_ports(definition.services.len());
        for (service, port) in definition.services.iter_mut().zip(ports) {
            service.host_port = port;
            service.health_timeout_secs = 60;
        }
        // A named volume, so `down` has one to remove.
        definition.services[0].volumes.push("data:/data".to_owned());
        let stack = TestStack {
            name: definition.name.clone(),
            host: host.to_owned(),
            definition,
            dir: tempfile::tempdir().unwrap(),
        };
        stack.write();
        stack
    }

    /// Rewrites the definition file after a test changed `definition`.
    pub fn write(&self) {
        std::fs::write(self.definition_path(), toml::to_string(&self.definition).unwrap()).unwrap();
    }

    pub fn definition_path(&self) -> PathBuf {
        self.dir.path().join("stack.toml")
    }

    pub fn port(&self, service: &str) -> u16 {
        self.definition.service(service).unwrap().host_port
    }

    /// Runs `augment stack <args> --definition <file>` against this engine.
    pub fn augment(&self, args: &[&str]) -> Output {
        augment_with_host(&self.host, args, Some(&self.definition_path()))
    }

    /// Like [`augment`](Self::augment) with `--json`, asserting the exit code.
    pub fn json(&self, args: &[&str], expected_code: i32) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.augment(&all);
        assert_eq!(
            output.status.code(),
            Some(expected_code),
            "augment {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
    }

    /// What carries this stack's label on the engine: (containers, networks, volumes).
    pub fn labelled(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        labelled(&self.host, &self.name)
    }

    pub fn engine(&self) -> Engine {
        runtime().block_on(Engine::connect_to(&self.host)).unwrap()
    }

    /// The stack's access token, as the app finds it (issue 20, point 9).
    pub fn token(&self) -> String {
        let stack = stack::Stack::new(self.engine(), self.definition.clone());
        let token = runtime().block_on(stack.access_token()).unwrap().expect("the containers hold a token");
        token.expose().to_owned()
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = self.augment(&["stack", "down"]);
    }
}

pub fn augment_with_host(host: &str, args: &[&str], definition: Option<&Path>) -> Output {
    let mut command = Command::new(integration_tests::augment_bin());
    command.args(args).env("DOCKER_HOST", host).env("AUGMENT_STACK_BIN_DIR", bin_dir());
    if let Some(definition) = definition {
        command.arg("--definition").arg(definition);
    }
    command.output().unwrap()
}

/// Containers, networks and volumes labelled `it.augment.stack=<name>`.
pub fn labelled(host: &str, name: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    runtime().block_on(async {
        let engine = Engine::connect_to(host).await.unwrap();
        let docker = engine.client();
        let filters =
            Some(std::collections::HashMap::from([("label".to_owned(), vec![format!("{LABEL_STACK}={name}")])]));
        let containers = docker
            .list_containers(Some(ListContainersOptions { all: true, filters: filters.clone(), ..Default::default() }))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
            .collect();
        let networks = docker
            .list_networks(Some(ListNetworksOptions { filters: filters.clone() }))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        let volumes = docker
            .list_volumes(Some(ListVolumesOptions { filters }))
            .await
            .unwrap()
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        (containers, networks, volumes)
    })
}

/// `{ service: container id }` from an `up` or `status` JSON report.
pub fn ids(report: &Value) -> BTreeMap<String, String> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["service"].as_str().unwrap().to_owned(), s["id"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// `{ service: field }` from a JSON report.
pub fn field(report: &Value, name: &str) -> BTreeMap<String, String> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["service"].as_str().unwrap().to_owned(), s[name].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// A POST over loopback with the stack's token (if any), answering (status, JSON body).
pub fn post(url: &str, token: Option<&str>, body: &'static str) -> (u16, Value) {
    runtime().block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.post(url).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

pub fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    runtime().block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}
