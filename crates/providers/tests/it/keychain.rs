//! The real chain: a key set in the OS keychain is attached to a provider
//! request. Needs a Secret Service (see crates/secrets/run-keychain-tests.sh);
//! fails without one unless AUGMENT_SKIP_KEYCHAIN_TESTS=1.

use std::sync::Arc;

use fake_provider::{FakeConfig, FakeProvider};
use providers::{CallOptions, ChatRequest, Error, ProviderClient, ProviderConfig};
use secrets::{KeyStore, Secret};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_from_the_os_keychain_is_attached_to_requests() {
    if std::env::var("AUGMENT_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
        eprintln!(
            "\n*** SKIPPED key_from_the_os_keychain_is_attached_to_requests: \
             AUGMENT_SKIP_KEYCHAIN_TESTS=1 (needs a Secret Service; see \
             crates/secrets/run-keychain-tests.sh) ***\n"
        );
        return;
    }
    let store = KeyStore::system();
    let available = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.check_available()
    })
    .await
    .unwrap();
    if let Err(e) = available {
        panic!(
            "this test needs a real OS keychain: run crates/secrets/run-keychain-tests.sh -p providers \
             (or set AUGMENT_SKIP_KEYCHAIN_TESTS=1 to skip it knowingly): {e}"
        );
    }

    let provider = format!("test-{:x}", std::process::id());
    let key = format!("sk-keychain-{}", std::process::id());
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some(key.clone()), ..FakeConfig::default() }).await.unwrap();
    let mut config = ProviderConfig::openai_compatible(&provider, &fake.base_url());
    config.key_required = true;
    let client = ProviderClient::new(config, Arc::new(store.clone())).unwrap();
    let request = ChatRequest::new("gpt-4o-mini", "hi");

    // No key yet: an actionable error, and nothing sent.
    let err = client.chat(&request, &CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::NoKey { .. }), "{err:?}");
    assert_eq!(fake.request_count(), 0);

    let setter = store.clone();
    let (p, k) = (provider.clone(), key.clone());
    tokio::task::spawn_blocking(move || setter.set(&p, Secret::new(k))).await.unwrap().unwrap();
    let answer = client.chat(&request, &CallOptions::new()).await;
    let deleter = store.clone();
    let p = provider.clone();
    let deleted = tokio::task::spawn_blocking(move || deleter.delete(&p)).await.unwrap();

    assert_eq!(answer.unwrap().text, "Hello from the fake provider.");
    assert_eq!(fake.requests()[0].bearer_token(), Some(key.as_str()));
    assert!(deleted.unwrap());
}
