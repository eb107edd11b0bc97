//! OS keychain access for provider API keys, and a [`Secret`] type that cannot be printed.
//!
//! Keys live in the operating system's own credential store: the Secret Service
//! on Linux (gnome-keyring, KeePassXC), the Keychain on macOS and the Credential
//! Manager on Windows. Each key is one entry with service [`SERVICE`]
//! (`augment-it`) and the provider's name as the account, so other tools find it:
//!
//! ```text
//! secret-tool lookup service augment-it username openai
//! ```
//!
//! For CI and headless machines an explicit environment variable per provider
//! ([`env_var_name`], e.g. `AUGMENT_OPENAI_API_KEY`) takes precedence over the
//! keychain and is reported as "from environment"; a program that starts
//! other programs takes those variables out of its environment first
//! ([`take_keys_from_environment`]) and keeps reading them from memory. When neither is available the
//! caller gets [`Error::NoKeychain`], which says what to start or set; nothing
//! ever falls back to a plaintext file.
//!
//! # Why keyring-core and one store crate per platform
//!
//! This crate uses the keyring 4 ecosystem (`keyring-core` plus
//! `zbus-secret-service-keyring-store`, `apple-native-keyring-store`,
//! `windows-native-keyring-store`) rather than `keyring` 3.6:
//!
//! - keyring-core has no built-in default store, so a build without a platform
//!   store fails loudly instead of silently using keyring 3's in-memory mock;
//! - the zbus store speaks D-Bus in pure Rust, so building needs no
//!   `libdbus-1-dev` (keyring 3's `sync-secret-service` links libdbus);
//! - its authors recommend it for applications, and we hold the store object
//!   ourselves ([`KeyStore`]) instead of setting a process-wide default.
//!
//! The zbus store runs on its own small `async-io` executor thread, so the
//! blocking API here works from plain threads and from `tokio::task::spawn_blocking`
//! alike; async callers must use the latter, because every call is a D-Bus round trip.
//!
//! # What never happens to a key
//!
//! A [`Secret`] prints as `Secret(***)`, is not `Serialize`, is zeroed when
//! dropped, and is read only through [`Secret::expose`]. Errors and logs name the
//! provider, never the key.

mod environment;
mod error;
mod provider;
mod secret;
mod store;

pub use environment::{is_key_variable, take_keys_from_environment};
pub use error::Error;
pub use provider::{KNOWN_PROVIDERS, env_var_name, validate_provider};
pub use secret::Secret;
pub use store::{KeyStatus, KeyStore, SERVICE};
