//! What a sandboxed remote may call (issue 15, points 1–3).
//!
//! Remotes from a registry the person has not marked trusted run in a
//! sandboxed iframe (opaque origin, no Tauri internals, see `scheme.rs`'s
//! `@sandbox` pages). They reach the host only by posting a message to the
//! shell page, which forwards the call with the [`REMOTE_HEADER`] naming the
//! frame it came from. [`check_remote_call`] runs in Rust before the command:
//! the command must be [`Access::Open`], or need a permission the person
//! granted that remote. Nothing the remote's code does can change either
//! side of that check: it never runs in the shell's realm, and grants are
//! only written by shell-only commands.
//!
//! Every command's rule is in `command_list.rs`, the one list `build.rs`,
//! the handler and [`access`] read.

use std::collections::BTreeSet;

use manifest::Permission;

use crate::error::{CommandError, ErrorCode};

/// The header the shell page adds to a call it forwards for a sandboxed
/// remote: the remote's name. Calls without it come from the shell page
/// itself (or a trusted, shared-realm remote).
pub const REMOTE_HEADER: &str = "x-augment-remote";

/// Who may call a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any remote: read-only and nothing sensitive.
    Open,
    /// A remote the person granted this permission.
    Needs(Permission),
    /// The shell page only: settings, keys, grants, and the slot life cycle
    /// (a remote that could report failures could roll others back).
    ShellOnly,
}

/// Who may call `command`; `None` for a name the shell does not have. The
/// rules are written next to each command in `command_list.rs`.
pub fn access(command: &str) -> Option<Access> {
    crate::contract::command(command).map(|c| c.access)
}

/// `Ok` when `remote`, holding `granted`, may call `command`; otherwise a
/// `refused` error naming what is missing (logged: a remote calling beyond
/// its grants is either a bug or an attack).
pub fn check_remote_call(remote: &str, command: &str, granted: &BTreeSet<Permission>) -> Result<(), CommandError> {
    let why = match access(command) {
        Some(Access::Open) => return Ok(()),
        Some(Access::Needs(permission)) if granted.contains(&permission) => return Ok(()),
        Some(Access::Needs(permission)) => {
            format!("it needs the `{}` permission, which was not granted", permission.as_str())
        }
        Some(Access::ShellOnly) => "only the shell itself may call it".to_owned(),
        None => "the shell has no such command".to_owned(),
    };
    tracing::warn!(remote, command, %why, "refused a sandboxed remote's call");
    Err(CommandError::new(ErrorCode::Refused, format!("remote `{remote}` may not call {command}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands the shell registers (`command_list.rs`).
    fn declared_commands() -> Vec<String> {
        crate::contract::COMMANDS.iter().map(|c| c.name.to_owned()).collect()
    }

    #[test]
    fn every_command_has_an_access_rule() {
        let commands = declared_commands();
        assert!(commands.len() > 40, "{commands:?}");
        let missing: Vec<_> = commands.iter().filter(|c| access(c).is_none()).collect();
        assert!(missing.is_empty(), "commands without an access rule: {missing:?}");
    }

    #[test]
    fn a_remote_without_grants_reaches_only_open_commands() {
        let none = BTreeSet::new();
        for command in declared_commands() {
            let allowed = check_remote_call("hostile", &command, &none).is_ok();
            assert_eq!(allowed, access(&command) == Some(Access::Open), "{command}");
        }
        assert!(check_remote_call("hostile", "no_such_command", &none).is_err());
    }

    /// Issue 15's threat: no grant whatsoever lets a remote move a key or change where one goes.
    #[test]
    fn no_grant_reaches_settings_keys_grants_or_the_slot_life_cycle() {
        let everything: BTreeSet<Permission> = Permission::ALL.iter().copied().collect();
        for command in [
            "save_settings",
            "get_settings",
            "save_provider_settings",
            "set_api_key",
            "delete_api_key",
            "grant_remote_permissions",
            "revoke_remote_permissions",
            "report_load_failure",
            "mark_known_good",
            // Webhooks: where the workflow's news goes, and the secrets of its endpoints.
            "list_hook_endpoints",
            "add_hook_endpoint",
            "delete_hook_endpoint",
            "test_hook_endpoint",
            "hook_deliveries",
            "notification_settings",
            "set_desktop_notifications",
            // Data-store connections: a token, and where the workflow's data goes.
            "save_datastore_connection",
            "delete_datastore_connection",
            // The team server: the person's team role and session.
            "team_sign_in",
            "team_session",
            "team_sign_out",
            "team_users",
            "team_create_user",
            "team_delete_user",
            "team_tokens",
            "team_create_token",
            "team_revoke_token",
        ] {
            let err = check_remote_call("hostile", command, &everything).expect_err(command);
            assert_eq!(err.code, ErrorCode::Refused, "{command}");
        }
    }

    #[test]
    fn a_grant_opens_its_commands_and_no_others() {
        let providers: BTreeSet<Permission> = [Permission::ProvidersUse].into();
        assert!(check_remote_call("r", "provider_models", &providers).is_ok());
        assert!(check_remote_call("r", "test_api_key", &providers).is_ok());
        let err = check_remote_call("r", "start_run", &providers).expect_err("runs need runs:start");
        assert!(err.message.contains("runs:start"), "{}", err.message);
        assert!(check_remote_call("r", "delete_dataset", &providers).is_err());
    }
}
