//! Images built locally from prebuilt static binaries, so `up` never pulls:
//! the build context is a tar of `docker/Dockerfile.prebuilt` and the binary.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use bollard::query_parameters::{BuildImageOptions, TagImageOptions};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::{Engine, LABEL_MANAGED, LABEL_VERSION, StackDefinition, StackError, VERSION};

/// `docker/Dockerfile.prebuilt`, compiled in.
pub const PREBUILT_DOCKERFILE: &str = include_str!("../../../docker/Dockerfile.prebuilt");

/// The repository part of every image the stack builds.
pub const IMAGE_PREFIX: &str = "augment-it/";

/// Where an installed package keeps the service binaries, from the folder of
/// its executables (`/usr/bin` → `/usr/lib/Augment-It/stack-bin`; the Tauri
/// bundler's resource folder, filled by `cargo xtask dist`).
pub const PACKAGED_BIN_DIR: &str = "../lib/Augment-It/stack-bin";

/// Where the service binaries are (see [`crate::locate_binaries`]), probed
/// with `first_binary`: `AUGMENT_STACK_BIN_DIR` if set, else the folder of
/// the running executable when it holds them, else an installed package's
/// [`PACKAGED_BIN_DIR`], else this checkout's static release folder.
pub fn default_bin_dir(first_binary: &str) -> PathBuf {
    crate::binaries::locate(first_binary, None).dir
}

/// The folder of `definition`'s service binaries: `given` (a launch flag)
/// when there is one, else [`default_bin_dir`], probed with the first
/// service's binary. [`crate::locate_binaries`] also says how it was found.
pub fn bin_dir(definition: &StackDefinition, given: Option<PathBuf>) -> PathBuf {
    crate::locate_binaries(definition, given).dir
}

/// A binary checked to be a static Linux executable, with its content hash.
#[derive(Debug, Clone)]
pub struct Binary {
    pub path: PathBuf,
    pub name: String,
    /// sha256 of the file: images are tagged with it, so a rebuilt binary
    /// gets a new image and an unchanged one is never rebuilt.
    pub sha256: String,
}

impl Binary {
    /// Checks `dir/name` and hashes it.
    pub fn open(dir: &Path, name: &str) -> Result<Self, StackError> {
        let path = dir.join(name);
        let problem = |reason: &str| StackError::Binary { path: path.clone(), reason: reason.to_owned() };
        if !path.is_file() {
            return Err(problem("the service binary was not found"));
        }
        match is_static(&path) {
            Ok(true) => {}
            Ok(false) => {
                return Err(problem("the service binary is dynamically linked and cannot run in a FROM scratch image"));
            }
            Err(_) => return Err(problem("the service binary is not a Linux executable")),
        }
        let mut file =
            std::fs::File::open(&path).map_err(|e| problem(&format!("the service binary cannot be read ({e})")))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let read =
                file.read(&mut buffer).map_err(|e| problem(&format!("the service binary cannot be read ({e})")))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(Binary { path, name: name.to_owned(), sha256: hex::encode(hasher.finalize()) })
    }

    /// `augment-it/<name>:<first 12 hex digits of the hash>`.
    pub fn image_tag(&self) -> String {
        format!("{IMAGE_PREFIX}{}:{}", self.name, &self.sha256[..12])
    }

    /// `augment-it/<name>:<this program's version>`, a second tag on the
    /// same image, so `docker images` shows which release it belongs to.
    pub fn version_tag(&self) -> String {
        format!("{IMAGE_PREFIX}{}:{VERSION}", self.name)
    }
}

/// Whether `path` is an ELF executable without a program interpreter (a
/// dynamic loader), i.e. one that runs with nothing else in the image.
/// `Err` when it is not ELF at all.
pub fn is_static(path: &Path) -> std::io::Result<bool> {
    let mut header = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)?.take(64 * 1024).read_to_end(&mut header)?;
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a 64-bit ELF file");
    if header.len() < 64 || &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Err(invalid());
    }
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(header[0x20..0x28].try_into().map_err(|_| invalid())?) as usize;
    let phentsize = u16_at(0x36);
    let phnum = u16_at(0x38);
    const PT_INTERP: u32 = 3;
    for index in 0..phnum {
        let at = phoff + index * phentsize;
        let Some(entry) = header.get(at..at + 4) else {
            return Err(invalid());
        };
        if u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) == PT_INTERP {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Builds the image for `binary` (labelled [`LABEL_VERSION`] with this
/// program's version) unless the engine already has it, and points the version
/// tag ([`Binary::version_tag`]) at it; returns its content tag.
pub async fn ensure_image(engine: &Engine, binary: &Binary) -> Result<String, StackError> {
    let tag = binary.image_tag();
    let buildargs = HashMap::from([("BINARY".to_owned(), binary.name.clone())]);
    ensure_built(engine, &tag, &binary.version_tag(), buildargs, || build_context(binary)).await?;
    Ok(tag)
}

/// [`ensure_image`] for a tool image ([`crate::monitoring::ToolBuild`]).
pub async fn ensure_tool_image(engine: &Engine, build: &crate::monitoring::ToolBuild) -> Result<String, StackError> {
    ensure_built(engine, &build.tag, &build.version_tag, HashMap::new(), || Ok(build.context.clone())).await?;
    Ok(build.tag.clone())
}

/// Builds `tag` from `context` unless this version already built it, then
/// points `version_tag` at it.
async fn ensure_built(
    engine: &Engine,
    tag: &str,
    version_tag: &str,
    buildargs: HashMap<String, String>,
    context: impl FnOnce() -> Result<Vec<u8>, StackError>,
) -> Result<(), StackError> {
    let present = engine.docker.inspect_image(tag).await.ok();
    let version = present.as_ref().and_then(|i| i.config.as_ref()?.labels.as_ref()?.get(LABEL_VERSION).cloned());
    if version.as_deref() == Some(VERSION) {
        tracing::debug!(%tag, "image present");
    } else {
        // Absent, or made by another version from the same files: building
        // a `FROM scratch` image from local files takes a moment.
        build_image(engine, context()?, buildargs, tag).await?;
    }
    let (repo, version) = version_tag.rsplit_once(':').unwrap_or((version_tag, VERSION));
    let options = TagImageOptions { repo: Some(repo.to_owned()), tag: Some(version.to_owned()) };
    engine.docker.tag_image(tag, Some(options)).await.map_err(|e| StackError::Build {
        image: version_tag.to_owned(),
        reason: format!("tagging {tag} failed: {}", crate::engine::root_cause(&e)),
    })?;
    Ok(())
}

async fn build_image(
    engine: &Engine,
    context: Vec<u8>,
    buildargs: HashMap<String, String>,
    tag: &str,
) -> Result<(), StackError> {
    let tag = tag.to_owned();
    tracing::info!(%tag, "building image");
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".to_owned(),
        t: Some(tag.clone()),
        rm: true,
        forcerm: true,
        buildargs: Some(buildargs),
        labels: Some(HashMap::from([
            (LABEL_MANAGED.to_owned(), "true".to_owned()),
            (LABEL_VERSION.to_owned(), VERSION.to_owned()),
        ])),
        ..Default::default()
    };
    let mut stream = engine.docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail {
                    return Err(StackError::Build {
                        image: tag,
                        reason: detail.message.unwrap_or_else(|| "no reason given".to_owned()),
                    });
                }
                if let Some(line) = info.stream.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                    tracing::debug!(image = %tag, "{line}");
                }
            }
            Err(err) => {
                return Err(StackError::Build { image: tag, reason: crate::engine::root_cause(&err) });
            }
        }
    }
    // Some engines report failures only by not producing the image.
    engine.docker.inspect_image(&tag).await.map_err(|e| StackError::Build {
        image: tag.clone(),
        reason: format!("the engine reported no error but has no image: {}", crate::engine::root_cause(&e)),
    })?;
    Ok(())
}

/// A tar with `Dockerfile` and the binary, owned by root and executable by all.
fn build_context(binary: &Binary) -> Result<Vec<u8>, StackError> {
    let io = |action: &str| {
        let action = action.to_owned();
        move |source| StackError::Io { action, source }
    };
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(PREBUILT_DOCKERFILE.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "Dockerfile", PREBUILT_DOCKERFILE.as_bytes())
        .map_err(io("writing the build context"))?;
    let file = std::fs::File::open(&binary.path).map_err(io(&format!("reading {}", binary.path.display())))?;
    let size = file.metadata().map_err(io(&format!("reading {}", binary.path.display())))?.len();
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, &binary.name, file).map_err(io("writing the build context"))?;
    tar.into_inner().map_err(io("writing the build context"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_bin_dir_wins_over_the_default() {
        let definition = StackDefinition::built_in().expect("docker/stack.toml is valid");
        let given = PathBuf::from("/opt/augment/bin");
        assert_eq!(bin_dir(&definition, Some(given.clone())), given);
        let first = &definition.services[0].binary;
        assert_eq!(bin_dir(&definition, None), default_bin_dir(first), "probed with the first service's binary");
    }
}
