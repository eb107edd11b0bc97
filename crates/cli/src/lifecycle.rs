//! A registry's life after `registry init`: `augment registry rotate-root`
//! (new keys, or a renewed root, chained from the old one), `augment
//! registry refresh` (re-sign the snapshot before it expires) and `augment
//! yank` (in a folder, signed here; on a server, through its API).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use jiff::Timestamp;
use registry::author::documents;
use serde_json::json;

use crate::output::{emit, message};

#[derive(Debug, Args)]
pub struct RotateRootArgs {
    /// The registry folder.
    pub dir: PathBuf,
    /// A root key of the current root (it signs the new root, so clients that trust it can follow).
    #[arg(long)]
    pub key: PathBuf,
    /// The new root key [default: --key again, which only renews the root's expiry].
    #[arg(long)]
    pub new_key: Option<PathBuf>,
    /// The new snapshot key, if it is not the new root key (e.g. the registry server's own key).
    #[arg(long)]
    pub new_snapshot_key: Option<PathBuf>,
    /// How long the new root stays valid, e.g. "365days".
    #[arg(long, value_parser = humantime::parse_duration, default_value = "365days")]
    pub expires_in: Duration,
    /// How long the re-signed snapshot stays valid.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30days")]
    pub snapshot_expires_in: Duration,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The registry folder (a registry server re-signs its snapshot by itself).
    pub dir: PathBuf,
    /// The snapshot signing key.
    #[arg(long)]
    pub key: PathBuf,
    /// How long the re-signed snapshot stays valid, e.g. "30days" (run refresh again well before then).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30days")]
    pub expires_in: Duration,
}

#[derive(Debug, Args)]
pub struct YankArgs {
    pub name: String,
    pub version: String,
    /// A registry folder (signed here with --key), or a registry server's http(s):// URL (needs --token).
    #[arg(long)]
    pub registry: String,
    /// The snapshot signing key, for a registry folder.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// A token scoped to this remote, for a registry server (prefer the environment variable).
    #[arg(long, env = "AUGMENT_REGISTRY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Un-yank: let resolvers choose this version again.
    #[arg(long)]
    pub undo: bool,
    /// How long the new snapshot stays valid, for a registry folder.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30days")]
    pub expires_in: Duration,
}

pub fn rotate_root(json: bool, args: &RotateRootArgs) -> Result<ExitCode> {
    let old_key = registry::SigningKey::read_pem_file(&args.key)?;
    let new_root_path = args.new_key.as_deref().unwrap_or(&args.key);
    let new_root_key = registry::SigningKey::read_pem_file(new_root_path)?;
    let new_snapshot_key =
        registry::SigningKey::read_pem_file(args.new_snapshot_key.as_deref().unwrap_or(new_root_path))?;
    let expiry = registry::Expiry { root: args.expires_in, snapshot: args.snapshot_expires_in };
    let report = registry::rotate_root(&args.dir, &old_key, &new_root_key, &new_snapshot_key, expiry)
        .with_context(|| format!("rotating the root of {}", args.dir.display()))?;
    let renewed = new_root_key.key_id() == old_key.key_id();
    let mut text = if renewed {
        format!(
            "renewed the root of {}: version {}, same keys, valid until {}",
            args.dir.display(),
            report.root_version,
            report.root_expires
        )
    } else {
        format!(
            "rotated the root of {} to version {} (valid until {}): root key {}, snapshot key {}; \
             key {} no longer signs anything",
            args.dir.display(),
            report.root_version,
            report.root_expires,
            new_root_key.key_id(),
            new_snapshot_key.key_id(),
            old_key.key_id()
        )
    };
    text.push_str(&format!(
        "\nsnapshot version {} re-signed, valid until {}; roots/{}.root.json keeps the chain, so clients \
         that trust an older root or key follow it",
        report.snapshot_version, report.snapshot_expires, report.root_version
    ));
    if new_snapshot_key.key_id() != old_key.key_id() {
        text.push_str(
            "\nnext: sign publishes with the new snapshot key (restart `augment registry serve` or the \
             registry server with it)",
        );
    }
    let details = json!({
        "registry": args.dir,
        "rootVersion": report.root_version,
        "rootExpires": report.root_expires.to_string(),
        "snapshotVersion": report.snapshot_version,
        "snapshotExpires": report.snapshot_expires.to_string(),
        "rootKeyId": new_root_key.key_id(),
        "snapshotKeyId": new_snapshot_key.key_id(),
        "renewed": renewed,
    });
    emit(json, &message(text, details))?;
    Ok(ExitCode::SUCCESS)
}

pub fn refresh(json: bool, args: &RefreshArgs) -> Result<ExitCode> {
    let dir_text = args.dir.to_string_lossy();
    if crate::hosted_registry::is_url(&dir_text) {
        bail!(
            "{dir_text} is a registry server: it re-signs its snapshot by itself before it expires \
             (REGISTRY_SNAPSHOT_RENEW_WITHIN_SECS); `registry refresh` is for registry folders"
        );
    }
    let key = registry::SigningKey::read_pem_file(&args.key)?;
    let report = registry::resign_snapshot(&args.dir, &key, args.expires_in)
        .with_context(|| format!("re-signing the snapshot of {}", args.dir.display()))?;
    let text = format!(
        "re-signed the snapshot of {}: version {}, valid until {}",
        args.dir.display(),
        report.snapshot_version,
        report.snapshot_expires
    );
    // The root is not re-signed: that needs the root key, which belongs
    // offline, not in a cron job. Warn while there is time to rotate.
    let now = Timestamp::now();
    let window = documents::ROOT_EXPIRY_WARNING.max(args.expires_in);
    let warning = documents::expires_within(report.root_expires, now, window)
        .then(|| root_expiry_warning(&args.dir, report.root_expires, now));
    if let Some(warning) = &warning {
        eprintln!("warning: {warning}");
    }
    let details = json!({
        "registry": args.dir,
        "snapshotVersion": report.snapshot_version,
        "snapshotExpires": report.snapshot_expires.to_string(),
        "rootVersion": report.root_version,
        "rootExpires": report.root_expires.to_string(),
        "warning": warning,
    });
    emit(json, &message(text, details))?;
    Ok(ExitCode::SUCCESS)
}

fn root_expiry_warning(dir: &Path, expires: Timestamp, now: Timestamp) -> String {
    let when = if expires <= now {
        "has expired: every client refuses this registry until it is renewed".to_owned()
    } else {
        let days = (expires.as_second() - now.as_second()) / 86_400;
        format!("expires at {expires} (in {days} days): after that every client refuses this registry")
    };
    format!(
        "root.json {when}. Renew it where the root key is kept: `augment registry rotate-root {} --key ROOT.key` \
         (add --new-key to replace the key)",
        dir.display()
    )
}

pub async fn yank(json: bool, args: YankArgs) -> Result<ExitCode> {
    let version = manifest::Version::parse(&args.version)
        .with_context(|| format!("{:?} is not a semver version", args.version))?;
    let yanked = !args.undo;
    if crate::hosted_registry::is_url(&args.registry) {
        return crate::hosted_registry::yank(json, &args.registry, &args.name, &version, yanked, args.token).await;
    }
    let key_path = args
        .key
        .as_deref()
        .context("--key is needed to yank in a registry folder (or pass a server's https:// URL and --token)")?;
    let key = registry::SigningKey::read_pem_file(key_path)?;
    let dir = Path::new(&args.registry);
    let report = registry::yank(dir, &args.name, &version, yanked, &key, args.expires_in)
        .with_context(|| format!("changing {} {version} in {}", args.name, dir.display()))?;
    let text = yank_text(&args.name, &version.to_string(), yanked, report.changed, report.snapshot_version);
    let details = json!({
        "name": args.name,
        "version": version.to_string(),
        "yanked": yanked,
        "changed": report.changed,
        "snapshotVersion": report.snapshot_version,
    });
    emit(json, &message(text, details))?;
    Ok(ExitCode::SUCCESS)
}

/// What a yank did, in words; shared with the hosted registry's answer.
pub fn yank_text(name: &str, version: &str, yanked: bool, changed: bool, snapshot_version: u64) -> String {
    match (yanked, changed) {
        (true, true) => format!(
            "yanked {name} {version} (snapshot version {snapshot_version}): resolvers no longer choose it; \
             desktops that pinned it keep it; `--undo` reverts"
        ),
        (false, true) => {
            format!("un-yanked {name} {version} (snapshot version {snapshot_version}): resolvers may choose it again")
        }
        (true, false) => format!("{name} {version} was already yanked; nothing changed"),
        (false, false) => format!("{name} {version} was not yanked; nothing changed"),
    }
}
