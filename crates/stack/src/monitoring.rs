//! The `monitoring` profile's Prometheus (issue 18, point 5): an image
//! built here from the Debian package's `prometheus` binary, the shared
//! libraries it links (it is a cgo build: libc and the dynamic loader), a
//! configuration made from the stack definition and the alert rules of
//! `docker/prometheus/alerts.yml`. Nothing is pulled.
//!
//! ```text
//! AUGMENT_PROMETHEUS_BIN | /usr/bin/prometheus | <checkout>/target/tools/prometheus/usr/bin/prometheus
//!   └─▶ tar context: Dockerfile, rootfs/bin/prometheus, rootfs/<each library ldd names>,
//!       rootfs/etc/prometheus/{prometheus.yml, alerts.yml}
//!         └─▶ augment-it/prometheus:<sha256 of the context, 12 digits>
//! ```
//!
//! The tag is the context's hash, so a changed definition (another service
//! to scrape), rule file or binary makes a new image and `up` recreates the
//! container; an unchanged one is never rebuilt.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{IMAGE_PREFIX, ServiceDefinition, StackDefinition, StackError, ToolImage, VERSION};

/// The alert rules every stack Prometheus loads, compiled in.
pub const ALERT_RULES: &str = include_str!("../../../docker/prometheus/alerts.yml");

/// The variable naming a `prometheus` binary to use instead of the installed one.
pub const PROMETHEUS_ENV: &str = "AUGMENT_PROMETHEUS_BIN";

/// How often the stack's Prometheus scrapes and evaluates its rules: short,
/// so a new stack shows data (and its test sees every target up) within seconds.
pub const SCRAPE_INTERVAL: &str = "2s";

/// Where the image's files go, and what its Dockerfile copies.
const CONFIG_PATH: &str = "etc/prometheus/prometheus.yml";
const RULES_PATH: &str = "etc/prometheus/alerts.yml";

const DOCKERFILE: &str = "\
# Made by augment's stack (crates/stack/src/monitoring.rs): the Debian
# package's prometheus, its shared libraries, config and rules.
FROM scratch
COPY rootfs/ /
USER 65532:65532
ENTRYPOINT [\"/bin/prometheus\"]
";

/// The `prometheus` binary to build the image from: [`PROMETHEUS_ENV`] when
/// set, else the installed Debian package's `/usr/bin/prometheus`, else the
/// copy `cargo xtask setup` extracts into this checkout's
/// `target/tools/prometheus`; a clear error saying what to install otherwise.
pub fn locate_prometheus() -> Result<PathBuf, StackError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(given) = std::env::var_os(PROMETHEUS_ENV).filter(|v| !v.is_empty()) {
        // Chosen by the caller: that one or an error, never a silent fallback.
        candidates.push(PathBuf::from(given));
    } else {
        candidates.push(PathBuf::from("/usr/bin/prometheus"));
        if let Some(workspace) = crate::checkout_root(Path::new(env!("CARGO_MANIFEST_DIR"))) {
            candidates.push(tools_binary(&workspace));
        }
    }
    candidates.iter().find(|path| path.is_file()).cloned().ok_or_else(|| StackError::ToolMissing {
        tool: "prometheus (for the monitoring profile)".to_owned(),
        tried: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        remedy: format!(
            "install the Debian package with `sudo apt-get install prometheus` (its service need not run), run \
             `cargo xtask setup` in a checkout, or set {PROMETHEUS_ENV} to a prometheus binary"
        ),
    })
}

/// Where `cargo xtask setup` extracts the Debian package in a checkout.
pub fn tools_binary(workspace: &Path) -> PathBuf {
    workspace.join("target/tools/prometheus/usr/bin/prometheus")
}

/// Prometheus's configuration for `definition` (the services that run):
/// one job per service, named after it, scraping `/metrics` on its
/// [`ServiceDefinition::scrape_port`] by its name on the stack's network,
/// itself included; the rules file; [`SCRAPE_INTERVAL`]. JSON, which is
/// YAML, so no YAML writer is needed.
pub fn prometheus_config(definition: &StackDefinition) -> String {
    let jobs: Vec<serde_json::Value> = definition
        .services
        .iter()
        .map(|service| {
            let target = match service.image {
                // Itself, on its own loopback.
                Some(ToolImage::Prometheus) => format!("localhost:{}", service.scrape_port()),
                None => format!("{}:{}", service.name, service.scrape_port()),
            };
            serde_json::json!({
                "job_name": service.name,
                "metrics_path": "/metrics",
                // No label naming the stack: the image then depends only on
                // the services, so stacks of the same shape share one.
                "static_configs": [{ "targets": [target] }],
            })
        })
        .collect();
    let config = serde_json::json!({
        "global": { "scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL },
        "rule_files": [format!("/{RULES_PATH}")],
        "scrape_configs": jobs,
    });
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// A tool image ready to build: its tag and build context.
#[derive(Debug, Clone)]
pub struct ToolBuild {
    pub tag: String,
    pub version_tag: String,
    pub context: Vec<u8>,
}

/// The build context and tags of `service`'s tool image in `definition`.
/// Runs before anything changes, so a missing tool refuses `up` cleanly.
pub fn tool_build(definition: &StackDefinition, service: &ServiceDefinition) -> Result<ToolBuild, StackError> {
    let Some(ToolImage::Prometheus) = service.image else {
        return Err(StackError::Io {
            action: format!("{} has no tool image", service.name),
            source: std::io::Error::other("not a tool service"),
        });
    };
    let binary = locate_prometheus()?;
    let libraries = shared_libraries(&binary)?;
    let io = |action: String| move |source| StackError::Io { action, source };
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, path, data).map_err(io("writing the prometheus build context".to_owned()))
    };
    add("Dockerfile", 0o644, DOCKERFILE.as_bytes())?;
    let read = |path: &Path| std::fs::read(path).map_err(io(format!("reading {}", path.display())));
    add("rootfs/bin/prometheus", 0o755, &read(&binary)?)?;
    for library in &libraries {
        // At the path the loader and the binary name it; symlinks resolved by reading.
        let inside = format!("rootfs{}", library.display());
        add(&inside, 0o755, &read(library)?)?;
    }
    add(&format!("rootfs/{CONFIG_PATH}"), 0o644, prometheus_config(definition).as_bytes())?;
    add(&format!("rootfs/{RULES_PATH}"), 0o644, ALERT_RULES.as_bytes())?;
    let context = tar.into_inner().map_err(io("writing the prometheus build context".to_owned()))?;
    let digest = hex::encode(Sha256::digest(&context));
    Ok(ToolBuild {
        tag: format!("{IMAGE_PREFIX}{}:{}", service.binary, &digest[..12]),
        version_tag: format!("{IMAGE_PREFIX}{}:{VERSION}", service.binary),
        context,
    })
}

/// The shared libraries `binary` loads, dynamic loader included, as `ldd`
/// (glibc's, always there where the Debian package is) lists them; none
/// for a static binary. `ldd` rather than reading the ELF ourselves: it
/// applies the loader's own search rules, so the paths are the ones used.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, StackError> {
    let output = Command::new("ldd").arg(binary).output().map_err(|source| StackError::Io {
        action: format!("running ldd on {} (the libc-bin package provides it)", binary.display()),
        source,
    })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // "not a dynamic executable": nothing to add.
        return Ok(Vec::new());
    }
    Ok(parse_ldd(&text))
}

/// The absolute paths in `ldd`'s output (`libc.so.6 => /lib/…/libc.so.6 (0x…)`
/// and `/lib64/ld-linux-x86-64.so.2 (0x…)`), skipping the kernel's vDSO.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = line.split_once("=>").map_or(line, |(_, after)| after.trim());
            let path = path.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_the_libraries_and_the_loader_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            [PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"), PathBuf::from("/lib64/ld-linux-x86-64.so.2")]
        );
    }

    /// Every service of the monitoring profile is scraped by its name on the
    /// stack network, on its admin port where it has one (the gateway's and
    /// connector's main ports need the stack token), Prometheus itself too.
    #[test]
    fn point_5_the_config_scrapes_every_service_of_the_stack() {
        let definition =
            StackDefinition::built_in().and_then(|d| d.with_profiles(&["monitoring".to_owned()])).expect("built in");
        let config: serde_json::Value = serde_json::from_str(&prometheus_config(&definition)).expect("JSON");
        let targets: Vec<(String, String)> = config["scrape_configs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|job| {
                (job["job_name"].as_str().unwrap_or("").to_owned(), job["static_configs"][0]["targets"][0].to_string())
            })
            .collect();
        let expected = [
            ("parsers", "\"parsers:8081\""),
            ("connector", "\"connector:9082\""),
            ("gateway", "\"gateway:9080\""),
            ("prometheus", "\"localhost:9090\""),
        ];
        assert_eq!(targets, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
        assert_eq!(config["rule_files"][0], "/etc/prometheus/alerts.yml");
        for (service, port) in [("connector", "9082"), ("gateway", "9080")] {
            let env = &definition.service(service).expect("service").env;
            assert_eq!(env.get("SIDECAR_ADMIN_LISTEN").map(String::as_str), Some(&*format!("0.0.0.0:{port}")));
        }
    }
}
