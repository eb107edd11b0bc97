//! Resolved remotes: the offline paint, the background registry check, and
//! the Remotes panel (versions, pin, unpin, roll back, known-good marks).
//!
//! The app log has one line per mount (`mark_known_good`), per failure and
//! per rollback (`report_load_failure`, `rollback_remote`), each naming the
//! remote and its version(s). Mounts and failures also go to the cache's
//! history, which `charts::remote_load_stats` sums for the dashboard.

use api::RemoteVersions;
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime, State};

use super::events;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::shell::{self, ShellState, ShellView};

/// The remotes to mount, from the cache alone: no request is made, so the
/// shell paints at once, online or not.
#[tauri::command]
pub async fn remotes_from_cache(state: State<'_, ShellState>) -> CommandResult<ShellView> {
    shell::resolve_view(&state, true).await
}

/// Starts a registry check in the background and returns at once: `true`
/// if it started, `false` if one is already running. The result arrives as
/// a `registry-checked` (or `registry-check-failed`) event.
#[tauri::command]
pub async fn check_for_updates<R: Runtime>(app: AppHandle<R>, state: State<'_, ShellState>) -> CommandResult<bool> {
    let Some(guard) = state.begin_check() else {
        return Ok(false);
    };
    tauri::async_runtime::spawn(async move {
        let state = app.state::<ShellState>();
        let result = shell::resolve_view(&state, false).await;
        drop(guard);
        let emitted = match result {
            Ok(view) => app.emit(events::REGISTRY_CHECKED, view),
            Err(err) => app.emit(events::REGISTRY_CHECK_FAILED, err),
        };
        if let Err(err) = emitted {
            tracing::error!(%err, "could not deliver the registry check result to the UI");
        }
    });
    Ok(true)
}

/// Every installed version per remote, with active, pinned and known-good marks.
#[tauri::command]
pub async fn remote_versions(state: State<'_, ShellState>) -> CommandResult<Vec<RemoteVersions>> {
    Ok(api::installed_versions(&state.cache)?)
}

/// Holds `name` at `version` (applied by the next resolve, e.g. `remotes_from_cache`).
#[tauri::command]
pub async fn pin_remote(state: State<'_, ShellState>, name: String, version: String) -> CommandResult<()> {
    shell::checked_ref(&name, Some(&version))?;
    Ok(state.cache.pin(&name, &version)?)
}

/// Lets `name` follow updates again; `false` if it was not pinned.
#[tauri::command]
pub async fn unpin_remote(state: State<'_, ShellState>, name: String) -> CommandResult<bool> {
    shell::checked_ref(&name, None)?;
    Ok(state.cache.unpin(&name)?)
}

/// Goes back to the last-known-good (or previous) version and pins it.
#[tauri::command]
pub async fn rollback_remote(state: State<'_, ShellState>, name: String) -> CommandResult<cache::Rollback> {
    shell::checked_ref(&name, None)?;
    let rollback = state.cache.rollback(&name)?;
    tracing::info!(%name, from = %rollback.from, to = %rollback.to, cause = "asked by the user", "remote rolled back");
    Ok(rollback)
}

/// Records that `name` `version` mounted: rollback targets it from now on.
/// `mount_ms` (load start to mounted, measured by the page) is only logged.
#[tauri::command]
pub async fn mark_known_good(
    state: State<'_, ShellState>,
    name: String,
    version: String,
    mount_ms: Option<f64>,
) -> CommandResult<()> {
    shell::checked_ref(&name, Some(&version))?;
    state.cache.mark_known_good(&name, &version)?;
    record_for_charts(&state, &name, &version, cache::MountOutcome::Mounted { mount_ms });
    // `cargo xtask run --xvfb-screenshot` and the shell benchmark wait for these lines.
    let mount_ms = mount_ms.filter(|ms| ms.is_finite() && *ms >= 0.0).map(|ms| format!("{ms:.1}"));
    tracing::info!(%name, %version, mount_ms = mount_ms.as_deref().unwrap_or("-"), "remote mounted; marked known good");
    Ok(())
}

/// The page painted the shell with the remotes from the cache (sent once
/// per start, after the first frame). Only logged: the start-up benchmark
/// times the app from spawn to this line.
#[tauri::command]
pub async fn shell_painted() -> CommandResult<()> {
    tracing::info!("shell painted");
    Ok(())
}

/// The offline bundle cache on disk, for the Admin Dashboard: bytes and
/// count of the blob files (a blob shared by versions counts once) and the
/// installed versions. Reply `{ bytes, blobs, versions }`.
#[tauri::command]
pub async fn cache_usage(state: State<'_, ShellState>) -> CommandResult<cache::CacheUsage> {
    let cache = state.cache.clone();
    // Listing the blob store touches the disk once per blob: keep it off the async workers.
    let usage = tauri::async_runtime::spawn_blocking(move || cache.usage())
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("measuring the cache failed: {err}")))??;
    Ok(usage)
}

/// What the shell did about a remote that failed to load.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadFailureOutcome {
    /// Set when the failing version was replaced by the last-known-good one.
    pub rolled_back: Option<cache::Rollback>,
}

/// Where a remote failed: loading its entry, rendering (its first commit or
/// later), or not mounted within the shell's bound (`MOUNT_TIMEOUT_MS` in
/// shell-ui/src/RemoteSlot.tsx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePhase {
    Load,
    Render,
    Timeout,
}

impl FailurePhase {
    /// `None` (an older page) means "load".
    fn parse(phase: Option<&str>) -> CommandResult<Self> {
        match phase {
            None | Some("load") => Ok(Self::Load),
            Some("render") => Ok(Self::Render),
            Some("timeout") => Ok(Self::Timeout),
            Some(other) => Err(CommandError::invalid(format!(
                "{other:?} is not a failure phase: expected \"load\", \"render\" or \"timeout\""
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Load => "load",
            Self::Render => "render",
            Self::Timeout => "timeout",
        }
    }
}

/// A version failed (`phase`: "load", the default, "render" or "timeout").
/// If it is the active version and a different version is known good, roll
/// back to it (and pin it); otherwise nothing changes and the UI shows the
/// failure. Logs one line for the failure and one for the rollback.
#[tauri::command]
pub async fn report_load_failure(
    state: State<'_, ShellState>,
    name: String,
    version: String,
    reason: String,
    phase: Option<String>,
) -> CommandResult<LoadFailureOutcome> {
    shell::checked_ref(&name, Some(&version))?;
    let phase = FailurePhase::parse(phase.as_deref())?;
    tracing::warn!(%name, %version, phase = %phase.as_str(), reason = %truncate(&reason), "remote failed");
    record_for_charts(&state, &name, &version, cache::MountOutcome::Failed { phase: phase.as_str() });
    let rolled_back = state.cache.roll_back_failed(&name, &version)?;
    if let Some(rollback) = &rolled_back {
        tracing::warn!(%name, from = %rollback.from, to = %rollback.to, cause = %phase.as_str(), "remote rolled back");
    }
    Ok(LoadFailureOutcome { rolled_back })
}

/// Adds a mount or failure to the Admin Dashboard's history. The history is
/// only for charts: failing to write it is logged, never a reason to fail
/// the slot's life cycle.
fn record_for_charts(state: &ShellState, name: &str, version: &str, outcome: cache::MountOutcome<'_>) {
    if let Err(err) = state.cache.record_mount(name, version, outcome) {
        tracing::warn!(%name, %version, %err, "could not record the mount for the dashboard's charts");
    }
}

/// The UI's reason text is only logged; keep a hostile remote from flooding the log.
fn truncate(reason: &str) -> &str {
    match reason.char_indices().nth(500) {
        Some((at, _)) => &reason[..at],
        None => reason,
    }
}
