//! One function per subcommand: parse, call the library, render.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use crate::args::{CacheCommand, CacheDir, Cli, Command, LockCommand, RegistryCommand, ResolveArgs};
use crate::exit;
use crate::output::{Render, emit, message, table};
use crate::progress::DownloadBar;

pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let json = cli.json;
    match cli.command {
        Command::Keygen { out } => keygen(json, &out),
        Command::Registry(RegistryCommand::Init { dir, key, expires_in }) => {
            registry_init(json, &dir, &key, expires_in)
        }
        Command::Registry(RegistryCommand::RotateRoot(args)) => crate::lifecycle::rotate_root(json, &args),
        Command::Registry(RegistryCommand::Refresh(args)) => crate::lifecycle::refresh(json, &args),
        Command::Registry(RegistryCommand::Serve(args)) => crate::hosted_registry::serve(args).await,
        Command::Registry(RegistryCommand::Token(command)) => crate::hosted_registry::token(json, command).await,
        Command::Publish { remote_dir, registry, token, .. } if crate::hosted_registry::is_url(&registry) => {
            crate::hosted_registry::publish(json, &remote_dir, &registry, token).await
        }
        Command::Publish { remote_dir, registry, key, expires_in, .. } => {
            let key = key.context(
                "--key is needed to publish to a registry folder (or pass a server's https:// URL and --token)",
            )?;
            publish(json, &remote_dir, Path::new(&registry), &key, expires_in)
        }
        Command::Yank(args) => crate::lifecycle::yank(json, args).await,
        Command::Resolve(args) => resolve(json, args).await,
        Command::Cache(command) => cache_command(json, command),
        Command::Lock(LockCommand::Export { file, cache }) => lock_export(json, &file, &cache),
        Command::Lock(LockCommand::Apply { file, trust, cache }) => {
            lock_apply(json, &file, trust.as_deref(), &cache).await
        }
        Command::Stack(command) => crate::stack::run(json, command).await,
        Command::Auth(command) => crate::auth::run(json, command).await,
        Command::Keys(command) => crate::keys::run(json, command).await,
        Command::Ask(args) => crate::keys::ask(args).await,
        Command::Providers(command) => crate::provider_settings::run(json, command).await,
        Command::Data { dir, command } => crate::data::run(json, &dir, command).await,
        Command::Template { dir, command } => crate::template::run(json, &dir, command).await,
        Command::Run { dir, command } => crate::run::run(json, &dir, command).await,
        Command::CacheAi { dir, command } => crate::cache_ai::run(json, &dir, command),
        Command::Hooks { dir, command } => crate::hooks::run(json, &dir, command).await,
        Command::Prices { dir, command } => crate::prices::run(json, &dir, command),
    }
}

fn keygen(json: bool, out: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let private = out.join("registry.key");
    let public = out.join("registry.pub");
    anyhow::ensure!(
        !private.exists(),
        "{} already exists: refusing to overwrite a signing key (move it away first)",
        private.display()
    );
    let key = registry::SigningKey::generate();
    key.write_pem_file(&private)?;
    key.public_key().write_pem_file(&public)?;
    emit(
        json,
        &message(
            format!("wrote {} (keep it secret) and {}\nkey id {}", private.display(), public.display(), key.key_id()),
            json!({ "privateKey": private, "publicKey": public, "keyId": key.key_id() }),
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn registry_init(json: bool, dir: &Path, key_path: &Path, expires_in: Duration) -> Result<ExitCode> {
    let key = registry::SigningKey::read_pem_file(key_path)?;
    let expiry = registry::Expiry { snapshot: expires_in, ..registry::Expiry::default() };
    registry::init(dir, &key, &key, expiry)?;
    emit(json, &message(format!("initialised an empty registry in {}", dir.display()), json!({ "registry": dir })))?;
    Ok(ExitCode::SUCCESS)
}

fn publish(
    json: bool,
    remote_dir: &Path,
    registry_dir: &Path,
    key_path: &Path,
    expires_in: Duration,
) -> Result<ExitCode> {
    let key = registry::SigningKey::read_pem_file(key_path)?;
    let options = registry::PublishOptions {
        snapshot_expires_in: expires_in,
        // Publishing for a newer host than this build is legitimate; the
        // mismatch is reported, not refused.
        profile: Some(manifest::HostProfile::builtin()),
        ..registry::PublishOptions::default()
    };
    let report = registry::publish(registry_dir, remote_dir, &key, &options).map_err(api::ApiError::from)?;
    let mut text = format!(
        "published {} {} ({} files, {} bytes) — snapshot version {}",
        report.name, report.version, report.files, report.bytes, report.snapshot_version
    );
    for problem in &report.incompatibilities {
        text.push_str(&format!("\nnote: this app cannot run it: it {problem}"));
    }
    let details = json!({
        "name": report.name,
        "version": report.version.to_string(),
        "files": report.files,
        "bytes": report.bytes,
        "blobsWritten": report.blobs_written,
        "snapshotVersion": report.snapshot_version,
        "incompatibilities": report.incompatibilities.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    emit(json, &message(text, details))?;
    Ok(ExitCode::SUCCESS)
}

fn open_cache(dir: &CacheDir) -> Result<cache::BundleCache> {
    let path = match &dir.cache_dir {
        Some(path) => path.clone(),
        None => api::default_cache_dir()?,
    };
    cache::BundleCache::open(&path).with_context(|| format!("opening the cache in {}", path.display()))
}

fn host_profile(path: Option<&Path>) -> Result<manifest::HostProfile> {
    let Some(path) = path else { return Ok(manifest::HostProfile::builtin()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a host profile (hostApi + shared)", path.display()))
}

async fn resolve(json: bool, args: ResolveArgs) -> Result<ExitCode> {
    let cache = open_cache(&args.cache)?;
    let mut request = api::ResolveRequest::new(args.registry.clone(), host_profile(args.host_profile.as_deref())?);
    request.trust = args.trust;
    request.offline = args.offline;
    request.wanted = args.remotes;
    request.allow_prerelease = args.pre;
    request.timeout = args.timeout.map(std::time::Duration::from_secs_f64);
    let bar = DownloadBar::new(json);
    let report = api::resolve(&cache, &request, &bar).await;
    bar.finish();
    let report = ResolveOutput(report?);
    emit(json, &report)?;
    let report = report.0;
    // A refusal keeps its exit code for scripts, after the selection the
    // cache stands in with has been printed.
    if report.is_refused() {
        let reason = report.registry.status.reason.as_deref().unwrap_or("an answer failed verification");
        eprintln!("error: refused: {reason}");
        return Ok(ExitCode::from(exit::REFUSED));
    }
    Ok(if report.has_incompatible() { ExitCode::from(exit::INCOMPATIBLE) } else { ExitCode::SUCCESS })
}

#[derive(Serialize)]
#[serde(transparent)]
struct ResolveOutput(api::ResolveReport);

impl Render for ResolveOutput {
    fn human(&self) -> String {
        let report = &self.0;
        let rows: Vec<Vec<String>> = report
            .remotes
            .iter()
            .map(|r| {
                let verdict = match r.verdict {
                    api::Verdict::Installed => "installed",
                    api::Verdict::Cached => "cached",
                    api::Verdict::Incompatible => "incompatible",
                };
                let verdict = if r.pinned { format!("{verdict} (pinned)") } else { verdict.to_owned() };
                vec![
                    r.name.clone(),
                    r.version.clone().unwrap_or_else(|| "-".into()),
                    r.source.clone().unwrap_or_else(|| "-".into()),
                    verdict,
                    r.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let registry = report.registry.url.as_deref().unwrap_or("cache");
        let status = registry_status_line(&report.registry.status);
        format!("{registry}: {status}\n{}", table(&["REMOTE", "VERSION", "SOURCE", "VERDICT", "REASON"], &rows))
    }
}

/// "online, snapshot version 7", or the state, its reason and when the
/// registry last verified.
fn registry_status_line(status: &api::RegistryStatus) -> String {
    let verified = match status.last_verified_at {
        Some(at) => format!("last verified at {}", format_time(at)),
        None => "never verified".to_owned(),
    };
    let reason = status.reason.as_deref().unwrap_or("");
    match status.state {
        api::RegistryState::Online if status.reason.is_none() => {
            format!("online, snapshot version {}", status.snapshot_version.unwrap_or(0))
        }
        api::RegistryState::Online => format!("online; {reason}"),
        api::RegistryState::Offline => format!("offline ({reason}); {verified}; using the verified cache"),
        api::RegistryState::Stale => format!("stale: {reason}; {verified}; using the verified cache"),
        api::RegistryState::Refused => format!("refused: {reason}; {verified}; using the verified cache"),
    }
}

fn format_time(unix_seconds: i64) -> String {
    jiff::Timestamp::from_second(unix_seconds).map(|t| t.to_string()).unwrap_or_else(|_| unix_seconds.to_string())
}

fn cache_command(json: bool, command: CacheCommand) -> Result<ExitCode> {
    match command {
        CacheCommand::List(dir) => {
            let cache = open_cache(&dir)?;
            emit(json, &CacheList::load(&cache)?)?;
        }
        CacheCommand::Verify(dir) => {
            let cache = open_cache(&dir)?;
            let output = VerifyOutput { blobs: cache.verify()?, sources: api::verify_sources(&cache)? };
            let clean = output.blobs.is_clean() && output.sources.is_clean();
            emit(json, &output)?;
            if !clean {
                return Ok(ExitCode::from(exit::DAMAGED));
            }
        }
        CacheCommand::Gc { keep, cache } => {
            let report = open_cache(&cache)?.gc(keep)?;
            let text = format!(
                "removed {} versions and {} files, freed {} bytes",
                report.versions_removed.len(),
                report.blobs_removed,
                report.bytes_freed
            );
            emit(json, &message(text, serde_json::to_value(&report)?))?;
        }
        CacheCommand::Pin { name, version, cache } => {
            manifest::Version::parse(&version).with_context(|| format!("{version:?} is not a semver version"))?;
            open_cache(&cache)?.pin(&name, &version)?;
            let text = format!("pinned {name} to {version}; it takes effect at the next resolve");
            emit(json, &message(text, json!({ "name": name, "version": version })))?;
        }
        CacheCommand::Unpin { name, cache } => {
            let was_pinned = open_cache(&cache)?.unpin(&name)?;
            let text = if was_pinned { format!("unpinned {name}") } else { format!("{name} was not pinned") };
            emit(json, &message(text, json!({ "name": name, "wasPinned": was_pinned })))?;
        }
        CacheCommand::Rollback { name, cache } => {
            let rollback = open_cache(&cache)?.rollback(&name)?;
            let text = format!(
                "rolled {} back from {} to {} and pinned it; `augment cache unpin {}` follows updates again",
                rollback.name, rollback.from, rollback.to, rollback.name
            );
            emit(json, &message(text, serde_json::to_value(&rollback)?))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CacheList {
    cache_dir: PathBuf,
    versions: Vec<CachedVersion>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CachedVersion {
    name: String,
    version: String,
    registry: String,
    files: usize,
    bytes: u64,
    active: bool,
    pinned: bool,
    last_known_good: bool,
}

impl CacheList {
    fn load(cache: &cache::BundleCache) -> Result<Self> {
        let active = cache.active_all()?;
        let pins = cache.pins()?;
        let mut versions = Vec::new();
        for v in cache.versions()? {
            let last_known_good = cache.last_known_good(&v.name)?.as_deref() == Some(v.version.as_str());
            versions.push(CachedVersion {
                active: active.get(&v.name) == Some(&v.version),
                pinned: pins.get(&v.name) == Some(&v.version),
                last_known_good,
                files: v.files.len(),
                bytes: v.files.iter().map(|f| f.length).sum(),
                name: v.name,
                version: v.version,
                registry: v.registry,
            });
        }
        Ok(Self { cache_dir: cache.dir().to_path_buf(), versions })
    }
}

impl Render for CacheList {
    fn human(&self) -> String {
        if self.versions.is_empty() {
            return format!("the cache in {} is empty", self.cache_dir.display());
        }
        let rows: Vec<Vec<String>> = self
            .versions
            .iter()
            .map(|v| {
                let marks: Vec<&str> = [(v.active, "active"), (v.pinned, "pinned"), (v.last_known_good, "known-good")]
                    .into_iter()
                    .filter_map(|(on, mark)| on.then_some(mark))
                    .collect();
                vec![
                    v.name.clone(),
                    v.version.clone(),
                    marks.join(","),
                    v.files.to_string(),
                    v.bytes.to_string(),
                    v.registry.clone(),
                ]
            })
            .collect();
        table(&["REMOTE", "VERSION", "STATE", "FILES", "BYTES", "REGISTRY"], &rows)
    }
}

/// The blobs' own check, then each version against its registry's metadata.
#[derive(Serialize)]
struct VerifyOutput {
    #[serde(flatten)]
    blobs: cache::VerifyReport,
    sources: api::SourceReport,
}

impl Render for VerifyOutput {
    fn human(&self) -> String {
        let report = &self.blobs;
        let sources = &self.sources;
        if report.is_clean() && sources.is_clean() {
            let mut out = format!(
                "cache verified: {} files, {} bytes, index ok; {} versions match their registries' metadata",
                report.blobs_checked, report.bytes_checked, sources.matched
            );
            for finding in &sources.unchecked {
                out.push_str(&format!(
                    "\n  not compared: {}@{}: {}",
                    finding.version.name, finding.version.version, finding.detail
                ));
            }
            return out;
        }
        let mut out = String::from("the cache is damaged:\n");
        if !report.integrity_ok() {
            out.push_str("  the index failed SQLite's integrity check\n");
        }
        for problem in &report.problems {
            let what = match &problem.kind {
                cache::BlobProblemKind::Missing => "missing".to_owned(),
                cache::BlobProblemKind::WrongLength { actual } => {
                    format!("{actual} bytes instead of {}", problem.expected_length)
                }
                cache::BlobProblemKind::WrongHash { .. } => "content does not match its hash".to_owned(),
                cache::BlobProblemKind::Unreadable { error } => format!("unreadable ({error})"),
                _ => "damaged".to_owned(),
            };
            let affected: Vec<String> = problem.affected.iter().map(ToString::to_string).collect();
            out.push_str(&format!("  {}: {what}; affects {}\n", problem.digest, affected.join(", ")));
        }
        for finding in &sources.mismatched {
            out.push_str(&format!("  {} from {}: {}\n", finding.version, finding.registry, finding.detail));
        }
        out.push_str("run `augment cache gc` and resolve again to re-download damaged versions");
        out
    }
}

fn lock_export(json: bool, file: &Path, dir: &CacheDir) -> Result<ExitCode> {
    let lock = api::export_lock(&open_cache(dir)?)?;
    std::fs::write(file, lock.to_json()?).with_context(|| format!("writing {}", file.display()))?;
    let text = format!("wrote {} remotes to {}", lock.remotes.len(), file.display());
    emit(json, &message(text, json!({ "file": file, "remotes": lock.remotes.len() })))?;
    Ok(ExitCode::SUCCESS)
}

async fn lock_apply(json: bool, file: &Path, trust: Option<&str>, dir: &CacheDir) -> Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let lock = cache::LockFile::from_json(&text)?;
    let cache = open_cache(dir)?;
    let bar = DownloadBar::new(json);
    let report = api::apply_lock(&cache, &lock, trust, &manifest::HostProfile::builtin(), &bar).await;
    bar.finish();
    let report = report?;
    let mut text =
        format!("installed the lock's {} remotes and pinned them: {}", report.pinned.len(), report.pinned.join(", "));
    if !report.granted.is_empty() {
        text.push_str(&format!("\napplied the lock's permission grants to: {}", report.granted.join(", ")));
    }
    emit(json, &message(text, serde_json::to_value(&report)?))?;
    Ok(ExitCode::SUCCESS)
}
