use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use crate::error::RegistryError;

/// Where a registry tree lives: a local folder or an HTTP(S) base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrySource {
    /// An absolute folder path (from `file:///…` or a plain path).
    Folder(PathBuf),
    /// A base URL ending in `/`, so documents resolve beneath it.
    Http(Url),
}

impl RegistrySource {
    /// Parses `file:///abs/path`, a plain path (relative paths are made
    /// absolute against the current directory), `http://…` or `https://…`.
    /// Other schemes are refused, and so are URLs carrying credentials,
    /// a query or a fragment: the location is logged and shown to users, so
    /// it must not hold secrets, and a registry is a plain folder of files.
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        let unsupported =
            |reason: &str| RegistryError::UnsupportedSource { input: input.to_owned(), reason: reason.to_owned() };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(unsupported("it is empty"));
        }
        let Some((scheme, _)) = trimmed.split_once("://") else {
            let path = std::path::absolute(Path::new(trimmed))
                .map_err(|err| unsupported(&format!("the path cannot be made absolute ({err})")))?;
            return Ok(Self::Folder(path));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                let url = Url::parse(trimmed).map_err(|err| unsupported(&format!("it is not a valid URL ({err})")))?;
                let path = url.to_file_path().map_err(|()| {
                    unsupported("a file:// URL must name an absolute local path, e.g. file:///srv/registry")
                })?;
                Ok(Self::Folder(path))
            }
            "http" | "https" => {
                let mut url =
                    Url::parse(trimmed).map_err(|err| unsupported(&format!("it is not a valid URL ({err})")))?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(unsupported("the URL has no host"));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(unsupported("the URL carries credentials, which would end up in logs; remove them"));
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(unsupported("a registry URL is a folder; remove the query or fragment"));
                }
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                Ok(Self::Http(url))
            }
            other => Err(unsupported(&format!("the scheme {other:?} is not supported"))),
        }
    }

    /// The URL of a document inside the registry, for messages and logs.
    pub fn url_of(&self, path: &str) -> String {
        match self {
            Self::Folder(root) => {
                let full = folder_file(root, path);
                Url::from_file_path(&full).map(String::from).unwrap_or_else(|()| full.display().to_string())
            }
            Self::Http(base) => base.join(path).map(String::from).unwrap_or_else(|_| format!("{base}{path}")),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Self::Folder(_))
    }
}

impl fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Folder(root) => match Url::from_directory_path(root) {
                Ok(url) => write!(f, "{url}"),
                Err(()) => write!(f, "{}", root.display()),
            },
            Self::Http(url) => write!(f, "{url}"),
        }
    }
}

/// A registry-relative path ("remotes/a.json") as a path under `root`,
/// segment by segment so it works with either separator.
pub(crate) fn folder_file(root: &Path, path: &str) -> PathBuf {
    let mut full = root.to_path_buf();
    full.extend(path.split('/'));
    full
}
