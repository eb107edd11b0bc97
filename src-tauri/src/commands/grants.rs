//! The person's grants to sandboxed remotes (issue 15, point 2): given from
//! the consent prompt of a remote's slot, listed and revoked on the Remotes
//! page. Shell-only (`grants::access`): a remote can never grant itself.

use std::collections::BTreeSet;

use manifest::Permission;
use tauri::State;

use crate::error::{CommandError, CommandResult};
use crate::shell::{self, ShellState};

/// Grants `permissions` to `name`, replacing what it had; an empty list
/// records that the person was asked and granted nothing.
#[tauri::command]
pub async fn grant_remote_permissions(
    state: State<'_, ShellState>,
    name: String,
    permissions: Vec<String>,
) -> CommandResult<Vec<Permission>> {
    shell::checked_ref(&name, None)?;
    let parsed = permissions
        .iter()
        .map(|p| p.parse::<Permission>())
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|err| CommandError::invalid(err.to_string()))?;
    let names = parsed.iter().map(|p| p.as_str().to_owned()).collect();
    state.cache.set_grants(&name, &names)?;
    state.grants_changed();
    tracing::info!(remote = %name, permissions = ?names, "granted");
    Ok(parsed.into_iter().collect())
}

/// Forgets what `name` was granted: its next mount asks again. `false`
/// when nothing was granted.
#[tauri::command]
pub async fn revoke_remote_permissions(state: State<'_, ShellState>, name: String) -> CommandResult<bool> {
    shell::checked_ref(&name, None)?;
    let revoked = state.cache.revoke_grants(&name)?;
    state.grants_changed();
    tracing::info!(remote = %name, revoked, "grants revoked");
    Ok(revoked)
}

/// The permissions `remote` holds now, for the bridge's check.
pub fn granted(state: &ShellState, remote: &str) -> CommandResult<BTreeSet<Permission>> {
    Ok(state.cache.grants(remote)?.iter().filter_map(|name| name.parse().ok()).collect())
}
