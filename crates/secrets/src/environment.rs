//! API keys taken out of the process environment at start-up.
//!
//! A program that starts other programs (the desktop app starts WebKit's
//! web and network processes) would hand them every `AUGMENT_<ID>_API_KEY`
//! it inherited. [`take_keys_from_environment`] copies those variables into
//! this process's memory, where [`KeyStore::system`](crate::KeyStore::system)
//! still finds them, and returns their names so that `main` can remove them
//! from the environment before any other thread or child process exists
//! (removing is `unsafe` in Rust 2024 and belongs to the binary, which knows
//! when it is still single-threaded).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::{Mutex, PoisonError};

use crate::Secret;

/// The keys taken out of the environment, by variable name.
static TAKEN: Mutex<BTreeMap<String, Secret>> = Mutex::new(BTreeMap::new());

/// Whether `name` is a provider key variable, `AUGMENT_<ID>_API_KEY`
/// ([`env_var_name`](crate::env_var_name) of some provider).
pub fn is_key_variable(name: &str) -> bool {
    name.len() > "AUGMENT__API_KEY".len() && name.starts_with("AUGMENT_") && name.ends_with("_API_KEY")
}

/// Copies every `AUGMENT_<ID>_API_KEY` variable into this process's memory
/// and returns the names of all of them (a value that is not UTF-8 is not
/// kept, as [`KeyStore::system`](crate::KeyStore::system) ignores it anyway,
/// but its name is returned too). The caller removes them from the
/// environment; from then on the keys are read from memory only.
pub fn take_keys_from_environment() -> Vec<OsString> {
    let mut taken = TAKEN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut names = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(text) = name.to_str().filter(|n| is_key_variable(n)) else { continue };
        if let Ok(value) = value.into_string() {
            taken.insert(text.to_owned(), Secret::new(value));
        }
        names.push(name);
    }
    names
}

/// The key taken from variable `name`, if [`take_keys_from_environment`] took one.
pub(crate) fn taken(name: &str) -> Option<String> {
    TAKEN.lock().unwrap_or_else(PoisonError::into_inner).get(name).map(|key| key.expose().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_provider_key_variables_are_taken() {
        for name in ["AUGMENT_OPENAI_API_KEY", "AUGMENT_MY_LLM_2_API_KEY"] {
            assert!(is_key_variable(name), "{name}");
        }
        for name in ["AUGMENT__API_KEY", "OPENAI_API_KEY", "AUGMENT_LOG", "AUGMENT_REGISTRY_TOKEN", "PATH"] {
            assert!(!is_key_variable(name), "{name}");
        }
    }
}
