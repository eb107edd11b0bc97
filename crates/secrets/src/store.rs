use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use keyring_core::{CredentialStore, Entry};
use tracing::{debug, info, warn};

use crate::{Error, Secret, env_var_name, validate_provider};

/// The keychain service name every entry is stored under.
pub const SERVICE: &str = "augment-it";

/// Where a provider's key would come from right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyStatus {
    /// A key is stored in the OS keychain.
    Set,
    /// Neither the keychain nor the environment has a key.
    NotSet,
    /// The provider's environment variable supplies the key (it wins over the keychain).
    FromEnvironment,
}

impl KeyStatus {
    /// A short lowercase label: `set`, `not set`, `from environment`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Set => "set",
            KeyStatus::NotSet => "not set",
            KeyStatus::FromEnvironment => "from environment",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The variable `name`, if set to valid UTF-8.
fn env_value(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn!(variable = name, "ignoring an API key variable that is not valid UTF-8");
            None
        }
    }
}

type Connector = Arc<dyn Fn() -> Result<Arc<CredentialStore>, Error> + Send + Sync>;
type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Provider API keys in the OS keychain, with per-provider environment overrides.
///
/// Cheap to clone (clones share one keychain connection). Every method blocks on
/// the OS keychain (a D-Bus round trip on Linux): call them from
/// `tokio::task::spawn_blocking` in async code.
///
/// The environment variable [`env_var_name`]`(provider)`, when set and not
/// empty, takes precedence over the keychain for reading (`get`, `is_set`,
/// `status`); `set` and `delete` always act on the keychain.
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Connected lazily so that headless use with only environment variables
    /// never needs a keychain, and reset after a platform failure so that a
    /// restarted keychain daemon is picked up by the next call.
    store: Mutex<Option<Arc<CredentialStore>>>,
    connect: Connector,
    env: EnvLookup,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let connected = self.inner.store.lock().map(|s| s.is_some()).unwrap_or(false);
        f.debug_struct("KeyStore").field("service", &SERVICE).field("connected", &connected).finish()
    }
}

impl KeyStore {
    /// The OS keychain of this platform and the process environment.
    ///
    /// This does not connect yet; the first call that needs the keychain does,
    /// and reports [`Error::NoKeychain`] if there is none. Use
    /// [`KeyStore::check_available`] to find out up front.
    pub fn system() -> Self {
        Self::with_parts(
            Arc::new(connect_platform_store),
            // A key taken out of the environment at start-up (the desktop app's are) is read from memory.
            Arc::new(|name: &str| crate::environment::taken(name).or_else(|| env_value(name))),
        )
    }

    fn with_parts(connect: Connector, env: EnvLookup) -> Self {
        KeyStore { inner: Arc::new(Inner { store: Mutex::new(None), connect, env }) }
    }

    /// Connects to the OS keychain now, so a missing keychain is reported before
    /// the user types a key rather than after.
    pub fn check_available(&self) -> Result<(), Error> {
        self.backend().map(|_| ())
    }

    /// Stores `key` for `provider` in the OS keychain, replacing any earlier key.
    pub fn set(&self, provider: &str, key: Secret) -> Result<(), Error> {
        validate_provider(provider)?;
        if key.is_empty() {
            return Err(Error::EmptyKey { provider: provider.to_owned() });
        }
        let entry = self.entry(provider)?;
        entry.set_password(key.expose()).map_err(|e| self.convert(e, "store", provider))?;
        info!(provider, service = SERVICE, "stored API key in the OS keychain");
        if self.env_key(provider).is_some() {
            warn!(
                provider,
                variable = %env_var_name(provider),
                "the environment variable is set and takes precedence over the key just stored"
            );
        }
        Ok(())
    }

    /// Removes the keychain entry for `provider`. Returns whether there was one.
    /// The environment variable, if any, is left alone.
    pub fn delete(&self, provider: &str) -> Result<bool, Error> {
        validate_provider(provider)?;
        let entry = self.entry(provider)?;
        match entry.delete_credential() {
            Ok(()) => {
                info!(provider, service = SERVICE, "deleted API key from the OS keychain");
                Ok(true)
            }
            Err(keyring_core::Error::NoEntry) => {
                debug!(provider, "no keychain entry to delete");
                Ok(false)
            }
            Err(e) => Err(self.convert(e, "delete", provider)),
        }
    }

    /// Whether [`KeyStore::get`] would find a key (environment or keychain),
    /// without reading the key itself out of the keychain.
    pub fn is_set(&self, provider: &str) -> Result<bool, Error> {
        Ok(self.status_of(provider)? != KeyStatus::NotSet)
    }

    /// The key for `provider`: the environment variable if set and not empty,
    /// else the keychain entry, else `None`.
    ///
    /// Meant for the code that signs provider requests; a user interface only
    /// ever needs [`KeyStore::status`].
    pub fn get(&self, provider: &str) -> Result<Option<Secret>, Error> {
        validate_provider(provider)?;
        if let Some(key) = self.env_key(provider) {
            debug!(provider, "using API key from the environment");
            return Ok(Some(key));
        }
        let entry = self.entry(provider)?;
        match entry.get_password() {
            Ok(value) => {
                debug!(provider, "read API key from the OS keychain");
                Ok(Some(Secret::new(value)))
            }
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.convert(e, "read", provider)),
        }
    }

    /// Where each provider's key would come from, in the order given.
    pub fn status(&self, providers: &[&str]) -> Result<Vec<(String, KeyStatus)>, Error> {
        providers.iter().map(|p| Ok(((*p).to_owned(), self.status_of(p)?))).collect()
    }

    fn status_of(&self, provider: &str) -> Result<KeyStatus, Error> {
        validate_provider(provider)?;
        if self.env_key(provider).is_some() {
            return Ok(KeyStatus::FromEnvironment);
        }
        let entry = self.entry(provider)?;
        match entry.get_attributes() {
            Ok(_) => Ok(KeyStatus::Set),
            Err(keyring_core::Error::NoEntry) => Ok(KeyStatus::NotSet),
            Err(e) => Err(self.convert(e, "read", provider)),
        }
    }

    fn env_key(&self, provider: &str) -> Option<Secret> {
        let key = Secret::new((self.inner.env)(&env_var_name(provider))?);
        (!key.is_empty()).then_some(key)
    }

    fn entry(&self, provider: &str) -> Result<Entry, Error> {
        let store = self.backend().map_err(|e| match e {
            // Name the variable for the provider at hand rather than the pattern.
            Error::NoKeychain { reason, hint, .. } => {
                Error::NoKeychain { reason, hint, env_var: env_var_name(provider) }
            }
            other => other,
        })?;
        Entry::new_in_store(&store, SERVICE, provider).map_err(|e| self.convert(e, "find", provider))
    }

    fn backend(&self) -> Result<Arc<CredentialStore>, Error> {
        // A poisoned lock only means another thread panicked mid-connect; the
        // cached value is still either a store or nothing.
        let mut guard = self.inner.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = guard.as_ref() {
            return Ok(store.clone());
        }
        let store = (self.inner.connect)()?;
        debug!(service = SERVICE, "connected to the OS keychain");
        *guard = Some(store.clone());
        Ok(store)
    }

    fn forget_backend(&self) {
        let mut guard = self.inner.store.lock().unwrap_or_else(PoisonError::into_inner);
        *guard = None;
    }

    /// Turns a keyring error into ours. Matching every variant by hand is the
    /// point: `BadEncoding`/`BadDataFormat` carry the stored bytes and must not
    /// be formatted anywhere.
    fn convert(&self, err: keyring_core::Error, action: &'static str, provider: &str) -> Error {
        use keyring_core::Error as K;
        let provider = provider.to_owned();
        let error = match err {
            K::PlatformFailure(e) => {
                self.forget_backend();
                Error::Keychain { action, provider, reason: e.to_string() }
            }
            K::NoStorageAccess(e) => Error::Locked { provider, reason: e.to_string() },
            K::BadEncoding(_) | K::BadDataFormat(..) => Error::NotText { provider },
            K::Ambiguous(_) => Error::Ambiguous { provider },
            K::NoDefaultStore => no_keychain("no credential store was set up", &provider),
            K::NoEntry => Error::Keychain { action, provider, reason: "no matching entry".to_owned() },
            K::BadStoreFormat(reason) | K::NotSupportedByStore(reason) => Error::Keychain { action, provider, reason },
            K::TooLong(attribute, limit) => Error::Keychain {
                action,
                provider,
                reason: format!("{attribute} is longer than the platform limit of {limit}"),
            },
            K::Invalid(attribute, reason) => {
                Error::Keychain { action, provider, reason: format!("{attribute} is invalid: {reason}") }
            }
            _ => Error::Keychain { action, provider, reason: "unrecognised keychain error".to_owned() },
        };
        warn!(error = %error, "keychain operation failed");
        error
    }
}

/// What to install or start when there is no keychain, per platform.
const NO_KEYCHAIN_HINT: &str = if cfg!(target_os = "macos") {
    "make sure your login keychain exists and is unlocked (Keychain Access)"
} else if cfg!(target_os = "windows") {
    "make sure the Credential Manager service is running"
} else if cfg!(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd")) {
    "start a Secret Service (gnome-keyring or KeePassXC) in a D-Bus session"
} else {
    "this platform has no supported OS keychain"
};

fn no_keychain(reason: impl Into<String>, provider: &str) -> Error {
    Error::NoKeychain { reason: reason.into(), hint: NO_KEYCHAIN_HINT, env_var: env_var_name(provider) }
}

/// The error for a failed connection names a provider's variable; we don't know
/// which provider the caller wants at connect time, so the message uses the
/// generic pattern, e.g. `AUGMENT_OPENAI_API_KEY` for openai.
fn connect_failed(reason: impl Into<String>) -> Error {
    Error::NoKeychain {
        reason: reason.into(),
        hint: NO_KEYCHAIN_HINT,
        env_var: "AUGMENT_<PROVIDER>_API_KEY (e.g. AUGMENT_OPENAI_API_KEY)".to_owned(),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
fn connect_platform_store() -> Result<Arc<CredentialStore>, Error> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| match e {
        keyring_core::Error::PlatformFailure(e) | keyring_core::Error::NoStorageAccess(e) => {
            connect_failed(e.to_string())
        }
        _ => connect_failed("the Secret Service could not be opened"),
    })?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn connect_platform_store() -> Result<Arc<CredentialStore>, Error> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|_| connect_failed("the macOS Keychain could not be opened"))?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn connect_platform_store() -> Result<Arc<CredentialStore>, Error> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|_| connect_failed("the Windows Credential Manager could not be opened"))?;
    Ok(store)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    target_os = "windows"
)))]
fn connect_platform_store() -> Result<Arc<CredentialStore>, Error> {
    Err(connect_failed("no keychain backend is built for this platform"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A store whose keychain is unreachable and counts connection attempts,
    /// with a fixed environment: shows which paths touch the keychain.
    fn store_without_keychain(env: &[(&str, &str)]) -> (KeyStore, Arc<AtomicUsize>) {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counter = attempts.clone();
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let store = KeyStore::with_parts(
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                Err(connect_failed("test: no D-Bus session"))
            }),
            Arc::new(move |name: &str| env.get(name).cloned()),
        );
        (store, attempts)
    }

    #[test]
    fn environment_key_wins_without_touching_the_keychain() {
        let (store, attempts) = store_without_keychain(&[("AUGMENT_OPENAI_API_KEY", "sk-env\n")]);
        let key = store.get("openai").unwrap().unwrap();
        assert_eq!(key.expose(), "sk-env");
        assert!(store.is_set("openai").unwrap());
        assert_eq!(store.status(&["openai"]).unwrap(), vec![("openai".to_owned(), KeyStatus::FromEnvironment)]);
        assert_eq!(attempts.load(Ordering::SeqCst), 0, "the keychain must not be contacted");
    }

    #[test]
    fn empty_environment_variable_counts_as_unset() {
        let (store, attempts) = store_without_keychain(&[("AUGMENT_GROQ_API_KEY", "  ")]);
        let err = store.get("groq").unwrap_err();
        assert!(matches!(err, Error::NoKeychain { .. }), "{err:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn missing_keychain_is_an_error_with_advice_and_is_retried() {
        let (store, attempts) = store_without_keychain(&[]);
        let err = store.set("openai", Secret::new("sk-123")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("no OS keychain is available"), "{text}");
        assert!(text.ends_with("or set AUGMENT_OPENAI_API_KEY for headless use"), "{text}");
        assert!(!text.contains("sk-123"), "{text}");
        // Nothing is cached after a failed connect: a keychain started later is used.
        assert!(store.check_available().is_err());
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn invalid_provider_and_empty_key_are_rejected_before_the_keychain() {
        let (store, attempts) = store_without_keychain(&[]);
        assert!(matches!(store.set("Not Valid", Secret::new("k")), Err(Error::InvalidProvider { .. })));
        assert!(matches!(store.set("openai", Secret::new("\n")), Err(Error::EmptyKey { .. })));
        assert_eq!(attempts.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn status_labels() {
        assert_eq!(KeyStatus::Set.to_string(), "set");
        assert_eq!(KeyStatus::NotSet.to_string(), "not set");
        assert_eq!(KeyStatus::FromEnvironment.to_string(), "from environment");
    }
}
