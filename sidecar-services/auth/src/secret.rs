//! Making and checking secrets: tokens (sha256, like the registry server's
//! publish tokens) and passwords (argon2id).
//!
//! Tokens are 32 random bytes from the OS, so a plain sha256 is enough to
//! store them: nobody can guess a 256-bit secret, and lookups go by hash, so
//! timing tells at most something about a hash. Passwords are chosen by
//! people and guessable, so they get argon2id with a random salt (the
//! crate's defaults: 19 MiB, 2 passes, the OWASP recommendation).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Every token starts with this, so secret scanners can recognise one.
pub const TOKEN_PREFIX: &str = "augauth_";

/// The shortest password accepted when a user is created.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A new random token (show it once) and the hash it is stored under.
pub fn new_token() -> (Zeroizing<String>, String) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    let token = Zeroizing::new(format!("{TOKEN_PREFIX}{}", hex::encode(bytes.as_ref())));
    let hash = token_hash(&token);
    (token, hash)
}

/// The hash a token is stored and looked up by.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random password for a bootstrapped admin: 24 random bytes as 48 hex digits.
pub fn new_password() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 24]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    Zeroizing::new(hex::encode(bytes.as_ref()))
}

#[derive(Debug, thiserror::Error)]
#[error("the password could not be hashed: {0}")]
pub struct HashError(String);

/// The argon2id PHC string of `password`, with a fresh salt. CPU-heavy
/// (tens of milliseconds): call it on the blocking pool.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A damaged hash never matches.
/// CPU-heavy, like [`hash_password`].
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Checks `password` against a hash nobody's password matches, so a login
/// for a name that does not exist takes as long as one with a wrong
/// password and timing does not tell which names exist.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password(&new_password()).unwrap_or_default());
    let _ = verify_password(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only() {
        let hash = hash_password("correct horse battery").expect("hashing");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_stored_by_hash() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(*a, *b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), hash_a);
        assert!(!hash_a.contains(a.trim_start_matches(TOKEN_PREFIX)));
    }
}
