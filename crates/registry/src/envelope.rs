//! Signed envelopes: `{ "signed": {…}, "signatures": [{ "keyid", "sig" }] }`.
//!
//! Signatures cover the canonical JSON (OLPC: sorted keys, no whitespace) of
//! `signed` *as parsed from the file*, not of a typed struct re-serialized,
//! so fields this version does not know are still covered by the signature.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signature;
use olpc_cjson::CanonicalFormatter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::RegistryError;
use crate::keys::SigningKey;
use crate::metadata::{RoleKeys, Root};

/// The two roles that sign documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Root,
    Snapshot,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Snapshot => "snapshot",
        }
    }

    fn keys(self, root: &Root) -> &RoleKeys {
        match self {
            Self::Root => &root.roles.root,
            Self::Snapshot => &root.roles.snapshot,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawEnvelope {
    signed: Value,
    signatures: Vec<RawSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawSignature {
    keyid: String,
    sig: String,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    signed: &'a Value,
    signatures: Vec<RawSignature>,
}

/// A parsed envelope whose signatures have not been checked yet.
#[derive(Debug)]
pub(crate) struct Opened {
    signed: Value,
    canonical: Vec<u8>,
    signatures: Vec<RawSignature>,
    document: String,
}

/// Parses an envelope after checking its size and the `_type` of its payload.
pub(crate) fn open(
    bytes: &[u8],
    document: &str,
    limit: u64,
    expected_type: &'static str,
) -> Result<Opened, RegistryError> {
    if bytes.len() as u64 > limit {
        return Err(RegistryError::TooLarge { document: document.to_owned(), size: Some(bytes.len() as u64), limit });
    }
    let envelope: RawEnvelope = serde_json::from_slice(bytes)
        .map_err(|err| RegistryError::malformed(document, format!("not a signed envelope ({err})")))?;
    let found = match envelope.signed.get("_type") {
        Some(Value::String(found)) => found.clone(),
        Some(_) => {
            return Err(RegistryError::malformed(document, "`signed._type` is not a string"));
        }
        None => {
            return Err(RegistryError::malformed(document, "`signed._type` is missing"));
        }
    };
    if found != expected_type {
        return Err(RegistryError::WrongType { document: document.to_owned(), expected: expected_type, found });
    }
    let canonical = canonical_json(&envelope.signed).map_err(|message| RegistryError::malformed(document, message))?;
    Ok(Opened { signed: envelope.signed, canonical, signatures: envelope.signatures, document: document.to_owned() })
}

impl Opened {
    /// Checks that a threshold of `role`'s keys in `signer` signed this
    /// document, and returns the key ids whose signatures verified.
    ///
    /// Each key counts once however many signatures carry its id, so
    /// repeating one signature cannot reach a higher threshold.
    pub(crate) fn check_role(&self, signer: &Root, role: Role) -> Result<BTreeSet<String>, RegistryError> {
        let role_keys = role.keys(signer);
        let mut valid = BTreeSet::new();
        let mut bad = None;
        let mut unknown = Vec::new();
        for signature in &self.signatures {
            if !role_keys.keyids.contains(&signature.keyid) {
                unknown.push(signature.keyid.clone());
                continue;
            }
            if valid.contains(&signature.keyid) {
                continue;
            }
            let verified = match (signer.public_key(&signature.keyid), decode_signature(&signature.sig)) {
                (Some(key), Some(sig)) => key.verifies(&self.canonical, &sig),
                _ => false,
            };
            if verified {
                valid.insert(signature.keyid.clone());
            } else {
                bad.get_or_insert_with(|| signature.keyid.clone());
            }
        }
        if valid.len() >= role_keys.threshold as usize {
            return Ok(valid);
        }
        let document = self.document.clone();
        if let Some(keyid) = bad {
            return Err(RegistryError::BadSignature { document, role: role.name(), keyid });
        }
        if valid.is_empty() && !unknown.is_empty() {
            unknown.sort();
            unknown.dedup();
            return Err(RegistryError::UnknownKey { document, role: role.name(), keyids: unknown.join(", ") });
        }
        Err(RegistryError::ThresholdNotMet {
            document,
            role: role.name(),
            valid: valid.len(),
            threshold: role_keys.threshold,
        })
    }

    /// The typed payload (without `_type`).
    pub(crate) fn payload<T: DeserializeOwned>(&self) -> Result<T, RegistryError> {
        from_signed_value(self.signed.clone(), &self.document)
    }

    pub(crate) fn document(&self) -> &str {
        &self.document
    }
}

fn decode_signature(sig: &str) -> Option<Signature> {
    let bytes = BASE64.decode(sig).ok()?;
    let bytes: [u8; 64] = bytes.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// OLPC canonical JSON of a value: the bytes that are signed.
pub(crate) fn canonical_json(value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, CanonicalFormatter::new());
    value
        .serialize(&mut serializer)
        .map_err(|err| format!("it cannot be written as canonical JSON ({err}); numbers must be integers"))?;
    Ok(out)
}

/// A typed document as the `signed` value, with its `_type` first in mind.
pub(crate) fn to_signed_value<T: Serialize>(doc: &T, doc_type: &str, document: &str) -> Result<Value, RegistryError> {
    let mut value = serde_json::to_value(doc)
        .map_err(|err| RegistryError::Signing { document: document.to_owned(), message: err.to_string() })?;
    match value.as_object_mut() {
        Some(object) => {
            object.insert("_type".to_owned(), Value::String(doc_type.to_owned()));
        }
        None => {
            return Err(RegistryError::Signing { document: document.to_owned(), message: "not a JSON object".into() });
        }
    }
    Ok(value)
}

fn from_signed_value<T: DeserializeOwned>(mut value: Value, document: &str) -> Result<T, RegistryError> {
    if let Some(object) = value.as_object_mut() {
        object.remove("_type");
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        RegistryError::malformed(document, format!("at `signed.{path}`: {}", err.into_inner()))
    })
}

/// Signs `signed` with every key and returns the envelope as pretty JSON.
pub(crate) fn seal(signed: &Value, keys: &[&SigningKey], document: &str) -> Result<Vec<u8>, RegistryError> {
    let canonical =
        canonical_json(signed).map_err(|message| RegistryError::Signing { document: document.to_owned(), message })?;
    let mut seen = BTreeSet::new();
    let signatures = keys
        .iter()
        .filter(|key| seen.insert(key.key_id()))
        .map(|key| RawSignature { keyid: key.key_id(), sig: BASE64.encode(key.sign(&canonical).to_bytes()) })
        .collect();
    let mut out = serde_json::to_vec_pretty(&EnvelopeOut { signed, signatures })
        .map_err(|err| RegistryError::Signing { document: document.to_owned(), message: err.to_string() })?;
    out.push(b'\n');
    Ok(out)
}
