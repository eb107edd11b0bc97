use crate::Error;

/// The built-in providers, in the order a status listing shows them.
pub const KNOWN_PROVIDERS: [&str; 3] = ["openai", "anthropic", "groq"];

/// Longest provider id accepted; also the cut-off below which an invalid name is
/// echoed back in errors (every real provider's key is longer than this).
const MAX_PROVIDER_LEN: usize = 40;

/// Checks that `provider` is a usable provider id: 1 to 40 characters from
/// `a-z`, `0-9` and `-`. The built-in names satisfy this too.
pub fn validate_provider(provider: &str) -> Result<(), Error> {
    let valid = !provider.is_empty()
        && provider.len() <= MAX_PROVIDER_LEN
        && provider.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        return Ok(());
    }
    // Someone may paste a key where a provider name belongs; a long value is
    // described rather than echoed so that error output cannot carry the key.
    let shown = if provider.chars().count() <= MAX_PROVIDER_LEN {
        format!("`{provider}`")
    } else {
        format!("a {}-character value (not shown in case it is a key)", provider.chars().count())
    };
    Err(Error::InvalidProvider { shown })
}

/// The environment variable that overrides the keychain for `provider`:
/// `AUGMENT_<ID>_API_KEY` with the id upper-cased and `-` turned into `_`,
/// e.g. `AUGMENT_OPENAI_API_KEY`, `AUGMENT_MY_LLM_API_KEY`.
pub fn env_var_name(provider: &str) -> String {
    let id: String = provider.chars().map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() }).collect();
    format!("AUGMENT_{id}_API_KEY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_builtin_and_custom_ids() {
        for ok in ["openai", "anthropic", "groq", "my-llm", "a", "x1-2-3", &"a".repeat(40)] {
            assert!(validate_provider(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_bad_ids_and_never_echoes_long_ones() {
        for bad in ["", "OpenAI", "my_llm", "a b", "ü", &"a".repeat(41)] {
            assert!(validate_provider(bad).is_err(), "{bad:?} should be invalid");
        }
        let short = validate_provider("Open AI").unwrap_err().to_string();
        assert!(short.contains("`Open AI`"), "{short}");

        let pasted_key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef";
        let err = validate_provider(pasted_key).unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(pasted_key), "{text}");
            assert!(!text.contains("AbCdEf"), "{text}");
        }
    }

    #[test]
    fn env_var_names() {
        assert_eq!(env_var_name("openai"), "AUGMENT_OPENAI_API_KEY");
        assert_eq!(env_var_name("anthropic"), "AUGMENT_ANTHROPIC_API_KEY");
        assert_eq!(env_var_name("groq"), "AUGMENT_GROQ_API_KEY");
        assert_eq!(env_var_name("my-llm-2"), "AUGMENT_MY_LLM_2_API_KEY");
    }
}
