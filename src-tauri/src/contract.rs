//! The host contract (issue 15, points 5 and 6): the one list of IPC
//! commands with who may call each ([`COMMANDS`], from `command_list.rs`,
//! which `build.rs` and [`crate::with_shell`] read too), the events the shell
//! emits ([`EVENTS`]) and the host API version they make up
//! ([`host_api_version`]).
//!
//! The test module `contract/surface.rs` describes this surface (arguments
//! and results read from the command functions, error codes, permissions,
//! the ts-rs declarations of the view types) in the checked-in
//! `src-tauri/contract/host-api.json`, fails when it changes without the
//! matching bump of the host API version, and generates the TypeScript of
//! `remotes/shared/host-client/src/generated/` (`cargo xtask contract`).

use crate::grants::Access;

#[cfg(test)]
mod surface;

include!("command_list.rs");

/// One IPC command: its module under `crate::commands`, its name, who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub module: &'static str,
    pub name: &'static str,
    pub access: Access,
}

macro_rules! command_table {
    ($($module:ident :: $name:ident => $rule:ident $(($permission:ident))?),* $(,)?) => {
        /// Every IPC command of the shell, in registration order.
        pub const COMMANDS: &[Command] = &[$(Command {
            module: stringify!($module),
            name: stringify!($name),
            access: Access::$rule $((manifest::Permission::$permission))?,
        }),*];
    };
}
for_each_command!(command_table);

/// Adds every command of [`COMMANDS`] to `tauri::generate_handler!`.
macro_rules! command_handler {
    ($($module:ident :: $name:ident => $rule:ident $(($permission:ident))?),* $(,)?) => {
        tauri::generate_handler![$(crate::commands::$module::$name),*]
    };
}
pub(crate) use command_handler;
pub(crate) use for_each_command;

/// One event the shell emits to the page: its name and its payload's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub name: &'static str,
    pub payload: &'static str,
}

/// Every event the shell emits, with the Rust type of its payload.
pub const EVENTS: &[Event] = {
    use crate::commands::{events, stack};
    &[
        Event { name: events::REGISTRY_CHECKED, payload: "ShellView" },
        Event { name: events::REGISTRY_CHECK_FAILED, payload: "CommandError" },
        Event { name: events::PROVIDER_PROGRESS, payload: "ProgressEvent" },
        Event { name: events::RUN_EVENT, payload: "RunEvent" },
        Event { name: events::DEV_REMOTE_CHANGED, payload: "DevRemoteChanged" },
        Event { name: stack::events::PROGRESS, payload: "StackProgress" },
        Event { name: stack::events::STATUS, payload: "StackView" },
        Event { name: stack::events::LOG, payload: "StackLogLine" },
        Event { name: crate::webview_guard::NAVIGATION_REFUSED, payload: "NavigationRefused" },
        Event { name: crate::commands::files::FILES_DROPPED, payload: "FilesDropped" },
    ]
};

/// The host API version this shell implements: the one source is the
/// built-in host profile remotes are selected against (`manifest::HostProfile`).
pub fn host_api_version() -> manifest::Version {
    manifest::HostProfile::builtin().host_api
}

/// The command named `name`.
pub fn command(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use manifest::{Candidate, HostProfile, RemoteManifest, SelectionRequest};

    /// Issue 15, point 6: a remote built against a newer minor of the host
    /// API than this shell's is refused before it loads, with a message that
    /// says which version it needs, which one the app has, and what to do.
    #[test]
    fn a_remote_built_against_a_newer_minor_is_refused_clearly() {
        let host = HostProfile::builtin();
        let newer = format!("^{}.{}.0", host.host_api.major, host.host_api.minor + 1);
        let json = format!(
            r#"{{ "name": "newer", "version": "1.0.0", "entry": "remoteEntry.js", "hostApi": "{newer}",
                 "shared": {{ "react": "^19.0.0" }}, "exposes": ["./App"] }}"#
        );
        let manifest = RemoteManifest::from_json(json.as_bytes()).expect("a valid manifest");
        let available = BTreeMap::from([("newer".to_owned(), vec![Candidate { manifest, yanked: false }])]);
        let wanted = ["newer".to_owned()];
        let request =
            SelectionRequest { wanted: &wanted, pins: &BTreeMap::new(), profile: &host, allow_prerelease: false };
        let message = manifest::select(&available, request).expect_err("refused").to_string();
        let expected = format!("1.0.0 needs host API {newer}, this app provides {}", host.host_api);
        assert!(message.contains(&expected), "{message}");
        assert!(message.contains("Update Augment-It"), "{message}");
    }
}
