//! src-tauri's integration tests, one binary: every IPC command through
//! Tauri's mock runtime (`tauri::test`) with the real command code, state and
//! serialization, over real SQLite, the real OS keychain (a private
//! gnome-keyring under `cargo xtask test`), the fake provider on loopback and
//! a real Docker engine. The ACL and the `mfe` scheme need a real webview: the
//! WebDriver suite in `tests/shell` covers them.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

mod ai_cache;
mod charts;
mod commands;
mod compare;
mod datastores;
mod dev_mode;
mod hooks;
mod keys;
mod paging;
mod prices;
mod remote_logs;
mod runs;
mod stack_commands;
mod stack_metrics;
mod team;
mod workflow;
