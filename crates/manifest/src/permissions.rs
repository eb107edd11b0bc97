//! What a remote may ask the host to do: the `permissions` of `remote.json`.
//!
//! A remote declares the permissions it needs; the person grants them (or a
//! team pre-approves them in a lock file); the shell answers a host call only
//! when the calling remote both declared and was granted the permission that
//! call needs. The vocabulary is deliberately small, one word per thing a
//! person can understand and decide on in a consent dialog:
//!
//! | permission | allows |
//! | --- | --- |
//! | `data:read` | reading datasets, records, templates, requests, responses and usage |
//! | `data:write` | creating, changing and deleting those |
//! | `files:import` | importing a file the person picks in a native dialog |
//! | `files:export` | exporting to a file the person picks in a native dialog |
//! | `runs:start` | starting, cancelling and resuming runs, which cost money |
//! | `providers:use` | listing provider status and models, testing a key (the host sends the key; the remote never sees it) |
//! | `stack:control` | starting and stopping the local container stack, reading its logs |
//! | `remotes:manage` | pinning, unpinning and rolling back remotes, checking for updates |
//!
//! A remote with no permissions gets only the read-only calls that expose
//! nothing sensitive; which calls those are is the shell's decision, not this
//! crate's. A permission this build does not know makes the manifest invalid:
//! a shell cannot ask consent for, or enforce, something it cannot name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One thing a remote may ask the host to do. Ordered as declared, so a set
/// of them lists in the same order in the consent dialog and in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    DataRead,
    DataWrite,
    FilesImport,
    FilesExport,
    RunsStart,
    ProvidersUse,
    StackControl,
    RemotesManage,
}

impl Permission {
    /// Every permission, in order.
    pub const ALL: [Self; 8] = [
        Self::DataRead,
        Self::DataWrite,
        Self::FilesImport,
        Self::FilesExport,
        Self::RunsStart,
        Self::ProvidersUse,
        Self::StackControl,
        Self::RemotesManage,
    ];

    /// The name used in `remote.json`, lock files and grants.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DataRead => "data:read",
            Self::DataWrite => "data:write",
            Self::FilesImport => "files:import",
            Self::FilesExport => "files:export",
            Self::RunsStart => "runs:start",
            Self::ProvidersUse => "providers:use",
            Self::StackControl => "stack:control",
            Self::RemotesManage => "remotes:manage",
        }
    }

    /// One line for the consent dialog, saying what granting it allows.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::DataRead => "Read your datasets, records, templates, requests, responses and usage",
            Self::DataWrite => "Create, change and delete your datasets, records, templates, requests and responses",
            Self::FilesImport => "Import a file you pick",
            Self::FilesExport => "Export to a file you pick",
            Self::RunsStart => "Start runs that send requests to AI providers (this costs money)",
            Self::ProvidersUse => {
                "See which AI providers and models are set up, and test a key (it never sees the key)"
            }
            Self::StackControl => "Start and stop the local services and read their logs",
            Self::RemotesManage => "Pin, unpin and roll back the app's modules, and check for updates",
        }
    }

    /// The known names, comma-separated, for error messages.
    pub fn known() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

/// A permission name this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission `{found}`; known permissions: {known}", known = Permission::known())]
pub struct UnknownPermission {
    pub found: String,
}

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|permission| permission.as_str() == name)
            .ok_or_else(|| UnknownPermission { found: name.to_owned() })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// By hand rather than derived: serde's "unknown variant" message would list
// the Rust names, and the person reading it needs the known JSON names.
impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
