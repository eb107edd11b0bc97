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

#[test]
fn kubernetes_manifests_run_non_root_with_probes() {
    for service in ["parsers", "gateway", "connector"] {
        let text = read(&format!("k8s/{service}.yaml"));
        let documents: Vec<Value> =
            serde_norway::Deserializer::from_str(&text).map(|doc| Value::deserialize(doc).unwrap()).collect();
        let kinds: Vec<&str> = documents.iter().filter_map(|d| d["kind"].as_str()).collect();
        assert_eq!(kinds, ["Deployment", "Service"], "{service}");
        let pod = &documents[0]["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true), "{service}");
        let container = &pod["containers"][0];
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], Value::Bool(true), "{service}");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"].as_str(), Some("/health"), "{service}");
        assert!(container["readinessProbe"]["httpGet"]["path"].is_string(), "{service}");
        assert_eq!(documents[1]["spec"]["type"], Value::Null, "{service}: ClusterIP, not exposed");
    }
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
        .find(|p| p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/part-of"] == "augment-it")
        .expect("a policy for every augment-it pod");
    assert_eq!(default_deny["spec"]["policyTypes"], serde_norway::from_str::<Value>("[Ingress]").unwrap());
    assert!(default_deny["spec"]["ingress"].is_null(), "the default admits nothing");
    let policy_of = |service: &str| {
        policies
            .iter()
            .find(|p| p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == service)
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
    let targets: Vec<&str> = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
        .as_sequence()
        .unwrap()
        .iter()
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
        let policy = policies
            .iter()
            .find(|p| p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == service)
            .unwrap();
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
