//! The `augment-desktop` binary: parse the command line, check there is a
//! display to draw on, run the shell.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // First, while this is the only thread: no child may inherit an API key.
    take_api_keys_out_of_the_environment();
    let launch = augment_desktop::Launch::parse();
    augment_desktop::init_logging();
    if let Err(message) = augment_desktop::display_available() {
        eprintln!("{message}");
        return ExitCode::from(2);
    }
    match augment_desktop::run(launch) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("augment-desktop: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Moves every `AUGMENT_<ID>_API_KEY` variable out of the environment into
/// memory, where the key store still reads it, so that WebKit's web and
/// network processes (and anything else this app starts) do not inherit the
/// keys (issue 20 point 8; checked by
/// `tests/shell/keys.rs::point_8_env_api_keys_are_not_inherited_by_webkit_processes`).
#[allow(unsafe_code)] // the crate's one `unsafe`; see `[lints]` in Cargo.toml
fn take_api_keys_out_of_the_environment() {
    for name in secrets::take_keys_from_environment() {
        // SAFETY: `remove_var` is unsafe because another thread may read or
        // write the environment at the same time (libc's getenv/setenv are
        // not synchronised with it). This runs as the first statement of
        // `main`: the standard library has started no thread, none of this
        // program's code has run, and no library is initialised yet (Tauri,
        // GTK, WebKit, tokio and tracing all start later), so this thread is
        // the only one in the process.
        unsafe { std::env::remove_var(&name) };
    }
}
