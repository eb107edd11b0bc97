//! `augment auth bootstrap` creates the auth service's first admin once,
//! with a password that logs in, and refuses a second time.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

use std::process::Command;

fn augment() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_augment"));
    command.env_remove("DATABASE_URL");
    command
}

#[tokio::test]
async fn bootstrap_prints_a_working_password_once_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("auth.db");

    let first = augment()
        .args(["--json", "auth", "bootstrap", "--name", "boss"])
        .env("DATABASE_URL", &database)
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let password = answer["password"].as_str().unwrap();
    assert_eq!(answer["name"], "boss");

    // The printed password is the one stored (as an argon2id hash, never as itself).
    let db = auth_service::Database::open(database.to_str().unwrap()).await.unwrap();
    let admin = db.user_by_name("boss").await.unwrap().unwrap();
    assert_eq!(admin.role, auth_service::Role::Admin);
    assert!(auth_service::secret::verify_password(password, &admin.password_hash));
    assert!(!std::fs::read(&database).unwrap().windows(password.len()).any(|w| w == password.as_bytes()));

    let second = augment().args(["auth", "bootstrap", "--database"]).arg(&database).output().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("bootstrap runs once"), "{stderr}");
    assert!(second.stdout.is_empty(), "no password printed: {}", String::from_utf8_lossy(&second.stdout));
    assert!(db.user_by_name("admin").await.unwrap().is_none());

    let missing = augment().args(["auth", "bootstrap"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2), "a usage error without a database");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--database"));
}
