//! The `X-Augment-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>`
//! over `"<t>.<body>"`, the scheme Stripe uses, so a receiver can check both
//! who sent a body and when. [`verify`] is what a receiver runs: a wrong or
//! missing signature and a timestamp outside the tolerance (a replay of an
//! old request) are refused. A receiver that also drops a repeated
//! [`crate::EVENT_ID_HEADER`] refuses replays inside the tolerance too.

use std::time::Duration;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Augment-Signature";

/// How far a receiver should let a timestamp be from its clock by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why [`verify`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is missing a part or is not `t=…,v1=…`.
    #[error("the signature header is malformed: expected `t=<unix seconds>,v1=<hex>`")]
    Malformed,
    /// No `v1` signature matches the body and timestamp under this secret.
    #[error("the signature does not match the body (wrong secret, or the body was changed)")]
    Mismatch,
    /// The timestamp is further from now than the tolerance: a replay or a skewed clock.
    #[error("the signature's timestamp is {age_secs} s from now, more than the {tolerance_secs} s allowed (a replay?)")]
    Expired {
        /// How far the timestamp is from `now`, in seconds.
        age_secs: u64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
}

/// The header value signing `body` at `timestamp` (unix seconds) with `secret`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Checks `header` against `body`: some `v1` signature matches under
/// `secret` (compared in constant time), and its `t` is within `tolerance`
/// of `now` (unix seconds). The signature is checked first, so a forged
/// timestamp is a [`VerifyError::Mismatch`], never a hint about the clock.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: u64, tolerance: Duration) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value.parse::<u64>().map_err(|_| VerifyError::Malformed)?),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| VerifyError::Malformed)?),
            // Other schemes (a future v2) are skipped, as Stripe's receivers do.
            Some(_) => {}
            None => return Err(VerifyError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let matches = signatures.iter().any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok());
    if !matches {
        return Err(VerifyError::Mismatch);
    }
    let age_secs = now.abs_diff(timestamp);
    if age_secs > tolerance.as_secs() {
        return Err(VerifyError::Expired { age_secs, tolerance_secs: tolerance.as_secs() });
    }
    Ok(())
}

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-test";
    const T: u64 = 1_800_000_000;

    #[test]
    fn a_signed_body_verifies_within_the_tolerance() {
        let header = sign(SECRET, T, b"{\"a\":1}");
        assert!(header.starts_with("t=1800000000,v1="), "{header}");
        assert_eq!(verify(SECRET, &header, b"{\"a\":1}", T + 299, DEFAULT_TOLERANCE), Ok(()));
        assert_eq!(verify(SECRET, &header, b"{\"a\":1}", T - 10, DEFAULT_TOLERANCE), Ok(()));
    }

    /// The MAC is standard HMAC-SHA256 (RFC 4231 test case 2, "Jefe") over
    /// exactly `<t>.<body>`, so any receiver's HMAC library can check it.
    #[test]
    fn the_mac_is_rfc_4231_hmac_sha256_over_t_dot_body() {
        let mut reference = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(b"Jefe").unwrap();
        reference.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(reference.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let header = sign(b"Jefe", 7, b"body");
        let mut same = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(b"Jefe").unwrap();
        same.update(b"7.body");
        assert_eq!(header, format!("t=7,v1={}", hex::encode(same.finalize().into_bytes())));
    }

    #[test]
    fn refuses_a_wrong_secret_a_changed_body_and_an_old_timestamp() {
        let header = sign(SECRET, T, b"body");
        assert_eq!(verify(b"other", &header, b"body", T, DEFAULT_TOLERANCE), Err(VerifyError::Mismatch));
        assert_eq!(verify(SECRET, &header, b"body!", T, DEFAULT_TOLERANCE), Err(VerifyError::Mismatch));
        assert_eq!(
            verify(SECRET, &header, b"body", T + 301, DEFAULT_TOLERANCE),
            Err(VerifyError::Expired { age_secs: 301, tolerance_secs: 300 })
        );
        // A timestamp moved forward without re-signing is a mismatch, not "expired".
        let forged = header.replace("t=1800000000", "t=1800000500");
        assert_eq!(verify(SECRET, &forged, b"body", T + 500, DEFAULT_TOLERANCE), Err(VerifyError::Mismatch));
    }

    #[test]
    fn refuses_malformed_headers() {
        for header in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
            assert_eq!(verify(SECRET, header, b"", T, DEFAULT_TOLERANCE), Err(VerifyError::Malformed), "{header}");
        }
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign(SECRET, T, b"b");
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t={T},v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, &header, b"b", T, DEFAULT_TOLERANCE), Ok(()));
    }
}
