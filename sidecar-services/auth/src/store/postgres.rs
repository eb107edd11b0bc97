//! The team backend: PostgreSQL through a deadpool pool of tokio-postgres
//! connections (a dropped connection is replaced on the next request).
//!
//! Connections are plain TCP: run the server on the same host or a private
//! network (TLS to Postgres is not supported yet; a URL asking for
//! `sslmode=require` fails to connect with a message saying so).

use std::error::Error as StdError;
use std::fmt;
use std::str::FromStr as _;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row};

use super::{MIGRATIONS, StoreError, VERSION_TABLE, check_not_newer, parse_kind, parse_role};
use crate::model::{TokenRecord, UserRecord, scopes_from_text, scopes_to_text};

const USER_COLUMNS: &str = "id, name, role, password_hash, created_at";
const TOKEN_COLUMNS: &str = "id, sha256, user_id, kind, scopes, description, created_at, expires_at, revoked_at";
/// Taken for the length of a migration so replicas starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6175_7468_6d69_6772; // "authmigr"
const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pool's config: it holds the password.
        f.debug_struct("PgStore").field("size", &self.pool.status().size).finish()
    }
}

/// A parameter that prints as `***`: tokio-postgres logs every statement's
/// parameters at debug level, and password and token hashes must not reach
/// a log.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl ToSql for Redacted<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = PgStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Pool(e.to_string()))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        transaction.batch_execute(VERSION_TABLE).await?;
        let current: i64 =
            transaction.query_one("SELECT COALESCE(MAX(version), 0) FROM auth_schema_migrations", &[]).await?.get(0);
        check_not_newer(current)?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            transaction.batch_execute(sql).await?;
            transaction
                .execute(
                    "INSERT INTO auth_schema_migrations (version, applied_at) \
                     VALUES ($1, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))",
                    &[&(index as i64 + 1)],
                )
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    pub async fn bootstrap_admin(&self, admin: &UserRecord, now: i64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // Serialises bootstraps: the second waits here, then sees the admin.
        transaction.execute("LOCK TABLE bootstrap IN EXCLUSIVE MODE", &[]).await?;
        let admins: i64 = transaction.query_one("SELECT COUNT(*) FROM users WHERE role = 'admin'", &[]).await?.get(0);
        if admins > 0 {
            return Err(StoreError::AdminExists);
        }
        transaction
            .execute("INSERT INTO bootstrap (id, done_at) VALUES (1, $1)", &[&now])
            .await
            .map_err(|e| unique_violation(e, || StoreError::AdminExists))?;
        insert_user(&transaction, admin).await?;
        transaction.commit().await?;
        Ok(())
    }

    pub async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_user(&client, user).await
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = self.client().await?.query_opt(&sql, &[&name]).await?;
        row.map(|row| user_row(&row, 0)).transpose()
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = self.client().await?.query_opt(&sql, &[&id]).await?;
        row.map(|row| user_row(&row, 0)).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        let rows = self.client().await?.query(&sql, &[]).await?;
        rows.iter().map(|row| user_row(row, 0)).collect()
    }

    pub async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.client().await?.execute("DELETE FROM users WHERE name = $1", &[&name]).await? > 0)
    }

    pub async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
        self.client()
            .await?
            .execute(
                &sql,
                &[
                    &token.id,
                    &Redacted(&token.sha256),
                    &token.user_id,
                    &token.kind.as_str(),
                    &scopes_to_text(&token.scopes),
                    &token.description,
                    &token.created_at,
                    &token.expires_at,
                    &token.revoked_at,
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn token_with_user(&self, sha256: &str) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        let sql = "SELECT t.id, t.sha256, t.user_id, t.kind, t.scopes, t.description, t.created_at, t.expires_at, \
                   t.revoked_at, u.id, u.name, u.role, u.password_hash, u.created_at \
                   FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.sha256 = $1";
        let row = self.client().await?.query_opt(sql, &[&Redacted(sha256)]).await?;
        row.map(|row| Ok((token_row(&row)?, user_row(&row, 9)?))).transpose()
    }

    pub async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1");
        let row = self.client().await?.query_opt(&sql, &[&id]).await?;
        row.map(|row| token_row(&row)).transpose()
    }

    pub async fn list_tokens(&self, user_id: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE $1::TEXT IS NULL OR user_id = $1 ORDER BY created_at DESC, id"
        );
        let rows = self.client().await?.query(&sql, &[&user_id]).await?;
        rows.iter().map(token_row).collect()
    }

    pub async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .client()
            .await?
            .execute("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&id, &now])
            .await?;
        Ok(changed > 0)
    }
}

async fn insert_user(client: &impl deadpool_postgres::GenericClient, user: &UserRecord) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5)");
    client
        .execute(&sql, &[&user.id, &user.name, &user.role.as_str(), &Redacted(&user.password_hash), &user.created_at])
        .await
        .map_err(|e| unique_violation(e, || StoreError::NameTaken(user.name.clone())))?;
    Ok(())
}

fn unique_violation(error: tokio_postgres::Error, instead: impl FnOnce() -> StoreError) -> StoreError {
    if error.code() == Some(&SqlState::UNIQUE_VIOLATION) { instead() } else { StoreError::Postgres(error) }
}

fn user_row(row: &Row, at: usize) -> Result<UserRecord, StoreError> {
    let role: String = row.try_get(at + 2)?;
    Ok(UserRecord {
        id: row.try_get(at)?,
        name: row.try_get(at + 1)?,
        role: parse_role(&role)?,
        password_hash: row.try_get(at + 3)?,
        created_at: row.try_get(at + 4)?,
    })
}

fn token_row(row: &Row) -> Result<TokenRecord, StoreError> {
    let kind: String = row.try_get(3)?;
    let scopes: String = row.try_get(4)?;
    Ok(TokenRecord {
        id: row.try_get(0)?,
        sha256: row.try_get(1)?,
        user_id: row.try_get(2)?,
        kind: parse_kind(&kind)?,
        scopes: scopes_from_text(&scopes),
        description: row.try_get(5)?,
        created_at: row.try_get(6)?,
        expires_at: row.try_get(7)?,
        revoked_at: row.try_get(8)?,
    })
}
