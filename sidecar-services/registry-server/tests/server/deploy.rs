//! Deployment files: the Kubernetes manifests agree with the server, and the
//! image builds and answers `/health` on the real Docker engine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize as _;
use serde_json::Value;

use crate::support::{Fixture, client};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every document of docker/k8s/registry-server.yaml, as JSON values by kind.
fn manifests() -> Vec<Value> {
    let text = std::fs::read_to_string(workspace().join("docker/k8s/registry-server.yaml")).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).expect("every document parses"))
        .filter(|value| !value.is_null())
        .collect()
}

fn of_kind<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = documents.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found[0]
}

#[test]
fn kubernetes_manifests_agree_with_the_server() {
    let documents = manifests();
    for kind in
        ["ConfigMap", "Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
    {
        assert_eq!(of_kind(&documents, kind)["metadata"]["name"], "registry-server", "{kind} name");
    }
    let deployment = of_kind(&documents, "Deployment");
    let config = of_kind(&documents, "ConfigMap");
    let secret = of_kind(&documents, "Secret");
    let service = of_kind(&documents, "Service");
    let ingress = of_kind(&documents, "Ingress");
    let hpa = of_kind(&documents, "HorizontalPodAutoscaler");
    let pdb = of_kind(&documents, "PodDisruptionBudget");

    // The HPA owns the replica count (a fixed `replicas` would fight it).
    assert!(deployment["spec"]["replicas"].is_null(), "no `replicas` beside an HPA");
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2, "at least two replicas");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    for (key, value) in selector.as_object().unwrap() {
        assert_eq!(&labels[key], value, "the Deployment selects its own pods");
        assert_eq!(&service["spec"]["selector"][key], value, "the Service selects the pods");
        assert_eq!(&pdb["spec"]["selector"]["matchLabels"][key], value, "the PDB covers the pods");
    }

    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"].as_u64(), Some(u64::from(registry_server::CONTAINER_PORT)));
    let port_name = port["name"].as_str().unwrap();
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"], port_name, "{probe} targets the server's port");
    }
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port_name);
    let listen = config["data"]["REGISTRY_LISTEN"].as_str().unwrap();
    assert_eq!(
        listen,
        format!("0.0.0.0:{}", registry_server::CONTAINER_PORT),
        "the server listens where the pod port is"
    );
    assert_eq!(deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], true);

    // envFrom names the ConfigMap and Secret, and every variable in them is one the server reads.
    let sources: Vec<&Value> = container["envFrom"].as_array().unwrap().iter().collect();
    assert!(sources.iter().any(|s| s["configMapRef"]["name"] == config["metadata"]["name"]));
    assert!(sources.iter().any(|s| s["secretRef"]["name"] == secret["metadata"]["name"]));
    assert!(secret["stringData"]["REGISTRY_SIGNING_KEY"].is_string(), "the Secret carries the signing key");
    let main_rs = include_str!("../../src/main.rs");
    let known = |name: &str| {
        main_rs.contains(&format!("\"{name}\""))
            || name.starts_with("AWS_")
            || ["LOG_FORMAT", "RUST_LOG"].contains(&name)
    };
    for map in [&config["data"], &secret["stringData"]] {
        for name in map.as_object().unwrap().keys() {
            assert!(known(name), "{name} is not a variable the server reads");
        }
    }

    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend["name"], service["metadata"]["name"]);
    assert_eq!(backend["port"]["number"], service["spec"]["ports"][0]["port"]);
    let body_limit = config["data"]["REGISTRY_MAX_BODY_BYTES"].as_str().unwrap().parse::<u64>().unwrap();
    let ingress_limit =
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"].as_str().unwrap();
    assert_eq!(
        ingress_limit,
        format!("{}m", body_limit / (1024 * 1024)),
        "the ingress passes uploads the server accepts"
    );

    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"]);
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
    assert!(pdb["spec"]["minAvailable"].as_u64().unwrap() >= 1);
}

/// The engine to use: $DOCKER_HOST, the default socket, or the one
/// ENVIRONMENT.md starts at /tmp/docker.sock.
fn docker_host() -> Option<Option<String>> {
    let works = |host: Option<&str>| {
        let mut command = Command::new("docker");
        command.arg("info");
        if let Some(host) = host {
            command.env("DOCKER_HOST", host);
        }
        command.output().is_ok_and(|out| out.status.success())
    };
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        return works(Some(&host)).then_some(Some(host));
    }
    if works(None) {
        return Some(None);
    }
    let fallback = "unix:///tmp/docker.sock";
    works(Some(fallback)).then(|| Some(fallback.to_owned()))
}

fn docker(host: &Option<String>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new("docker");
    command.args(args);
    if let Some(host) = host {
        command.env("DOCKER_HOST", host);
    }
    command.output().unwrap()
}

/// The glibc-static server binary the image is made from. `cargo xtask test`
/// builds it together with the stack's static services (same flags, one
/// cargo invocation) and passes their folder in `AUGMENT_STACK_BIN_DIR`;
/// `REGISTRY_SERVER_STATIC_BIN` names a binary directly. Building it here
/// instead would cost minutes of a second dependency build, so a plain
/// `cargo test` without either variable fails and says what to do.
fn static_binary() -> PathBuf {
    let binary = std::env::var_os("REGISTRY_SERVER_STATIC_BIN")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("AUGMENT_STACK_BIN_DIR").map(|dir| PathBuf::from(dir).join("registry-server")));
    let Some(binary) = binary else {
        panic!(
            "no static registry-server binary: run the suite through `cargo xtask test`, or build one with \
             `RUSTFLAGS='-C target-feature=+crt-static -C strip=debuginfo' cargo build --release -p registry-server \
             --target x86_64-unknown-linux-gnu` and set AUGMENT_STACK_BIN_DIR=target/x86_64-unknown-linux-gnu/release \
             (or REGISTRY_SERVER_STATIC_BIN to the binary); AUGMENT_SKIP_DOCKER_TESTS=1 skips this test loudly"
        );
    };
    assert!(
        binary.is_file(),
        "{} does not exist: build the static binaries with `cargo xtask test` (or point REGISTRY_SERVER_STATIC_BIN at one)",
        binary.display()
    );
    binary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_builds_and_answers_health_on_the_docker_engine() {
    if std::env::var("AUGMENT_SKIP_DOCKER_TESTS").as_deref() == Ok("1") {
        eprintln!(
            "\n!!!!!!!! SKIPPED: image_builds_and_answers_health_on_the_docker_engine (AUGMENT_SKIP_DOCKER_TESTS=1) — the registry-server image was NOT tested !!!!!!!!\n"
        );
        return;
    }
    let binary = static_binary();
    let host = docker_host().expect(
        "no Docker engine answers `docker info`: start one (see ENVIRONMENT.md: dockerd --host unix:///tmp/docker.sock …) or set AUGMENT_SKIP_DOCKER_TESTS=1 to skip loudly",
    );
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, context.path().join("registry-server")).unwrap();
    let dockerfile = workspace().join("docker/registry-server/Dockerfile.prebuilt");
    let tag = "augment-registry-server:test";
    let build = docker(
        &host,
        &["build", "-q", "-f", dockerfile.to_str().unwrap(), "-t", tag, context.path().to_str().unwrap()],
    );
    assert!(build.status.success(), "docker build: {}", String::from_utf8_lossy(&build.stderr));

    // A registry the container's non-root user can read, and its key by env file.
    let fixture = Fixture::new();
    {
        use std::os::unix::fs::PermissionsExt as _;
        for dir in [fixture.dir.path().to_owned(), fixture.registry()] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let pem = std::fs::read_to_string(fixture.key_file()).unwrap();
    let env_file = context.path().join("env");
    // docker --env-file takes one line per variable: pass the PEM with its newlines escaped away.
    std::fs::write(&env_file, format!("REGISTRY_SIGNING_KEY={}\nREGISTRY_DIR=/data\n", pem.replace('\n', "\\n")))
        .unwrap();
    let volume = format!("{}:/data:ro", fixture.registry().display());
    let run = docker(
        &host,
        &["run", "-d", "-p", "127.0.0.1::8787", "-v", &volume, "--env-file", env_file.to_str().unwrap(), tag],
    );
    assert!(run.status.success(), "docker run: {}", String::from_utf8_lossy(&run.stderr));
    let id = String::from_utf8_lossy(&run.stdout).trim().to_owned();
    struct Remove<'a>(&'a Option<String>, String);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = docker(self.0, &["rm", "-f", &self.1]);
        }
    }
    let _remove = Remove(&host, id.clone());

    let port = docker(&host, &["port", &id, "8787/tcp"]);
    let mapped = String::from_utf8_lossy(&port.stdout).lines().next().unwrap_or_default().trim().to_owned();
    assert!(mapped.starts_with("127.0.0.1:"), "published on loopback only: {mapped:?}");
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        match http.get(format!("http://{mapped}/health")).send().await {
            Ok(response) if response.status() == 200 => break response.json::<Value>().await.unwrap(),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await, // poll interval, not a readiness guess
            other => {
                let logs = docker(&host, &["logs", &id]);
                panic!(
                    "the container never answered /health ({other:?}); logs: {}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
        }
    };
    assert_eq!(health["status"], "ok");
    let ready = http.get(format!("http://{mapped}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "the container reads the mounted registry and verifies it with its key");
    let user = docker(&host, &["inspect", "-f", "{{.Config.User}}", &id]);
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "65532:65532", "the image runs as non-root");
}

/// Issue 20, point 13: what the deployment configures fits its pod's memory
/// limit: the blob cache plus every upload it may hold at once (compressed
/// body and unpacked files), with room for the process itself. Values the
/// ConfigMap leaves out are the server's defaults.
#[test]
fn point_13_the_configured_memory_fits_the_pod_limit() {
    const MIB: u64 = 1024 * 1024;
    let documents = manifests();
    let data = &of_kind(&documents, "ConfigMap")["data"];
    let container = &of_kind(&documents, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let limit = container["resources"]["limits"]["memory"].as_str().unwrap();
    let limit = limit.strip_suffix("Mi").unwrap().parse::<u64>().unwrap() * MIB;
    let defaults = registry_server::Config::default();
    let number = |name: &str, default: u64| data[name].as_str().map_or(default, |v| v.parse::<u64>().unwrap());
    let config = registry_server::Config {
        max_body_bytes: number("REGISTRY_MAX_BODY_BYTES", defaults.max_body_bytes as u64) as usize,
        blob_cache_bytes: number("REGISTRY_BLOB_CACHE_BYTES", defaults.blob_cache_bytes),
        max_concurrent_publishes: number("REGISTRY_MAX_CONCURRENT_PUBLISHES", defaults.max_concurrent_publishes as u64)
            as usize,
        ..defaults
    };
    // The process, hyper's buffers, the document cache and its memfds.
    let headroom = 96 * MIB;
    let needed = config.worst_case_buffered_bytes() + headroom;
    assert!(
        needed <= limit,
        "the pod may need {} MiB (blob cache {} MiB + {} upload(s) of {} + {} MiB + {} MiB headroom) but its limit is {} MiB",
        needed / MIB,
        config.blob_cache_bytes / MIB,
        config.max_concurrent_publishes,
        config.max_body_bytes as u64 / MIB,
        config.bundle_limits.max_unpacked_bytes / MIB,
        headroom / MIB,
        limit / MIB
    );
}
