//! The desktop shell end to end: the real `augment-desktop` binary under
//! Xvfb, driven through tauri-driver and WebKitWebDriver, against real
//! registries (a folder, or HTTP on loopback with request recording) built
//! with the real `augment` CLI. Each test saves a screenshot under
//! `target/e2e-screenshots/`.
//!
//! Needs: `tauri-driver` (`cargo install tauri-driver --locked`),
//! `/usr/bin/WebKitWebDriver` (webkit2gtk-driver), `xvfb-run` (xvfb), and the
//! app built with the real shell UI (`cargo xtask test` does all of it).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod analyst_flow;
mod charts;
mod datastore_import;
mod dev_mode;
mod endurance;
mod harness;
mod isolation;
mod keys;
mod navigation;
mod notifications;
mod remotes_product;
mod resilience;
mod scenarios;
mod security;
mod stack_panel;
mod tables;
