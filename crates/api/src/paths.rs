use std::path::PathBuf;

use crate::ApiError;

/// The cache directory: `AUGMENT_CACHE_DIR` if set, else the platform's cache
/// directory (`~/.cache/augment-it` on Linux).
pub fn default_cache_dir() -> Result<PathBuf, ApiError> {
    if let Some(dir) = std::env::var_os("AUGMENT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "augment-it")
        .map(|dirs| dirs.cache_dir().to_path_buf())
        .ok_or(ApiError::NoCacheDir)
}
