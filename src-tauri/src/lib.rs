//! The Augment-It desktop shell: a thin Tauri 2 app over the `api` and
//! `cache` crates.
//!
//! - [`commands`]: the IPC commands, grouped by domain, each a few lines over
//!   a crate call; every command needs an explicit permission (see `build.rs`
//!   and `capabilities/default.json`);
//! - [`scheme`]: the `mfe://` URI scheme, which serves remotes' files only
//!   from the verified offline cache;
//! - [`shell`]: the state the commands share and the view model they return
//!   (resolved remotes, registry status, settings);
//! - [`error`]: the `{ code, message }` errors the UI receives.
//!
//! Only this crate knows about Tauri.

pub mod commands;
pub mod error;
pub mod scheme;
pub mod settings;
pub mod shell;

use std::path::PathBuf;

use anyhow::Context as _;
use tauri::Manager as _;

pub use shell::ShellState;

/// How the app was started. Flags win over environment variables; both are
/// optional: by default the cache is the platform cache dir and the settings
/// live in the app's config dir.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(name = "augment-desktop", version, about = "Augment-It desktop shell")]
pub struct Launch {
    /// The offline bundle cache [default: the platform cache dir].
    #[arg(long, env = "AUGMENT_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where settings.json is kept [default: the app's config dir].
    #[arg(long, env = "AUGMENT_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// A registry to use first, before the ones in the settings (not saved).
    #[arg(long, env = "AUGMENT_REGISTRY")]
    pub registry: Option<String>,
    /// The trust anchor of `--registry`: a .pub file, 64 hex digits or a root.json.
    #[arg(long, env = "AUGMENT_TRUST", requires = "registry")]
    pub trust: Option<String>,
}

/// Logs go to standard error; `AUGMENT_LOG` sets the filter (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUGMENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// On Linux and the BSDs GTK aborts with an opaque message when there is no
/// display; say plainly what is missing and how to run anyway.
pub fn display_available() -> Result<(), String> {
    if cfg!(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd")) {
        let has = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
        if !has("DISPLAY") && !has("WAYLAND_DISPLAY") {
            return Err(
                "augment-desktop: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window can open.\n\
                 Run it on a desktop session, or headless under Xvfb: `xvfb-run -a augment-desktop`, or\n\
                 `cargo xtask run --xvfb-screenshot shot.png` to start it under Xvfb and save a screenshot."
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// Builds and runs the app until its last window closes.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    let context = tauri::generate_context!("../tauri.conf.json");
    with_shell(tauri::Builder::<tauri::Wry>::new())
        .setup(move |app| {
            let cache_dir = match &launch.cache_dir {
                Some(dir) => dir.clone(),
                None => api::default_cache_dir()?,
            };
            let config_dir = match &launch.config_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_config_dir()?,
            };
            let launch_registry = launch
                .registry
                .as_ref()
                .map(|url| settings::RegistryConfig { url: url.clone(), trust: launch.trust.clone() });
            let state = ShellState::open(&cache_dir, &config_dir, launch_registry)?;
            tracing::info!(cache = %cache_dir.display(), config = %config_dir.display(), "shell started");
            app.manage(state);
            Ok(())
        })
        .run(context)
        .context("running the Tauri application")
}

/// Adds every command and the `mfe` scheme to `builder`; shared by [`run`]
/// and the tests (which pass `tauri::test::mock_builder()`).
pub fn with_shell<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            commands::remotes::remotes_from_cache,
            commands::remotes::check_for_updates,
            commands::remotes::remote_versions,
            commands::remotes::pin_remote,
            commands::remotes::unpin_remote,
            commands::remotes::rollback_remote,
            commands::remotes::mark_known_good,
            commands::remotes::report_load_failure,
            commands::settings::get_settings,
            commands::settings::save_settings,
        ])
        .register_asynchronous_uri_scheme_protocol(scheme::SCHEME, |ctx, request, responder| {
            let Some(state) = ctx.app_handle().try_state::<ShellState>() else {
                responder.respond(scheme::unavailable());
                return;
            };
            let cache = state.cache.clone();
            // SQLite lookups and file reads block: keep them off the webview's thread.
            tauri::async_runtime::spawn_blocking(move || responder.respond(scheme::respond(&cache, &request)));
        })
}
