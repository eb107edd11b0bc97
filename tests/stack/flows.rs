//! The acceptance flows, once per engine.
#![allow(clippy::unwrap_used)] // test-only code

use serde_json::json;

use crate::harness::{Kind, TestStack, engine_host, engine_lock, field, get, ids, labelled, post, runtime};

/// up → all healthy → a document through the gateway to parsers → a new
/// process sees the same stack → logs → down leaves nothing with the label
/// (and leaves what another stack labelled alone).
fn full_flow(kind: Kind) {
    let Some(host) = engine_host(kind) else { return };
    let _turn = engine_lock();
    let stack = TestStack::new(&host, "flow");

    let up = stack.json(&["stack", "up"], 0);
    let actions = field(&up, "action");
    assert!(actions.values().all(|a| a == "created"), "{actions:?}");
    assert_eq!(actions.len(), 3);
    assert_eq!(up["engine"]["api_version"], "1.41", "the version was negotiated down to the engine's");

    let gateway = format!("http://127.0.0.1:{}", stack.port("gateway"));
    // Issue 20, point 9: the gateway and the connector answer only the
    // stack's token, which `up` handed to every container.
    let token = stack.token();
    let token = Some(token.as_str());
    let (status, refused) = post(&format!("{gateway}/api/parsers/json"), None, "[]");
    assert_eq!((status, refused["code"].as_str()), (401, Some("unauthorized")), "{refused}");
    let (status, refused) = get(&format!("http://127.0.0.1:{}/v1/providers", stack.port("connector")), None);
    assert_eq!(status, 401, "the connector's own port needs the token too: {refused}");
    let (status, table) = post(
        &format!("{gateway}/api/parsers/json"),
        token,
        r#"[{"city":"Paris","people":2100000},{"city":"Lyon","people":520000}]"#,
    );
    assert_eq!(status, 200, "{table}");
    assert_eq!(table["columns"], json!(["city", "people"]));
    assert_eq!(table["rows"], json!([["Paris", 2100000], ["Lyon", 520000]]));
    let (status, providers) = get(&format!("{gateway}/api/connector/v1/providers"), token);
    assert_eq!(status, 200, "the connector is reachable through the gateway too: {providers}");
    let (status, ready) = get(&format!("{gateway}/ready"), None);
    assert_eq!(status, 200, "the gateway resolves its upstreams by service name: {ready}");

    // A new process, knowing only the definition, finds the same containers.
    let status = stack.json(&["stack", "status"], 0);
    assert_eq!(status["healthy"], true, "{status}");
    assert_eq!(ids(&status), ids(&up), "status rediscovers the containers up created");
    assert!(field(&status, "url").values().all(|u| u.starts_with("http://127.0.0.1:")), "{status}");

    let logs = stack.augment(&["stack", "logs", "parsers", "--tail", "50"]);
    assert!(logs.status.success());
    assert!(String::from_utf8_lossy(&logs.stdout).contains("listening"), "{}", String::from_utf8_lossy(&logs.stdout));

    // Something another stack owns must survive our `down`.
    let other = format!("{}-other", stack.name);
    let engine = stack.engine();
    runtime().block_on(async {
        engine
            .client()
            .create_network(bollard::models::NetworkCreateRequest {
                name: other.clone(),
                labels: Some(std::collections::HashMap::from([(stack::LABEL_STACK.to_owned(), other.clone())])),
                ..Default::default()
            })
            .await
            .unwrap();
    });

    let down = stack.json(&["stack", "down"], 0);
    assert_eq!(down["containers"].as_array().unwrap().len(), 3, "{down}");
    assert_eq!(down["networks"], json!([stack.name]), "{down}");
    assert_eq!(down["volumes"], json!([format!("{}-data", stack.name)]), "{down}");
    assert_eq!(stack.labelled(), (vec![], vec![], vec![]), "nothing with the stack's label remains");
    let (_, others, _) = labelled(&host, &other);
    assert_eq!(others, std::slice::from_ref(&other), "another stack's network is not ours to remove");
    runtime().block_on(engine.client().remove_network(&other)).unwrap();

    let after = stack.json(&["stack", "status"], 7);
    assert!(field(&after, "state").values().all(|s| s == "missing"), "{after}");
}

/// A container killed from outside shows in `status`; `up` restarts just
/// that one; a second `up` changes nothing; a changed setting recreates only
/// the service it belongs to.
fn kill_and_repair(kind: Kind) {
    let Some(host) = engine_host(kind) else { return };
    let _turn = engine_lock();
    let mut stack = TestStack::new(&host, "repair");
    let up = stack.json(&["stack", "up"], 0);

    let parsers = format!("{}-parsers", stack.name);
    let engine = stack.engine();
    runtime()
        .block_on(engine.client().kill_container(&parsers, None::<bollard::query_parameters::KillContainerOptions>))
        .unwrap();

    let status = stack.json(&["stack", "status"], 7);
    assert_eq!(status["healthy"], false);
    assert_eq!(field(&status, "state")["parsers"], "exited", "{status}");
    assert_eq!(field(&status, "state")["gateway"], "running", "{status}");

    let repaired = stack.json(&["stack", "up"], 0);
    let actions = field(&repaired, "action");
    assert_eq!(actions["parsers"], "started", "{repaired}");
    assert_eq!(actions["gateway"], "unchanged", "{repaired}");
    assert_eq!(ids(&repaired), ids(&up), "the same containers, repaired in place");
    let token = stack.token();
    let (code, _) =
        post(&format!("http://127.0.0.1:{}/api/parsers/csv", stack.port("gateway")), Some(&token), "a,b\n1,2\n");
    assert_eq!(code, 200);

    let again = stack.json(&["stack", "up"], 0);
    assert!(field(&again, "action").values().all(|a| a == "unchanged"), "{again}");

    stack.definition.services[0].env.insert("RUST_LOG".to_owned(), "debug".to_owned());
    stack.write();
    let changed = stack.json(&["stack", "up"], 0);
    let actions = field(&changed, "action");
    assert_eq!(actions["parsers"], "recreated", "{changed}");
    assert_eq!(actions["connector"], "unchanged", "{changed}");
    assert_ne!(ids(&changed)["parsers"], ids(&up)["parsers"]);
}

#[test]
fn docker_up_route_status_down() {
    full_flow(Kind::Docker);
}

#[test]
fn docker_killed_container_is_reported_and_repaired() {
    kill_and_repair(Kind::Docker);
}

#[test]
fn podman_up_route_status_down() {
    full_flow(Kind::Podman);
}

#[test]
fn podman_killed_container_is_reported_and_repaired() {
    kill_and_repair(Kind::Podman);
}

#[test]
fn a_taken_port_is_named_and_nothing_is_created() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _turn = engine_lock();
    let stack = TestStack::new(&host, "port");
    let port = stack.port("gateway");
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();

    let output = stack.augment(&["stack", "up"]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("port {port} on 127.0.0.1 is already in use")), "{stderr}");
    assert!(stderr.contains("another host_port"), "says what to do: {stderr}");
    assert_eq!(stack.labelled(), (vec![], vec![], vec![]), "a refused up leaves nothing behind");
}
