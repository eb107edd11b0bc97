//! The headless core end to end: the real `augment` binary, real registry
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
//! trees, real HTTP servers on loopback, real process kills.

mod budget;
mod concurrency;
mod crash;
mod damaged_blobs;
mod flow;
mod http;
mod lifecycle;
mod permissions;
mod planted;
mod refusal;
mod resilience;
