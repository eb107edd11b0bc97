//! `augment keys` and `augment ask` end to end: the real binary, the real OS
//! keychain (a private gnome-keyring under `cargo xtask test`), read back from
//! outside with `secret-tool`, and the fake provider on loopback.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use fake_provider::{Behaviour, FakeConfig, FakeProvider};
use integration_tests::{augment_bin, describe, private_keychain, text};
use serde_json::Value;
use test_support::secret_tool_lookup;

const PROVIDER: &str = "groq";

/// `augment ARGS` with `stdin` piped in, the provider's environment override removed.
fn augment(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(augment_bin())
        .args(args)
        .env_remove(secrets_env_var())
        .env("AUGMENT_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits without reading its input;
    // writing to it then fails with a broken pipe, and its output says why.
    match child.stdin.take().unwrap().write_all(stdin) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing to augment's stdin: {err}"),
        _ => {}
    }
    child.wait_with_output().unwrap()
}

fn secrets_env_var() -> &'static str {
    "AUGMENT_GROQ_API_KEY"
}

fn status_of(provider: &str) -> Value {
    let out = augment(&["keys", "status", "--json"], b"");
    assert!(out.status.success(), "{}", describe(&out));
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all.as_array().unwrap().iter().find(|p| p["provider"] == provider).cloned().unwrap()
}

/// In a blocking section: the fake provider keeps serving on the other worker.
fn run<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_through_stdin_read_back_outside_ask_streams_with_it_then_delete() {
    if !private_keychain("keys::set_through_stdin…") {
        return;
    }
    let canary = format!("gsk-canary-{:032x}", rand::random::<u128>());
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some(canary.clone()), ..FakeConfig::default() }).await.unwrap();
    let base_url = fake.base_url();

    let set = run(|| augment(&["keys", "set", PROVIDER], format!("{canary}\n").as_bytes()));
    assert!(set.status.success(), "{}", describe(&set));
    assert_eq!(
        secret_tool_lookup(PROVIDER).as_deref(),
        Some(canary.as_str()),
        "stored without the trailing newline, under service augment-it"
    );
    let status = run(|| status_of(PROVIDER));
    assert_eq!(status["set"], true, "{status}");
    assert_eq!(status["source"], "keychain", "{status}");
    let human = run(|| augment(&["keys", "status"], b""));
    let human_text = text(&human);
    assert!(human_text.lines().any(|l| l.starts_with("groq") && l.contains(" set ")), "{human_text}");

    let ask =
        run(|| augment(&["ask", PROVIDER, "--model", "llama-3.1-8b-instant", "--base-url", &base_url, "hello"], b""));
    assert!(ask.status.success(), "{}", describe(&ask));
    assert_eq!(String::from_utf8_lossy(&ask.stdout), "Hello from the fake provider.\n");
    let requests = fake.requests();
    let chat = requests.iter().find(|r| r.path == "/v1/chat/completions").expect("a chat request");
    assert_eq!(chat.bearer_token(), Some(canary.as_str()), "the key arrived, in the Authorization header");
    assert_eq!(chat.json().unwrap()["stream"], true, "ask streams");
    for out in [&set, &human, &ask] {
        assert!(!text(out).contains(&canary), "the key leaked into the output or TRACE log: {}", describe(out));
    }

    // A 401 and a 429 are reported with the providers crate's messages.
    fake.push(Behaviour::InvalidKey);
    let rejected = run(|| augment(&["ask", PROVIDER, "--model", "m", "--base-url", &base_url, "hi"], b""));
    assert!(!rejected.status.success());
    assert!(text(&rejected).contains("the provider rejected the key for groq"), "{}", describe(&rejected));
    fake.push(Behaviour::rate_limited_for(1));
    let retried = run(|| augment(&["ask", PROVIDER, "--model", "m", "--base-url", &base_url, "hi"], b""));
    assert!(retried.status.success(), "{}", describe(&retried));
    let retried_err = String::from_utf8_lossy(&retried.stderr);
    assert!(retried_err.contains("rate limited, retrying in 1 s"), "{retried_err}");
    assert!(!text(&rejected).contains(&canary) && !text(&retried).contains(&canary));

    let delete = run(|| augment(&["keys", "delete", PROVIDER], b""));
    assert!(delete.status.success(), "{}", describe(&delete));
    assert_eq!(secret_tool_lookup(PROVIDER), None, "gone from the keychain");
    let status = run(|| status_of(PROVIDER));
    assert_eq!(status["set"], false, "{status}");
    let unsigned = run(|| augment(&["ask", PROVIDER, "--model", "m", "--base-url", &base_url, "hi"], b""));
    assert!(text(&unsigned).contains("no API key is set for groq"), "{}", describe(&unsigned));
}

#[test]
fn a_key_cannot_be_an_argument_and_empty_or_unknown_input_is_refused() {
    if !private_keychain("keys::a_key_cannot_be_an_argument…") {
        return;
    }
    let as_argument = augment(&["keys", "set", "anthropic", "gsk-given-as-an-argument"], b"");
    assert_eq!(as_argument.status.code(), Some(2), "{}", describe(&as_argument));
    assert!(text(&as_argument).contains("unexpected argument"), "{}", describe(&as_argument));
    for flag in ["--key", "--value"] {
        let out = augment(&["keys", "set", "anthropic", flag, "gsk-x"], b"");
        assert_eq!(out.status.code(), Some(2), "no {flag} option: {}", describe(&out));
    }

    let empty = augment(&["keys", "set", "anthropic"], b"\n");
    assert!(!empty.status.success());
    assert!(text(&empty).contains("no key was given for anthropic"), "{}", describe(&empty));

    let unknown = augment(&["keys", "set", "openia"], b"sk-x\n");
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    let message = text(&unknown);
    assert!(message.contains("openia") && message.contains("openai, anthropic, groq"), "{message}");
    let unknown_ask = augment(&["ask", "mistral", "--model", "m", "hi"], b"");
    assert!(text(&unknown_ask).contains("openai, anthropic, groq"), "{}", describe(&unknown_ask));
    assert_eq!(secret_tool_lookup("anthropic"), None, "nothing was stored");
}
