//! Roles, scopes and the one table that says who may do what.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a person is to the team. Stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users and every token; everything a publisher and an analyst may do.
    Admin,
    /// Publishes and yanks remotes in the registry.
    Publisher,
    /// Runs workflows through the gateway (AI calls, parsing).
    Analyst,
    /// Reads.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Publisher, Role::Analyst, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Publisher => "publisher",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    /// The scopes this role holds: a session token carries all of them, an
    /// API token a subset chosen when it is created.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Role::Admin => &Scope::ALL,
            Role::Publisher => &[Scope::Read, Scope::Publish, Scope::Yank],
            Role::Analyst => &[Scope::Read, Scope::Run],
            Role::Viewer => &[Scope::Read],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; use one of admin, publisher, analyst, viewer"))
    }
}

/// What a token lets its holder do in the other services. The gateway and
/// the registry server check these; this service checks roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read through the gateway and the registry.
    #[serde(rename = "read")]
    Read,
    /// Call the services behind the gateway that do work (connector, parsers).
    #[serde(rename = "run")]
    Run,
    /// Publish remote versions to the registry server.
    #[serde(rename = "publish")]
    Publish,
    /// Yank and un-yank remote versions.
    #[serde(rename = "yank")]
    Yank,
    /// Manage the registry server's publish tokens.
    #[serde(rename = "registry:tokens")]
    RegistryTokens,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::Read, Scope::Run, Scope::Publish, Scope::Yank, Scope::RegistryTokens];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Run => "run",
            Scope::Publish => "publish",
            Scope::Yank => "yank",
            Scope::RegistryTokens => "registry:tokens",
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
            format!("unknown scope {s:?}; use some of {}", known.join(", "))
        })
    }
}

/// Scopes as stored: names separated by spaces (the OAuth spelling).
pub fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" ")
}

/// The stored spelling back; unknown names (from a newer version) are dropped.
pub fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split_ascii_whitespace().filter_map(|name| name.parse().ok()).collect()
}

/// Everything this service's own API lets someone do. Each handler asks
/// [`allowed`] for one of these before it touches anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ListUsers,
    CreateUser,
    DeleteUser,
    /// Create an API token for oneself.
    CreateOwnToken,
    /// Create an API token for another user.
    CreateTokenForOthers,
    ListOwnTokens,
    ListAllTokens,
    RevokeOwnToken,
    RevokeOthersToken,
}

/// The role × action table (the crate README shows it).
pub fn allowed(role: Role, action: Action) -> bool {
    match action {
        Action::ListOwnTokens | Action::RevokeOwnToken => true,
        Action::CreateOwnToken => role != Role::Viewer,
        Action::ListUsers
        | Action::CreateUser
        | Action::DeleteUser
        | Action::CreateTokenForOthers
        | Action::ListAllTokens
        | Action::RevokeOthersToken => role == Role::Admin,
    }
}

/// How a token came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// From a password login; carries all of the role's scopes; manages this service.
    Session,
    /// Created through the API with chosen scopes, for the other services.
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "session" => Some(TokenKind::Session),
            "api" => Some(TokenKind::Api),
            _ => None,
        }
    }
}

/// A stored user. The password only as its argon2id hash (PHC string).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the hash, even in a debug print.
        f.debug_struct("UserRecord").field("id", &self.id).field("name", &self.name).field("role", &self.role).finish()
    }
}

/// A stored token: its sha256 and what it may do. Never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// A public name for lists, logs and revocation: the first 12 hex digits of the hash.
    pub id: String,
    pub sha256: String,
    pub user_id: String,
    pub kind: TokenKind,
    pub scopes: Vec<Scope>,
    pub description: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl TokenRecord {
    /// Usable at `now` (unix seconds): neither revoked nor expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_token_can_only_narrow_a_role() {
        for role in Role::ALL {
            assert!(role.scopes().contains(&Scope::Read), "{role} can read");
        }
        assert!(!Role::Viewer.scopes().contains(&Scope::Publish));
        assert!(!Role::Analyst.scopes().contains(&Scope::Publish));
        assert!(!Role::Publisher.scopes().contains(&Scope::RegistryTokens));
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(scopes_from_text(&scopes_to_text(&Scope::ALL)), Scope::ALL.to_vec());
        assert!("root".parse::<Role>().is_err());
    }
}
