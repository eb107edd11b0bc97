//! The Augment-It desktop shell: a thin Tauri 2 app over the `api` and
//! `cache` crates.
//!
//! - [`commands`]: the IPC commands, grouped by domain, each a few lines over
//!   a crate call; every command needs an explicit permission (see `build.rs`
//!   and `capabilities/default.json`, both generated from `command_list.rs`);
//! - [`contract`]: the one list of commands with their access rules, the
//!   events, and the host API version they make up;
//! - [`scheme`]: the `mfe://` URI scheme, which serves remotes' files only
//!   from the verified offline cache;
//! - [`shell`]: the state the commands share and the view model they return
//!   (resolved remotes, registry status, settings);
//! - [`error`]: the `{ code, message }` errors the UI receives;
//! - [`webview_guard`]: the webview stays on the shell page, and only the
//!   shell page's IPC is answered;
//! - [`isolation`] and [`grants`]: which remotes run sandboxed, what the
//!   person granted them, and the Rust-side check of every call a sandboxed
//!   remote makes through the shell page's bridge;
//! - [`confirm`]: native confirmations for changes of the registries and dev
//!   overrides.
//!
//! Only this crate knows about Tauri.

pub mod commands;
pub mod confirm;
pub mod contract;
pub mod dev_mode;
pub mod dev_watch;
pub mod error;
pub mod grants;
pub mod isolation;
pub mod packaged;
pub mod recent_files;
pub mod scheme;
pub mod settings;
pub mod shell;
pub mod ui_state;
pub mod webview_guard;

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
    /// Where the local database (datasets, templates, runs) and exports live [default: the app's data dir].
    #[arg(long, env = "AUGMENT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A registry to use first, before the ones in the settings (not saved).
    #[arg(long, env = "AUGMENT_REGISTRY")]
    pub registry: Option<String>,
    /// The trust anchor of `--registry`: a .pub file, 64 hex digits or a root.json.
    #[arg(long, env = "AUGMENT_TRUST", requires = "registry")]
    pub trust: Option<String>,
    /// The container engine for the local stack [default: the usual Docker and Podman sockets].
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// The local stack's definition file [default: the built-in docker/stack.toml].
    #[arg(long, env = "AUGMENT_STACK_DEFINITION")]
    pub stack_definition: Option<PathBuf>,
    /// The folder of the static service binaries the stack's images are made from.
    #[arg(long, env = "AUGMENT_STACK_BIN_DIR")]
    pub stack_bin_dir: Option<PathBuf>,
    /// Dev mode: serve remote NAME from a built folder or a loopback dev
    /// server (`NAME=PATH_OR_URL`, repeatable; wins over the settings' devOverrides).
    #[arg(long = "dev-remote", env = "AUGMENT_DEV_REMOTES", value_delimiter = ',', value_name = "NAME=PATH_OR_URL")]
    pub dev_remote: Vec<String>,
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
    let mut context = tauri::generate_context!("../tauri.conf.json");
    // Dev overrides are read before the window exists: a dev server's origin
    // must be in this launch's CSP, and only in this launch's.
    let config_dir_early = match &launch.config_dir {
        Some(dir) => Some(dir.clone()),
        // Where tauri's app_config_dir() points, known before the app exists.
        None => directories::BaseDirs::new().map(|dirs| dirs.config_dir().join(&context.config().identifier)),
    };
    let dev = dev_overrides(&launch, config_dir_early.as_deref())?;
    let csp = &mut context.config_mut().app.security.csp;
    *csp = csp.take().map(|csp| dev_mode::widen_csp(csp, &dev.dev_server_origins()));
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
            let launch_registry = launch.registry.as_ref().map(|url| settings::RegistryConfig {
                url: url.clone(),
                trust: launch.trust.clone(),
                trusted: true,
            });
            let seed_registry = app.path().resource_dir().ok().and_then(|dir| packaged::seed_registry(&dir));
            let state = ShellState::open(&cache_dir, &config_dir, launch_registry)?
                .with_seed_registry(seed_registry)
                .with_dev_overrides(dev.clone());
            start_dev_watch(app, &dev)?;
            tracing::info!(cache = %cache_dir.display(), config = %config_dir.display(), "shell started");
            app.manage(state);
            let data_dir = match &launch.data_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            let data = commands::data::DataState::open(&data_dir)?;
            let hooks = commands::hooks::HooksState::open(
                &data,
                secrets::KeyStore::system(),
                std::sync::Arc::new(commands::hooks::PluginNotifier(app.handle().clone())),
                tauri::async_runtime::handle().inner(),
                notify_hooks::RetryPolicy::default(),
            )
            .map_err(|err| anyhow::anyhow!("setting up webhooks: {}", err.message))?;
            app.manage(data);
            app.manage(hooks);
            app.manage(commands::team::TeamState::new(secrets::KeyStore::system())?);
            let stack = commands::stack::StackConfig::new(
                launch.docker_host.clone(),
                launch.stack_definition.clone(),
                launch.stack_bin_dir.clone(),
            )?;
            tracing::info!(
                bin_dir = %stack.binaries.dir.display(),
                origin = ?stack.binaries.origin,
                "local stack: service binaries"
            );
            app.manage(commands::stack::StackState::new(stack));
            commands::runs::resume_interrupted_batch_runs(app.handle().clone());
            Ok(())
        })
        .run(context)
        .context("running the Tauri application")
}

/// The dev overrides of this launch: the saved ones, then the flags. Only a
/// bad flag stops the launch; what the settings file holds never does (issue
/// 20, point 6): an unusable entry is logged here and shown in the shell
/// (`ShellView::problems`).
fn dev_overrides(launch: &Launch, config_dir: Option<&std::path::Path>) -> anyhow::Result<dev_mode::DevOverrides> {
    let saved = match config_dir.map(|dir| settings::SettingsFile::new(dir).load_reporting()) {
        Some(Ok((settings, problems))) => {
            for problem in problems {
                tracing::warn!(%problem, "settings: skipped an entry that cannot be used");
            }
            settings.dev_overrides
        }
        Some(Err(err)) => {
            tracing::warn!(%err, "settings: the file cannot be used; starting without its registries and dev overrides");
            Default::default()
        }
        None => Default::default(),
    };
    let base = std::env::current_dir().context("reading the current directory")?;
    Ok(dev_mode::DevOverrides::resolve(&saved, &launch.dev_remote, &base)?)
}

/// Watches the folder overrides and tells the UI which remote to reload.
fn start_dev_watch<R: tauri::Runtime>(app: &tauri::App<R>, dev: &dev_mode::DevOverrides) -> anyhow::Result<()> {
    use tauri::Emitter as _;
    let handle = app.handle().clone();
    let watch = dev_watch::watch(dev, move |change| {
        if let Err(err) = handle.emit(commands::events::DEV_REMOTE_CHANGED, change) {
            tracing::error!(%err, "could not tell the UI about a dev override change");
        }
    })
    .context("watching the dev override folders")?;
    if let Some(watch) = watch {
        app.manage(std::sync::Mutex::new(watch));
    }
    Ok(())
}

/// A call the shell page forwards for a sandboxed remote carries the
/// remote's name ([`grants::REMOTE_HEADER`]); it runs only within that
/// remote's grants.
fn check_sandboxed<R: tauri::Runtime>(message: &tauri::ipc::InvokeMessage<R>) -> Result<(), error::CommandError> {
    let Some(remote) = message.headers().get(grants::REMOTE_HEADER) else {
        return Ok(());
    };
    let remote = remote.to_str().map_err(|_| error::CommandError::invalid("the remote's name is not text"))?;
    let state = message
        .webview_ref()
        .try_state::<ShellState>()
        .ok_or_else(|| error::CommandError::new(error::ErrorCode::NotReady, "the shell is still starting"))?;
    let granted = commands::grants::granted(&state, remote)?;
    grants::check_remote_call(remote, message.command(), &granted)
}

/// Adds every command and the `mfe` scheme to `builder`; shared by [`run`]
/// and the tests (which pass `tauri::test::mock_builder()`).
pub fn with_shell<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    // Every command of `command_list.rs`, the one list (see `contract`).
    use contract::command_handler;
    let handler: Box<dyn Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync> =
        Box::new(contract::for_each_command!(command_handler));
    // This launch's CSP (dev-widened by `run`), for every `mfe://` response.
    let policy = std::sync::Arc::new(std::sync::OnceLock::<scheme::ResponsePolicy>::new());
    let asset_names = std::sync::Arc::new(std::sync::OnceLock::<std::collections::HashSet<String>>::new());
    builder
        .plugin(webview_guard::plugin())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .manage(commands::keys::KeysState::system())
        .manage(commands::datastores::DatastoresState::new(secrets::KeyStore::system()))
        .manage(commands::runs::RunsState::default())
        .manage(commands::files::FileChoices::default())
        // A drop of files on the window becomes choices the page can read (never paths it names).
        .on_window_event(|window, event| {
            use tauri::Emitter as _;
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                let dropped = window.state::<commands::files::FileChoices>().dropped(paths);
                if let Err(err) = window.emit(commands::files::FILES_DROPPED, dropped) {
                    tracing::warn!(%err, "could not tell the page about the dropped files");
                }
            }
        })
        // Custom-scheme pages count as local to Tauri's capabilities, so the
        // calling page is checked here, before any command runs.
        .invoke_handler(move |invoke| {
            if let Err(refused) =
                webview_guard::check_invoke(&invoke.message).and_then(|()| check_sandboxed(&invoke.message))
            {
                invoke.resolver.reject(refused);
                return true;
            }
            handler(invoke)
        })
        .register_asynchronous_uri_scheme_protocol(scheme::SCHEME, move |ctx, request, responder| {
            let app = ctx.app_handle();
            let policy = policy.get_or_init(|| scheme::ResponsePolicy::from_config(app.config())).clone();
            let Some(state) = app.try_state::<ShellState>() else {
                responder.respond(scheme::unavailable(&policy, &request));
                return;
            };
            if request.uri().path().starts_with(&format!("/{}/", scheme::SANDBOX_PREFIX)) {
                let assets = app.asset_resolver();
                // The resolver falls back to the shell's index.html for any
                // unknown path: look up exact names only.
                let names = asset_names.get_or_init(|| assets.iter().map(|(name, _)| name.into_owned()).collect());
                responder.respond(scheme::respond_sandbox(&request, |path| {
                    names.contains(&format!("/{path}")).then(|| assets.get(path.to_owned())).flatten().map(|a| a.bytes)
                }));
                return;
            }
            let cache = state.cache.clone();
            let dev = state.dev.clone();
            // SQLite lookups and file reads block: keep them off the webview's thread.
            tauri::async_runtime::spawn_blocking(move || {
                responder.respond(scheme::respond_with_dev(&cache, &dev, &policy, &request))
            });
        })
}
