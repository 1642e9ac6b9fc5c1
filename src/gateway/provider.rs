//! The Docker side of the provider: one container per replica, started from the local engine's
//! images (pulled only when absent), on the host network, listening on a loopback port passed in
//! env `port` and on the address in env `bind_address` (always 127.0.0.1: with host networking,
//! a replica listening on every interface would be reachable from the network without going
//! through the gateway, whatever address the gateway binds). Each container carries labels naming its gateway, function, generation and port,
//! plus the whole `FunctionDeployment` as JSON, so a restarted gateway can re-adopt or rebuild it.
//! Nothing here is called per invocation.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, ContainerSummaryStateEnum, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::error::shown;
use super::image_user::{Owner, OwnerCache};
use super::names::FnKey;
use super::pull::{self, PullError, PullPolicy};
use super::replica_exit::{Exit, MAX_READ_BYTES, TAIL_LINES};
use super::resources;
use super::store::FunctionRecord;
use crate::openfaas::types::FunctionDeployment;

/// Container labels the gateway sets and reads back.
pub mod labels {
    pub const GATEWAY: &str = "com.rfaas.gateway";
    pub const NAME: &str = "com.rfaas.function";
    pub const NAMESPACE: &str = "com.rfaas.namespace";
    pub const GENERATION: &str = "com.rfaas.generation";
    pub const PORT: &str = "com.rfaas.port";
    pub const DEPLOYMENT: &str = "com.rfaas.deployment";
}

/// The address replicas listen on (env `bind_address`); the gateway reaches them there.
pub const REPLICA_ADDRESS: &str = "127.0.0.1";
/// Environment variables the gateway sets in every replica itself: `port` (each replica's own
/// loopback port) and `bind_address` (loopback). A deployment that sets them is refused: `port=9`
/// made the replica listen where no health check looked, so it never became ready.
const RESERVED_ENV: [&str; 2] = ["port", "bind_address"];
/// The function's command for the watchdog templates, from `envProcess`.
const FPROCESS_ENV: &str = "fprocess";

/// Where secrets appear inside a function container.
pub const SECRETS_MOUNT: &str = "/var/openfaas/secrets";

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{0}")]
    Pull(#[from] PullError),
    #[error("Docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("no free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    #[error("image {0} has no command to run (no CMD or ENTRYPOINT)")]
    NoCommand(String),
}

/// A function container as Docker lists it.
#[derive(Debug, Clone)]
pub struct Replica {
    pub id: String,
    pub name: String,
    pub key: FnKey,
    pub generation: u64,
    pub port: u16,
    pub running: bool,
    /// The `FunctionDeployment` JSON label.
    pub deployment: Option<String>,
}

/// What a new replica needs besides the function record.
pub struct ReplicaSpec<'a> {
    pub record: &'a FunctionRecord,
    /// `(secret name, host file)` pairs to bind-mount read-only.
    pub secret_files: Vec<(String, PathBuf)>,
}

/// Docker access for one gateway (identified by `gateway_id`).
pub struct Provider {
    pub docker: Docker,
    pub gateway_id: String,
    pub owners: OwnerCache,
    /// Whether an absent image may be pulled.
    pub pull: PullPolicy,
    /// False for Podman, whose logs `tail` counts pieces of lines, not lines (see `logs.rs`).
    pub tail_counts_lines: bool,
}

impl Provider {
    /// Connects with API version negotiation and checks that the engine answers.
    pub async fn connect(gateway_id: String, pull: PullPolicy) -> Result<Provider, ProviderError> {
        let docker = Docker::connect_with_local_defaults()?.negotiate_version().await?;
        docker.ping().await?;
        let tail_counts_lines = !is_podman(&docker.version().await?);
        Ok(Provider { docker, gateway_id, owners: OwnerCache::default(), pull, tail_counts_lines })
    }

    /// A provider that has not talked to Docker yet (for router tests that never reach Docker).
    pub fn unchecked(gateway_id: String) -> Result<Provider, ProviderError> {
        Ok(Provider {
            docker: Docker::connect_with_local_defaults()?,
            gateway_id,
            owners: OwnerCache::default(),
            pull: PullPolicy::default(),
            tail_counts_lines: true,
        })
    }

    /// Checks a deployment's image without pulling it: an invalid reference, or a local image
    /// without a command (Docker refuses to create a container without one), is refused; an
    /// image the engine does not have is left for [`Provider::ensure_image`] when replicas start.
    pub async fn check_image(&self, image: &str) -> Result<(), ProviderError> {
        match pull::local_image(&self.docker, image).await? {
            Some(inspect) => has_command(image, inspect),
            None => Ok(()),
        }
    }

    /// Makes sure `image` is in the local engine, pulling it (with the registry credentials in
    /// Docker's config) only when absent, and that it has a command.
    pub async fn ensure_image(&self, image: &str) -> Result<(), ProviderError> {
        let inspect = match pull::local_image(&self.docker, image).await? {
            Some(inspect) => inspect,
            None if self.pull == PullPolicy::Never => {
                return Err(PullError::PullsDisabled { image: image.to_string() }.into());
            }
            None => {
                pull::pull(&self.docker, image).await?;
                pull::local_image(&self.docker, image).await?.ok_or_else(|| PullError::Failed {
                    image: image.to_string(),
                    reason: "the engine reported the pull done but does not have the image".to_string(),
                })?
            }
        };
        has_command(image, inspect)
    }

    /// The uid:gid the image runs as (for secret file ownership).
    pub async fn image_owner(&self, image: &str) -> Result<Owner, String> {
        self.owners.resolve(&self.docker, image).await
    }

    /// Creates and starts one replica on a free loopback port.
    pub async fn start_replica(&self, spec: &ReplicaSpec<'_>) -> Result<Replica, ProviderError> {
        let record = spec.record;
        let port = free_port().map_err(ProviderError::Port)?;
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
        let name = format!("rfaas-{}-{}-{suffix}", record.key.namespace, record.key.name);
        let body = self.container_body(spec, port);
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self.docker.create_container(Some(options), body).await?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            self.remove(&created.id).await;
            return Err(e.into());
        }
        Ok(Replica {
            id: created.id,
            name,
            key: record.key.clone(),
            generation: record.generation,
            port,
            running: true,
            deployment: None,
        })
    }

    fn container_body(&self, spec: &ReplicaSpec<'_>, port: u16) -> ContainerCreateBody {
        let record = spec.record;
        let d = &record.deployment;
        let mut env: HashMap<String, String> = HashMap::new();
        if !d.env_process.is_empty() {
            env.insert(FPROCESS_ENV.into(), d.env_process.clone());
        }
        env.extend(d.env_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.insert("port".into(), port.to_string());
        env.insert("bind_address".into(), REPLICA_ADDRESS.to_string());
        let mut env: Vec<String> = env.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.sort();
        let labels = HashMap::from([
            (labels::GATEWAY.to_string(), self.gateway_id.clone()),
            (labels::NAME.to_string(), record.key.name.clone()),
            (labels::NAMESPACE.to_string(), record.key.namespace.clone()),
            (labels::GENERATION.to_string(), record.generation.to_string()),
            (labels::PORT.to_string(), port.to_string()),
            (labels::DEPLOYMENT.to_string(), serde_json::to_string(d).unwrap_or_default()),
        ]);
        let binds = spec
            .secret_files
            .iter()
            .map(|(name, path)| format!("{}:{SECRETS_MOUNT}/{name}:ro", path.display()))
            .collect();
        // Validated at deploy time; a value that fails here is simply not applied.
        let res = resources::to_docker(d.limits.as_ref(), d.requests.as_ref()).unwrap_or_default();
        let tmpfs = d.read_only_root_filesystem.then(|| HashMap::from([("/tmp".to_string(), "rw".to_string())]));
        ContainerCreateBody {
            image: Some(d.image.clone()),
            env: Some(env),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some("host".into()),
                binds: Some(binds),
                memory: res.memory,
                memory_reservation: res.memory_reservation,
                cpu_quota: res.cpu_quota,
                cpu_period: res.cpu_period,
                cpu_shares: res.cpu_shares,
                readonly_rootfs: Some(d.read_only_root_filesystem),
                tmpfs,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// This gateway's containers, optionally only those of one function; stopped ones included.
    pub async fn list(&self, key: Option<&FnKey>) -> Result<Vec<Replica>, ProviderError> {
        let mut label_filters = vec![format!("{}={}", labels::GATEWAY, self.gateway_id)];
        if let Some(k) = key {
            label_filters.push(format!("{}={}", labels::NAME, k.name));
            label_filters.push(format!("{}={}", labels::NAMESPACE, k.namespace));
        }
        let filters = HashMap::from([("label".to_string(), label_filters)]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let containers = self.docker.list_containers(Some(options)).await?;
        Ok(containers.into_iter().filter_map(replica_from_summary).collect())
    }

    /// Stops (briefly, SIGTERM first) and removes a container; failures are only logged.
    pub async fn remove(&self, id: &str) {
        let stop = StopContainerOptionsBuilder::default().t(2).build();
        let _ = self.docker.stop_container(id, Some(stop)).await;
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        if let Err(e) = self.docker.remove_container(id, Some(options)).await
            && !is_not_found(&e)
        {
            super::console::warn(&format!("cannot remove container {id}: {e}"));
        }
    }

    /// How the container ended, or `None` while it is still running (a container that is gone
    /// has ended too, with no code).
    pub async fn exit(&self, id: &str) -> Option<Exit> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => {
                let state = c.state.unwrap_or_default();
                let oom_killed = state.oom_killed.unwrap_or(false);
                (!state.running.unwrap_or(false)).then_some(Exit { code: state.exit_code, oom_killed })
            }
            Err(_) => Some(Exit { code: None, oom_killed: false }),
        }
    }

    /// The host pid of a running container's first process.
    pub async fn main_pid(&self, id: &str) -> Option<u32> {
        let state = self.docker.inspect_container(id, None).await.ok()?.state?;
        state.pid.and_then(|pid| u32::try_from(pid).ok()).filter(|pid| *pid > 0)
    }

    /// At least the last [`TAIL_LINES`] lines of a container's stdout and stderr (the caller
    /// keeps the last [`TAIL_LINES`]), keeping at most [`MAX_READ_BYTES`] (the newest); `true`
    /// when older bytes were dropped to stay within it. Twice as many log entries are asked for:
    /// Podman counts each write as an entry (a line and its newline can be two).
    pub async fn output_tail(&self, id: &str) -> (Vec<u8>, bool) {
        let entries = (2 * TAIL_LINES).to_string();
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&entries).build();
        let mut logs = self.docker.logs(id, Some(options));
        let (mut out, mut cut) = (Vec::new(), false);
        while let Some(Ok(frame)) = logs.next().await {
            out.extend_from_slice(&frame.into_bytes());
            if out.len() > MAX_READ_BYTES {
                out.drain(..out.len() - MAX_READ_BYTES);
                cut = true;
            }
        }
        (out, cut)
    }
}

/// True when the engine behind the Docker API is Podman (its version names a Podman component).
fn is_podman(version: &bollard::models::SystemVersion) -> bool {
    version.components.iter().flatten().any(|c| c.name.to_lowercase().contains("podman"))
}

/// Refuses an environment Docker could not pass on or that would override what the gateway
/// sets; the error is the message for a 400. Values are never echoed.
pub fn check_env(d: &FunctionDeployment) -> Result<(), String> {
    if d.env_process.contains('\0') {
        return Err("envProcess contains a NUL byte".to_string());
    }
    for (key, value) in &d.env_vars {
        if key.is_empty() {
            return Err("envVars has a variable with an empty name".to_string());
        }
        let field = format!("envVars[{}]", shown(key));
        if key.contains(['=', '\0']) {
            return Err(format!("{field}: a variable name cannot contain '=' or a NUL byte"));
        }
        if value.contains('\0') {
            return Err(format!("{field}: the value contains a NUL byte"));
        }
        if RESERVED_ENV.contains(&key.as_str()) {
            return Err(format!("{field} is set by the gateway for every replica; remove it"));
        }
    }
    match d.env_vars.get(FPROCESS_ENV) {
        Some(fprocess) if !d.env_process.is_empty() && *fprocess != d.env_process => Err(format!(
            "envVars[\"{FPROCESS_ENV}\"] and envProcess name different commands; set the command once (envProcess)"
        )),
        _ => Ok(()),
    }
}

fn replica_from_summary(c: bollard::models::ContainerSummary) -> Option<Replica> {
    let labels = c.labels?;
    let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_string();
    Some(Replica {
        id: c.id?,
        name,
        key: FnKey { namespace: labels.get(labels::NAMESPACE)?.clone(), name: labels.get(labels::NAME)?.clone() },
        generation: labels.get(labels::GENERATION)?.parse().ok()?,
        port: labels.get(labels::PORT)?.parse().ok()?,
        running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
        deployment: labels.get(labels::DEPLOYMENT).cloned(),
    })
}

fn has_command(image: &str, inspect: bollard::models::ImageInspect) -> Result<(), ProviderError> {
    let config = inspect.config.unwrap_or_default();
    let has = |part: Option<Vec<String>>| part.is_some_and(|p| !p.is_empty());
    if !has(config.cmd) && !has(config.entrypoint) {
        return Err(ProviderError::NoCommand(image.to_string()));
    }
    Ok(())
}

/// True when Docker answered 404.
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
