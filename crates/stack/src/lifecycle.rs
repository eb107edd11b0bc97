//! `up`, `down`, `status` and `logs`, all driven by what the engine reports.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, ContainerSummary, EndpointSettings, HostConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions, LogsOptions,
    RemoveContainerOptions, RemoveVolumeOptions, RestartContainerOptions,
};
use futures_util::future::join_all;
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::images::{Binary, ensure_image};
use crate::{
    Engine, EngineKind, LABEL_CONFIG, LABEL_SERVICE, LABEL_STACK, ServiceDefinition, StackDefinition, StackError,
};

/// How long `up` gives an already running container to answer before it
/// counts as unhealthy and is restarted.
const RUNNING_GRACE: Duration = Duration::from_secs(5);
/// One health request's limit: loopback answers in milliseconds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Log lines quoted in an error about a failed service.
const LOG_TAIL: &str = "20";

/// The stack described by a definition, on one engine.
#[derive(Debug, Clone)]
pub struct Stack {
    engine: Engine,
    definition: StackDefinition,
    http: reqwest::Client,
}

/// Which engine a report came from.
#[derive(Debug, Clone, Serialize)]
pub struct EngineInfo {
    pub endpoint: String,
    pub kind: EngineKind,
    pub api_version: String,
}

/// What `up` did to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// It was running and healthy.
    Unchanged,
    /// There was no container.
    Created,
    /// The container existed but was stopped.
    Started,
    /// The container was running but not answering its health check.
    Restarted,
    /// The container was made from another image or other settings.
    Recreated,
}

/// One service after `up`.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceUp {
    pub service: String,
    pub action: Action,
    pub container: String,
    pub id: String,
    pub image: String,
    pub url: String,
}

/// The result of `up`: every service is healthy when it is returned.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub stack: String,
    pub engine: EngineInfo,
    pub network: String,
    pub services: Vec<ServiceUp>,
    pub elapsed_ms: u64,
}

/// The result of `down`: what was removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownReport {
    pub stack: String,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// A container's state as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Created,
    Exited,
    Paused,
    Restarting,
    Dead,
    Removing,
    /// No container exists for the service.
    Missing,
}

/// The loopback health check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Unhealthy,
    /// Not checked: the container is not running.
    Unknown,
}

/// One service as found on the engine.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub service: String,
    pub state: State,
    pub health: Health,
    pub container: Option<String>,
    pub id: Option<String>,
    pub image: Option<String>,
    pub url: Option<String>,
    pub exit_code: Option<i64>,
    /// Why the health check failed, when it did.
    pub detail: Option<String>,
}

/// The whole stack as found on the engine.
#[derive(Debug, Clone, Serialize)]
pub struct StackStatus {
    pub stack: String,
    pub engine: EngineInfo,
    pub network: Option<String>,
    pub services: Vec<ServiceStatus>,
    /// Every defined service is running and healthy.
    pub healthy: bool,
}

/// What `up` will do to one service, decided before anything changes.
#[derive(Debug)]
struct Plan<'a> {
    service: &'a ServiceDefinition,
    image: String,
    config_hash: String,
    env: Vec<String>,
    secret: Option<SecretMount>,
    existing: Option<Existing>,
    action: Action,
}

/// A service's `secret_dir`, resolved on the host before anything changes.
#[derive(Debug, Clone, Serialize)]
struct SecretMount {
    host: String,
    path: String,
    /// The folder owner's `uid:gid`, so files only its owner may read stay
    /// readable inside the container (root-owned folders keep the image's user).
    user: Option<String>,
}

#[derive(Debug, Clone)]
struct Existing {
    id: String,
    running: bool,
}

impl Stack {
    pub fn new(engine: Engine, definition: StackDefinition) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(PROBE_TIMEOUT)
            .build()
            // Only fails when the TLS backend cannot start; plain HTTP still works.
            .unwrap_or_default();
        Stack { engine, definition, http }
    }

    pub fn definition(&self) -> &StackDefinition {
        &self.definition
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn name(&self) -> &str {
        &self.definition.name
    }

    fn network_name(&self) -> String {
        self.definition.name.clone()
    }

    fn container_name(&self, service: &str) -> String {
        format!("{}-{service}", self.definition.name)
    }

    fn engine_info(&self) -> EngineInfo {
        EngineInfo {
            endpoint: self.engine.endpoint().to_owned(),
            kind: self.engine.kind(),
            api_version: self.engine.api_version().to_owned(),
        }
    }

    fn label_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_owned(), vec![format!("{LABEL_STACK}={}", self.definition.name)])])
    }

    fn labels(&self, service: Option<&str>) -> HashMap<String, String> {
        let mut labels = HashMap::from([(LABEL_STACK.to_owned(), self.definition.name.clone())]);
        if let Some(service) = service {
            labels.insert(LABEL_SERVICE.to_owned(), service.to_owned());
        }
        labels
    }

    /// Brings every service up and healthy, building missing images from the
    /// static binaries in `bin_dir`. Safe to repeat: see the crate docs.
    pub async fn up(&self, bin_dir: &Path) -> Result<UpReport, StackError> {
        let started = Instant::now();
        // Everything that can refuse comes first, so a refusal changes nothing.
        let binaries = self
            .definition
            .services
            .iter()
            .map(|s| Binary::open(bin_dir, &s.binary).map(|b| (s.name.clone(), b)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let existing = self.containers().await?;
        let mut plans = Vec::new();
        for service in &self.definition.services {
            let binary = &binaries[&service.name];
            let image = binary.image_tag();
            let env = self.environment(service);
            let secret = secret_mount(service)?;
            let config_hash = self.config_hash(service, &image, &env, secret.as_ref());
            let found = existing.get(&service.name).cloned();
            let action = match &found {
                None => Action::Created,
                Some((_, hash)) if hash != &config_hash => Action::Recreated,
                Some((container, _)) if container.running => Action::Unchanged,
                Some(_) => Action::Started,
            };
            plans.push(Plan {
                service,
                image,
                config_hash,
                env,
                secret,
                existing: found.map(|(container, _)| container),
                action,
            });
        }
        for plan in &plans {
            let holds_port = plan.existing.as_ref().is_some_and(|e| e.running);
            if !holds_port {
                check_port_free(&plan.service.name, plan.service.host_port)?;
            }
        }
        for plan in &plans {
            ensure_image(&self.engine, &binaries[&plan.service.name]).await?;
        }

        let network = self.ensure_network().await?;
        self.ensure_volumes().await?;
        let mut done = Vec::new();
        for level in self.definition.start_order() {
            let level_plans: Vec<&Plan> =
                plans.iter().filter(|p| level.iter().any(|s| s.name == p.service.name)).collect();
            let results = join_all(level_plans.into_iter().map(|plan| self.bring_up(plan))).await;
            for result in results {
                done.push(result?);
            }
        }
        Ok(UpReport {
            stack: self.name().to_owned(),
            engine: self.engine_info(),
            network,
            services: done,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Applies one service's plan and waits until it is healthy.
    async fn bring_up(&self, plan: &Plan<'_>) -> Result<ServiceUp, StackError> {
        let service = plan.service;
        let url = format!("http://127.0.0.1:{}{}", service.host_port, service.health);
        let mut action = plan.action;
        let id = match (&plan.existing, plan.action) {
            (Some(existing), Action::Unchanged) => {
                // Running: give it a moment (it may have just been started by
                // someone else), then restart it if it still does not answer.
                let grace = RUNNING_GRACE.min(service.health_timeout());
                if self.wait_healthy(service, &existing.id, &url, grace).await.is_err() {
                    tracing::info!(service = %service.name, "running but not healthy: restarting");
                    self.engine
                        .docker
                        .restart_container(
                            &existing.id,
                            Some(RestartContainerOptions { t: Some(5), ..Default::default() }),
                        )
                        .await
                        .map_err(|e| self.port_or_engine_error(service, "restarting a container", e))?;
                    action = Action::Restarted;
                }
                existing.id.clone()
            }
            (Some(existing), Action::Started) => {
                self.start(service, &existing.id).await?;
                existing.id.clone()
            }
            (existing, _) => {
                if let Some(old) = existing {
                    self.remove_container(&old.id).await?;
                }
                let id = self.create(plan).await?;
                self.start(service, &id).await?;
                id
            }
        };
        if action != Action::Unchanged {
            self.wait_healthy(service, &id, &url, service.health_timeout()).await?;
        }
        tracing::info!(service = %service.name, ?action, "healthy");
        Ok(ServiceUp {
            service: service.name.clone(),
            action,
            container: self.container_name(&service.name),
            id: short(&id),
            image: plan.image.clone(),
            url: format!("http://127.0.0.1:{}", service.host_port),
        })
    }

    async fn start(&self, service: &ServiceDefinition, id: &str) -> Result<(), StackError> {
        self.engine
            .docker
            .start_container(id, None)
            .await
            .map_err(|e| self.port_or_engine_error(service, "starting a container", e))
    }

    /// The engine's own "port is already allocated" (a race with another
    /// program since our check) is reported like the check's.
    fn port_or_engine_error(
        &self,
        service: &ServiceDefinition,
        action: &str,
        err: bollard::errors::Error,
    ) -> StackError {
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("port is already allocated") || text.contains("address already in use") {
            StackError::PortInUse { service: service.name.clone(), port: service.host_port }
        } else {
            self.engine.err(format!("{action} for {}", service.name), err)
        }
    }

    async fn create(&self, plan: &Plan<'_>) -> Result<String, StackError> {
        let service = plan.service;
        let port = format!("{}/tcp", service.port);
        let mut labels = self.labels(Some(&service.name));
        labels.insert(LABEL_CONFIG.to_owned(), plan.config_hash.clone());
        let body = ContainerCreateBody {
            image: Some(plan.image.clone()),
            env: Some(plan.env.clone()),
            cmd: (!service.args.is_empty()).then(|| service.args.clone()),
            exposed_ports: Some(vec![port]),
            labels: Some(labels),
            user: plan.secret.as_ref().and_then(|s| s.user.clone()),
            stop_timeout: Some(10),
            host_config: Some(host_config(&self.definition, service, plan.secret.as_ref())),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    self.network_name(),
                    EndpointSettings { aliases: Some(vec![service.name.clone()]), ..Default::default() },
                )])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions { name: Some(self.container_name(&service.name)), ..Default::default() };
        let created = self
            .engine
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.engine.err(format!("creating the {} container", service.name), e))?;
        Ok(created.id)
    }

    /// The container's environment: the definition's, plus `pass_env`
    /// variables that are set in ours. Values are never logged.
    fn environment(&self, service: &ServiceDefinition) -> Vec<String> {
        let mut env: BTreeMap<String, String> = service.env.clone();
        for name in &service.pass_env {
            if let Ok(value) = std::env::var(name)
                && !value.is_empty()
            {
                env.insert(name.clone(), value);
            }
        }
        env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    fn config_hash(
        &self,
        service: &ServiceDefinition,
        image: &str,
        env: &[String],
        secret: Option<&SecretMount>,
    ) -> String {
        let mut hasher = Sha256::new();
        let fields = serde_json::json!({
            "image": image,
            "env": env,
            "port": service.port,
            "host_port": service.host_port,
            "volumes": service.volumes,
            "args": service.args,
            "secret": secret,
            "network": self.network_name(),
            // Containers made before these limits existed are recreated with them.
            "memory_mb": service.memory_mb,
            "pids_limit": service.pids_limit,
            "no_new_privileges": true,
        });
        hasher.update(fields.to_string().as_bytes());
        hex::encode(&hasher.finalize()[..8])
    }

    /// Every container (running or not) that carries this stack's label.
    async fn list_stack_containers(&self) -> Result<Vec<ContainerSummary>, StackError> {
        self.engine
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(self.label_filter()),
                ..Default::default()
            }))
            .await
            .map_err(|e| self.engine.err("listing the stack's containers", e))
    }

    /// The stack's containers by service: (id, running) and their config hash.
    async fn containers(&self) -> Result<BTreeMap<String, (Existing, String)>, StackError> {
        let list = self.list_stack_containers().await?;
        let mut found = BTreeMap::new();
        for container in list {
            let labels = container.labels.unwrap_or_default();
            let (Some(service), Some(id)) = (labels.get(LABEL_SERVICE), container.id) else {
                continue;
            };
            let running = matches!(container.state, Some(bollard::models::ContainerSummaryStateEnum::RUNNING));
            let hash = labels.get(LABEL_CONFIG).cloned().unwrap_or_default();
            found.insert(service.clone(), (Existing { id, running }, hash));
        }
        Ok(found)
    }

    async fn ensure_network(&self) -> Result<String, StackError> {
        let name = self.network_name();
        if self.find_networks().await?.iter().any(|n| n == &name) {
            return Ok(name);
        }
        self.engine
            .docker
            .create_network(NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(self.labels(None)),
                ..Default::default()
            })
            .await
            .map_err(|e| self.engine.err(format!("creating the network {name}"), e))?;
        Ok(name)
    }

    async fn find_networks(&self) -> Result<Vec<String>, StackError> {
        let networks = self
            .engine
            .docker
            .list_networks(Some(ListNetworksOptions { filters: Some(self.label_filter()) }))
            .await
            .map_err(|e| self.engine.err("listing the stack's networks", e))?;
        Ok(networks.into_iter().filter_map(|n| n.name).collect())
    }

    async fn ensure_volumes(&self) -> Result<(), StackError> {
        let existing = self.find_volumes().await?;
        for service in &self.definition.services {
            for (volume, _) in service.volume_mounts() {
                let name = format!("{}-{volume}", self.name());
                if existing.contains(&name) {
                    continue;
                }
                self.engine
                    .docker
                    .create_volume(VolumeCreateRequest {
                        name: Some(name.clone()),
                        labels: Some(self.labels(None)),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| self.engine.err(format!("creating the volume {name}"), e))?;
            }
        }
        Ok(())
    }

    async fn find_volumes(&self) -> Result<Vec<String>, StackError> {
        let volumes = self
            .engine
            .docker
            .list_volumes(Some(ListVolumesOptions { filters: Some(self.label_filter()) }))
            .await
            .map_err(|e| self.engine.err("listing the stack's volumes", e))?;
        Ok(volumes.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
    }

    async fn remove_container(&self, id: &str) -> Result<(), StackError> {
        self.engine
            .docker
            .remove_container(id, Some(RemoveContainerOptions { force: true, v: true, ..Default::default() }))
            .await
            .map_err(|e| self.engine.err("removing a container", e))
    }

    /// Polls the service's health URL over loopback until it answers 2xx,
    /// failing early if the container stops.
    async fn wait_healthy(
        &self,
        service: &ServiceDefinition,
        id: &str,
        url: &str,
        timeout: Duration,
    ) -> Result<(), StackError> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(10);
        loop {
            let last_error = match self.probe(url).await {
                Ok(()) => return Ok(()),
                Err(reason) => reason,
            };
            let inspected = self
                .engine
                .docker
                .inspect_container(id, None)
                .await
                .map_err(|e| self.engine.err(format!("inspecting {}", service.name), e))?;
            let state = inspected.state.unwrap_or_default();
            if state.running != Some(true) && state.restarting != Some(true) {
                return Err(StackError::Exited {
                    service: service.name.clone(),
                    exit_code: state.exit_code.unwrap_or(-1),
                    logs: self.tail(id).await,
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StackError::Unhealthy {
                    service: service.name.clone(),
                    url: url.to_owned(),
                    seconds: timeout.as_secs(),
                    last_error,
                    logs: self.tail(id).await,
                });
            }
            // Polling a condition with a deadline; short at first because
            // a static binary is usually up within tens of milliseconds.
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    async fn probe(&self, url: &str) -> Result<(), String> {
        match self.http.get(url).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("answered {}", response.status())),
            Err(err) => Err(crate::engine::root_cause(&err)),
        }
    }

    /// The last log lines of a container, each on its own indented line.
    async fn tail(&self, id: &str) -> String {
        let options = LogsOptions { stdout: true, stderr: true, tail: LOG_TAIL.to_owned(), ..Default::default() };
        let chunks: Vec<_> = self.engine.docker.logs(id, Some(options)).collect().await;
        let text: String = chunks
            .into_iter()
            .filter_map(Result::ok)
            .map(|chunk| String::from_utf8_lossy(&chunk.into_bytes()).into_owned())
            .collect();
        text.lines().map(|line| format!("\n    {line}")).collect()
    }

    /// Removes every container, network and volume labelled with this stack's name.
    pub async fn down(&self) -> Result<DownReport, StackError> {
        let mut report = DownReport { stack: self.name().to_owned(), ..DownReport::default() };
        let containers = self.list_stack_containers().await?;
        for container in containers {
            let Some(id) = container.id else { continue };
            self.remove_container(&id).await?;
            let name = container
                .names
                .and_then(|n| n.into_iter().next())
                .map_or_else(|| short(&id), |n| n.trim_start_matches('/').to_owned());
            report.containers.push(name);
        }
        for network in self.find_networks().await? {
            self.engine
                .docker
                .remove_network(&network)
                .await
                .map_err(|e| self.engine.err(format!("removing the network {network}"), e))?;
            report.networks.push(network);
        }
        for volume in self.find_volumes().await? {
            self.engine
                .docker
                .remove_volume(&volume, None::<RemoveVolumeOptions>)
                .await
                .map_err(|e| self.engine.err(format!("removing the volume {volume}"), e))?;
            report.volumes.push(volume);
        }
        Ok(report)
    }

    /// The stack as the engine has it now, with a loopback health check of
    /// every running service. Needs nothing but the stack's name.
    pub async fn status(&self) -> Result<StackStatus, StackError> {
        let containers = self.list_stack_containers().await?;
        let mut by_service: BTreeMap<String, String> = BTreeMap::new();
        for container in containers {
            let labels = container.labels.unwrap_or_default();
            if let (Some(service), Some(id)) = (labels.get(LABEL_SERVICE), container.id) {
                by_service.insert(service.clone(), id);
            }
        }
        // Defined services first, in order; then any labelled container the
        // definition does not know (left by an older definition).
        let mut names = self.definition.service_names();
        names.extend(by_service.keys().filter(|s| !names.contains(s)).cloned().collect::<Vec<_>>());
        let checks = names.iter().map(|service| self.service_status(service, by_service.get(service)));
        let services: Vec<ServiceStatus> = join_all(checks).await.into_iter().collect::<Result<_, _>>()?;
        let network = self.find_networks().await?.into_iter().next();
        let healthy = services
            .iter()
            .filter(|s| self.definition.service(&s.service).is_some())
            .all(|s| s.state == State::Running && s.health == Health::Healthy);
        Ok(StackStatus { stack: self.name().to_owned(), engine: self.engine_info(), network, services, healthy })
    }

    async fn service_status(&self, service: &str, id: Option<&String>) -> Result<ServiceStatus, StackError> {
        let missing = ServiceStatus {
            service: service.to_owned(),
            state: State::Missing,
            health: Health::Unknown,
            container: None,
            id: None,
            image: None,
            url: None,
            exit_code: None,
            detail: None,
        };
        let Some(id) = id else { return Ok(missing) };
        let inspected = match self.engine.docker.inspect_container(id, None).await {
            Ok(inspected) => inspected,
            // Removed between the listing and now.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(missing),
            Err(e) => return Err(self.engine.err(format!("inspecting {service}"), e)),
        };
        let engine_state = inspected.state.unwrap_or_default();
        let state = match engine_state.status {
            Some(ContainerStateStatusEnum::RUNNING) => State::Running,
            Some(ContainerStateStatusEnum::CREATED) => State::Created,
            Some(ContainerStateStatusEnum::PAUSED) => State::Paused,
            Some(ContainerStateStatusEnum::RESTARTING) => State::Restarting,
            Some(ContainerStateStatusEnum::REMOVING) => State::Removing,
            Some(ContainerStateStatusEnum::DEAD) => State::Dead,
            _ => State::Exited,
        };
        // The published port as the engine has it, not as the definition
        // says: the container may predate a change to the definition.
        let host_port = inspected
            .host_config
            .as_ref()
            .and_then(|h| h.port_bindings.as_ref())
            .and_then(|bindings| bindings.values().flatten().flatten().find_map(|b| b.host_port.clone()));
        let health_path = self.definition.service(service).map_or("/health", |s| s.health.as_str());
        let url = host_port.map(|port| format!("http://127.0.0.1:{port}"));
        let (health, detail) = match (&url, state) {
            (Some(url), State::Running) => match self.probe(&format!("{url}{health_path}")).await {
                Ok(()) => (Health::Healthy, None),
                Err(reason) => (Health::Unhealthy, Some(reason)),
            },
            _ => (Health::Unknown, None),
        };
        Ok(ServiceStatus {
            service: service.to_owned(),
            state,
            health,
            container: inspected.name.map(|n| n.trim_start_matches('/').to_owned()),
            id: Some(short(id)),
            image: inspected.config.and_then(|c| c.image),
            url,
            exit_code: (state != State::Running).then_some(engine_state.exit_code).flatten(),
            detail,
        })
    }

    /// A service's log output (stdout and stderr), the last `tail` lines
    /// (`None` for all), then new lines as they come when `follow` is set.
    pub async fn logs(
        &self,
        service: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> Result<impl Stream<Item = Result<bytes::Bytes, StackError>> + '_, StackError> {
        if self.definition.service(service).is_none() {
            return Err(StackError::UnknownService {
                stack: self.name().to_owned(),
                service: service.to_owned(),
                known: self.definition.service_names(),
            });
        }
        let containers = self.containers().await?;
        let Some((existing, _)) = containers.get(service) else {
            return Err(StackError::NotCreated { stack: self.name().to_owned(), service: service.to_owned() });
        };
        let options = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            tail: tail.map_or_else(|| "all".to_owned(), |n| n.to_string()),
            ..Default::default()
        };
        let endpoint = self.engine.endpoint().to_owned();
        Ok(self
            .engine
            .docker
            .logs(&existing.id, Some(options))
            .map_ok(|chunk| chunk.into_bytes())
            .map_err(move |e| StackError::engine(&endpoint, "reading logs", e)))
    }
}

/// What the engine enforces on a service's container: its port published on
/// loopback only, the stack's network, its volumes and secret folder, a
/// read-only root filesystem, no capabilities, no gaining privileges
/// (`no-new-privileges`: setuid binaries and file capabilities do nothing),
/// and limits on memory (swap included) and on processes and threads.
fn host_config(definition: &StackDefinition, service: &ServiceDefinition, secret: Option<&SecretMount>) -> HostConfig {
    let port = format!("{}/tcp", service.port);
    let memory = i64::try_from(service.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX);
    let mut binds: Vec<String> =
        service.volume_mounts().into_iter().map(|(name, path)| format!("{}-{name}:{path}", definition.name)).collect();
    if let Some(secret) = secret {
        binds.push(format!("{}:{}:ro", secret.host, secret.path));
    }
    HostConfig {
        port_bindings: Some(HashMap::from([(
            port,
            Some(vec![PortBinding {
                // Never on other interfaces: the services have no authentication.
                host_ip: Some("127.0.0.1".to_owned()),
                host_port: Some(service.host_port.to_string()),
            }]),
        )])),
        // The network is named after the stack.
        network_mode: Some(definition.name.clone()),
        binds: (!binds.is_empty()).then_some(binds),
        readonly_rootfs: Some(true),
        cap_drop: Some(vec!["ALL".to_owned()]),
        security_opt: Some(vec!["no-new-privileges".to_owned()]),
        memory: Some(memory),
        // Equal to `memory`: no swap beyond the limit.
        memory_swap: Some(memory),
        pids_limit: Some(i64::from(service.pids_limit)),
        ..Default::default()
    }
}

/// The host folder a service's `secret_dir` names, checked to be a folder.
fn secret_mount(service: &ServiceDefinition) -> Result<Option<SecretMount>, StackError> {
    let Some(secret) = &service.secret_dir else { return Ok(None) };
    let Some(dir) = std::env::var_os(&secret.env).filter(|d| !d.is_empty()) else { return Ok(None) };
    let io = |source: std::io::Error| StackError::Io {
        action: format!(
            "the folder {} names for {}'s keys ({}) cannot be used; point it at a folder holding one file per provider",
            secret.env,
            service.name,
            std::path::Path::new(&dir).display()
        ),
        source,
    };
    let host = std::fs::canonicalize(&dir).map_err(io)?;
    let metadata = std::fs::metadata(&host).map_err(io)?;
    if !metadata.is_dir() {
        return Err(io(std::io::Error::other("it is not a folder")));
    }
    Ok(Some(SecretMount { host: host.display().to_string(), path: secret.path.clone(), user: owner(&metadata) }))
}

#[cfg(unix)]
fn owner(metadata: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    (metadata.uid() != 0).then(|| format!("{}:{}", metadata.uid(), metadata.gid()))
}

#[cfg(not(unix))]
fn owner(_: &std::fs::Metadata) -> Option<String> {
    None
}

/// A port is free when we can bind it on loopback ourselves. Checked before
/// anything is created so a conflict leaves no partial stack behind.
fn check_port_free(service: &str, port: u16) -> Result<(), StackError> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            Err(StackError::PortInUse { service: service.to_owned(), port })
        }
        // Permission problems and the like surface when the engine publishes the port.
        Err(_) => Ok(()),
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20, point 13: whatever runs inside a service's container cannot
    /// gain privileges (setuid binaries, file capabilities), exhaust the
    /// host's memory or fork without bound. Checked on the configuration sent
    /// to the engine, so no engine is needed.
    #[test]
    fn every_container_gets_no_new_privileges_and_memory_and_pid_limits() {
        let definition = StackDefinition::built_in().expect("docker/stack.toml is valid");
        let secret = SecretMount { host: "/home/me/keys".into(), path: "/run/secrets/augment".into(), user: None };
        for service in &definition.services {
            let config = host_config(&definition, service, Some(&secret));
            let name = &service.name;
            assert_eq!(config.security_opt, Some(vec!["no-new-privileges".to_owned()]), "{name}");
            let memory = config.memory.unwrap_or_default();
            assert!(memory >= 64 * 1024 * 1024, "{name}: a memory limit the service can run in: {memory}");
            assert_eq!(config.memory_swap, config.memory, "{name}: no swap on top of the memory limit");
            let pids = config.pids_limit.unwrap_or_default();
            assert!(pids >= 64, "{name}: a pid limit (threads count too): {pids}");
            // What was enforced before still is.
            assert_eq!(config.readonly_rootfs, Some(true), "{name}");
            assert_eq!(config.cap_drop, Some(vec!["ALL".to_owned()]), "{name}");
            let bindings = config.port_bindings.unwrap_or_default();
            let published: Vec<_> = bindings.values().flatten().flatten().collect();
            assert!(!published.is_empty(), "{name}");
            assert!(published.iter().all(|b| b.host_ip.as_deref() == Some("127.0.0.1")), "{name}: loopback only");
        }
        // A definition may set its own limits.
        let mut custom = definition.clone();
        custom.services[0].memory_mb = 64;
        custom.services[0].pids_limit = 32;
        let config = host_config(&custom, &custom.services[0], None);
        assert_eq!((config.memory, config.pids_limit), (Some(64 * 1024 * 1024), Some(32)));
    }
}
