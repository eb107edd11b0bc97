//! The configured endpoints: settings in the local database
//! (`hook_endpoints`), URL and signing secret in the OS keychain, one entry
//! each under the account `hook-<id>-url` / `hook-<id>-secret` of the
//! app's keychain service, like provider keys.

use std::sync::{Arc, Mutex, PoisonError};

use local_data::{HookEndpoint, Store};
use secrets::{KeyStore, Secret};

use crate::{Error, EventKind, Preset, Resolver, Target, host_of};

/// Shortest signing secret accepted: a guessable secret signs nothing.
pub const MIN_SECRET_CHARS: usize = 16;

/// An endpoint to add.
#[derive(Debug)]
pub struct NewEndpoint {
    pub name: String,
    pub preset: Preset,
    pub events: Vec<EventKind>,
    /// The whole URL (a Slack or Teams one carries its token).
    pub url: Secret,
    /// Signs each request; needed by `generic`, optional for Slack and Teams (which ignore it).
    pub secret: Option<Secret>,
}

/// Endpoints in the database and the keychain.
#[derive(Debug, Clone)]
pub struct Endpoints {
    store: Arc<Mutex<Store>>,
    keys: KeyStore,
}

fn url_account(id: i64) -> String {
    format!("hook-{id}-url")
}

fn secret_account(id: i64) -> String {
    format!("hook-{id}-secret")
}

impl Endpoints {
    pub fn new(store: Arc<Mutex<Store>>, keys: KeyStore) -> Self {
        Self { store, keys }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks and saves an endpoint; its URL and secret go to the keychain
    /// (nothing is kept when the keychain refuses them). Blocking.
    pub fn add(&self, new: NewEndpoint) -> Result<HookEndpoint, Error> {
        let host = host_of(new.url.expose())?;
        if new.events.is_empty() || new.events.contains(&EventKind::Test) {
            return Err(Error::Invalid(
                "choose the events to send: run.finished, run.failed, run.budget_reached, import.done".into(),
            ));
        }
        let secret = new.secret.filter(|s| !s.expose().trim().is_empty());
        match &secret {
            Some(s) if s.expose().chars().count() < MIN_SECRET_CHARS => {
                return Err(Error::Invalid(format!(
                    "the signing secret is too short: use a random secret of at least {MIN_SECRET_CHARS} characters"
                )));
            }
            None if new.preset == Preset::Generic => {
                return Err(Error::Invalid(
                    "a generic endpoint needs a signing secret, so its receiver can check that a request came from this app".into(),
                ));
            }
            _ => {}
        }
        let mut events: Vec<String> = new.events.iter().map(|e| e.as_str().to_owned()).collect();
        events.sort();
        events.dedup();
        let endpoint = self.store().add_hook_endpoint(&new.name, new.preset.as_str(), &events, &host)?;
        let stored = self.keys.set(&url_account(endpoint.id), new.url).and_then(|()| match secret {
            Some(secret) => self.keys.set(&secret_account(endpoint.id), secret),
            None => Ok(()),
        });
        if let Err(err) = stored {
            self.forget_keys(endpoint.id);
            self.store().delete_hook_endpoint(endpoint.id)?;
            return Err(err.into());
        }
        tracing::info!(endpoint = %endpoint.name, host = %endpoint.host, preset = %endpoint.preset, "webhook endpoint added");
        Ok(endpoint)
    }

    /// Every endpoint, without URLs or secrets.
    pub fn list(&self) -> Result<Vec<HookEndpoint>, Error> {
        Ok(self.store().hook_endpoints()?)
    }

    /// Deletes an endpoint and its keychain entries; whether there was one. Blocking.
    pub fn delete(&self, id: i64) -> Result<bool, Error> {
        // The keychain first: a row left behind can be deleted again, a secret left behind would be forgotten.
        self.keys.delete(&url_account(id))?;
        self.keys.delete(&secret_account(id))?;
        Ok(self.store().delete_hook_endpoint(id)?)
    }

    fn forget_keys(&self, id: i64) {
        for account in [url_account(id), secret_account(id)] {
            if let Err(err) = self.keys.delete(&account) {
                tracing::warn!(%err, account, "a webhook keychain entry could not be removed");
            }
        }
    }

    /// An endpoint ready to send to. Blocking.
    pub fn target(&self, id: i64) -> Result<Target, Error> {
        let endpoint = self.store().hook_endpoint(id)?;
        self.target_of(&endpoint)
    }

    fn target_of(&self, endpoint: &HookEndpoint) -> Result<Target, Error> {
        let preset: Preset = endpoint.preset.parse()?;
        let url = self.keys.get(&url_account(endpoint.id))?.ok_or_else(|| {
            Error::Invalid(format!(
                "the URL of webhook endpoint `{}` is not in the keychain any more: delete the endpoint and add it again",
                endpoint.name
            ))
        })?;
        let secret = self.keys.get(&secret_account(endpoint.id))?;
        Target::new(endpoint.id, endpoint.name.clone(), preset, url, secret)
    }
}

impl Resolver for Endpoints {
    fn targets(&self, kind: EventKind) -> Result<Vec<Target>, Error> {
        let subscribed: Vec<HookEndpoint> =
            self.list()?.into_iter().filter(|e| e.events.iter().any(|n| n == kind.as_str())).collect();
        let mut targets = Vec::with_capacity(subscribed.len());
        for endpoint in subscribed {
            match self.target_of(&endpoint) {
                Ok(target) => targets.push(target),
                // One broken endpoint does not keep the event from the others.
                Err(err) => tracing::warn!(%err, endpoint = %endpoint.name, "a webhook endpoint is skipped"),
            }
        }
        Ok(targets)
    }

    fn target(&self, endpoint_id: i64) -> Result<Option<Target>, Error> {
        match self.store().hook_endpoint(endpoint_id) {
            Ok(endpoint) => self.target_of(&endpoint).map(Some),
            Err(local_data::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}
