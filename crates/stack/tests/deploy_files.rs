//! The deployment files in docker/ keep the promises the docs make: ports on
//! loopback only, non-root users, health probes, and the same services and
//! ports as the stack definition.
#![allow(clippy::unwrap_used)] // tests: a malformed file should fail loudly

use std::path::PathBuf;

use serde::Deserialize;
use serde_norway::Value;
use stack::StackDefinition;

fn docker_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docker")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(docker_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn compose_publishes_every_port_on_loopback_only_and_matches_the_stack() {
    let compose: Value = serde_norway::from_str(&read("compose.yaml")).unwrap();
    let services = compose["services"].as_mapping().unwrap();
    let mut published = 0;
    for (name, service) in services {
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let port = port.as_str().unwrap();
            assert!(port.starts_with("127.0.0.1:"), "{name:?} publishes {port} beyond loopback");
            published += 1;
        }
    }
    assert!(published >= 7, "every service publishes a port");
    let stack = StackDefinition::built_in().unwrap();
    for service in &stack.services {
        let compose_service = &compose["services"][service.name.as_str()];
        let expected = format!("127.0.0.1:{}:{}", service.host_port, service.port);
        let ports: Vec<&str> =
            compose_service["ports"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(ports, [expected.as_str()], "{} differs between compose.yaml and stack.toml", service.name);
        if !service.profiles.is_empty() {
            // Behind the same profile in compose (prometheus: the image from Docker Hub there).
            let profiles = compose_service["profiles"].as_sequence().unwrap();
            for profile in &service.profiles {
                assert!(profiles.iter().any(|p| p.as_str() == Some(profile)), "{}: profile {profile}", service.name);
            }
            continue;
        }
        // Set through the `x-hardening` anchor (a YAML merge key, which compose resolves).
        let read_only = match &compose_service["read_only"] {
            Value::Null => &compose_service["<<"]["read_only"],
            set => set,
        };
        assert_eq!(read_only, &Value::Bool(true), "{}", service.name);
        assert!(compose_service["profiles"].is_null(), "{} must start without a profile", service.name);
    }
    for optional in ["postgres", "redis", "prometheus", "grafana"] {
        let profiles = compose["services"][optional]["profiles"].as_sequence().unwrap();
        assert!(profiles.iter().any(|p| p.as_str() == Some(optional)), "{optional} is behind its own profile");
    }
}

#[test]
fn dockerfiles_build_static_binaries_into_scratch_and_run_as_non_root() {
    for service in ["parsers", "gateway", "connector"] {
        let text = read(&format!("{service}.Dockerfile"));
        assert!(text.contains("AS build"), "{service}: multi-stage");
        assert!(text.contains("+crt-static"), "{service}: static binary");
        assert!(text.contains("\nFROM scratch"), "{service}: small final image");
        assert!(text.contains("\nUSER 65532:65532"), "{service}: non-root");
    }
    let prebuilt = read("Dockerfile.prebuilt");
    assert!(prebuilt.contains("FROM scratch") && prebuilt.contains("USER 65532:65532"));
    assert_eq!(prebuilt, stack::PREBUILT_DOCKERFILE, "the compiled-in copy is current");
}

/// A `.dockerignore` as Docker reads it: a pattern matches a path or any
/// folder above it, `**` spans folders, `!` re-includes, the last matching
/// line decides.
struct DockerIgnore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    fn parse(text: &str) -> Self {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (include, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments = pattern.trim_matches('/').split('/').filter(|s| !s.is_empty() && *s != ".");
                (include, segments.map(str::to_owned).collect())
            })
            .collect();
        Self { patterns }
    }

    fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (include, pattern) in &self.patterns {
            let matched = (1..=segments.len()).any(|end| glob(pattern, &segments[..end]));
            if matched {
                excluded = !include;
            }
        }
        excluded
    }
}

/// Whole-path glob over segments: `**` is any number of segments, `*` any
/// characters within one, `?` one character.
fn glob(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| glob(rest, &path[skip..])),
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(segment, tail)| segment_glob(first.as_bytes(), segment.as_bytes()) && glob(rest, tail)),
    }
}

fn segment_glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| segment_glob(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && segment_glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && segment_glob(rest, &text[1..]),
    }
}

/// Every file cargo may need to build a workspace member: manifests and
/// sources under each member's folder (minus build output), plus what
/// crates include from docker/.
fn build_inputs(workspace: &std::path::Path) -> Vec<String> {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap()).unwrap();
    let members = manifest["workspace"]["members"].as_array().unwrap();
    let mut inputs = vec!["Cargo.toml".to_owned(), "Cargo.lock".to_owned()];
    inputs.extend(["docker/stack.toml".to_owned(), "docker/Dockerfile.prebuilt".to_owned()]);
    let mut pending: Vec<String> = members.iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(workspace.join(&folder)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let path = format!("{folder}/{name}");
            if entry.file_type().unwrap().is_dir() {
                if !["target", "node_modules", "dist", "gen"].contains(&name.as_str()) {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") || name == "Cargo.toml" || name == "build.rs" {
                inputs.push(path);
            }
        }
    }
    inputs
}

/// Issue 20, point 13: `COPY . .` in the source Dockerfiles sends the whole
/// build context into the image's build stage, so every ignore file a
/// builder may read (the root one, and BuildKit's `<Dockerfile>.dockerignore`,
/// which replaces it) keeps out signing keys, provider keys and build
/// output, and keeps in everything cargo needs.
#[test]
fn point_13_dockerignore_keeps_keys_secrets_and_build_output_out_of_every_build_context() {
    let workspace = docker_dir().join("..");
    let mut dockerfiles = Vec::new();
    let mut pending = vec![docker_dir()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                pending.push(path);
            } else if (name.ends_with("Dockerfile") || name.ends_with(".Dockerfile"))
                && std::fs::read_to_string(&path).unwrap().contains("COPY . .")
            {
                dockerfiles.push(path);
            }
        }
    }
    assert!(dockerfiles.len() >= 4, "the services' and the registry server's source builds: {dockerfiles:?}");
    let inputs = build_inputs(&workspace);
    assert!(inputs.contains(&"tests/keys/main.rs".to_owned()), "a crate target in a folder named keys");
    for dockerfile in dockerfiles {
        let own =
            dockerfile.with_file_name(format!("{}.dockerignore", dockerfile.file_name().unwrap().to_string_lossy()));
        let file = if own.is_file() { own } else { workspace.join(".dockerignore") };
        let ignore = DockerIgnore::parse(&std::fs::read_to_string(&file).unwrap());
        let which = format!("{} (for {})", file.display(), dockerfile.display());
        for secret in [
            "keys/registry.key",
            "keys/registry.pub",
            "docker/secrets/openai",
            "target/release/registry-server",
            "node_modules/vite/package.json",
            "shell-ui/node_modules/react/index.js",
            "shell-ui/dist/index.html",
            "remotes/admin-dashboard/dist/remoteEntry.js",
            ".git/config",
            "some/where/signing.key",
            "some/where/tls.pem",
            ".env",
        ] {
            assert!(ignore.excludes(secret), "{which} sends {secret} to the builder");
        }
        for input in &inputs {
            assert!(!ignore.excludes(input), "{which} leaves out {input}, which cargo needs");
        }
    }
}

fn documents(name: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(&read(name)).map(|doc| Value::deserialize(doc).unwrap()).collect()
}

/// The TCP ports a policy's rules admit, with what each rule admits from.
fn admitted(policy: &Value) -> Vec<(u64, Value)> {
    let mut found = Vec::new();
    for rule in policy["spec"]["ingress"].as_sequence().into_iter().flatten() {
        for port in rule["ports"].as_sequence().into_iter().flatten() {
            found.push((port["port"].as_u64().unwrap(), rule["from"].clone()));
        }
    }
    found
}

/// Issue 20, point 9: on Kubernetes nothing reaches a service it does not
/// need to: ingress is denied to every augment-it pod by default, the
/// connector (which spends provider keys) takes its API port from gateway
/// pods only, and the gateway and connector run with the
/// shared access token and their allowed host names.
#[test]
fn point_9_kubernetes_network_policies_deny_ingress_by_default() {
    let policies = documents("k8s/network-policy.yaml");
    assert!(policies.iter().all(|p| p["kind"] == "NetworkPolicy"), "only policies in this file");
    let default_deny = policies
        .iter()
        .find(|p| p["metadata"]["name"] == "augment-it-default-deny")
        .expect("a policy for every augment-it pod");
    assert_eq!(default_deny["spec"]["policyTypes"], serde_norway::from_str::<Value>("[Ingress, Egress]").unwrap());
    assert!(default_deny["spec"]["ingress"].is_null(), "the default admits nothing");
    assert!(default_deny["spec"]["egress"].is_null(), "the default lets nothing out");
    let policy_of = |service: &str| {
        policies
            .iter()
            .find(|p| p["metadata"]["name"] == format!("{service}-ingress").as_str())
            .unwrap_or_else(|| panic!("a policy for {service}"))
    };
    for service in ["parsers", "gateway", "connector", "registry-server"] {
        let documents = documents(&format!("k8s/{service}.yaml"));
        let deployment = documents.iter().find(|d| d["kind"] == "Deployment").unwrap();
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/part-of"], "augment-it", "{service}: the default deny applies");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let http = container["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "http")
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap();
        let admitted = admitted(policy_of(service));
        assert!(admitted.iter().any(|(port, _)| *port == http), "{service}: its API port {http} is admitted");
        // The parsers' /metrics shares their port (they hold no secret); the
        // connector's is on its admin port, so its API port admits only the gateway.
        if service == "connector" {
            let from_gateway = serde_norway::from_str::<Value>(
                "[{ podSelector: { matchLabels: { app.kubernetes.io/name: gateway } } }]",
            )
            .unwrap();
            for (port, from) in &admitted {
                if *port == http {
                    assert_eq!(from, &from_gateway, "{service}: port {port} only from the gateway");
                }
            }
        }
        if matches!(service, "gateway" | "connector") {
            let env = container["env"].as_sequence().unwrap();
            let names: Vec<&str> = env.iter().filter_map(|e| e["name"].as_str()).collect();
            assert!(names.contains(&"SIDECAR_TOKEN_FILE"), "{service}: the access token");
            assert!(names.contains(&"SIDECAR_ALLOWED_HOSTS"), "{service}: its in-cluster names");
        }
    }
}

/// Issue 20, point 9: compose starts the gateway and the connector with a
/// token (compose refuses to start without AUGMENT_SIDECAR_TOKEN) and lets
/// the gateway reach the connector by its service name.
#[test]
fn point_9_compose_passes_the_access_token() {
    let compose: Value = serde_norway::from_str(&read("compose.yaml")).unwrap();
    for service in ["gateway", "connector"] {
        let token = compose["services"][service]["environment"]["SIDECAR_TOKEN"].as_str().unwrap_or_default();
        assert!(token.contains("AUGMENT_SIDECAR_TOKEN:?"), "{service}: required, not defaulted: {token}");
    }
    assert_eq!(compose["services"]["connector"]["environment"]["SIDECAR_ALLOWED_HOSTS"], "connector");
}

/// Issue 20, point 13: the gateway's and connector's `/metrics` (which need
/// no token there) are scraped from their admin port, on Kubernetes and in
/// compose, and only monitoring is let through to that port.
#[test]
fn point_13_metrics_are_scraped_from_the_admin_port() {
    let policies = documents("k8s/network-policy.yaml");
    let compose: Value = serde_norway::from_str(&read("compose.yaml")).unwrap();
    let prometheus: Value = serde_norway::from_str(&read("prometheus.yml")).unwrap();
    // One job per service (the alert rules and dashboards group by job).
    let targets: Vec<&str> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|job| job["static_configs"][0]["targets"].as_sequence().unwrap())
        .filter_map(Value::as_str)
        .collect();
    for service in ["gateway", "connector"] {
        let documents = documents(&format!("k8s/{service}.yaml"));
        let template = &documents[0]["spec"]["template"];
        let container = &template["spec"]["containers"][0];
        let admin = container["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "admin")
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("{service}: an admin port"));
        let env = container["env"].as_sequence().unwrap();
        let listen = env.iter().find(|e| e["name"] == "SIDECAR_ADMIN_LISTEN").unwrap()["value"].as_str().unwrap();
        assert_eq!(listen, format!("0.0.0.0:{admin}"), "{service}");
        assert_eq!(template["metadata"]["annotations"]["prometheus.io/port"], admin.to_string().as_str(), "{service}");
        let policy = policies.iter().find(|p| p["metadata"]["name"] == format!("{service}-ingress").as_str()).unwrap();
        let from_monitoring = serde_norway::from_str::<Value>(
            "[{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: monitoring } } }]",
        )
        .unwrap();
        for (port, from) in admitted(policy) {
            if port == admin {
                assert_eq!(from, from_monitoring, "{service}: the admin port only from monitoring");
            }
        }
        let compose_listen = compose["services"][service]["environment"]["SIDECAR_ADMIN_LISTEN"].as_str().unwrap();
        let compose_port = compose_listen.rsplit(':').next().unwrap();
        assert!(targets.contains(&format!("{service}:{compose_port}").as_str()), "{service}: {targets:?}");
        assert!(
            compose["services"][service]["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .all(|p| !p.as_str().unwrap().ends_with(&format!(":{compose_port}"))),
            "{service}: the admin port is not published"
        );
    }
}

/// Issue 20, point 13: the parsers' pod holds what its settings let in. A
/// parse holds its document, the table and the JSON answer: measured peaks
/// (`VmHWM` of the `parsers` binary, one 16 MiB document at a time, 2026-12-03)
/// were 7.9× the document for CSV and 4.2× for JSON, over a 7 MiB process.
#[test]
fn point_13_the_parsers_settings_fit_their_pod_limit() {
    const MIB: u64 = 1024 * 1024;
    const PEAK_PER_DOCUMENT_BYTE: u64 = 8;
    const PROCESS: u64 = 32 * MIB;
    let documents = documents("k8s/parsers.yaml");
    let deployment = documents.iter().find(|d| d["kind"].as_str() == Some("Deployment")).unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let env = |name: &str| -> u64 {
        let entry = container["env"].as_sequence().unwrap().iter().find(|e| e["name"].as_str() == Some(name));
        // Unset, the defaults follow the node (2 parses per CPU, 64 MiB each): no limit can hold that.
        let value = entry.unwrap_or_else(|| panic!("{name} must be set in the parsers' Deployment"))["value"].as_str();
        value.unwrap().parse().unwrap()
    };
    let (body, parses) = (env("PARSERS_MAX_BODY_BYTES"), env("PARSERS_MAX_CONCURRENT_PARSES"));
    let limit = container["resources"]["limits"]["memory"].as_str().unwrap();
    let limit = limit.strip_suffix("Mi").unwrap().parse::<u64>().unwrap() * MIB;
    let needed = parses * body * PEAK_PER_DOCUMENT_BYTE + PROCESS;
    assert!(
        needed <= limit,
        "the parsers' pod may need {} MiB ({parses} parse(s) of {} MiB × {PEAK_PER_DOCUMENT_BYTE} + {} MiB) but its limit is {} MiB",
        needed / MIB,
        body / MIB,
        PROCESS / MIB,
        limit / MIB
    );
}

/// Issue 18, point 3: the gateway refuses to listen beyond loopback without
/// auth, so every deployment that binds it to 0.0.0.0 says which case it is:
/// Kubernetes (reachable in the cluster) sets `GATEWAY_AUTH_URL`; compose and
/// the desktop's stack, whose port is published on 127.0.0.1 only (checked
/// above), set `GATEWAY_PUBLISHED_ON_LOOPBACK`.
#[test]
fn issue_18_every_gateway_deployment_is_allowed_to_start() {
    let stack = StackDefinition::built_in().unwrap();
    let gateway = stack.services.iter().find(|s| s.name == "gateway").unwrap();
    assert_eq!(gateway.env.get("GATEWAY_LISTEN").map(String::as_str), Some("0.0.0.0:8080"));
    assert_eq!(gateway.env.get("GATEWAY_PUBLISHED_ON_LOOPBACK").map(String::as_str), Some("1"), "stack.toml");

    let compose: Value = serde_norway::from_str(&read("compose.yaml")).unwrap();
    let environment = &compose["services"]["gateway"]["environment"];
    assert_eq!(environment["GATEWAY_LISTEN"], "0.0.0.0:8080");
    assert_eq!(environment["GATEWAY_PUBLISHED_ON_LOOPBACK"], "1", "compose.yaml");

    let documents = documents("k8s/gateway.yaml");
    let deployment = documents.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_sequence().unwrap();
    let value = |name: &str| env.iter().find(|e| e["name"] == name).and_then(|e| e["value"].as_str());
    assert_eq!(value("GATEWAY_LISTEN"), Some("0.0.0.0:8080"));
    assert!(value("GATEWAY_AUTH_URL").is_some_and(|url| url.starts_with("http")), "k8s: auth mode");
    assert_eq!(value("GATEWAY_PUBLISHED_ON_LOOPBACK"), None, "k8s is reachable beyond loopback");
}

// ---- Kubernetes for teams (issue 18, point 6) ----

/// One service deployed on Kubernetes.
struct Workload {
    name: &'static str,
    /// Its API port (the container's `http` port).
    http: u64,
    /// `/health`, `/ready` and `/metrics` without token or host check.
    admin: Option<u64>,
    /// Scaled by an HPA and kept up through node drains by a PDB.
    scaled: bool,
}

const WORKLOADS: [Workload; 5] = [
    Workload { name: "parsers", http: 8081, admin: None, scaled: false },
    Workload { name: "connector", http: 8082, admin: Some(9082), scaled: false },
    Workload { name: "gateway", http: 8080, admin: Some(9080), scaled: true },
    Workload { name: "auth", http: 8084, admin: Some(9084), scaled: true },
    Workload { name: "registry-server", http: 8787, admin: Some(9787), scaled: true },
];

/// What every pod spec sets (JSON pointer under the pod spec, value).
const POD_FIELDS: [(&str, &str); 3] = [
    ("/securityContext/runAsNonRoot", "true"),
    ("/securityContext/seccompProfile/type", "\"RuntimeDefault\""),
    ("/automountServiceAccountToken", "false"),
];

/// What every container sets (JSON pointer under the container, value).
const CONTAINER_FIELDS: [(&str, &str); 4] = [
    ("/securityContext/readOnlyRootFilesystem", "true"),
    ("/securityContext/allowPrivilegeEscalation", "false"),
    ("/securityContext/capabilities/drop", "[\"ALL\"]"),
    ("/livenessProbe/httpGet/path", "\"/health\""),
];

/// What every container has, whatever the value.
const CONTAINER_PRESENT: [&str; 4] = [
    "/readinessProbe/httpGet/path",
    "/resources/requests/cpu",
    "/resources/requests/memory",
    "/resources/limits/memory",
];

fn json_documents(name: &str) -> Vec<serde_json::Value> {
    documents(name)
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|d| serde_json::to_value(d).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

/// The files `kubectl apply -k docker/k8s` applies, in its order.
fn kustomization_resources() -> Vec<String> {
    let kustomization: serde_json::Value =
        serde_json::to_value(serde_norway::from_str::<Value>(&read("k8s/kustomization.yaml")).unwrap()).unwrap();
    let resources = kustomization["resources"].as_array().expect("kustomization.yaml lists resources");
    resources.iter().map(|r| r.as_str().unwrap().to_owned()).collect()
}

/// (kind, name) of what the kustomization's `$patch: delete` patches remove.
fn deleted_by_kustomization() -> Vec<(String, serde_json::Value)> {
    let kustomization: serde_json::Value =
        serde_json::to_value(serde_norway::from_str::<Value>(&read("k8s/kustomization.yaml")).unwrap()).unwrap();
    let patches = kustomization["patches"].as_array().into_iter().flatten();
    let patches = patches.filter_map(|p| p["patch"].as_str()).map(|p| serde_norway::from_str::<Value>(p).unwrap());
    let deletes = patches.map(|p| serde_json::to_value(p).unwrap()).filter(|p| p["$patch"] == "delete");
    deletes.map(|p| (p["kind"].as_str().unwrap_or_default().to_owned(), p["metadata"]["name"].clone())).collect()
}

/// Every document of every applied manifest, with the file it is in.
fn applied_documents() -> Vec<(String, serde_json::Value)> {
    kustomization_resources()
        .into_iter()
        .flat_map(|file| json_documents(&format!("k8s/{file}")).into_iter().map(move |d| (file.clone(), d)))
        .collect()
}

fn of_kind<'a>(documents: &'a [(String, serde_json::Value)], kind: &str, name: &str) -> Vec<&'a serde_json::Value> {
    documents.iter().map(|(_, d)| d).filter(|d| d["kind"] == kind && d["metadata"]["name"] == name).collect()
}

/// The one Deployment of a workload.
fn deployment<'a>(documents: &'a [(String, serde_json::Value)], name: &str) -> &'a serde_json::Value {
    let found = of_kind(documents, "Deployment", name);
    assert_eq!(found.len(), 1, "one Deployment {name}");
    found[0]
}

/// Every manifest in docker/k8s is applied (so none escapes the checks
/// below), and every workload is in one of them.
#[test]
fn issue_18_the_kustomization_applies_every_manifest() {
    let mut on_disk: Vec<String> = std::fs::read_dir(docker_dir().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    on_disk.sort();
    let mut listed = kustomization_resources();
    listed.sort();
    assert_eq!(listed, on_disk, "kustomization.yaml lists exactly the manifests in docker/k8s");
    let documents = applied_documents();
    for workload in &WORKLOADS {
        deployment(&documents, workload.name);
        let services = of_kind(&documents, "Service", workload.name);
        assert_eq!(services.len(), 1, "{}: a Service", workload.name);
        let service_type = services[0]["spec"]["type"].as_str().unwrap_or("ClusterIP");
        assert_eq!(service_type, "ClusterIP", "{}: cluster-internal; only an Ingress exposes it", workload.name);
    }
}

/// Every container runs non-root on a read-only root with no capabilities,
/// no privilege escalation and the runtime's seccomp profile, has resource
/// requests and a memory limit, and liveness and readiness probes on a port
/// it declares.
#[test]
fn issue_18_every_kubernetes_container_is_hardened_with_probes_and_resources() {
    let documents = applied_documents();
    let deployments: Vec<&serde_json::Value> =
        documents.iter().map(|(_, d)| d).filter(|d| d["kind"] == "Deployment").collect();
    assert_eq!(deployments.len(), WORKLOADS.len(), "one Deployment per workload, no other");
    for deployment in deployments {
        let name = deployment["metadata"]["name"].as_str().unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        for (pointer, expected) in POD_FIELDS {
            let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
            assert_eq!(pod.pointer(pointer), Some(&expected), "{name}: the pod spec's {pointer}");
        }
        let containers = pod["containers"].as_array().unwrap();
        assert!(pod["initContainers"].is_null(), "{name}: init containers would need the same checks");
        for container in containers {
            let which = format!("{name}/{}", container["name"]);
            for (pointer, expected) in CONTAINER_FIELDS {
                let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
                assert_eq!(container.pointer(pointer), Some(&expected), "{which}: {pointer}");
            }
            for pointer in CONTAINER_PRESENT {
                assert!(container.pointer(pointer).is_some_and(|v| !v.is_null()), "{which}: {pointer} is set");
            }
            assert!(container["securityContext"]["privileged"] != true, "{which}: not privileged");
            let ports: Vec<&str> =
                container["ports"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
            for probe in ["livenessProbe", "readinessProbe"] {
                let port = container[probe]["httpGet"]["port"].as_str().unwrap_or_default();
                assert!(ports.contains(&port), "{which}: {probe} probes a declared port, not {port:?}");
            }
        }
    }
    for workload in &WORKLOADS {
        let container = &deployment(&documents, workload.name)["spec"]["template"]["spec"]["containers"][0];
        let port = |name: &str| {
            container["ports"].as_array().unwrap().iter().find(|p| p["name"] == name).map(|p| &p["containerPort"])
        };
        assert_eq!(port("http").and_then(serde_json::Value::as_u64), Some(workload.http), "{}", workload.name);
        assert_eq!(port("admin").and_then(serde_json::Value::as_u64), workload.admin, "{}", workload.name);
    }
}

/// Names of settings that hold a credential (or a URL that may carry one).
fn is_secret_setting(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let names_a_file = upper.ends_with("_FILE") || upper.ends_with("_DIR");
    !names_a_file
        && ["PASSWORD", "SECRET", "TOKEN", "KEY", "DATABASE_URL", "REDIS_URL"].iter().any(|s| upper.contains(s))
}

/// No manifest carries a credential: settings that hold one come from a
/// Secret reference, no literal value is a URL with a password, and the one
/// Secret shown as an example (the registry server's) has placeholders only
/// and is not applied by the kustomization.
#[test]
fn issue_18_no_kubernetes_manifest_carries_a_literal_secret() {
    let documents = applied_documents();
    for (file, document) in &documents {
        let what = format!("{file}: {} {}", document["kind"], document["metadata"]["name"]);
        match document["kind"].as_str() {
            Some("Secret") => {
                assert!(document["data"].is_null(), "{what}: placeholders in stringData only");
                for (key, value) in document["stringData"].as_object().unwrap() {
                    assert!(value.as_str().unwrap().starts_with("REPLACE"), "{what}: {key} is not a placeholder");
                }
                assert!(
                    deleted_by_kustomization().contains(&("Secret".to_owned(), document["metadata"]["name"].clone())),
                    "{what}: the kustomization must not apply a placeholder Secret over the real one"
                );
            }
            Some("ConfigMap") => {
                for key in document["data"].as_object().unwrap().keys() {
                    assert!(!is_secret_setting(key), "{what}: {key} belongs in a Secret");
                }
            }
            _ => {}
        }
        for container in
            document.pointer("/spec/template/spec/containers").and_then(|c| c.as_array()).into_iter().flatten()
        {
            for entry in container["env"].as_array().into_iter().flatten() {
                let name = entry["name"].as_str().unwrap();
                if let Some(value) = entry["value"].as_str() {
                    assert!(!is_secret_setting(name), "{what}: {name} is a literal; take it from a secretKeyRef");
                    let credentials_in_url = value.split_once("://").is_some_and(|(_, rest)| {
                        rest.split('/').next().is_some_and(|authority| authority.contains('@'))
                    });
                    assert!(!credentials_in_url, "{what}: {name} has credentials in its URL");
                } else if is_secret_setting(name) {
                    assert!(entry["valueFrom"]["secretKeyRef"]["name"].is_string(), "{what}: {name} from a Secret");
                }
            }
        }
    }
    // What the services need from their external dependencies.
    for (workload, variable, secret) in
        [("auth", "DATABASE_URL", "augment-auth-database"), ("gateway", "REDIS_URL", "augment-redis")]
    {
        let container = &deployment(&documents, workload)["spec"]["template"]["spec"]["containers"][0];
        let entry = container["env"].as_array().unwrap().iter().find(|e| e["name"] == variable);
        let reference = entry.map(|e| &e["valueFrom"]["secretKeyRef"]);
        assert_eq!(reference.map(|r| &r["name"]), Some(&serde_json::json!(secret)), "{workload}: {variable}");
    }
    let registry = &deployment(&documents, "registry-server")["spec"]["template"]["spec"]["containers"][0];
    let from_secret = registry["envFrom"].as_array().unwrap().iter().any(|s| s["secretRef"]["name"].is_string());
    assert!(from_secret, "registry-server: its S3 credentials and signing key from a Secret");
}

/// The gateway, auth and the registry server scale with an HPA between at
/// least two replicas and keep one up through voluntary disruptions. Their
/// Deployments set no `replicas`: the HPA owns the count, and a fixed one
/// would reset it on every `kubectl apply`.
#[test]
fn issue_18_scaled_workloads_have_an_hpa_and_a_pdb() {
    let documents = applied_documents();
    for workload in WORKLOADS.iter().filter(|w| w.scaled) {
        let deployment = deployment(&documents, workload.name);
        let hpas = of_kind(&documents, "HorizontalPodAutoscaler", workload.name);
        assert_eq!(hpas.len(), 1, "{}: one HPA", workload.name);
        let hpa = hpas[0];
        assert_eq!(hpa["apiVersion"], "autoscaling/v2", "{}", workload.name);
        assert!(deployment["spec"]["replicas"].is_null(), "{}: `replicas` would fight its HPA", workload.name);
        let target = &hpa["spec"]["scaleTargetRef"];
        assert_eq!(
            (&target["kind"], &target["name"]),
            (&serde_json::json!("Deployment"), &deployment["metadata"]["name"])
        );
        let min = hpa["spec"]["minReplicas"].as_u64().unwrap_or(1);
        assert!(min >= 2 && hpa["spec"]["maxReplicas"].as_u64().unwrap() > min, "{}: 2 ≤ min < max", workload.name);
        let pdbs = of_kind(&documents, "PodDisruptionBudget", workload.name);
        assert_eq!(pdbs.len(), 1, "{}: one PDB", workload.name);
        assert_eq!(pdbs[0]["apiVersion"], "policy/v1", "{}", workload.name);
        assert!(pdbs[0]["spec"]["minAvailable"].as_u64().is_some_and(|n| n >= 1 && n < min), "{}", workload.name);
        assert_eq!(
            pdbs[0]["spec"]["selector"], deployment["spec"]["selector"],
            "{}: the PDB covers its pods",
            workload.name
        );
    }
}

/// One side of a flow in a NetworkPolicy rule, as the expectations name it:
/// a workload (pod selector), `ns:<name>`, `dns`, or `ip:<cidr>`.
fn peer(peer: &serde_json::Value) -> String {
    let pod = &peer["podSelector"]["matchLabels"];
    let namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str();
    match (namespace, pod.as_object().filter(|o| !o.is_empty())) {
        (Some("kube-system"), Some(_)) if pod["k8s-app"] == "kube-dns" => "dns".to_owned(),
        (Some(namespace), None) => format!("ns:{namespace}"),
        (None, Some(_)) => pod["app.kubernetes.io/name"].as_str().unwrap_or("?").to_owned(),
        _ => match peer["ipBlock"]["cidr"].as_str() {
            Some(cidr) => format!("ip:{cidr}"),
            None => panic!("a peer the flow checks cannot name: {peer}"),
        },
    }
}

/// The workload a policy applies to, or `*` for every augment-it pod.
fn subject(policy: &serde_json::Value) -> String {
    let labels = &policy["spec"]["podSelector"]["matchLabels"];
    match labels["app.kubernetes.io/name"].as_str() {
        Some(name) => name.to_owned(),
        None => {
            assert_eq!(labels["app.kubernetes.io/part-of"], "augment-it", "{}", policy["metadata"]["name"]);
            "*".to_owned()
        }
    }
}

/// Every (from, to, protocol/port) a set of policies allows, one direction.
fn flows(policies: &[serde_json::Value], direction: &str) -> std::collections::BTreeSet<(String, String, String)> {
    let (rules, peers) = if direction == "Ingress" { ("ingress", "from") } else { ("egress", "to") };
    let mut found = std::collections::BTreeSet::new();
    for policy in policies {
        let subject = subject(policy);
        for rule in policy["spec"][rules].as_array().into_iter().flatten() {
            let ports = rule["ports"].as_array().expect("every rule names its ports");
            let others = rule[peers].as_array().expect("every rule names its peers");
            for other in others {
                for port in ports {
                    let port = format!("{}/{}", port["protocol"].as_str().unwrap_or("TCP"), port["port"]);
                    let (from, to) = if direction == "Ingress" {
                        (peer(other), subject.clone())
                    } else {
                        (subject.clone(), peer(other))
                    };
                    found.insert((from, to, port));
                }
            }
        }
    }
    found
}

const INGRESS_FLOWS: &[(&str, &str, &str)] = &[
    ("ns:ingress-nginx", "gateway", "TCP/8080"),
    ("ns:monitoring", "gateway", "TCP/9080"),
    ("gateway", "parsers", "TCP/8081"),
    ("ns:monitoring", "parsers", "TCP/8081"),
    ("gateway", "connector", "TCP/8082"),
    ("ns:monitoring", "connector", "TCP/9082"),
    ("gateway", "auth", "TCP/8084"),
    ("registry-server", "auth", "TCP/8084"),
    ("ns:monitoring", "auth", "TCP/9084"),
    ("ns:ingress-nginx", "registry-server", "TCP/8787"),
    ("ns:monitoring", "registry-server", "TCP/9787"),
];

/// `ip:` peers: the 192.0.2.x placeholders for the external PostgreSQL and
/// Redis, and "the internet but private ranges" for the providers and S3.
const EGRESS_FLOWS: &[(&str, &str, &str)] = &[
    ("*", "dns", "UDP/53"),
    ("*", "dns", "TCP/53"),
    ("gateway", "parsers", "TCP/8081"),
    ("gateway", "connector", "TCP/8082"),
    ("gateway", "auth", "TCP/8084"),
    ("gateway", "ip:192.0.2.11/32", "TCP/6379"),
    ("connector", "ip:0.0.0.0/0", "TCP/443"),
    ("auth", "ip:192.0.2.10/32", "TCP/5432"),
    ("registry-server", "auth", "TCP/8084"),
    ("registry-server", "ip:0.0.0.0/0", "TCP/443"),
];

/// Default deny in and out for every augment-it pod, then exactly the flows
/// above in each direction: each allowed flow is expected, each expected
/// one allowed, and what one side sends the other side admits. The
/// internet-wide egress rules leave out the private ranges.
#[test]
fn issue_18_network_policies_allow_exactly_the_documented_flows() {
    let policies = json_documents("k8s/network-policy.yaml");
    let deny = policies.iter().find(|p| p["metadata"]["name"] == "augment-it-default-deny").unwrap();
    assert_eq!(deny["spec"]["policyTypes"], serde_json::json!(["Ingress", "Egress"]));
    for policy in &policies {
        let types = policy["spec"]["policyTypes"].as_array().unwrap();
        for (direction, rules) in [("Ingress", "ingress"), ("Egress", "egress")] {
            let has_rules = !policy["spec"][rules].is_null();
            assert!(
                !has_rules || types.contains(&serde_json::json!(direction)),
                "{}: {direction}",
                policy["metadata"]["name"]
            );
        }
    }
    let owned = |table: &[(&str, &str, &str)]| -> std::collections::BTreeSet<(String, String, String)> {
        table.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect()
    };
    assert_eq!(flows(&policies, "Ingress"), owned(INGRESS_FLOWS), "ingress flows");
    assert_eq!(flows(&policies, "Egress"), owned(EGRESS_FLOWS), "egress flows");
    // Pod to pod, both ends must agree, or the flow is dead.
    let workloads: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
    for (from, to, port) in EGRESS_FLOWS.iter().filter(|(f, t, _)| workloads.contains(f) && workloads.contains(t)) {
        assert!(INGRESS_FLOWS.contains(&(from, to, port)), "{from} sends to {to} on {port}, which {to} does not admit");
    }
    for (from, to, port) in INGRESS_FLOWS.iter().filter(|(f, t, _)| workloads.contains(f) && workloads.contains(t)) {
        assert!(EGRESS_FLOWS.contains(&(from, to, port)), "{to} admits {from} on {port}, which {from} may not send");
    }
    for policy in &policies {
        for rule in policy["spec"]["egress"].as_array().into_iter().flatten() {
            for to in rule["to"].as_array().into_iter().flatten() {
                if to["ipBlock"]["cidr"] == "0.0.0.0/0" {
                    let except = to["ipBlock"]["except"].as_array().cloned().unwrap_or_default();
                    for private in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] {
                        assert!(
                            except.contains(&serde_json::json!(private)),
                            "{}: not into {private}",
                            policy["metadata"]["name"]
                        );
                    }
                }
            }
        }
    }
    // Every workload's pods are covered by the default deny.
    let documents = applied_documents();
    for workload in &WORKLOADS {
        let labels = &deployment(&documents, workload.name)["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/part-of"], "augment-it", "{}", workload.name);
        assert_eq!(
            labels["app.kubernetes.io/name"], workload.name,
            "{}: the policies select it by name",
            workload.name
        );
    }
}

/// The auth service's manifest sets only variables the service reads.
#[test]
fn issue_18_the_auth_manifest_agrees_with_the_service() {
    let documents = applied_documents();
    let container = &deployment(&documents, "auth")["spec"]["template"]["spec"]["containers"][0];
    let main_rs = std::fs::read_to_string(docker_dir().join("../sidecar-services/auth/src/main.rs")).unwrap();
    for entry in container["env"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let known = main_rs.contains(&format!("\"{name}\""))
            || ["LOG_FORMAT", "RUST_LOG", "SIDECAR_ALLOWED_HOSTS"].contains(&name);
        assert!(known, "auth reads no {name}");
    }
    let env = |name: &str| {
        container["env"].as_array().unwrap().iter().find(|e| e["name"] == name).map(|e| e["value"].clone())
    };
    assert_eq!(env("AUTH_LISTEN"), Some(serde_json::json!("0.0.0.0:8084")));
    assert_eq!(env("SIDECAR_ADMIN_LISTEN"), Some(serde_json::json!("0.0.0.0:9084")));
}

/// The validator `cargo xtask test` installs (PyPI `kubernetes-validate`,
/// xtask/src/k8s_validate.rs), or None when the run may skip it.
fn kubernetes_validate() -> Option<PathBuf> {
    let installed = docker_dir().join("../target/tools/k8s-validate-venv/bin/kubernetes-validate");
    let validator = std::env::var_os("AUGMENT_K8S_VALIDATE")
        .map(PathBuf::from)
        .or_else(|| installed.is_file().then_some(installed));
    if validator.is_none() && std::env::var("AUGMENT_SKIP_ENGINE_TESTS").as_deref() == Ok("1") {
        eprintln!(
            "\n!!!!!!!! SKIPPED: the Kubernetes schema validation (AUGMENT_SKIP_ENGINE_TESTS=1, no AUGMENT_K8S_VALIDATE) !!!!!!!!\n"
        );
        return None;
    }
    Some(validator.expect(
        "no Kubernetes schema validator: run through `cargo xtask test`, which installs it, or set AUGMENT_K8S_VALIDATE \
         to a `kubernetes-validate` executable (pip install kubernetes-validate==1.37.0); AUGMENT_SKIP_ENGINE_TESTS=1 skips loudly",
    ))
}

/// The oldest Kubernetes the manifests support and the newest the validator knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

/// Runs the validator, strict (unknown fields are errors), on `files`
/// against every supported Kubernetes; Err with its report when any fails.
fn validate(validator: &std::path::Path, files: &[PathBuf]) -> Result<(), String> {
    for version in KUBERNETES_VERSIONS {
        let output = std::process::Command::new(validator)
            .args(["--strict", "--quiet", "--kubernetes-version", version])
            .args(files)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", validator.display()));
        if !output.status.success() {
            return Err(format!(
                "Kubernetes {version}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}

/// Issue 18, point 6: every manifest (and, where kubectl is installed, what
/// `kubectl kustomize` builds from them) is valid against the Kubernetes
/// OpenAPI schemas, offline. A copy with a misspelt field and one with a
/// wrongly typed value are refused, so the validation is not a no-op.
#[test]
fn issue_18_every_kubernetes_manifest_passes_the_kubernetes_schemas() {
    let Some(validator) = kubernetes_validate() else { return };
    let k8s = docker_dir().join("k8s");
    let mut files: Vec<PathBuf> = kustomization_resources().iter().map(|f| k8s.join(f)).collect();
    let scratch = tempfile::tempdir().unwrap();
    // `kubectl apply --dry-run=client` needs an API server; kustomize does not.
    match std::process::Command::new("kubectl").arg("kustomize").arg(&k8s).output() {
        Ok(built) => {
            assert!(built.status.success(), "kubectl kustomize: {}", String::from_utf8_lossy(&built.stderr));
            let text = String::from_utf8(built.stdout).unwrap();
            let kinds: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
            assert!(!kinds.contains(&"Secret"), "the kustomization applies no Secret");
            assert!(kinds.iter().filter(|k| **k == "Deployment").count() == WORKLOADS.len(), "{kinds:?}");
            let path = scratch.path().join("kustomized.yaml");
            std::fs::write(&path, text).unwrap();
            files.push(path);
        }
        Err(e) => eprintln!("no kubectl ({e}): validating the manifests one by one, not the kustomization's build"),
    }
    if let Err(report) = validate(&validator, &files) {
        panic!("a manifest does not match the Kubernetes schemas:\n{report}");
    }
    let auth = read("k8s/auth.yaml");
    for (breakage, from, to, expected) in [
        ("misspelt field", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "readOnlyRootFileSystem"),
        ("string port", "containerPort: 8084 }", "containerPort: \"8084\" }", "containerPort"),
    ] {
        assert!(auth.contains(from), "{breakage}: auth.yaml has {from}");
        let broken = scratch.path().join("broken.yaml");
        std::fs::write(&broken, auth.replacen(from, to, 1)).unwrap();
        let report = validate(&validator, &[broken]).expect_err(breakage);
        assert!(report.contains(expected), "{breakage}: the report names {expected}: {report}");
    }
}
