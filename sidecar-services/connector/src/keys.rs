//! Where the connector finds provider keys on a server: an environment
//! variable per provider, or a file per provider in a mounted secret folder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use providers::{KeyFuture, KeySource};
use secrets::Secret;

/// Looks up one environment variable; injectable so tests need not change
/// the process environment (which is `unsafe` and shared between tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where a provider's key would come from right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    /// `AUGMENT_<ID>_API_KEY` is set and not empty.
    Environment,
    /// `<keys dir>/<id>` exists and is not empty.
    File,
    /// Neither: calls to a provider that needs a key fail with `no_key`.
    Missing,
}

/// Provider keys for a server deployment, read at every call so a rotated
/// Kubernetes secret or a changed file is used without a restart:
///
/// 1. the environment variable [`secrets::env_var_name`] (`AUGMENT_OPENAI_API_KEY`),
///    the same name the desktop app honours;
/// 2. a file named after the provider (`openai`, `anthropic`, …) in the keys
///    folder (`CONNECTOR_KEYS_DIR`), which is what Docker and Kubernetes
///    secrets mounted as a folder look like.
///
/// There is deliberately no keychain here: a server has no logged-in user
/// session, and a silent fallback would hide a missing secret.
#[derive(Clone)]
pub struct ServerKeys {
    dir: Option<PathBuf>,
    env: EnvLookup,
}

impl fmt::Debug for ServerKeys {
    // Only where keys come from, never a value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerKeys").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl ServerKeys {
    /// Keys from the process environment and, if given, files in `dir`.
    pub fn from_env(dir: Option<PathBuf>) -> Self {
        Self::with_lookup(dir, Arc::new(|name| std::env::var(name).ok()))
    }

    /// Keys from `env` instead of the process environment (for tests).
    pub fn with_lookup(dir: Option<PathBuf>, env: EnvLookup) -> Self {
        ServerKeys { dir, env }
    }

    /// The keys folder, if one is configured.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Where `provider`'s key comes from, without reading it into a `Secret`
    /// any longer than it takes to check that it is not empty.
    pub fn origin(&self, provider: &str) -> KeyOrigin {
        match self.lookup(provider) {
            Ok(Some((_, origin))) => origin,
            _ => KeyOrigin::Missing,
        }
    }

    /// The key this server holds for a kind of data store:
    /// `AUGMENT_DATASTORE_<KIND>_API_KEY`, else the file `datastore-<kind>`
    /// in the keys folder. Blocking (file I/O).
    pub fn datastore_key(&self, kind: datastores::Kind) -> std::io::Result<Option<Secret>> {
        // The id comes from the closed `Kind` list, so it names no other path.
        Ok(self.lookup(&format!("datastore-{}", kind.id()))?.map(|(secret, _)| secret))
    }

    fn lookup(&self, provider: &str) -> std::io::Result<Option<(Secret, KeyOrigin)>> {
        if let Some(value) = (self.env)(&secrets::env_var_name(provider)) {
            let secret = Secret::new(value);
            if !secret.is_empty() {
                return Ok(Some((secret, KeyOrigin::Environment)));
            }
        }
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        // The id was validated by the provider config ([a-z0-9-]), so it
        // cannot name a path outside the folder.
        match std::fs::read_to_string(dir.join(provider)) {
            Ok(value) => {
                let secret = Secret::new(value);
                Ok((!secret.is_empty()).then_some((secret, KeyOrigin::File)))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }
}

impl KeySource for ServerKeys {
    fn key<'a>(&'a self, provider: &'a str) -> KeyFuture<'a> {
        let keys = self.clone();
        let provider = provider.to_owned();
        Box::pin(async move {
            // A file read can block (network-backed volumes); keep it off the workers.
            let found = tokio::task::spawn_blocking(move || {
                let result = keys.lookup(&provider);
                (provider, result)
            })
            .await;
            match found {
                Ok((_, Ok(found))) => Ok(found.map(|(secret, _)| secret)),
                Ok((provider, Err(err))) => {
                    // The path and the I/O error only: never file contents.
                    tracing::warn!(%provider, error = %err, "the key file could not be read");
                    Ok(None)
                }
                Err(_) => Err(providers::Error::Cancelled { provider: "key lookup".to_owned() }),
            }
        })
    }
}
