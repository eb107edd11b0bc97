//! Publish tokens: bearer secrets scoped to remote names, and admin tokens
//! that manage the others.
//!
//! A token's scope is a list of remote names it may publish and yank (`*`
//! for all) and an `admin` flag: an admin token may list, create and revoke
//! publish tokens over the API (`/api/v1/tokens`). Admin tokens are only
//! minted by whoever can write the store (`augment registry token create
//! --admin` on the folder), so the API can never widen its own rights.
//! Revoking deletes the record: every replica re-reads the file when it
//! changes (one metadata request per authenticated call), so a revoked
//! token gets 401 on its next request, wherever it lands.
//!
//! Tokens live in `.server/tokens.json` in the same store as the tree (so
//! every replica sees a new token at once) but outside the served paths.
//! Only the sha256 of each token is stored. A plain, unsalted hash is
//! enough here because tokens are 32 random bytes from the OS: nobody can
//! guess or brute-force a 256-bit secret, so the slow, salted hashes that
//! protect low-entropy passwords would add cost and no safety. Lookups go by
//! hash, so timing reveals at most something about a hash, never the token.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::RwLock;
use zeroize::Zeroizing;

use crate::storage::{Storage, StorageError, Write};

/// Where token hashes are kept, relative to the registry root.
pub const TOKENS_KEY: &str = ".server/tokens.json";

/// Every token starts with this, so secret scanners can recognise one.
const PREFIX: &str = "augreg_";

/// A stored token: its hash and what it may publish. Never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// A public name for logs and metrics: the first 12 hex digits of the hash.
    pub id: String,
    pub sha256: String,
    /// Remote names this token may publish and yank; `*` means all.
    pub remotes: Vec<String>,
    /// May list, create and revoke publish tokens through the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl TokenRecord {
    pub fn allows(&self, remote: &str) -> bool {
        self.remotes.iter().any(|allowed| allowed == "*" || allowed == remote)
    }

    /// What may be shown about a token: everything but its hash.
    pub fn summary(&self) -> TokenSummary {
        TokenSummary {
            id: self.id.clone(),
            remotes: self.remotes.clone(),
            admin: self.admin,
            created: self.created,
            description: self.description.clone(),
        }
    }
}

/// A token as listed: the admin API's wire type, shared with clients.
pub use registry::hosted::TokenSummary;

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{TOKENS_KEY} is damaged ({0}); restore it from a backup or delete it and mint new tokens")]
    Damaged(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{TOKENS_KEY} kept changing while the tokens were updated; try again")]
    Contended,
    #[error("no token has the id {id:?}: list them with `augment registry token list` (it may be revoked already)")]
    NotFound { id: String },
}

/// The hash a token is stored and looked up by.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Mints a publish token for `remotes` and stores its hash. Returns the
/// token (show it once; it cannot be recovered) and its record.
pub async fn create(
    storage: &Storage,
    remotes: &[String],
    description: Option<String>,
) -> Result<(Zeroizing<String>, TokenRecord), TokenError> {
    create_scoped(storage, remotes, false, description).await
}

/// Mints a token for `remotes` (may be empty for an admin token), with the
/// admin scope when `admin` is set, and stores its hash. Returns the token
/// (show it once) and its record.
pub async fn create_scoped(
    storage: &Storage,
    remotes: &[String],
    admin: bool,
    description: Option<String>,
) -> Result<(Zeroizing<String>, TokenRecord), TokenError> {
    if remotes.is_empty() && !admin {
        return Err(TokenError::Invalid("a token needs at least one remote name (or `*` for all)".into()));
    }
    for remote in remotes {
        if remote != "*" {
            manifest::validate_remote_name(remote).map_err(TokenError::Invalid)?;
        }
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(secret.as_mut());
    let token = Zeroizing::new(format!("{PREFIX}{}", hex::encode(secret.as_ref())));
    let sha256 = token_hash(&token);
    let record = TokenRecord {
        id: sha256[..12].to_owned(),
        sha256,
        remotes: remotes.to_vec(),
        admin,
        created: Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_else(|_| Timestamp::now()),
        description,
    };
    update(storage, |file| {
        file.tokens.push(record.clone());
        Ok(())
    })
    .await?;
    tracing::info!(token = %record.id, remotes = ?record.remotes, admin, "created a token");
    Ok((token, record))
}

/// Every stored token, oldest first.
pub async fn list(storage: &Storage) -> Result<Vec<TokenRecord>, TokenError> {
    match storage.get(TOKENS_KEY).await? {
        Some(current) => Ok(parse(&current.bytes)?.tokens),
        None => Ok(Vec::new()),
    }
}

/// Deletes the token with this id and returns its record. Every replica
/// refuses it from its next request on.
pub async fn revoke(storage: &Storage, id: &str) -> Result<TokenRecord, TokenError> {
    let mut revoked = None;
    update(storage, |file| {
        let position = file.tokens.iter().position(|record| record.id == id);
        let record =
            position.map(|at| file.tokens.remove(at)).ok_or_else(|| TokenError::NotFound { id: id.to_owned() })?;
        revoked = Some(record);
        Ok(())
    })
    .await?;
    let record = revoked.ok_or_else(|| TokenError::NotFound { id: id.to_owned() })?;
    tracing::info!(token = %record.id, "revoked a token");
    Ok(record)
}

/// Applies `change` to the token file by compare-and-swap, retrying when
/// another writer got there first.
async fn update(
    storage: &Storage,
    mut change: impl FnMut(&mut TokenFile) -> Result<(), TokenError>,
) -> Result<(), TokenError> {
    for _ in 0..64 {
        let current = storage.get(TOKENS_KEY).await?;
        let mut file = match &current {
            Some(current) => parse(&current.bytes)?,
            None => TokenFile::default(),
        };
        change(&mut file)?;
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|err| TokenError::Damaged(err.to_string()))?;
        bytes.push(b'\n');
        let expected = current.as_ref().map(|current| &current.version);
        if storage.put_if(TOKENS_KEY, Bytes::from(bytes), expected).await? == Write::Written {
            return Ok(());
        }
    }
    Err(TokenError::Contended)
}

fn parse(bytes: &[u8]) -> Result<TokenFile, TokenError> {
    serde_json::from_slice(bytes).map_err(|err| TokenError::Damaged(err.to_string()))
}

/// The tokens as this replica last read them, reloaded when the stored file
/// changes (one metadata request per authenticated call).
#[derive(Debug, Clone)]
pub struct TokenStore {
    storage: Storage,
    cache: Arc<RwLock<Cached>>,
}

#[derive(Debug, Default)]
struct Cached {
    e_tag: Option<String>,
    by_hash: HashMap<String, TokenRecord>,
}

impl TokenStore {
    pub fn new(storage: Storage) -> Self {
        Self { storage, cache: Arc::default() }
    }

    /// The record of a presented token, or `None` when it is unknown.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<TokenRecord>, TokenError> {
        if !presented.starts_with(PREFIX) {
            return Ok(None);
        }
        self.refresh().await?;
        let hash = token_hash(presented);
        Ok(self.cache.read().await.by_hash.get(&hash).cloned())
    }

    async fn refresh(&self) -> Result<(), TokenError> {
        let meta = self.storage.head(TOKENS_KEY).await?;
        let e_tag = meta.and_then(|meta| meta.e_tag.or(Some(meta.last_modified.to_rfc3339())));
        if e_tag.is_some() && self.cache.read().await.e_tag == e_tag {
            return Ok(());
        }
        let mut cache = self.cache.write().await;
        let Some(current) = self.storage.get(TOKENS_KEY).await? else {
            *cache = Cached::default();
            return Ok(());
        };
        let file = parse(&current.bytes)?;
        cache.by_hash = file.tokens.into_iter().map(|record| (record.sha256.clone(), record)).collect();
        cache.e_tag = e_tag;
        Ok(())
    }
}
