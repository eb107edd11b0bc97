use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// An API key held in memory for as short a time as possible.
///
/// It prints as `Secret(***)` through both `Debug` and `Display`, has no
/// `Serialize`, and its buffer is overwritten with zeros when it is dropped.
/// There is deliberately no `Clone`: every copy is one more place a key lives.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a key. Surrounding whitespace is removed, because a key pasted into
    /// a terminal or a text field usually brings a newline with it and no
    /// provider's key contains whitespace. The untrimmed input is zeroed.
    pub fn new(value: impl Into<String>) -> Self {
        let mut raw: String = value.into();
        let trimmed = raw.trim();
        if trimmed.len() == raw.len() {
            Secret(Zeroizing::new(raw))
        } else {
            let copy = Secret(Zeroizing::new(trimmed.to_owned()));
            raw.zeroize();
            copy
        }
    }

    /// The key itself.
    ///
    /// Only for attaching the key to an outgoing request (a header) or handing it
    /// to the OS keychain. Never log it, format it into a message, store it in a
    /// file or send it to a user interface.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty (after trimming).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("sk-very-secret-value");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "Secret(***)");
        assert_eq!(format!("{secret:#?}"), "Secret(***)");
        // A struct deriving Debug that holds a Secret must stay redacted too.
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            key: Secret,
        }
        let holder = format!("{:?}", Holder { key: secret });
        assert!(!holder.contains("very-secret"), "{holder}");
    }

    #[test]
    fn expose_returns_the_trimmed_value() {
        let secret = Secret::new("  sk-abc\r\n");
        assert_eq!(secret.expose(), "sk-abc");
        assert!(!secret.is_empty());
        assert!(Secret::new(" \n").is_empty());
        assert_eq!(Secret::from("sk-x".to_owned()).expose(), "sk-x");
    }
}
