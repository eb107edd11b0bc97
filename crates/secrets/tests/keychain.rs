//! Tests against the real OS keychain (a gnome-keyring Secret Service on Linux).
//!
//! Run them through `crates/secrets/run-keychain-tests.sh`, which starts a private
//! D-Bus session and an unlocked gnome-keyring in a throw-away HOME. Without a
//! keychain these tests FAIL, unless `AUGMENT_SKIP_KEYCHAIN_TESTS=1` is set, in
//! which case they are skipped with a message on stderr.
//!
//! Every test uses a random `test-…` provider id so that running them on a
//! developer's desktop never touches their real `openai`/`anthropic` keys.
// Tests may unwrap, helpers included (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use secrets::{Error, KeyStatus, KeyStore, Secret};
use test_support::{CapturedLogs, secret_tool_lookup};

/// The real keychain, or `None` when keychain tests are explicitly skipped.
/// A missing keychain fails the test: CI provides one.
fn keychain(test: &str) -> Option<KeyStore> {
    if skipped(test) {
        return None;
    }
    let store = KeyStore::system();
    if let Err(e) = store.check_available() {
        panic!(
            "{test} needs a real OS keychain: run crates/secrets/run-keychain-tests.sh \
             (or set AUGMENT_SKIP_KEYCHAIN_TESTS=1 to skip it knowingly): {e}"
        );
    }
    Some(store)
}

/// True, after saying so loudly, when keychain tests are skipped on purpose.
fn skipped(test: &str) -> bool {
    if std::env::var("AUGMENT_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
        eprintln!(
            "\n********************************************************************\n\
             SKIPPED {test}: AUGMENT_SKIP_KEYCHAIN_TESTS=1.\n\
             This test needs a real Secret Service; run\n\
             crates/secrets/run-keychain-tests.sh to exercise it.\n\
             ********************************************************************\n"
        );
        return true;
    }
    false
}

fn random_provider() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

fn random_key() -> String {
    format!("sk-canary-{:032x}", rand::random::<u128>())
}

/// Deletes the test entry even when an assertion fails half-way.
struct Cleanup<'a>(&'a KeyStore, &'a str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.delete(self.1);
    }
}

fn secret_tool_store(provider: &str, value: &str) {
    let mut child = Command::new("secret-tool")
        .args(["store", "--label=augment-it test", "service", "augment-it", "username", provider])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool is missing: apt-get install libsecret-tools");
    child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "secret-tool store failed");
}

#[test]
fn key_set_through_the_crate_is_found_by_secret_tool_then_deleted() {
    let Some(store) = keychain("key_set_through_the_crate_is_found_by_secret_tool_then_deleted") else {
        return;
    };
    let provider = random_provider();
    let _cleanup = Cleanup(&store, &provider);
    let key = random_key();

    assert_eq!(secret_tool_lookup(&provider), None, "fresh id must start empty");
    store.set(&provider, Secret::new(format!("{key}\n"))).unwrap();

    assert_eq!(secret_tool_lookup(&provider).as_deref(), Some(key.as_str()));
    assert_eq!(store.get(&provider).unwrap().unwrap().expose(), key);
    assert!(store.is_set(&provider).unwrap());

    assert!(store.delete(&provider).unwrap(), "an entry existed");
    assert_eq!(secret_tool_lookup(&provider), None, "deleted from the keychain");
    assert!(!store.is_set(&provider).unwrap());
    assert!(store.get(&provider).unwrap().is_none());
    assert!(!store.delete(&provider).unwrap(), "second delete finds nothing");
}

#[test]
fn key_stored_by_another_tool_is_read() {
    let Some(store) = keychain("key_stored_by_another_tool_is_read") else {
        return;
    };
    let provider = random_provider();
    let _cleanup = Cleanup(&store, &provider);
    let key = random_key();

    secret_tool_store(&provider, &key);
    assert_eq!(store.get(&provider).unwrap().unwrap().expose(), key);
    assert_eq!(store.status(&[&provider]).unwrap(), vec![(provider.clone(), KeyStatus::Set)]);
}

#[test]
fn setting_again_replaces_the_key() {
    let Some(store) = keychain("setting_again_replaces_the_key") else {
        return;
    };
    let provider = random_provider();
    let _cleanup = Cleanup(&store, &provider);

    store.set(&provider, Secret::new("first-key")).unwrap();
    store.set(&provider, Secret::new("second-key")).unwrap();
    assert_eq!(secret_tool_lookup(&provider).as_deref(), Some("second-key"));
    // One entry, not two: a single delete leaves nothing behind.
    assert!(store.delete(&provider).unwrap());
    assert_eq!(secret_tool_lookup(&provider), None);
}

#[test]
fn status_reports_each_provider_in_order() {
    let Some(store) = keychain("status_reports_each_provider_in_order") else {
        return;
    };
    let with_key = random_provider();
    let without_key = random_provider();
    let _cleanup = Cleanup(&store, &with_key);

    store.set(&with_key, Secret::new(random_key())).unwrap();
    let status = store.status(&[&with_key, &without_key]).unwrap();
    assert_eq!(status, vec![(with_key.clone(), KeyStatus::Set), (without_key.clone(), KeyStatus::NotSet)]);
}

#[test]
fn clones_share_one_connection_across_threads() {
    let Some(store) = keychain("clones_share_one_connection_across_threads") else {
        return;
    };
    let providers: Vec<String> = (0..4).map(|_| random_provider()).collect();
    let handles: Vec<_> = providers
        .iter()
        .cloned()
        .map(|provider| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.set(&provider, Secret::new(format!("key-{provider}"))).unwrap();
                let read = store.get(&provider).unwrap().unwrap().expose().to_owned();
                assert!(store.delete(&provider).unwrap());
                read
            })
        })
        .collect();
    for (provider, handle) in providers.iter().zip(handles) {
        assert_eq!(handle.join().unwrap(), format!("key-{provider}"));
    }
}

#[test]
fn canary_key_never_reaches_logs_debug_or_errors() {
    if skipped("canary_key_never_reaches_logs_debug_or_errors") {
        return;
    }
    // Process-wide, so the keychain's own threads (zbus) and the `log`
    // records of keyring-core are captured too.
    let captured = CapturedLogs::install();

    let canary = random_key();
    let Some(store) = keychain("canary_key_never_reaches_logs_debug_or_errors") else {
        return;
    };
    let provider = random_provider();
    let _cleanup = Cleanup(&store, &provider);

    store.set(&provider, Secret::new(canary.clone())).unwrap();
    let read = store.get(&provider).unwrap().unwrap();
    assert_eq!(read.expose(), canary, "the key did go through the keychain");
    let status = store.status(&[&provider]).unwrap();
    let pasted_in_wrong_place = store.set(&canary, Secret::new("x")).unwrap_err();
    assert!(store.delete(&provider).unwrap());

    let mut surfaces = vec![
        format!("{read:?}"),
        format!("{read}"),
        format!("{store:?}"),
        format!("{status:?}"),
        pasted_in_wrong_place.to_string(),
        format!("{pasted_in_wrong_place:?}"),
    ];
    let logs = captured.text();
    assert!(
        logs.contains("stored API key in the OS keychain"),
        "the capture must see this crate's logs, or the check below proves nothing:\n{logs}"
    );
    surfaces.push(logs);
    for text in &surfaces {
        assert!(!text.contains(&canary), "canary leaked into: {text}");
        assert!(!text.contains(&canary[10..]), "part of the canary leaked into: {text}");
    }
}

const CHILD_ENV: &str = "SECRETS_TEST_CHILD";

/// Runs without a keychain on purpose: the child process points D-Bus at a socket
/// that does not exist (changing the environment of this multi-threaded process
/// would be unsound).
#[test]
fn no_keychain_gives_a_clear_error_and_environment_keys_still_work() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("no-keychain") {
        let store = KeyStore::system();
        let err = store.set("openai", Secret::new("sk-never-stored")).unwrap_err();
        assert!(matches!(err, Error::NoKeychain { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("no OS keychain is available"), "{text}");
        assert!(text.contains("gnome-keyring or KeePassXC"), "{text}");
        assert!(text.ends_with("or set AUGMENT_OPENAI_API_KEY for headless use"), "{text}");
        assert!(!text.contains("sk-never-stored"), "{text}");
        assert!(store.check_available().is_err());
        assert!(matches!(store.status(&["openai"]), Err(Error::NoKeychain { .. })));

        // The documented headless path needs no keychain at all.
        assert_eq!(store.get("groq").unwrap().unwrap().expose(), "gsk-from-env");
        assert_eq!(store.status(&["groq"]).unwrap(), vec![("groq".to_owned(), KeyStatus::FromEnvironment)]);
        println!("CHILD-OK: {text}");
        return;
    }

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "no_keychain_gives_a_clear_error_and_environment_keys_still_work",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "no-keychain")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/augment-it-test/bus")
        .env_remove("AUGMENT_OPENAI_API_KEY")
        .env("AUGMENT_GROQ_API_KEY", "gsk-from-env")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("CHILD-OK"), "child did not run the check:\n{stdout}");
}
