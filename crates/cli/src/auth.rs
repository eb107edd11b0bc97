//! `augment auth bootstrap`: the first admin of an auth service's database
//! (`sidecar-services/auth`), made once, with a random password printed
//! once: the service itself never has a default password.
//!
//! It opens the database the service uses (a SQLite file or a
//! `postgres://` URL, `DATABASE_URL` for both) through the service's own
//! library, so the schema and the rules are the service's.

use std::process::ExitCode;

#[cfg(feature = "server")]
use anyhow::Context as _;
use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Create the first admin and print its password, once. Refuses when the database has had its bootstrap.
    Bootstrap(BootstrapArgs),
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The auth service's database: a SQLite file (created if missing) or a postgres:// URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: String,
    /// The admin's user name.
    #[arg(long, default_value = "admin")]
    pub name: String,
}

pub async fn run(json: bool, command: AuthCommand) -> Result<ExitCode> {
    match command {
        AuthCommand::Bootstrap(args) => bootstrap(json, args).await,
    }
}

#[cfg(feature = "server")]
async fn bootstrap(json: bool, args: BootstrapArgs) -> Result<ExitCode> {
    let db = auth_service::Database::open(&args.database)
        .await
        .context("opening the auth service's database (--database or DATABASE_URL)")?;
    let now = jiff::Timestamp::now().as_second();
    let admin = auth_service::bootstrap_admin(&db, &args.name, now).await.context("bootstrapping the first admin")?;
    if json {
        let body = serde_json::json!({ "name": admin.name, "role": "admin", "password": admin.password.as_str() });
        println!("{body}");
    } else {
        println!(
            "created the first admin {:?}\npassword (shown once, stored only as a hash): {}\n\
             log in with POST /api/v1/login on the auth service, then create the other users there",
            admin.name,
            admin.password.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "server"))]
async fn bootstrap(_json: bool, _args: BootstrapArgs) -> Result<ExitCode> {
    anyhow::bail!(
        "`augment auth bootstrap` is not in this build: it needs the auth service's code (the cargo feature \
         `server`, on by default); rebuild with `cargo build -p cli --features server`"
    )
}
