//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "augment",
    version,
    about = "Augment-It: signed remote registry, offline cache and resolver; the data workflow from the command line"
)]
#[command(after_help = "Exit codes: 0 ok · 1 error · 2 usage (bad arguments, or a dataset, template or run \
that does not exist) · 3 refused (verification failed) · 4 incompatible · 5 registry unreachable and nothing \
cached · 6 cache damaged · 7 stack not healthy · 8 run not finished (cancelled or paused: `augment run resume \
RUN`) · 9 run completed with failed requests")]
pub struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on standard error (-v info, -vv debug, -vvv trace); or set AUGMENT_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a registry signing key pair: DIR/registry.key (mode 0600) and DIR/registry.pub.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Create and manage registries.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Publish a built remote (a folder with remote.json at its root) to a registry folder or server.
    Publish {
        remote_dir: PathBuf,
        /// A registry folder (signed here with --key), or a registry server's http(s):// URL (signed there; needs --token).
        #[arg(long)]
        registry: String,
        /// The snapshot signing key, for a registry folder.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Publish token for a registry server (prefer the environment variable: arguments show in process lists).
        #[arg(long, env = "AUGMENT_REGISTRY_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// How long the new snapshot stays valid, e.g. "30days", "12h" (clients then call the registry stale).
        #[arg(long, value_parser = humantime::parse_duration, default_value = "30days")]
        expires_in: std::time::Duration,
    },
    /// Mark a published version yanked (resolvers stop choosing it; pinned installs keep it), or un-yank it with --undo.
    Yank(crate::lifecycle::YankArgs),
    /// Fetch, verify, select and install remotes into the cache.
    Resolve(ResolveArgs),
    /// Inspect and maintain the offline cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Share an exact set of remote versions.
    #[command(subcommand)]
    Lock(LockCommand),
    /// Run the sidecar services as local containers (Docker or Podman).
    #[command(subcommand)]
    Stack(crate::stack::StackCommand),
    /// The team auth service's database: `bootstrap` creates its first admin.
    #[command(subcommand)]
    Auth(crate::auth::AuthCommand),
    /// Store, check and delete AI provider API keys in the OS keychain.
    #[command(subcommand)]
    Keys(crate::keys::KeysCommand),
    /// The AI providers runs can use: the built-in ones and local or OpenAI-compatible servers you add.
    #[command(subcommand)]
    Providers(crate::provider_settings::ProvidersCommand),
    /// Ask a provider something and stream the answer to standard output.
    Ask(crate::keys::AskArgs),
    /// Datasets in the app's database: import, list, show, export.
    Data {
        #[command(flatten)]
        dir: crate::workflow::DataDir,
        #[command(subcommand)]
        command: crate::data::DataCommand,
    },
    /// Prompt templates in the app's database: add, version, list, check, render.
    Template {
        #[command(flatten)]
        dir: crate::workflow::DataDir,
        #[command(subcommand)]
        command: crate::template::TemplateCommand,
    },
    /// Runs: generate and send requests with the app's review rule, follow, cancel, resume, export.
    #[command(after_help = "Exit codes of start and resume: 0 completed · 8 cancelled or paused (resume it) · \
9 completed with failed requests · 2 a name or id that does not exist, or nothing approved to send · 1 other errors")]
    Run {
        #[command(flatten)]
        dir: crate::workflow::DataDir,
        #[command(subcommand)]
        command: crate::run::RunCommand,
    },
    /// The price table in the app's database: list prices and your own, per provider model.
    Prices {
        #[command(flatten)]
        dir: crate::workflow::DataDir,
        #[command(subcommand)]
        command: crate::prices::PricesCommand,
    },
    /// The AI response cache in the app's database: answers reused for identical requests (size, prune).
    #[command(after_help = "A request identical in provider, endpoint (wire format and base URL), model, \
parameters and rendered prompt is answered from the cache instead of the provider. Nothing is evicted \
automatically: `augment cache-ai prune` (or the app's Clear AI cache) is the only way answers leave it. \
`augment run start --no-cache` sends every request without reading it.")]
    CacheAi {
        #[command(flatten)]
        dir: crate::workflow::DataDir,
        #[command(subcommand)]
        command: crate::cache_ai::CacheAiCommand,
    },
    /// Webhook endpoints told when a run finishes, fails or reaches its budget and when an import is done.
    Hooks {
        #[command(flatten)]
        dir: crate::workflow::DataDir,
        #[command(subcommand)]
        command: crate::hooks::HooksCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Create an empty signed registry tree in DIR.
    Init {
        dir: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// How long the first snapshot stays valid, e.g. "30days" (the root stays valid for a year).
        #[arg(long, value_parser = humantime::parse_duration, default_value = "30days")]
        expires_in: std::time::Duration,
    },
    /// Replace the registry's keys, or renew its root: writes root N+1 signed by the old and the new root key.
    RotateRoot(crate::lifecycle::RotateRootArgs),
    /// Re-sign the snapshot with a new expiry and version + 1 (for a cron job), so clients keep seeing it online.
    Refresh(crate::lifecycle::RefreshArgs),
    /// Serve a registry folder over HTTP with authenticated publishing (the registry server, locally).
    Serve(crate::hosted_registry::ServeArgs),
    /// List, mint and revoke the tokens of a served registry (its folder, or the server with an admin token).
    #[command(subcommand)]
    Token(crate::hosted_registry::TokenCommand),
}

#[derive(Debug, Args)]
pub struct CacheDir {
    /// The cache directory [default: the platform cache dir, or AUGMENT_CACHE_DIR].
    #[arg(long, global = true, env = "AUGMENT_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Registry folder, file:// URL or http(s):// URL. Required unless --offline.
    #[arg(long)]
    pub registry: Option<String>,
    /// The registry's public key (.pub file or 64 hex digits) or a root.json to trust; needed on first contact.
    #[arg(long)]
    pub trust: Option<String>,
    /// Use only the cache: no network at all.
    #[arg(long)]
    pub offline: bool,
    /// Consider pre-release versions.
    #[arg(long)]
    pub pre: bool,
    /// Resolve against this host profile (JSON: hostApi and shared versions) instead of the built-in one.
    #[arg(long)]
    pub host_profile: Option<PathBuf>,
    /// Seconds before a registry request is abandoned.
    #[arg(long)]
    pub timeout: Option<f64>,
    #[command(flatten)]
    pub cache: CacheDir,
    /// Remotes to resolve; all remotes in the registry when none are named.
    pub remotes: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List installed versions, with active, pinned and last-known-good marks.
    List(CacheDir),
    /// Re-hash every cached file and check the index.
    Verify(CacheDir),
    /// Remove versions no longer needed, and unreferenced files.
    Gc {
        /// Previous versions to keep per remote for rollback.
        #[arg(long, default_value_t = 2)]
        keep: usize,
        #[command(flatten)]
        cache: CacheDir,
    },
    /// Hold a remote at a version.
    Pin {
        name: String,
        version: String,
        #[command(flatten)]
        cache: CacheDir,
    },
    /// Let a remote follow updates again.
    Unpin {
        name: String,
        #[command(flatten)]
        cache: CacheDir,
    },
    /// Go back to the last-known-good (or previous) version, and pin it.
    Rollback {
        name: String,
        #[command(flatten)]
        cache: CacheDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Write the active versions, their digests and registries to FILE.
    Export {
        file: PathBuf,
        #[command(flatten)]
        cache: CacheDir,
    },
    /// Install exactly the versions in FILE, check their digests, and pin them.
    Apply {
        file: PathBuf,
        /// Trust anchor for a registry the cache has not seen yet.
        #[arg(long)]
        trust: Option<String>,
        #[command(flatten)]
        cache: CacheDir,
    },
}
