//! Token management over the API with an admin token: list, mint, revoke;
//! a revoked token is refused at once by every replica sharing the store.

use registry_server::Storage;

use crate::support::{Fixture, client, error_of, publish};

async fn admin_token(fixture: &Fixture) -> String {
    let storage = Storage::local(&fixture.registry()).unwrap();
    let (token, record) =
        registry_server::tokens::create_scoped(&storage, &[], true, Some("ops".into())).await.unwrap();
    assert!(record.admin && record.remotes.is_empty());
    token.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_token_lists_mints_and_revokes_and_every_replica_refuses_a_revoked_token_at_once() {
    let fixture = Fixture::new();
    let admin = admin_token(&fixture).await;
    let publisher = fixture.token(&["alpha"]).await;
    let (first, second) = (fixture.server(), fixture.server());
    let http = client();
    let tokens_url = |server: &crate::support::Server| format!("{}/api/v1/tokens", server.url);

    // Only an admin token manages tokens.
    let (status, code, message) = error_of(http.get(tokens_url(&first)).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"), "{message}");
    let response = http.get(tokens_url(&first)).bearer_auth(&publisher).send().await.unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"), "{message}");
    assert!(message.contains("--admin"), "says how to get an admin token: {message}");

    // The list shows ids and scopes, never a token or its hash.
    let response = http.get(tokens_url(&first)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let listed = response.text().await.unwrap();
    assert!(!listed.contains(&admin) && !listed.contains(&publisher), "no token in a listing");
    assert!(!listed.contains("sha256") && !listed.contains(&registry_server::tokens::token_hash(&publisher)));
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let scopes: Vec<(bool, serde_json::Value)> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| (token["admin"].as_bool().unwrap(), token["remotes"].clone()))
        .collect();
    assert_eq!(scopes, [(true, serde_json::json!([])), (false, serde_json::json!(["alpha"]))]);

    // Mint a publish token through one replica; it works on the other.
    let response = http
        .post(tokens_url(&first))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "remotes": ["beta"], "description": "CI of team beta" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store", "a response carrying a token is never cached");
    let minted: serde_json::Value = response.json().await.unwrap();
    let minted_token = minted["token"].as_str().unwrap().to_owned();
    let minted_id = minted["id"].as_str().unwrap().to_owned();
    assert!(minted_token.starts_with("augreg_"));
    assert_eq!(minted["admin"], false, "the API mints publish tokens only");
    let stored = std::fs::read_to_string(fixture.registry().join(".server/tokens.json")).unwrap();
    assert!(!stored.contains(&minted_token), "only the hash is stored");
    let beta = fixture.remote("beta", "1.0.0", &[]);
    assert_eq!(publish(&second.url, Some(&minted_token), &beta).await.status(), 201);

    // Revoke it through the first replica: the second refuses it on the very next request.
    let response = http.delete(format!("{}/{minted_id}", tokens_url(&first))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let revoked: serde_json::Value = response.json().await.unwrap();
    assert_eq!(revoked["revoked"]["id"], minted_id.as_str());
    let beta_2 = fixture.remote("beta", "2.0.0", &[]);
    for server in [&second, &first] {
        let (status, code, message) = error_of(publish(&server.url, Some(&minted_token), &beta_2).await).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{message}");
    }
    assert_eq!(fixture.index("beta").unwrap().versions.len(), 1, "nothing was published with the revoked token");

    // Unknown ids and bad requests are the caller's mistakes, with a reason.
    let response =
        http.delete(format!("{}/{minted_id}", tokens_url(&second))).bearer_auth(&admin).send().await.unwrap();
    let (status, code, message) = error_of(response).await;
    assert_eq!((status, code.as_str()), (404, "token_not_found"), "{message}");
    for body in [
        serde_json::json!({ "remotes": ["beta"], "admin": true }),
        serde_json::json!({ "remotes": [] }),
        serde_json::json!({ "remotes": ["../etc"] }),
    ] {
        let response = http.post(tokens_url(&second)).bearer_auth(&admin).json(&body).send().await.unwrap();
        let (status, code, message) = error_of(response).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "{body}: {message}");
    }
    let listed: serde_json::Value =
        http.get(tokens_url(&second)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 2, "the admin and alpha's publish token remain");
}
