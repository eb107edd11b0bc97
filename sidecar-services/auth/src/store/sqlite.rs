//! The embedded backend: one SQLite file (WAL), one connection behind a
//! mutex, calls on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, ErrorCode, OptionalExtension as _, Row, TransactionBehavior, params};

use super::{MIGRATIONS, StoreError, VERSION_TABLE, check_not_newer, parse_kind, parse_role};
use crate::model::{TokenRecord, UserRecord, scopes_from_text, scopes_to_text};

const USER_COLUMNS: &str = "id, name, role, password_hash, created_at";
const TOKEN_COLUMNS: &str = "id, sha256, user_id, kind, scopes, description, created_at, expires_at, revoked_at";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens or creates the file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::OpenSqlite { path: path.display().to_string(), source };
        let mut connection = Connection::open(path).map_err(open_error)?;
        // WAL: the service reads while `augment auth bootstrap` writes; the
        // busy timeout lets one wait for the other instead of failing.
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(open_error)?;
        migrate(&mut connection)?;
        Ok(SqliteStore { connection: Arc::new(Mutex::new(connection)) })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut connection)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub async fn bootstrap_admin(&self, admin: UserRecord, now: i64) -> Result<(), StoreError> {
        self.with(move |connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let admins: i64 =
                transaction.query_row("SELECT COUNT(*) FROM users WHERE role = 'admin'", [], |row| row.get(0))?;
            if admins > 0 {
                return Err(StoreError::AdminExists);
            }
            // The primary key (always 1) makes a second bootstrap fail even
            // if the first admin was deleted since.
            transaction
                .execute("INSERT INTO bootstrap (id, done_at) VALUES (1, ?1)", [now])
                .map_err(|e| unique_violation(e, || StoreError::AdminExists))?;
            insert_user(&transaction, &admin)?;
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn insert_user(&self, user: UserRecord) -> Result<(), StoreError> {
        self.with(move |connection| insert_user(connection, &user)).await
    }

    pub async fn user_by_name(&self, name: String) -> Result<Option<UserRecord>, StoreError> {
        self.with(move |connection| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1");
            connection.query_row(&sql, [name], |row| Ok(user_row(row))).optional()?.transpose()
        })
        .await
    }

    pub async fn user_by_id(&self, id: String) -> Result<Option<UserRecord>, StoreError> {
        self.with(move |connection| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
            connection.query_row(&sql, [id], |row| Ok(user_row(row))).optional()?.transpose()
        })
        .await
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.with(move |connection| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
            let mut statement = connection.prepare(&sql)?;
            let rows = statement.query_map([], |row| Ok(user_row(row)))?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn delete_user(&self, name: String) -> Result<bool, StoreError> {
        self.with(move |connection| Ok(connection.execute("DELETE FROM users WHERE name = ?1", [name])? > 0)).await
    }

    pub async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.with(move |connection| {
            let sql = format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
            connection.execute(
                &sql,
                params![
                    token.id,
                    token.sha256,
                    token.user_id,
                    token.kind.as_str(),
                    scopes_to_text(&token.scopes),
                    token.description,
                    token.created_at,
                    token.expires_at,
                    token.revoked_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn token_with_user(&self, sha256: String) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        self.with(move |connection| {
            let sql = "SELECT t.id, t.sha256, t.user_id, t.kind, t.scopes, t.description, t.created_at, t.expires_at, \
                       t.revoked_at, u.id, u.name, u.role, u.password_hash, u.created_at \
                       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.sha256 = ?1";
            let found =
                connection.query_row(sql, [sha256], |row| Ok((token_row(row), user_row_at(row, 9)))).optional()?;
            match found {
                Some((token, user)) => Ok(Some((token?, user?))),
                None => Ok(None),
            }
        })
        .await
    }

    pub async fn token_by_id(&self, id: String) -> Result<Option<TokenRecord>, StoreError> {
        self.with(move |connection| {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1");
            connection.query_row(&sql, [id], |row| Ok(token_row(row))).optional()?.transpose()
        })
        .await
    }

    pub async fn list_tokens(&self, user_id: Option<String>) -> Result<Vec<TokenRecord>, StoreError> {
        self.with(move |connection| {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE ?1 IS NULL OR user_id = ?1 ORDER BY created_at DESC, id"
            );
            let mut statement = connection.prepare(&sql)?;
            let rows = statement.query_map([user_id], |row| Ok(token_row(row)))?;
            rows.map(|row| row?).collect()
        })
        .await
    }

    pub async fn revoke_token(&self, id: String, now: i64) -> Result<bool, StoreError> {
        self.with(move |connection| {
            let changed = connection
                .execute("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, now])?;
            Ok(changed > 0)
        })
        .await
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(VERSION_TABLE)?;
    let current: i64 =
        transaction.query_row("SELECT COALESCE(MAX(version), 0) FROM auth_schema_migrations", [], |row| row.get(0))?;
    check_not_newer(current)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        transaction.execute_batch(sql)?;
        transaction.execute(
            "INSERT INTO auth_schema_migrations (version, applied_at) VALUES (?1, strftime('%s', 'now'))",
            [index as i64 + 1],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

fn insert_user(connection: &Connection, user: &UserRecord) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)");
    connection
        .execute(&sql, params![user.id, user.name, user.role.as_str(), user.password_hash, user.created_at])
        .map_err(|e| unique_violation(e, || StoreError::NameTaken(user.name.clone())))?;
    Ok(())
}

/// `instead` for a uniqueness (or primary key) violation, the error itself otherwise.
fn unique_violation(error: rusqlite::Error, instead: impl FnOnce() -> StoreError) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::ConstraintViolation => instead(),
        _ => StoreError::Sqlite(error),
    }
}

fn user_row(row: &Row<'_>) -> Result<UserRecord, StoreError> {
    user_row_at(row, 0)
}

/// A user from the columns starting at `at` (after a token's, in a join).
fn user_row_at(row: &Row<'_>, at: usize) -> Result<UserRecord, StoreError> {
    let role: String = row.get(at + 2)?;
    Ok(UserRecord {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        role: parse_role(&role)?,
        password_hash: row.get(at + 3)?,
        created_at: row.get(at + 4)?,
    })
}

fn token_row(row: &Row<'_>) -> Result<TokenRecord, StoreError> {
    let kind: String = row.get(3)?;
    let scopes: String = row.get(4)?;
    Ok(TokenRecord {
        id: row.get(0)?,
        sha256: row.get(1)?,
        user_id: row.get(2)?,
        kind: parse_kind(&kind)?,
        scopes: scopes_from_text(&scopes),
        description: row.get(5)?,
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        revoked_at: row.get(8)?,
    })
}
