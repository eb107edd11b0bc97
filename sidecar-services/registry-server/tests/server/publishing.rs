//! Authenticated publishing: tokens, scopes, limits, validation, yank.

use tar::EntryType;

use crate::support::{Fixture, Server, client, error_of, publish, publish_bytes, tar_of};

fn manifest(name: &str, version: &str, host_api: &str, requires: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "name": name, "version": version, "entry": "remoteEntry.js",
        "hostApi": host_api, "shared": { "react": "^19.0.0" }, "requires": requires,
    }))
    .unwrap()
}

#[tokio::test]
async fn publish_signs_a_snapshot_clients_verify() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    let remote = fixture.remote("alpha", "1.2.0", &[("assets/a.js", b"console.log(1)")]);
    let response = publish(&server.url, Some(&token), &remote).await;
    assert_eq!(response.status(), 201);
    let outcome: serde_json::Value = response.json().await.unwrap();
    assert_eq!(outcome["name"], "alpha");
    assert_eq!(outcome["version"], "1.2.0");
    assert_eq!(outcome["snapshotVersion"], 2);
    assert_eq!(outcome["files"], 3, "remote.json, remoteEntry.js and assets/a.js");

    let snapshot = fixture.snapshot();
    assert_eq!(snapshot.version, 2);
    let index = fixture.index("alpha").expect("the snapshot pins alpha's index");
    assert_eq!(index.versions.len(), 1);
    for file in &index.versions[0].files {
        let blob = std::fs::read(fixture.registry().join(registry::blob_path(&file.sha256))).unwrap();
        registry::verify_blob(&file.sha256, file.length, &blob).unwrap();
    }

    // The same version again is refused; nothing changes.
    let (status, code, message) = error_of(publish(&server.url, Some(&token), &remote).await).await;
    assert_eq!((status, code.as_str()), (409, "version_exists"), "{message}");
    assert!(message.contains("1.2.0"), "{message}");
    assert_eq!(fixture.snapshot().version, 2);
}

#[tokio::test]
async fn bad_token_is_401_and_nothing_is_stored() {
    let fixture = Fixture::new();
    let _token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    let remote = fixture.remote("alpha", "1.0.0", &[]);
    let before = fixture.tree();
    for token in [None, Some("augreg_0000"), Some("not-even-a-token")] {
        let response = publish(&server.url, token, &remote).await;
        assert_eq!(response.headers()["www-authenticate"].to_str().unwrap(), "Bearer realm=\"augment-registry\"");
        let (status, code, message) = error_of(response).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{message}");
    }
    assert_eq!(fixture.tree(), before, "a refused publish stores nothing");
    assert_eq!(fixture.snapshot().version, 1);
}

#[tokio::test]
async fn token_for_another_remote_is_403_and_nothing_is_stored() {
    let fixture = Fixture::new();
    let token = fixture.token(&["beta", "gamma"]).await;
    let server = fixture.server();
    let remote = fixture.remote("alpha", "1.0.0", &[]);
    let before = fixture.tree();
    let (status, code, message) = error_of(publish(&server.url, Some(&token), &remote).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    assert!(message.contains("alpha") && message.contains("beta, gamma"), "{message}");
    assert_eq!(fixture.tree(), before);
    // Yanking is scoped the same way.
    let response = client()
        .post(format!("{}/api/v1/remotes/alpha/versions/1.0.0/yank", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn oversized_and_malformed_uploads_are_4xx_with_a_reason_and_store_nothing() {
    let fixture = Fixture::new();
    let token = fixture.token(&["*"]).await;
    let server = Server::start(&fixture.registry(), &fixture.key_file(), &[("REGISTRY_MAX_BODY_BYTES", "65536")]);
    let before = fixture.tree();
    let good_manifest = manifest("alpha", "1.0.0", "^1.0.0", serde_json::json!({}));
    let entry: &[u8] = b"export default 1;";
    let mut unknown_permission: serde_json::Value = serde_json::from_slice(&good_manifest).unwrap();
    unknown_permission["permissions"] = serde_json::json!(["data:read", "net:any"]);
    let unknown_permission = serde_json::to_vec(&unknown_permission).unwrap();
    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        ("oversized body", vec![0u8; 100_000], 413, "body_too_large", "65536"),
        ("not a tar", b"hello, this is not an archive at all".repeat(20), 400, "invalid_bundle", "tar"),
        (
            "no remote.json",
            tar_of(&[("remoteEntry.js", EntryType::Regular, entry, None)]),
            400,
            "invalid_manifest",
            "remote.json",
        ),
        (
            "malformed manifest",
            tar_of(&[
                ("remote.json", EntryType::Regular, b"{\"name\": 5}", None),
                ("remoteEntry.js", EntryType::Regular, entry, None),
            ]),
            400,
            "invalid_manifest",
            "name",
        ),
        (
            "unknown permission",
            tar_of(&[
                ("remote.json", EntryType::Regular, &unknown_permission, None),
                ("remoteEntry.js", EntryType::Regular, entry, None),
            ]),
            400,
            "invalid_manifest",
            "unknown permission `net:any`; known permissions: data:read",
        ),
        (
            "entry missing",
            tar_of(&[("remote.json", EntryType::Regular, &good_manifest, None)]),
            400,
            "invalid_manifest",
            "remoteEntry.js",
        ),
        (
            "symlink",
            tar_of(&[
                ("remote.json", EntryType::Regular, &good_manifest, None),
                ("remoteEntry.js", EntryType::Symlink, b"", Some("/etc/passwd")),
            ]),
            400,
            "invalid_bundle",
            "symbolic link",
        ),
        (
            "parent path",
            tar_of(&[
                ("remote.json", EntryType::Regular, &good_manifest, None),
                ("remoteEntry.js", EntryType::Regular, entry, None),
                ("../escape.js", EntryType::Regular, entry, None),
            ]),
            400,
            "invalid_bundle",
            "..",
        ),
        (
            "absolute path",
            tar_of(&[
                ("remote.json", EntryType::Regular, &good_manifest, None),
                ("remoteEntry.js", EntryType::Regular, entry, None),
                ("/etc/cron.d/x", EntryType::Regular, entry, None),
            ]),
            400,
            "invalid_bundle",
            "absolute",
        ),
        (
            "unsatisfiable host range",
            tar_of(&[
                (
                    "remote.json",
                    EntryType::Regular,
                    &manifest("alpha", "1.0.0", ">=2.0.0, <1.0.0", serde_json::json!({})),
                    None,
                ),
                ("remoteEntry.js", EntryType::Regular, entry, None),
            ]),
            422,
            "unsatisfiable",
            "no version can satisfy",
        ),
        (
            "host API this registry's hosts lack",
            tar_of(&[
                ("remote.json", EntryType::Regular, &manifest("alpha", "1.0.0", "^7.0.0", serde_json::json!({})), None),
                ("remoteEntry.js", EntryType::Regular, entry, None),
            ]),
            422,
            "unsatisfiable",
            "host API",
        ),
        (
            "requires a remote the registry lacks",
            tar_of(&[
                (
                    "remote.json",
                    EntryType::Regular,
                    &manifest("alpha", "1.0.0", "^1.0.0", serde_json::json!({ "beta": "^1" })),
                    None,
                ),
                ("remoteEntry.js", EntryType::Regular, entry, None),
            ]),
            422,
            "unsatisfiable",
            "beta",
        ),
    ];
    for (what, body, want_status, want_code, want_in_message) in cases {
        let (status, code, message) = error_of(publish_bytes(&server.url, Some(&token), "alpha", body).await).await;
        assert_eq!((status, code.as_str()), (want_status, want_code), "{what}: {message}");
        assert!(message.contains(want_in_message), "{what}: the reason names {want_in_message:?}: {message}");
        assert_eq!(fixture.tree(), before, "{what}: nothing stored");
    }
    // The same server still publishes a good upload.
    let remote = fixture.remote("alpha", "1.0.0", &[]);
    assert_eq!(publish(&server.url, Some(&token), &remote).await.status(), 201);
}

#[tokio::test]
async fn yank_and_unyank_sign_new_snapshots() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    assert_eq!(publish(&server.url, Some(&token), &fixture.remote("alpha", "1.0.0", &[])).await.status(), 201);
    let http = client();
    let call = |action: &str, version: &str| {
        http.post(format!("{}/api/v1/remotes/alpha/versions/{version}/{action}", server.url)).bearer_auth(&token).send()
    };
    let yanked: serde_json::Value = call("yank", "1.0.0").await.unwrap().json().await.unwrap();
    assert_eq!(
        (yanked["yanked"].as_bool(), yanked["changed"].as_bool(), yanked["snapshotVersion"].as_u64()),
        (Some(true), Some(true), Some(3))
    );
    assert!(fixture.index("alpha").unwrap().versions[0].yanked);
    let again: serde_json::Value = call("yank", "1.0.0").await.unwrap().json().await.unwrap();
    assert_eq!(again["changed"], false, "yanking twice changes nothing");
    assert_eq!(fixture.snapshot().version, 3);
    let unyanked: serde_json::Value = call("unyank", "1.0.0").await.unwrap().json().await.unwrap();
    assert_eq!(unyanked["snapshotVersion"], 4);
    assert!(!fixture.index("alpha").unwrap().versions[0].yanked);
    let (status, code, message) = error_of(call("yank", "9.9.9").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "version_not_found"), "{message}");
    assert!(message.contains("1.0.0"), "the message lists what is offered: {message}");
}

#[tokio::test]
async fn each_token_has_a_rate_limit() {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha"]).await;
    let server = Server::start(
        &fixture.registry(),
        &fixture.key_file(),
        &[("REGISTRY_RATE_PER_SECOND", "1"), ("REGISTRY_RATE_BURST", "2")],
    );
    let http = client();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = http
            .post(format!("{}/api/v1/remotes/alpha/versions/1.0.0/yank", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(&statuses[..2], &[404, 404], "within the burst the request is handled");
    assert!(statuses[2..].contains(&429), "past the burst the token is slowed down: {statuses:?}");
    // Another token has its own budget.
    let other = fixture.token(&["alpha"]).await;
    let response = http
        .post(format!("{}/api/v1/remotes/alpha/versions/1.0.0/yank", server.url))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
