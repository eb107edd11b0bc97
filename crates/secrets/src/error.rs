/// What can go wrong reading or writing a key. No variant ever holds the key:
/// the underlying keyring errors are turned into text here because some of them
/// (`BadEncoding`, `BadDataFormat`) carry the stored bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no usable OS credential store (no D-Bus session, no Secret
    /// Service, or a platform without a supported keychain).
    #[error("no OS keychain is available ({reason}): {hint}, or set {env_var} for headless use")]
    NoKeychain {
        /// What the platform reported.
        reason: String,
        /// What to install or start on this platform.
        hint: &'static str,
        /// The variable that can supply the key instead.
        env_var: String,
    },

    /// The keychain exists but is locked or refused access.
    #[error(
        "the OS keychain refused access to the key for {provider} ({reason}): unlock the keychain (log in to the desktop session or unlock it in your keyring app) and try again"
    )]
    Locked {
        /// The provider whose key was being read or written.
        provider: String,
        /// What the platform reported.
        reason: String,
    },

    /// The keychain failed while doing something with a key.
    #[error(
        "the OS keychain could not {action} the key for {provider} ({reason}): try again, and check that the keychain service is running"
    )]
    Keychain {
        /// What we were doing: "store", "read", "delete".
        action: &'static str,
        /// The provider whose key it was.
        provider: String,
        /// What the platform reported.
        reason: String,
    },

    /// More than one keychain entry matches service `augment-it` and this provider.
    #[error(
        "several keychain entries match service augment-it and account {provider}: delete them all (`secret-tool clear service augment-it username {provider}` on Linux, or with your keychain app) and set the key again"
    )]
    Ambiguous {
        /// The provider with duplicate entries.
        provider: String,
    },

    /// The stored value is not text, so it cannot be an API key.
    #[error(
        "the keychain entry for {provider} is not valid text: set the key again with `augment keys set {provider}`"
    )]
    NotText {
        /// The provider whose entry is damaged.
        provider: String,
    },

    /// The provider name is not an id we can store a key under.
    #[error(
        "{shown} is not a valid provider name: use openai, anthropic, groq or a custom id of 1 to 40 lowercase letters, digits and dashes"
    )]
    InvalidProvider {
        /// The name in quotes when short, else a description of it (a long value
        /// may be a key pasted in the wrong place).
        shown: String,
    },

    /// An empty key was given.
    #[error("the key for {provider} is empty: paste the whole key")]
    EmptyKey {
        /// The provider the empty key was meant for.
        provider: String,
    },
}
