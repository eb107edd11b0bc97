//! What the stack is made of: services, their binaries, ports, environment,
//! health checks and dependencies, read from `docker/stack.toml` (built in)
//! or any file in the same format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::StackError;

/// The definition compiled into the binary: `docker/stack.toml`.
pub const BUILT_IN: &str = include_str!("../../../docker/stack.toml");

/// A whole stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackDefinition {
    /// Names the network, prefixes container and volume names, and is the
    /// value of the `it.augment.stack` label on everything the stack creates.
    pub name: String,
    /// The services, in any order (dependencies decide the start order).
    #[serde(rename = "services")]
    pub services: Vec<ServiceDefinition>,
}

/// One service: a static binary run in an image of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// Also its DNS name on the stack's network (`http://parsers:8081`).
    pub name: String,
    /// The static executable in the binaries folder.
    pub binary: String,
    /// The port the service listens on inside its container.
    pub port: u16,
    /// The port published on 127.0.0.1 (never on other interfaces).
    pub host_port: u16,
    /// The path polled over loopback until it answers 2xx.
    #[serde(default = "default_health")]
    pub health: String,
    /// How long `up` waits for the health check to pass.
    #[serde(default = "default_health_timeout_secs")]
    pub health_timeout_secs: u64,
    /// Environment of the container.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Variables copied from the caller's environment when set there (for
    /// provider keys: they are passed, never written to the definition or logged).
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// A host folder mounted read-only, named by the caller's environment:
    /// how provider keys reach the connector (one file per provider), so no
    /// key sits in the container's environment for `docker inspect` to show.
    #[serde(default)]
    pub secret_dir: Option<SecretDir>,
    /// Named volumes, `name:/path/in/container`; each becomes a labelled volume `<stack>-<name>`.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// Services that must be healthy before this one starts.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Arguments after the binary.
    #[serde(default)]
    pub args: Vec<String>,
    /// The container's memory limit, in MiB (no swap on top of it).
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// The most processes and threads the container may run.
    #[serde(default = "default_pids_limit")]
    pub pids_limit: u32,
    /// The profiles that start this service (`augment stack up --profile
    /// monitoring`); none: it always starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Environment added when a profile is asked for (`{ monitoring = {
    /// SIDECAR_ADMIN_LISTEN = "0.0.0.0:9080" } }`): the gateway and connector
    /// get the admin port Prometheus scrapes only with the monitoring
    /// profile, so without it their `/metrics` stays on the published port
    /// (behind the stack token), where the app's Admin Dashboard reads it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profile_env: BTreeMap<String, BTreeMap<String, String>>,
    /// An image built from a tool installed on this machine instead of from
    /// the service binary `binary` (which then only names the tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ToolImage>,
    /// The port in the container whose `/metrics` Prometheus scrapes, when
    /// not `port` (an admin port that needs no token, `SIDECAR_ADMIN_LISTEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<u16>,
    /// Writable in-memory folders in the otherwise read-only root, owned by
    /// the image's user (65532); gone when the container is removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
}

/// The images the stack builds from tools on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolImage {
    /// The Debian package's `prometheus` (found as [`crate::locate_prometheus`]
    /// says) with the shared libraries it needs, scraping every service of
    /// the stack (`crate::monitoring`).
    Prometheus,
}

/// A read-only bind mount of the folder `$env` (when set) at `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDir {
    /// The caller's variable naming the host folder, e.g. `AUGMENT_STACK_KEYS_DIR`.
    pub env: String,
    /// Where the folder appears in the container, e.g. `/run/secrets/augment`.
    pub path: String,
}

fn default_health() -> String {
    "/health".to_owned()
}

fn default_health_timeout_secs() -> u64 {
    30
}

/// A guard against a runaway, not a budget: the parsers service holds a
/// whole document (64 MiB by default) and what it parses into.
fn default_memory_mb() -> u64 {
    1024
}

/// Tokio's workers and blocking pool (at most 512 threads) fit; a fork or
/// thread bomb does not.
fn default_pids_limit() -> u32 {
    1024
}

impl ServiceDefinition {
    pub fn health_timeout(&self) -> Duration {
        Duration::from_secs(self.health_timeout_secs)
    }

    /// Whether it starts when `profiles` are asked for: always without
    /// profiles of its own, else when one of them is asked for.
    pub fn starts_with(&self, profiles: &[String]) -> bool {
        self.profiles.is_empty() || self.profiles.iter().any(|p| profiles.contains(p))
    }

    /// Where Prometheus scrapes it: `metrics_port`, else `port`.
    pub fn scrape_port(&self) -> u16 {
        self.metrics_port.unwrap_or(self.port)
    }

    /// `(volume name without the stack prefix, path in the container)`.
    pub fn volume_mounts(&self) -> Vec<(&str, &str)> {
        self.volumes.iter().filter_map(|v| v.split_once(':')).collect()
    }
}

impl StackDefinition {
    /// The built-in definition (`docker/stack.toml`).
    pub fn built_in() -> Result<Self, StackError> {
        Self::parse(BUILT_IN, "docker/stack.toml (built in)")
    }

    /// Reads and checks a definition file.
    pub fn from_file(path: &Path) -> Result<Self, StackError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| StackError::DefinitionRead { path: path.to_owned(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a definition; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, StackError> {
        let definition: StackDefinition = toml::from_str(text)
            .map_err(|e| StackError::Definition { origin: origin.to_owned(), reason: e.to_string() })?;
        definition.validate().map_err(|reason| StackError::Definition { origin: origin.to_owned(), reason })?;
        Ok(definition)
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceDefinition> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Service names, in definition order.
    pub fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name.clone()).collect()
    }

    /// Every profile a service names, sorted.
    pub fn profiles(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self.services.iter().flat_map(|s| &s.profiles).collect();
        all.into_iter().cloned().collect()
    }

    /// The stack as it runs with `profiles`: the services without profiles,
    /// and those of the profiles asked for. An unknown profile is an error
    /// naming the known ones.
    pub fn with_profiles(&self, profiles: &[String]) -> Result<StackDefinition, StackError> {
        let known = self.profiles();
        if let Some(unknown) = profiles.iter().find(|p| !known.contains(p)) {
            return Err(StackError::UnknownProfile { stack: self.name.clone(), profile: unknown.clone(), known });
        }
        let services = self
            .services
            .iter()
            .filter(|s| s.starts_with(profiles))
            .map(|s| {
                let mut service = s.clone();
                for profile in profiles {
                    if let Some(env) = s.profile_env.get(profile) {
                        service.env.extend(env.clone());
                    }
                }
                service
            })
            .collect();
        Ok(StackDefinition { name: self.name.clone(), services })
    }

    /// Services grouped so each group depends only on earlier groups: the
    /// services of one group start together.
    pub fn start_order(&self) -> Vec<Vec<&ServiceDefinition>> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut levels = Vec::new();
        while done.len() < self.services.len() {
            let level: Vec<&ServiceDefinition> = self
                .services
                .iter()
                .filter(|s| !done.contains(s.name.as_str()))
                .filter(|s| s.depends_on.iter().all(|d| done.contains(d.as_str())))
                .collect();
            if level.is_empty() {
                // validate() refuses cycles; stop rather than loop forever.
                break;
            }
            done.extend(level.iter().map(|s| s.name.as_str()));
            levels.push(level);
        }
        levels
    }

    /// Checks names, ports, dependencies and volumes.
    pub fn validate(&self) -> Result<(), String> {
        check_name("the stack name", &self.name)?;
        if self.services.is_empty() {
            return Err("it has no services".to_owned());
        }
        let mut names = BTreeSet::new();
        let mut ports = BTreeMap::new();
        for service in &self.services {
            check_name("a service name", &service.name)?;
            if !names.insert(service.name.as_str()) {
                return Err(format!("the service `{}` appears twice", service.name));
            }
            for profile in &service.profiles {
                check_name(&format!("{}: the profile", service.name), profile)?;
            }
            for path in &service.tmpfs {
                if !path.starts_with('/') || path == "/" {
                    return Err(format!("{}: tmpfs `{path}` must be an absolute path below /", service.name));
                }
            }
            if service.metrics_port == Some(0) {
                return Err(format!("{}: `metrics_port` must not be 0", service.name));
            }
            if service.binary.is_empty() || service.binary.contains(['/', '\\']) || service.binary.starts_with('.') {
                return Err(format!("{}: `binary` must be a plain file name, not `{}`", service.name, service.binary));
            }
            if service.port == 0 || service.host_port == 0 {
                return Err(format!("{}: `port` and `host_port` must not be 0", service.name));
            }
            if let Some(other) = ports.insert(service.host_port, service.name.as_str()) {
                return Err(format!("{} and {} both publish host port {}", other, service.name, service.host_port));
            }
            if service.memory_mb < 16 || service.pids_limit < 16 {
                return Err(format!("{}: `memory_mb` and `pids_limit` must be at least 16", service.name));
            }
            if !service.health.starts_with('/') {
                return Err(format!("{}: `health` must be a path starting with /", service.name));
            }
            if let Some(secret) = &service.secret_dir
                && (secret.env.is_empty() || !secret.path.starts_with('/'))
            {
                return Err(format!("{}: `secret_dir` needs an `env` name and an absolute `path`", service.name));
            }
            for volume in &service.volumes {
                let valid = volume
                    .split_once(':')
                    .is_some_and(|(name, path)| check_name("", name).is_ok() && path.starts_with('/'));
                if !valid {
                    return Err(format!("{}: volume `{volume}` must be name:/absolute/path", service.name));
                }
            }
        }
        let known = self.profiles();
        for service in &self.services {
            if let Some(unknown) = service.profile_env.keys().find(|p| !known.contains(p)) {
                return Err(format!(
                    "{}: `profile_env` names `{unknown}`, which no service has as a profile",
                    service.name
                ));
            }
            for dependency in &service.depends_on {
                let Some(needed) = self.service(dependency) else {
                    return Err(format!(
                        "{} depends on `{dependency}`, which is not a service of this stack",
                        service.name
                    ));
                };
                // Whenever the service starts, what it needs must start too.
                let always = service.profiles.is_empty() && !needed.profiles.is_empty();
                if always || !service.profiles.iter().all(|p| needed.starts_with(std::slice::from_ref(p))) {
                    return Err(format!(
                        "{} depends on `{dependency}`, which does not start with every profile {} starts with",
                        service.name, service.name
                    ));
                }
            }
        }
        let ordered: usize = self.start_order().iter().map(Vec::len).sum();
        if ordered != self.services.len() {
            return Err("the dependencies form a cycle".to_owned());
        }
        Ok(())
    }
}

/// Names become container, network and DNS names: keep to what all allow.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!("{what} `{name}` must be 1 to 40 lowercase letters, digits and dashes, starting with a letter"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_definition_is_valid_and_starts_the_gateway_last() {
        let definition = StackDefinition::built_in().expect("docker/stack.toml is valid");
        let order: Vec<Vec<&str>> =
            definition.start_order().iter().map(|level| level.iter().map(|s| s.name.as_str()).collect()).collect();
        assert!(order.iter().flatten().position(|s| *s == "gateway") > Some(0), "{order:?}");
        let plain = definition.with_profiles(&[]).expect("no profile");
        assert_eq!(plain.service_names(), ["parsers", "connector", "gateway"], "plain `up` is unchanged");
        // Without the profile no admin port: /metrics stays on the published
        // port, where the app's Admin Dashboard reads it with the stack token.
        assert!(plain.services.iter().all(|s| !s.env.contains_key("SIDECAR_ADMIN_LISTEN")), "{plain:?}");
    }

    /// Issue 18, point 5: `--profile monitoring` adds Prometheus, plain `up`
    /// leaves it out, and an unknown profile says which ones exist.
    #[test]
    fn point_5_the_monitoring_profile_adds_prometheus_only_when_asked_for() {
        let definition = StackDefinition::built_in().expect("built in");
        assert_eq!(definition.profiles(), ["monitoring"]);
        let monitoring = definition.with_profiles(&["monitoring".to_owned()]).expect("known profile");
        assert_eq!(monitoring.service_names(), ["parsers", "connector", "gateway", "prometheus"]);
        let prometheus = monitoring.service("prometheus").expect("prometheus");
        assert_eq!(prometheus.image, Some(ToolImage::Prometheus));
        let err = definition.with_profiles(&["monitorin".to_owned()]).expect_err("typo");
        assert!(err.to_string().contains("monitoring"), "names the known profiles: {err}");
        // A service that always starts cannot need one that starts only with a profile.
        let err = with(|d| {
            let gateway = d.services.iter().position(|s| s.name == "gateway").expect("gateway");
            d.services[gateway].depends_on.push("prometheus".into());
        })
        .expect_err("always-on service depends on a profiled one");
        assert!(err.contains("does not start with every profile"), "{err}");
    }

    fn with(edit: impl FnOnce(&mut StackDefinition)) -> Result<(), String> {
        let mut definition = StackDefinition::built_in().expect("built in");
        edit(&mut definition);
        definition.validate()
    }

    #[test]
    fn refuses_what_would_break_at_run_time() {
        type Edit = Box<dyn FnOnce(&mut StackDefinition)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|d| d.name = "Bad Name".into()), "the stack name"),
            (Box::new(|d| d.services[1].host_port = d.services[0].host_port), "both publish host port"),
            (Box::new(|d| d.services[0].depends_on = vec!["nope".into()]), "not a service"),
            (
                Box::new(|d| {
                    let gateway = d.services.iter().position(|s| s.name == "gateway").expect("gateway");
                    d.services[0].depends_on = vec!["gateway".into()];
                    let first = d.services[0].name.clone();
                    d.services[gateway].depends_on.push(first);
                }),
                "cycle",
            ),
            (Box::new(|d| d.services[0].binary = "../etc/passwd".into()), "plain file name"),
            (Box::new(|d| d.services[0].volumes = vec!["data".into()]), "name:/absolute/path"),
            (Box::new(|d| d.services.push(d.services[0].clone())), "appears twice"),
        ];
        for (edit, expected) in cases {
            let err = with(edit).expect_err(expected);
            assert!(err.contains(expected), "expected `{expected}` in: {err}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_so_typos_do_not_pass_silently() {
        let err = StackDefinition::parse(
            "name = \"s\"\n[[services]]\nname = \"a\"\nbinary = \"a\"\nport = 1\nhost_port = 2\nhelth = \"/x\"\n",
            "test",
        )
        .expect_err("typo");
        assert!(err.to_string().contains("helth"), "{err}");
    }
}
