//! The registry server end to end: the real binary on loopback, over a real
//! registry folder, driven over HTTP.
#![allow(clippy::unwrap_used)] // test code: a failed setup step should fail loudly

mod support;

mod concurrency;
mod crash;
mod deploy;
mod hostile;
mod publishing;
mod renewal;
mod s3;
mod serving;
mod team_auth;
mod tokens;
