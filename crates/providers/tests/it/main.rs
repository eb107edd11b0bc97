//! Integration tests of the provider clients against the fake provider over loopback.

// Tests may unwrap, helpers included (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

mod anthropic;
mod batch;
mod canary;
mod cancel;
mod common;
mod errors;
mod keychain;
mod limits;
mod openai;
mod quota;
mod retries;
mod structured;
