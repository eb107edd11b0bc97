use cache::{CacheError, Sha256Digest};

#[test]
fn displays_and_parses_as_lowercase_hex() {
    let d = Sha256Digest::of(b"abc");
    let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(d.to_string(), hex, "sha256(\"abc\") is a published test vector");
    assert_eq!(hex.parse::<Sha256Digest>().unwrap(), d);
}

#[test]
fn refuses_malformed_digests() {
    for bad in [
        "",
        "abc",
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad00",
    ] {
        let err = bad.parse::<Sha256Digest>().unwrap_err();
        assert!(matches!(err, CacheError::InvalidDigest { .. }), "{bad:?} gave {err:?}");
        assert!(err.to_string().contains("64 lowercase hex"), "message says what is expected: {err}");
    }
}

#[test]
fn serde_uses_the_hex_string() {
    let d = Sha256Digest::of(b"abc");
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(json, format!("\"{d}\""));
    assert_eq!(serde_json::from_str::<Sha256Digest>(&json).unwrap(), d);
    assert!(serde_json::from_str::<Sha256Digest>("\"nothex\"").is_err());
}
