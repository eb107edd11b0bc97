//! Saved connections: the table's place in `local.db`, the credential in the
//! OS keychain (account `datastore-<name>`; the variable
//! `AUGMENT_DATASTORE_<NAME>_API_KEY` overrides it, as for provider keys).
//!
//! The keychain and the store block: async callers run these on a blocking thread.

use datastores::{Connector, Credential, Kind, Source};
use local_data::Store;
use secrets::{KeyStore, Secret};
use serde::Serialize;
use url::Url;

use crate::Error;

/// Longest connection name: the keychain's account names are at most 40
/// characters, and `datastore-` takes 10 of them.
pub const MAX_NAME_LEN: usize = 30;

/// The keychain account holding connection `name`'s credential.
pub fn keychain_account(name: &str) -> String {
    format!("datastore-{name}")
}

/// A connection name: 1 to 30 lowercase letters, digits and `-` (it names a
/// keychain entry and an environment variable).
pub fn check_connection_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        return Ok(());
    }
    // A long value may be a token pasted in the wrong place: described, not echoed.
    let shown = if name.chars().count() <= MAX_NAME_LEN {
        format!("`{name}`")
    } else {
        format!("a {}-character value", name.chars().count())
    };
    Err(Error::invalid(format!(
        "{shown} is not a connection name: use 1 to {MAX_NAME_LEN} lowercase letters, digits and dashes (e.g. `work-base`)"
    )))
}

/// A connection as lists show it: never its credential, only whether there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedConnection {
    pub name: String,
    pub kind: Kind,
    pub source: Source,
    pub has_credential: bool,
}

/// Which way a connector reaches its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// This process calls the service's API.
    InProcess,
    /// Through the local stack's connector service.
    Service,
}

/// Connections over the local store and the OS keychain.
#[derive(Debug, Clone)]
pub struct Connections {
    keys: KeyStore,
}

impl Connections {
    pub fn new(keys: KeyStore) -> Self {
        Connections { keys }
    }

    /// Saves connection `name` (replacing its source if it exists) and, when
    /// given, its credential in the keychain, which is written first so a
    /// keychain that refuses leaves no connection half-made.
    pub fn save(
        &self,
        store: &mut Store,
        name: &str,
        source: &Source,
        credential: Option<Secret>,
    ) -> Result<SavedConnection, Error> {
        check_connection_name(name)?;
        check_source(source)?;
        if let Some(credential) = credential {
            if credential.expose().trim().is_empty() {
                return Err(Error::invalid("the credential is empty: paste the whole token"));
            }
            self.keys.set(&keychain_account(name), Secret::new(credential.expose().trim()))?;
        }
        let json =
            serde_json::to_value(source).map_err(|e| Error::invalid(format!("the source does not serialise: {e}")))?;
        store.save_datastore_connection(name, source.kind().id(), &json)?;
        self.get(store, name)
    }

    /// Every connection, by name.
    pub fn list(&self, store: &Store) -> Result<Vec<SavedConnection>, Error> {
        store.datastore_connections()?.into_iter().map(|row| self.view(row)).collect()
    }

    /// Connection `name`.
    pub fn get(&self, store: &Store, name: &str) -> Result<SavedConnection, Error> {
        check_connection_name(name)?;
        match store.datastore_connection(name)? {
            Some(row) => self.view(row),
            None => Err(no_connection(store, name)),
        }
    }

    /// Deletes connection `name` and its keychain entry; whether there was a connection.
    pub fn delete(&self, store: &mut Store, name: &str) -> Result<bool, Error> {
        check_connection_name(name)?;
        let existed = store.delete_datastore_connection(name)?;
        match self.keys.delete(&keychain_account(name)) {
            Ok(_) => Ok(existed),
            // Headless, with the credential in the environment: there is no entry to remove.
            Err(secrets::Error::NoKeychain { .. }) => {
                tracing::warn!(connection = name, "no OS keychain: only the connection was deleted");
                Ok(existed)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Connection `name` and a client for its table, signed with its credential, in process.
    pub fn connector(&self, store: &Store, name: &str) -> Result<(SavedConnection, Connector), Error> {
        let (saved, connector, _) = self.connector_via(store, name, None)?;
        Ok((saved, connector))
    }

    /// [`Connections::connector`] through the stack's connector service when
    /// `service` is given (the stack is up and healthy) and the table is not on
    /// this computer's loopback, which a container cannot reach; else in process.
    pub fn connector_via(
        &self,
        store: &Store,
        name: &str,
        service: Option<datastores::service::Stack>,
    ) -> Result<(SavedConnection, Connector, Route), Error> {
        let (saved, credential) = self.credential(store, name)?;
        let route = route_for(&saved.source, service.is_some());
        let connector = match (route, service) {
            (Route::Service, Some(stack)) => Connector::through_service(stack, &saved.source, Some(credential))?,
            _ => Connector::new(&saved.source, credential)?,
        };
        tracing::debug!(connection = name, ?route, "data-store connector");
        Ok((saved, connector, route))
    }

    /// Connection `name` and its credential.
    fn credential(&self, store: &Store, name: &str) -> Result<(SavedConnection, Credential), Error> {
        let saved = self.get(store, name)?;
        let account = keychain_account(name);
        let credential = self.keys.get(&account)?.ok_or_else(|| Error::NoCredential {
            name: name.to_owned(),
            kind: saved.kind.id(),
            variable: secrets::env_var_name(&account),
        })?;
        Ok((saved, Credential(credential)))
    }

    fn view(&self, row: local_data::DatastoreConnection) -> Result<SavedConnection, Error> {
        let source: Source = serde_json::from_value(row.source).map_err(|e| {
            Error::invalid(format!(
                "the saved source of connection `{}` cannot be read ({e}): save the connection again",
                row.name
            ))
        })?;
        let has_credential = match self.keys.is_set(&keychain_account(&row.name)) {
            Ok(set) => set,
            Err(err) => {
                // A list still shows the connections when the keychain is away.
                tracing::warn!(connection = %row.name, %err, "could not ask the keychain for a connection's credential");
                false
            }
        };
        Ok(SavedConnection { name: row.name, kind: source.kind(), source, has_credential })
    }
}

/// The service when there is one, unless the table is on this computer's
/// loopback: the connector runs in a container, whose loopback is its own.
pub fn route_for(source: &Source, service_available: bool) -> Route {
    if service_available && !notify_hooks::is_loopback(source.endpoint()) { Route::Service } else { Route::InProcess }
}

fn no_connection(store: &Store, name: &str) -> Error {
    let names: Vec<String> = store
        .datastore_connections()
        .map(|all| all.into_iter().map(|c| format!("`{}`", c.name)).collect())
        .unwrap_or_default();
    let hint = if names.is_empty() {
        "there are none yet; add one with `augment data connect nocodb|airtable|databricks --name NAME …`".to_owned()
    } else {
        format!("the connections are {} (see `augment data connections`)", names.join(", "))
    };
    Error::NoConnection { name: name.to_owned(), hint }
}

/// A source's URL must not carry a secret (it is stored and shown) and a
/// credential goes over plain `http://` to loopback only.
pub fn check_source(source: &Source) -> Result<(), Error> {
    let (what, url): (&str, &Url) = match source {
        Source::Nocodb(t) => ("NocoDB base URL", &t.base_url),
        Source::Airtable(t) => ("Airtable API URL", &t.api_url),
        Source::Databricks(t) => ("Databricks workspace URL", &t.host),
    };
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "the {what} has a user name, password, query or fragment: give the plain address (the token goes in the keychain)"
        )));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if notify_hooks::is_loopback(url) => Ok(()),
        "http" => Err(Error::invalid(format!(
            "the {what} is plain http:// to another machine, which would send the token unencrypted: use https://"
        ))),
        other => Err(Error::invalid(format!("the {what} has the scheme `{other}`: use https://"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_a_long_one_never_echoed() {
        for ok in ["work", "a", "base-2", &"a".repeat(30)] {
            assert!(check_connection_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Work", "my_base", "a b", &"a".repeat(31)] {
            assert!(check_connection_name(bad).is_err(), "{bad:?}");
        }
        let token = "nc_pat_AbCdEfGhIjKlMnOpQrStUvWxYz0123";
        let err = check_connection_name(token).unwrap_err().to_string();
        assert!(!err.contains("AbCdEf"), "{err}");
        assert_eq!(secrets::env_var_name(&keychain_account("work")), "AUGMENT_DATASTORE_WORK_API_KEY");
    }

    fn nocodb(url: &str) -> Source {
        serde_json::from_value(serde_json::json!({"kind": "nocodb", "base_url": url, "table_id": "m1"})).unwrap()
    }

    #[test]
    fn the_service_is_used_when_up_except_for_a_table_on_this_computers_loopback() {
        assert_eq!(route_for(&nocodb("https://app.nocodb.com"), true), Route::Service);
        assert_eq!(route_for(&nocodb("https://app.nocodb.com"), false), Route::InProcess);
        assert_eq!(route_for(&nocodb("http://127.0.0.1:8080"), true), Route::InProcess);
        assert_eq!(route_for(&nocodb("http://localhost:8080"), true), Route::InProcess);
    }

    #[test]
    fn a_source_url_with_a_secret_or_plain_http_elsewhere_is_refused() {
        assert!(check_source(&nocodb("https://app.nocodb.com")).is_ok());
        assert!(check_source(&nocodb("http://127.0.0.1:8080")).is_ok());
        for bad in ["http://nocodb.example.com", "https://u:p@app.nocodb.com", "https://app.nocodb.com/?token=x"] {
            assert!(check_source(&nocodb(bad)).is_err(), "{bad}");
        }
    }
}
