use providers::ProviderConfig;

use crate::AppError;

/// The providers the connector offers, from
/// `CONNECTOR_PROVIDERS="openai,anthropic,ollama=http://ollama:11434"`:
/// a built-in id alone uses its preset; `id=URL` points a built-in at another
/// base URL (a proxy, a test server) or, for any other id, declares an
/// OpenAI-compatible server.
pub fn parse_providers(spec: &str) -> Result<Vec<ProviderConfig>, AppError> {
    let mut configs: Vec<ProviderConfig> = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let invalid = |reason: String| AppError::InvalidProviders { entry: entry.to_owned(), reason };
        let (id, url) = match entry.split_once('=') {
            Some((id, url)) => (id.trim(), Some(url.trim())),
            None => (entry, None),
        };
        secrets::validate_provider(id).map_err(|e| invalid(e.to_string()))?;
        let config = match (ProviderConfig::builtin(id), url) {
            (Some(preset), None) => preset,
            (Some(preset), Some(url)) => preset.with_base_url(url),
            (None, Some(url)) => ProviderConfig::openai_compatible(id, url),
            (None, None) => {
                return Err(invalid(format!(
                    "`{id}` is not a built-in provider ({}); give its base URL as {id}=http://host:port",
                    secrets::KNOWN_PROVIDERS.join(", ")
                )));
            }
        };
        if configs.iter().any(|c| c.id == config.id) {
            return Err(invalid("this provider appears twice".to_owned()));
        }
        configs.push(config);
    }
    if configs.is_empty() {
        return Err(AppError::InvalidProviders { entry: spec.to_owned(), reason: "it names no provider".to_owned() });
    }
    Ok(configs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_overrides_and_custom_servers() {
        let configs =
            parse_providers("openai, anthropic=http://127.0.0.1:9, ollama=http://ollama:11434").expect("valid spec");
        let ids: Vec<&str> = configs.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["openai", "anthropic", "ollama"]);
        assert_eq!(configs[0].base_url, "https://api.openai.com");
        assert_eq!(configs[1].base_url, "http://127.0.0.1:9");
        assert!(configs[1].key_required, "a built-in keeps its preset when only the URL changes");
        assert!(!configs[2].key_required, "an OpenAI-compatible server may need no key");
    }

    #[test]
    fn refuses_unknown_ids_without_url_duplicates_and_empty_specs() {
        for (spec, expected) in [
            ("mystery", "not a built-in provider"),
            ("openai,openai", "appears twice"),
            (" , ", "names no provider"),
            ("Bad Id=http://x", "Bad Id"),
        ] {
            let err = parse_providers(spec).expect_err(spec).to_string();
            assert!(err.contains(expected), "{spec}: {err}");
        }
    }
}
