//! `augment stack` against real container engines: Docker (`DOCKER_HOST`)
//! and Podman's Docker-compatible API (`AUGMENT_PODMAN_HOST`), both started
//! by `cargo xtask test` (xtask/src/engines.rs).
//!
//! Tests that need an engine fail when none answers, unless
//! `AUGMENT_SKIP_ENGINE_TESTS=1`, in which case they say loudly that they
//! were skipped. They also need the static service binaries
//! (`AUGMENT_STACK_BIN_DIR`, default `target/x86_64-unknown-linux-gnu/release`).
//!
//! Each test uses its own stack name and free ports, and they take turns on
//! one lock: two cores cannot start three stacks at once without timeouts.

mod first_try;
mod flows;
mod harness;
mod import;
mod keys_folder;
mod monitoring;
mod no_engine;
