//! Where users and token hashes live: an embedded SQLite file by default,
//! PostgreSQL when the location is a `postgres://` URL. One schema, one list
//! of migrations, two drivers.
//!
//! Why rusqlite + tokio-postgres and not sqlx: the workspace already links
//! SQLite through rusqlite 0.37 (libsqlite3-sys 0.35, `links = "sqlite3"`),
//! sqlx 0.8's SQLite driver needs libsqlite3-sys 0.30, and cargo allows one
//! crate linking `sqlite3` per build; sqlx 0.9 accepts 0.35 but needs Rust
//! 1.94, above the workspace's 1.89. The two backends sit behind
//! [`Database`], an enum rather than a trait object, because each has the
//! same dozen small methods and nothing else implements them.
//!
//! Migrations are hand-run (a version table and the statements in
//! [`MIGRATIONS`]) because the crates that run them for us are each tied to
//! one driver (rusqlite_migration) or pin rusqlite versions the workspace
//! does not use (refinery); the runner is twenty lines per backend.

mod postgres;
mod sqlite;

use crate::model::{TokenRecord, UserRecord};

/// The schema, one entry per version; the same SQL for both backends (the
/// types and constraints here mean the same in SQLite and PostgreSQL).
/// Never edit an entry: add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: users, tokens, and the row that says the bootstrap happened.
    "CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'publisher', 'analyst', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
        scopes TEXT NOT NULL,
        description TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE INDEX tokens_by_user ON tokens (user_id);
    CREATE TABLE bootstrap (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        done_at BIGINT NOT NULL
    );",
];

/// The table recording which migrations ran.
const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS auth_schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the SQLite database {path} could not be opened: {source}; check the path and its folder's permissions")]
    OpenSqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The URL itself is never in the message: it may hold a password.
    #[error("DATABASE_URL is not a PostgreSQL URL this service can use: {0}")]
    BadUrl(String),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("no PostgreSQL connection: {0}; check that the server DATABASE_URL names is running and reachable")]
    Pool(String),
    #[error(
        "the database has schema version {found}, newer than this auth-service knows ({known}); run a newer auth-service"
    )]
    TooNew { found: i64, known: i64 },
    #[error("the database holds something this version cannot read ({0}); restore it from a backup")]
    Damaged(String),
    #[error("a user named {0:?} exists already; choose another name")]
    NameTaken(String),
    #[error("the first admin exists already: bootstrap runs once; ask an admin to create your user")]
    AdminExists,
    #[error("a database task stopped unexpectedly: {0}")]
    Task(String),
}

/// The store, on one backend or the other.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Whether `location` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

impl Database {
    /// Opens (creating a SQLite file if needed) and migrates the store at
    /// `location`: a file path, or a `postgres://` URL.
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        if is_postgres_url(location) {
            Ok(Database::Postgres(postgres::PgStore::open(location).await?))
        } else {
            let path = std::path::PathBuf::from(location);
            let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
            Ok(Database::Sqlite(store))
        }
    }

    /// Which backend, for logs: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Stores `admin` if no admin exists and no bootstrap happened before,
    /// in one transaction; [`StoreError::AdminExists`] otherwise.
    pub async fn bootstrap_admin(&self, admin: UserRecord, now: i64) -> Result<(), StoreError> {
        match self {
            Database::Sqlite(store) => store.bootstrap_admin(admin, now).await,
            Database::Postgres(store) => store.bootstrap_admin(&admin, now).await,
        }
    }

    /// [`StoreError::NameTaken`] when the name is in use.
    pub async fn insert_user(&self, user: UserRecord) -> Result<(), StoreError> {
        match self {
            Database::Sqlite(store) => store.insert_user(user).await,
            Database::Postgres(store) => store.insert_user(&user).await,
        }
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        match self {
            Database::Sqlite(store) => store.user_by_name(name.to_owned()).await,
            Database::Postgres(store) => store.user_by_name(name).await,
        }
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        match self {
            Database::Sqlite(store) => store.user_by_id(id.to_owned()).await,
            Database::Postgres(store) => store.user_by_id(id).await,
        }
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        match self {
            Database::Sqlite(store) => store.list_users().await,
            Database::Postgres(store) => store.list_users().await,
        }
    }

    /// Deletes the user and (by cascade) their tokens; whether one was there.
    pub async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        match self {
            Database::Sqlite(store) => store.delete_user(name.to_owned()).await,
            Database::Postgres(store) => store.delete_user(name).await,
        }
    }

    pub async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        match self {
            Database::Sqlite(store) => store.insert_token(token).await,
            Database::Postgres(store) => store.insert_token(&token).await,
        }
    }

    /// The token stored under `sha256` and its user, live or not.
    pub async fn token_with_user(&self, sha256: &str) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        match self {
            Database::Sqlite(store) => store.token_with_user(sha256.to_owned()).await,
            Database::Postgres(store) => store.token_with_user(sha256).await,
        }
    }

    pub async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self {
            Database::Sqlite(store) => store.token_by_id(id.to_owned()).await,
            Database::Postgres(store) => store.token_by_id(id).await,
        }
    }

    /// Tokens of one user, or of everyone with `None`, newest first.
    pub async fn list_tokens(&self, user_id: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        match self {
            Database::Sqlite(store) => store.list_tokens(user_id.map(str::to_owned)).await,
            Database::Postgres(store) => store.list_tokens(user_id).await,
        }
    }

    /// Marks the token revoked at `now`; whether a live one was there.
    pub async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        match self {
            Database::Sqlite(store) => store.revoke_token(id.to_owned(), now).await,
            Database::Postgres(store) => store.revoke_token(id, now).await,
        }
    }
}

/// Parses a stored role and token kind, or says the row is damaged.
fn parse_role(text: &str) -> Result<crate::model::Role, StoreError> {
    text.parse().map_err(StoreError::Damaged)
}

fn parse_kind(text: &str) -> Result<crate::model::TokenKind, StoreError> {
    crate::model::TokenKind::parse(text).ok_or_else(|| StoreError::Damaged(format!("unknown token kind {text:?}")))
}

/// Refuses a database a newer version migrated.
fn check_not_newer(found: i64) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    if found > known { Err(StoreError::TooNew { found, known }) } else { Ok(()) }
}
