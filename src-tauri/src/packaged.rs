//! What an installed package brings beside the binary (`cargo xtask dist`):
//! the product remotes as a signed seed registry, so a fresh install works
//! offline on its first start. A source checkout has none, and the app
//! behaves as before (the registries come from the launch flags and settings).

use std::path::Path;

use crate::settings::RegistryConfig;

/// The seed registry's folder in the package's resources.
pub const SEED_REGISTRY_DIR: &str = "seed-registry";
/// Its trust anchor, the public key it was signed with, beside it.
pub const SEED_TRUST_FILE: &str = "seed-registry.pub";

/// The seed registry in `resource_dir`, when the package has one: first
/// party (its remotes are ours), trusted through the key shipped with it.
/// A registry folder without its key is not used: nothing is trusted on
/// first use.
pub fn seed_registry(resource_dir: &Path) -> Option<RegistryConfig> {
    let registry = resource_dir.join(SEED_REGISTRY_DIR);
    let trust = resource_dir.join(SEED_TRUST_FILE);
    if !registry.join("root.json").is_file() {
        return None;
    }
    if !trust.is_file() {
        tracing::warn!(registry = %registry.display(), "the package's seed registry has no trust anchor beside it; not used");
        return None;
    }
    Some(RegistryConfig {
        url: registry.to_string_lossy().into_owned(),
        trust: Some(trust.to_string_lossy().into_owned()),
        trusted: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_checkout_has_no_seed_registry() {
        let dir = tempfile::tempdir().unwrap();
        assert!(seed_registry(dir.path()).is_none());
    }

    #[test]
    fn a_seed_registry_is_used_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(SEED_REGISTRY_DIR)).unwrap();
        std::fs::write(dir.path().join(SEED_REGISTRY_DIR).join("root.json"), "{}").unwrap();
        assert!(seed_registry(dir.path()).is_none(), "no key beside it");

        std::fs::write(dir.path().join(SEED_TRUST_FILE), "00").unwrap();
        let seed = seed_registry(dir.path()).unwrap();
        assert_eq!(seed.url, dir.path().join(SEED_REGISTRY_DIR).to_string_lossy());
        assert_eq!(seed.trust.as_deref(), Some(&*dir.path().join(SEED_TRUST_FILE).to_string_lossy()));
        assert!(seed.trusted);
    }
}
