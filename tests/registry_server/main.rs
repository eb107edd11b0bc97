//! The hosted registry with the real `augment` binary: publish over HTTP
//! through `augment registry serve`, then resolve from the server and from
//! a plain static copy of its tree, which must agree.
#![allow(clippy::unwrap_used)] // test code: a failed setup step should fail loudly

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use integration_tests::{Sandbox, augment_bin, chosen, describe, json, make_remote, text};

/// `augment registry serve`, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(sandbox: &Sandbox) -> Self {
        let mut child = Command::new(augment_bin())
            .args(["registry", "serve"])
            .arg(sandbox.registry())
            .args(["--listen", "127.0.0.1:0", "--key"])
            .arg(sandbox.key())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(left).expect("`augment registry serve` printed its address");
            if let Some(url) = line.strip_prefix("registry-server listening on ") {
                break url.trim().to_owned();
            }
        };
        Self { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mint_token(sandbox: &Sandbox, remotes: &str) -> String {
    let out = sandbox.ok(&[
        "--json",
        "registry",
        "token",
        "create",
        "--registry-dir",
        sandbox.registry().to_str().unwrap(),
        "--remotes",
        remotes,
    ]);
    json(&out)["token"].as_str().unwrap().to_owned()
}

fn publish_http(remote: &Path, url: &str, token: &str) -> std::process::Output {
    Command::new(augment_bin())
        .args(["--json", "publish"])
        .arg(remote)
        .args(["--registry", url])
        .env("AUGMENT_REGISTRY_TOKEN", token)
        .output()
        .unwrap()
}

/// Copies the served tree, leaving out the server's own state.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_over_http_then_resolve_from_the_server_and_a_static_mirror() {
    let sandbox = Sandbox::new();
    let token = mint_token(&sandbox, "alpha,beta");
    assert!(token.starts_with("augreg_"), "a recognisable token: {}", &token[..7]);
    let tokens_file = std::fs::read_to_string(sandbox.registry().join(".server/tokens.json")).unwrap();
    assert!(!tokens_file.contains(&token), "only the token's hash is stored");

    let served = Served::start(&sandbox);
    let sources = sandbox.path().join("src");
    for (name, version) in [("alpha", "1.0.0"), ("beta", "2.0.0"), ("alpha", "1.1.0")] {
        let remote = make_remote(&sources, name, version, "^1.0.0", 2, 10_000);
        let out = publish_http(&remote, &served.url, &token);
        assert!(out.status.success(), "publish {name} {version}: {}", describe(&out));
        assert_eq!(json(&out)["version"], version);
    }

    // Refusals reach the publisher with the server's reason.
    let gamma = make_remote(&sources, "gamma", "1.0.0", "^1.0.0", 1, 100);
    let out = publish_http(&gamma, &served.url, &token);
    assert!(!out.status.success());
    assert!(text(&out).contains("403") && text(&out).contains("gamma"), "{}", describe(&out));
    let out = publish_http(&gamma, &served.url, "augreg_wrong");
    assert!(!out.status.success());
    assert!(text(&out).contains("401"), "{}", describe(&out));
    let alpha_again = sources.join("alpha-1.1.0");
    let out = publish_http(&alpha_again, &served.url, &token);
    assert!(text(&out).contains("409") && text(&out).contains("already published"), "{}", describe(&out));

    // Resolve from the server.
    let from_server =
        sandbox.run(&sandbox.resolve_args(&served.url, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(from_server.status.success(), "{}", describe(&from_server));
    let server_choice = chosen(&json(&from_server));
    assert_eq!(server_choice, [("alpha".to_owned(), "1.1.0".to_owned()), ("beta".to_owned(), "2.0.0".to_owned())]);

    // The same tree on a plain static server, into a fresh cache.
    let mirror = sandbox.path().join("mirror");
    copy_tree(&sandbox.registry(), &mirror);
    assert!(!mirror.join(".server").exists());
    let static_server = test_support::RegistryServer::start(&mirror).await.unwrap();
    let mirror_sandbox_cache = sandbox.path().join("cache-mirror");
    let mut args = sandbox.resolve_args(&static_server.url(), &[]);
    let cache_at = args.iter().position(|a| a == "--cache-dir").unwrap() + 1;
    args[cache_at] = mirror_sandbox_cache.to_string_lossy().into_owned();
    let from_mirror = sandbox.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(from_mirror.status.success(), "{}", describe(&from_mirror));
    let mirror_report = json(&from_mirror);
    assert_eq!(chosen(&mirror_report), server_choice, "the server and a static mirror resolve the same versions");
    let server_report = json(&from_server);
    assert_eq!(server_report["registry"]["state"], "online");
    assert_eq!(server_report["registry"]["snapshotVersion"], 4, "init + three publishes");
    for field in ["state", "snapshotVersion"] {
        assert_eq!(
            mirror_report["registry"][field], server_report["registry"][field],
            "the mirror serves the same signed snapshot"
        );
    }
}

/// `augment ARGS` with the environment variables `env`.
fn augment_with(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new(augment_bin());
    command.args(args).env_remove("AUGMENT_REGISTRY_TOKEN").env_remove("AUGMENT_REGISTRY_ADMIN_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yank_and_undo_through_the_server_with_the_cli() {
    let sandbox = Sandbox::new();
    let token = mint_token(&sandbox, "alpha");
    let served = Served::start(&sandbox);
    let sources = sandbox.path().join("src");
    for version in ["1.0.0", "1.1.0"] {
        let out = publish_http(&make_remote(&sources, "alpha", version, "^1.0.0", 1, 100), &served.url, &token);
        assert!(out.status.success(), "{}", describe(&out));
    }
    let resolve = || {
        let out = sandbox.run(&sandbox.resolve_args(&served.url, &[]).iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.status.success(), "{}", describe(&out));
        chosen(&json(&out))
    };
    let alpha = |version: &str| vec![("alpha".to_owned(), version.to_owned())];
    assert_eq!(resolve(), alpha("1.1.0"));

    let with_token = [("AUGMENT_REGISTRY_TOKEN", token.as_str())];
    let out = augment_with(&with_token, &["--json", "yank", "alpha", "1.1.0", "--registry", &served.url]);
    assert!(out.status.success(), "{}", describe(&out));
    let yanked = json(&out);
    assert_eq!((yanked["yanked"].as_bool(), yanked["changed"].as_bool()), (Some(true), Some(true)), "{yanked}");
    assert_eq!(yanked["snapshotVersion"], 4, "init, two publishes, the yank: signed by the server");
    assert_eq!(resolve(), alpha("1.0.0"), "resolvers stop choosing a yanked version");

    let out = augment_with(&with_token, &["yank", "alpha", "1.1.0", "--registry", &served.url, "--undo"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out).contains("un-yanked alpha 1.1.0"), "{}", describe(&out));
    assert_eq!(resolve(), alpha("1.1.0"));

    // Refusals come back with the server's reason.
    let out = augment_with(&[], &["yank", "alpha", "1.1.0", "--registry", &served.url]);
    assert!(!out.status.success() && text(&out).contains("AUGMENT_REGISTRY_TOKEN"), "{}", describe(&out));
    let out = augment_with(&with_token, &["yank", "alpha", "7.0.0", "--registry", &served.url]);
    assert!(text(&out).contains("404") && text(&out).contains("1.0.0, 1.1.0"), "{}", describe(&out));
    let out = augment_with(&with_token, &["yank", "beta", "1.0.0", "--registry", &served.url]);
    assert!(text(&out).contains("403"), "the token is scoped to alpha: {}", describe(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_minted_and_revoked_against_the_server_and_the_folder() {
    let sandbox = Sandbox::new();
    let dir = sandbox.registry();
    let dir = dir.to_str().unwrap();
    let out = sandbox.ok(&["--json", "registry", "token", "create", "--registry-dir", dir, "--admin"]);
    let admin = json(&out)["token"].as_str().unwrap().to_owned();
    assert_eq!(json(&out)["admin"], true);
    let publisher = mint_token(&sandbox, "alpha");
    let (first, second) = (Served::start(&sandbox), Served::start(&sandbox));
    let as_admin = [("AUGMENT_REGISTRY_ADMIN_TOKEN", admin.as_str())];

    // The same list from the server and from the folder, with no secret in it.
    let from_server = augment_with(&as_admin, &["--json", "registry", "token", "list", "--registry", &first.url]);
    assert!(from_server.status.success(), "{}", describe(&from_server));
    let from_folder = sandbox.ok(&["--json", "registry", "token", "list", "--registry-dir", dir]);
    assert_eq!(json(&from_server)["tokens"], json(&from_folder)["tokens"]);
    assert_eq!(json(&from_server)["tokens"].as_array().unwrap().len(), 2);
    let table = augment_with(&as_admin, &["registry", "token", "list", "--registry", &first.url]);
    for out in [&from_server, &from_folder, &table] {
        let printed = text(out);
        assert!(!printed.contains(&admin) && !printed.contains(&publisher), "a token is never printed again");
    }
    assert!(text(&table).contains("manage tokens") && text(&table).contains("publish and yank alpha"));

    // Mint over the API (through one replica), publish through the other.
    let out = augment_with(
        &as_admin,
        &["--json", "registry", "token", "create", "--registry", &first.url, "--remotes", "beta"],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let minted = json(&out);
    let (minted_token, minted_id) = (minted["token"].as_str().unwrap(), minted["id"].as_str().unwrap());
    let sources = sandbox.path().join("src");
    let beta = make_remote(&sources, "beta", "1.0.0", "^1.0.0", 1, 100);
    let out = publish_http(&beta, &second.url, minted_token);
    assert!(out.status.success(), "{}", describe(&out));

    // Revoke through the first replica: the second refuses it at once.
    let out = augment_with(&as_admin, &["registry", "token", "revoke", minted_id, "--registry", &first.url]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out).contains(&format!("revoked token {minted_id}")), "{}", describe(&out));
    let beta_2 = make_remote(&sources, "beta", "2.0.0", "^1.0.0", 1, 100);
    let out = publish_http(&beta_2, &second.url, minted_token);
    assert!(!out.status.success() && text(&out).contains("401"), "{}", describe(&out));

    // Revoking in the folder works the same for a running server.
    let publisher_id = json(&from_folder)["tokens"][1]["id"].as_str().unwrap().to_owned();
    sandbox.ok(&["registry", "token", "revoke", &publisher_id, "--registry-dir", dir]);
    let alpha = make_remote(&sources, "alpha", "1.0.0", "^1.0.0", 1, 100);
    let out = publish_http(&alpha, &first.url, &publisher);
    assert!(!out.status.success() && text(&out).contains("401"), "{}", describe(&out));

    // What only the folder may do, and what a publish token may not.
    let out = augment_with(&as_admin, &["registry", "token", "create", "--registry", &first.url, "--admin"]);
    assert!(!out.status.success() && text(&out).contains("--registry-dir"), "{}", describe(&out));
    let out = augment_with(
        &[("AUGMENT_REGISTRY_ADMIN_TOKEN", minted_token)],
        &["registry", "token", "list", "--registry", &second.url],
    );
    assert!(!out.status.success() && text(&out).contains("401"), "{}", describe(&out));
    let out = augment_with(&[], &["registry", "token", "list", "--registry", &second.url]);
    assert!(!out.status.success() && text(&out).contains("AUGMENT_REGISTRY_ADMIN_TOKEN"), "{}", describe(&out));
    let listed = augment_with(&as_admin, &["--json", "registry", "token", "list", "--registry", &second.url]);
    let remaining = json(&listed)["tokens"].as_array().unwrap().clone();
    assert_eq!(remaining.len(), 1, "only the admin token is left: {remaining:?}");
}

/// Issue 20 point 8: publish and admin tokens never travel over plain http
/// except to loopback. Publish, yank and token management against
/// `http://10.0.0.1:9/` are refused before any connection, with a message
/// that says to use https; the loopback `http://127.0.0.1` server of the
/// tests above keeps working (they all use it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_8_tokens_are_never_sent_over_plain_http_to_a_remote_host() {
    let sandbox = Sandbox::new();
    let remote = make_remote(&sandbox.path().join("src"), "alpha", "1.0.0", "^1.0.0", 1, 100);
    let remote_url = "http://10.0.0.1:9/";
    let publish = publish_http(&remote, remote_url, "augreg_canary");
    let yank = augment_with(
        &[("AUGMENT_REGISTRY_TOKEN", "augreg_canary")],
        &["yank", "alpha", "1.0.0", "--registry", remote_url],
    );
    let tokens = augment_with(
        &[("AUGMENT_REGISTRY_ADMIN_TOKEN", "augreg_canary")],
        &["registry", "token", "list", "--registry", remote_url],
    );
    for (what, out) in [("publish", &publish), ("yank", &yank), ("token list", &tokens)] {
        assert!(!out.status.success(), "{what}: {}", describe(out));
        let said = text(out);
        assert!(
            said.contains("plain http") && said.contains("https://"),
            "{what} says to use https: {}",
            describe(out)
        );
        assert!(!said.contains("could not reach"), "{what} was refused before connecting: {}", describe(out));
    }

    // Loopback over plain http still works.
    let token = mint_token(&sandbox, "alpha");
    let served = Served::start(&sandbox);
    assert!(served.url.starts_with("http://127.0.0.1:"), "{}", served.url);
    let out = publish_http(&remote, &served.url, &token);
    assert!(out.status.success(), "{}", describe(&out));
}
