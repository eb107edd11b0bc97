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
