//! Ed25519 keys: the signing key kept by a registry's owner, the public key
//! clients trust, and the trust anchor a client starts from.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::RegistryError;
use crate::limits::MAX_ROOT_BYTES;
use crate::metadata::Root;

/// PEM key files are a few hundred bytes; anything much larger is not a key.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// An ed25519 public key, as listed in `root.json` and shipped as `registry.pub`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key from its 32 raw bytes. Weak (small-order) keys are refused,
    /// since a signature by one proves nothing.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, RegistryError> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| RegistryError::InvalidKey { message: "the bytes are not an ed25519 public key".into() })?;
        if key.is_weak() {
            return Err(RegistryError::InvalidKey { message: "the ed25519 public key is weak (small order)".into() });
        }
        Ok(Self(key))
    }

    /// The key from 64 hex digits (either case).
    pub fn from_hex(hex_key: &str) -> Result<Self, RegistryError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut bytes)
            .map_err(|_| RegistryError::InvalidKey { message: "an ed25519 public key is 64 hex digits".into() })?;
        Self::from_bytes(&bytes)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The 64 lowercase hex digits, as written in `root.json`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// The key id: hex sha256 of the 32 raw key bytes. Deriving the id from
    /// the key (rather than letting documents choose it) means one key can
    /// never be counted twice under two ids.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Parses an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, RegistryError> {
        let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|err| RegistryError::InvalidKey {
            message: format!("not an ed25519 SPKI PEM public key ({err})"),
        })?;
        Self::from_bytes(key.as_bytes())
    }

    /// The key as SPKI PEM, the format of `registry.pub`.
    pub fn to_pem(&self) -> Result<String, RegistryError> {
        self.0.to_public_key_pem(LineEnding::LF).map_err(|err| RegistryError::InvalidKey {
            message: format!("cannot encode the public key as PEM ({err})"),
        })
    }

    /// Reads a `registry.pub` file.
    pub fn read_pem_file(path: &Path) -> Result<Self, RegistryError> {
        let text = read_key_file(path)?;
        Self::from_pem(&text).map_err(|err| RegistryError::KeyFile { path: path.to_owned(), message: err.to_string() })
    }

    /// Writes the key as SPKI PEM (world-readable: it is public).
    pub fn write_pem_file(&self, path: &Path) -> Result<(), RegistryError> {
        let pem = self.to_pem()?;
        std::fs::write(path, pem).map_err(|err| RegistryError::io("write the public key", path, err))
    }

    /// Checks a signature with the strict rules (no malleable signatures).
    pub(crate) fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An ed25519 private key that signs registry metadata.
///
/// Its `Debug` shows only the key id; the secret bytes are zeroed on drop
/// (by ed25519-dalek) and only leave through [`SigningKey::to_pem`].
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Self {
        Self(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key from its 32 secret bytes (deterministic keys for tests).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, RegistryError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim()).map(Self).map_err(|err| RegistryError::InvalidKey {
            message: format!("not an ed25519 PKCS#8 PEM private key ({err})"),
        })
    }

    /// The key as PKCS#8 PEM, zeroed when dropped.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, RegistryError> {
        self.0.to_pkcs8_pem(LineEnding::LF).map_err(|err| RegistryError::InvalidKey {
            message: format!("cannot encode the private key as PEM ({err})"),
        })
    }

    /// Reads a `registry.key` file.
    pub fn read_pem_file(path: &Path) -> Result<Self, RegistryError> {
        warn_if_readable_by_others(path);
        let text = read_key_file(path)?;
        Self::from_pem(&text).map_err(|err| RegistryError::KeyFile { path: path.to_owned(), message: err.to_string() })
    }

    /// Writes the key as PKCS#8 PEM to a new file, readable only by its owner
    /// on Unix. An existing file is never overwritten: losing a registry key
    /// means no one can publish to that registry again.
    pub fn write_pem_file(&self, path: &Path) -> Result<(), RegistryError> {
        let pem = self.to_pem()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|err| match err.kind() {
            std::io::ErrorKind::AlreadyExists => RegistryError::KeyExists { path: path.to_owned() },
            _ => RegistryError::io("create the key file", path, err),
        })?;
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|err| RegistryError::io("write the key file", path, err))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The key id of the public half (hex sha256 of the public key bytes).
    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(keyid {})", self.key_id())
    }
}

/// What a client trusts before it has talked to a registry.
#[derive(Debug, Clone, PartialEq)]
pub enum TrustAnchor {
    /// A root key: the client accepts a `root.json` that lists this key as a
    /// root key and carries a valid signature by it.
    Key(PublicKey),
    /// A root: trusted as is; newer roots must chain from it, one version at
    /// a time, each signed by the one before.
    Root(Root),
}

impl TrustAnchor {
    /// Parses a `--trust` value: a path to a `.pub` PEM file, a path to a
    /// `root.json`, or a 64-hex-digit public key.
    pub fn parse(value: &str) -> Result<Self, RegistryError> {
        let anchor_error = |reason: String| RegistryError::TrustAnchor { input: value.to_owned(), reason };
        let trimmed = value.trim();
        let path = Path::new(trimmed);
        if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) && !path.exists() {
            return PublicKey::from_hex(trimmed).map(Self::Key).map_err(|err| anchor_error(err.to_string()));
        }
        let bytes = read_bounded(path, MAX_ROOT_BYTES)
            .map_err(|err| anchor_error(format!("cannot read it as a file ({err})")))?;
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let text = String::from_utf8(bytes).map_err(|_| anchor_error("the PEM file is not text".into()))?;
            return PublicKey::from_pem(&text).map(Self::Key).map_err(|err| anchor_error(err.to_string()));
        }
        Self::from_root_json(&bytes).map_err(|err| anchor_error(err.to_string()))
    }

    /// A root document trusted as is. Its own signatures must still meet its
    /// root threshold, which catches a damaged or hand-edited file.
    pub fn from_root_json(bytes: &[u8]) -> Result<Self, RegistryError> {
        crate::verify::verify_self_signed_root(bytes, "root.json", MAX_ROOT_BYTES).map(Self::Root)
    }
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>, RegistryError> {
    let bytes = Zeroizing::new(
        read_bounded(path, MAX_KEY_FILE_BYTES)
            .map_err(|err| RegistryError::KeyFile { path: path.to_owned(), message: err.to_string() })?,
    );
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(RegistryError::KeyFile { path: path.to_owned(), message: "the file is not PEM text".into() }),
    }
}

/// Reads at most `limit` bytes, failing (rather than truncating) past it.
fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("it is over {limit} bytes")));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the signing key file is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
