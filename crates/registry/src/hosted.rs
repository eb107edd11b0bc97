//! The hosted registry's wire formats, shared by its server
//! (`registry-server`) and its clients (`augment publish --registry https://…`,
//! `augment registry token … --registry https://…`), so a client needs no
//! server code: the publish upload and a token as the admin API lists it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A token as listed: its public id and scope, never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub remotes: Vec<String>,
    pub admin: bool,
    pub created: Timestamp,
    #[serde(default)]
    pub description: Option<String>,
}

/// Packs a remote folder as a gzipped tar, the upload `read_bundle` takes.
/// Symlinks and special files are refused here already, so a publisher
/// learns before uploading.
pub fn pack_dir(dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    let mut files = Vec::new();
    while let Some((folder, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} has a name that is not UTF-8", entry.path().display()),
                )
            })?;
            let path = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
            if kind.is_symlink() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is a symbolic link: replace it with the file it points to", entry.path().display()),
                ));
            } else if kind.is_dir() {
                pending.push((entry.path(), path));
            } else if kind.is_file() {
                files.push((entry.path(), path));
            } else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is neither a file nor a folder", entry.path().display()),
                ));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    for (full, path) in files {
        let mut file = std::fs::File::open(&full)?;
        builder.append_file(&path, &mut file)?;
    }
    builder.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn a_folder_packs_as_a_sorted_gzipped_tar_and_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("remote.json"), "{}").unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app.js"), "x").unwrap();
        let packed = pack_dir(dir.path()).unwrap();
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice()).read_to_end(&mut tar).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let paths: Vec<String> =
            archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(paths, ["assets/app.js", "remote.json"]);

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
            let err = pack_dir(dir.path()).unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
    }
}
