//! Running one function in a container on the local engine, without a gateway.
//!
//! [`plan`] turns the function's deployment (what `deploy` would send) into a container: its
//! environment plus `OPENFAAS_NAME`/`OPENFAAS_NAMESPACE`, its secrets mounted read-only from
//! `./.secrets/`, its limits as Docker limits, and a port on 127.0.0.1. [`docker_run_line`] is the
//! same as a `docker run` command line; [`run`] starts it, streams its output and, when told to
//! stop (Ctrl-C, SIGTERM), stops and removes it.
//!
//! An engine without a `bridge` network (dockerd `--bridge=none`) cannot publish a port: there the
//! container joins the host network and the function is told to listen on the port instead (its
//! `port` variable, which the OpenFaaS watchdogs read), see [`Ports::HostNetwork`].

use std::future::Future;
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::gateway::resources::{self, DockerResources};
use crate::openfaas::types::FunctionDeployment;
use crate::output::Printer;

/// The port the watchdog listens on inside the container.
pub const FUNCTION_PORT: u16 = 8080;
/// Where OpenFaaS mounts secrets.
pub const SECRETS_MOUNT: &str = "/var/openfaas/secrets";
/// The namespace `OPENFAAS_NAMESPACE` gets when the function names none (faas-cli's).
pub const DEFAULT_NAMESPACE: &str = "openfaas-fn";

/// The variable the OpenFaaS watchdogs (classic and of-watchdog) take their listening port from.
pub const PORT_ENV: &str = "port";
/// The variable rfaas's templates take their listening address from (as the gateway's replicas).
pub const BIND_ENV: &str = "bind_address";

/// How the function's port reaches the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ports {
    /// Published on 127.0.0.1 through the engine's bridge network.
    Publish,
    /// The engine has no bridge network: the container shares the host's network and the
    /// function listens on the port itself, on 127.0.0.1 (`bind_address`, which rfaas's
    /// templates read; an image that ignores it listens on every interface).
    HostNetwork,
}

/// How to run it.
#[derive(Debug, Clone)]
pub struct LocalRunOptions {
    /// Host port (0 picks a free one); unused with `network`.
    pub port: u16,
    /// Join this network (e.g. `host`) instead of publishing a port.
    pub network: Option<String>,
    /// How `port` is given to the host when no `network` is named.
    pub ports: Ports,
    /// `-e K=V`, applied last.
    pub extra_env: Vec<(String, String)>,
    /// `./.secrets`.
    pub secrets_dir: PathBuf,
}

/// The container to run, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub name: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    /// Where the function answers on 127.0.0.1, `None` on a named network.
    pub port: Option<u16>,
    /// `port` is published with `-p` (else the container is on the host network, listening on it).
    pub publish: bool,
    pub network: Option<String>,
    pub read_only: bool,
    pub resources: DockerResources,
    /// The secrets directory mounted read-only, when the function uses secrets.
    pub secrets_dir: Option<PathBuf>,
}

/// Why the function could not be run.
#[derive(Debug, thiserror::Error)]
pub enum LocalRunError {
    #[error("missing files: create the following secrets ({}) in: \"{}\"", .names.join(", "), .dir.display())]
    MissingSecrets { names: Vec<String>, dir: PathBuf },
    #[error("secret name \"{0}\" is not a plain file name in ./.secrets")]
    BadSecretName(String),
    #[error("{0}")]
    Resources(String),
    #[error("cannot find a free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    #[error("port {port} is taken on this host: {source}")]
    PortTaken { port: u16, source: std::io::Error },
    #[error("-e {PORT_ENV}={value}: not a port number (the function would not listen where --port says)")]
    BadPortEnv { value: String },
    #[error("the engine refused the container {name}: {message}")]
    Engine { name: String, message: String },
}

impl crate::error::Hint for LocalRunError {
    fn hint(&self) -> Option<String> {
        match self {
            LocalRunError::MissingSecrets { names, .. } => Some(format!(
                "e.g. `mkdir -p .secrets && printf %s \"$VALUE\" > .secrets/{}`",
                names.first().map_or("NAME", String::as_str)
            )),
            LocalRunError::Engine { message, .. } if message.contains("already allocated") => {
                Some("the port is taken: pick another with --port, or --port 0 for a free one".to_string())
            }
            LocalRunError::PortTaken { .. } => Some("pick another with --port, or --port 0 for a free one".to_string()),
            _ => None,
        }
    }
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Stopped on request; the container was removed.
    Stopped,
    /// The function exited by itself with this code; the container was removed.
    Exited(i64),
}

/// Resolves the container for `d`; fails before anything starts when a secret file is missing.
pub fn plan(d: &FunctionDeployment, opts: &LocalRunOptions) -> Result<RunPlan, LocalRunError> {
    let mut missing = Vec::new();
    for name in &d.secrets {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
            return Err(LocalRunError::BadSecretName(name.clone()));
        }
        if !opts.secrets_dir.join(name).is_file() {
            missing.push(name.clone());
        }
    }
    if !missing.is_empty() {
        return Err(LocalRunError::MissingSecrets { names: missing, dir: opts.secrets_dir.clone() });
    }
    let resources = resources::to_docker(d.limits.as_ref(), d.requests.as_ref()).map_err(LocalRunError::Resources)?;
    let namespace = if d.namespace.is_empty() { DEFAULT_NAMESPACE } else { d.namespace.as_str() };
    let mut env: Vec<(String, String)> = d.env_vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.push(("OPENFAAS_NAME".into(), d.service.clone()));
    env.push(("OPENFAAS_NAMESPACE".into(), namespace.to_string()));
    for (k, v) in &opts.extra_env {
        env.retain(|(key, _)| key != k);
        env.push((k.clone(), v.clone()));
    }
    if !d.env_process.is_empty() {
        env.push(("fprocess".into(), d.env_process.clone()));
    }
    let (port, publish, network) = match (&opts.network, opts.ports) {
        (Some(n), _) => (None, false, Some(n.clone())),
        (None, Ports::Publish) => (Some(pick_port(opts.port)?), true, None),
        (None, Ports::HostNetwork) => {
            // An explicit `-e port=N` is where the function will listen: it wins over --port.
            let port = match env.iter().find(|(k, _)| k == PORT_ENV) {
                Some((_, v)) if opts.extra_env.iter().any(|(k, _)| k == PORT_ENV) => {
                    v.parse::<u16>().ok().filter(|p| *p > 0).ok_or(LocalRunError::BadPortEnv { value: v.clone() })?
                }
                _ => pick_port(opts.port)?,
            };
            env.retain(|(k, _)| k != PORT_ENV);
            env.push((PORT_ENV.to_string(), port.to_string()));
            if !env.iter().any(|(k, _)| k == BIND_ENV) {
                env.push((BIND_ENV.to_string(), "127.0.0.1".to_string()));
            }
            (Some(port), false, Some("host".to_string()))
        }
    };
    Ok(RunPlan {
        name: d.service.clone(),
        image: d.image.clone(),
        env,
        port,
        publish,
        network,
        read_only: d.read_only_root_filesystem,
        resources,
        secrets_dir: (!d.secrets.is_empty()).then(|| opts.secrets_dir.clone()),
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `port`, or a free one for 0.
fn pick_port(port: u16) -> Result<u16, LocalRunError> {
    if port == 0 { free_port().map_err(LocalRunError::Port) } else { Ok(port) }
}

/// On the host network nothing tells the function its port is taken but its own failure to
/// listen: check before the first start (a rebuilt plan's port is held by the running container).
pub fn check_port_free(p: &RunPlan) -> Result<(), LocalRunError> {
    match p.port {
        Some(port) if !p.publish && p.network.as_deref() == Some("host") => {
            std::net::TcpListener::bind(("0.0.0.0", port))
                .map(drop)
                .map_err(|source| LocalRunError::PortTaken { port, source })
        }
        _ => Ok(()),
    }
}

/// Whether the engine has its default `bridge` network, through which ports are published.
/// Unknown (the engine does not answer) counts as yes: that is the engine's default, and the run
/// then fails on the engine anyway.
pub async fn engine_has_bridge(docker: &Docker) -> bool {
    match docker.inspect_network("bridge", None::<bollard::query_parameters::InspectNetworkOptions>).await {
        Ok(_) => true,
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => false,
        Err(_) => true,
    }
}

/// The `docker run` command line that starts the same container.
pub fn docker_run_line(p: &RunPlan) -> String {
    let mut args: Vec<String> =
        vec!["docker".into(), "run".into(), "--name".into(), p.name.clone(), "--rm".into(), "-i".into()];
    if let Some(port) = p.port.filter(|_| p.publish) {
        args.push(format!("-p=127.0.0.1:{port}:{FUNCTION_PORT}"));
    }
    if let Some(n) = &p.network {
        args.push(format!("--network={n}"));
    }
    for (k, v) in &p.env {
        args.push(format!("-e={k}={v}"));
    }
    if p.read_only {
        args.push("--read-only".into());
    }
    let r = &p.resources;
    if let Some(m) = r.memory {
        args.push(format!("--memory={m}"));
    }
    if let Some(m) = r.memory_reservation {
        args.push(format!("--memory-reservation={m}"));
    }
    if let (Some(q), Some(period)) = (r.cpu_quota, r.cpu_period) {
        args.push(format!("--cpu-period={period}"));
        args.push(format!("--cpu-quota={q}"));
    }
    if let Some(s) = r.cpu_shares {
        args.push(format!("--cpu-shares={s}"));
    }
    if let Some(dir) = &p.secrets_dir {
        args.push(format!("--volume={}:{SECRETS_MOUNT}:ro", dir.display()));
    }
    args.push(p.image.clone());
    args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// Quotes `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_=./:,@%+".contains(c));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', "'\\''")) }
}

fn body(p: &RunPlan) -> ContainerCreateBody {
    let r = &p.resources;
    let port_key = format!("{FUNCTION_PORT}/tcp");
    let published = p.port.filter(|_| p.publish);
    let bindings = published.map(|port| {
        let binding = PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(port.to_string()) };
        [(port_key.clone(), Some(vec![binding]))].into_iter().collect()
    });
    let host_config = HostConfig {
        port_bindings: bindings,
        network_mode: p.network.clone(),
        readonly_rootfs: p.read_only.then_some(true),
        memory: r.memory,
        memory_reservation: r.memory_reservation,
        cpu_quota: r.cpu_quota,
        cpu_period: r.cpu_period,
        cpu_shares: r.cpu_shares,
        binds: p.secrets_dir.as_ref().map(|d| vec![format!("{}:{SECRETS_MOUNT}:ro", d.display())]),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(p.image.clone()),
        env: Some(p.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: published.map(|_| vec![port_key.clone()]),
        labels: Some([("com.rfaas.local-run".to_string(), p.name.clone())].into_iter().collect()),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// Starts the container (replacing one of the same name), forwards its output, and waits until
/// it exits or `stop` completes; either way the container is removed.
pub async fn run(
    docker: &Docker,
    p: &RunPlan,
    printer: &Printer,
    stop: impl Future<Output = ()>,
) -> Result<RunOutcome, LocalRunError> {
    let engine = |e: bollard::errors::Error| LocalRunError::Engine {
        name: p.name.clone(),
        message: crate::docker::engine_reason(&e),
    };
    remove(docker, &p.name).await;
    let options = CreateContainerOptionsBuilder::default().name(&p.name).build();
    let created = docker.create_container(Some(options), body(p)).await.map_err(engine)?;
    if let Err(e) = docker.start_container(&created.id, None).await {
        remove(docker, &created.id).await;
        return Err(engine(e));
    }
    match p.port {
        Some(port) => printer.status(&format!("{} is running on http://127.0.0.1:{port} (Ctrl-C stops it)", p.name)),
        None => printer.status(&format!("{} is running (Ctrl-C stops it)", p.name)),
    }
    let logs = forward_logs(docker.clone(), created.id.clone(), printer.clone());
    let mut wait = docker.wait_container(&created.id, None::<bollard::query_parameters::WaitContainerOptions>);
    let outcome = tokio::select! {
        () = stop => {
            printer.status(&format!("Stopping {}", p.name));
            let options = StopContainerOptionsBuilder::default().t(10).build();
            let _ = docker.stop_container(&created.id, Some(options)).await;
            RunOutcome::Stopped
        }
        status = wait.next() => match status {
            Some(Ok(s)) => RunOutcome::Exited(s.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => RunOutcome::Exited(code),
            Some(Err(e)) => {
                remove(docker, &created.id).await;
                return Err(engine(e));
            }
            None => RunOutcome::Exited(0),
        },
    };
    // Let the last lines through before the container goes.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), logs).await;
    remove(docker, &created.id).await;
    Ok(outcome)
}

fn forward_logs(docker: Docker, id: String, printer: Printer) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let options = LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).build();
        let mut logs = docker.logs(&id, Some(options));
        while let Some(Ok(chunk)) = logs.next().await {
            match chunk {
                bollard::container::LogOutput::StdErr { message } => printer.raw_stderr(&message),
                other => printer.raw(&other.into_bytes()),
            }
        }
    })
}

async fn remove(docker: &Docker, name_or_id: &str) {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(name_or_id, Some(options)).await;
}

/// `./.secrets` under `cwd`, as an absolute path (Docker needs one for the mount).
pub fn secrets_dir(cwd: &Path) -> PathBuf {
    cwd.join(".secrets")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::openfaas::types::FunctionResources;

    fn deployment() -> FunctionDeployment {
        FunctionDeployment {
            service: "fn1".into(),
            image: "reg/fn1:latest".into(),
            env_process: "python index.py".into(),
            env_vars: BTreeMap::from([("A".into(), "it's".into()), ("port".into(), "8080".into())]),
            limits: Some(FunctionResources { memory: "128Mi".into(), cpu: "200m".into() }),
            read_only_root_filesystem: true,
            ..Default::default()
        }
    }

    fn opts(dir: &Path) -> LocalRunOptions {
        LocalRunOptions {
            port: 9000,
            network: None,
            ports: Ports::Publish,
            extra_env: vec![("port".into(), "9001".into())],
            secrets_dir: dir.to_path_buf(),
        }
    }

    #[test]
    fn the_plan_prints_as_docker_run() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(&deployment(), &opts(dir.path())).unwrap();
        assert_eq!(
            docker_run_line(&p),
            "docker run --name fn1 --rm -i -p=127.0.0.1:9000:8080 '-e=A=it'\\''s' -e=OPENFAAS_NAME=fn1 \
             -e=OPENFAAS_NAMESPACE=openfaas-fn -e=port=9001 '-e=fprocess=python index.py' --read-only \
             --memory=134217728 --cpu-period=10000 --cpu-quota=2000 reg/fn1:latest"
        );
    }

    #[test]
    fn missing_and_hostile_secret_names_fail_before_running() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("present"), "x").unwrap();
        let mut d = deployment();
        d.secrets = vec!["present".into(), "absent".into(), "gone".into()];
        let err = plan(&d, &opts(dir.path())).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("missing files: create the following secrets (absent, gone) in: \"{}\"", dir.path().display())
        );
        for bad in ["../etc/passwd", ".hidden", "a/b", ""] {
            d.secrets = vec![bad.into()];
            assert!(matches!(plan(&d, &opts(dir.path())), Err(LocalRunError::BadSecretName(_))), "{bad}");
        }
        d.secrets = vec!["present".into()];
        let p = plan(&d, &opts(dir.path())).unwrap();
        assert!(docker_run_line(&p).contains(&format!("--volume={}:/var/openfaas/secrets:ro", dir.path().display())));
    }

    #[test]
    fn a_network_replaces_the_port_and_zero_picks_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path());
        o.network = Some("host".into());
        let p = plan(&deployment(), &o).unwrap();
        assert_eq!(p.port, None);
        assert!(docker_run_line(&p).contains("--network=host"));
        o.network = None;
        o.port = 0;
        assert!(plan(&deployment(), &o).unwrap().port.is_some_and(|p| p > 0));
    }

    #[test]
    fn without_a_bridge_the_port_is_the_functions_own_on_the_host_network() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path());
        o.ports = Ports::HostNetwork;
        o.extra_env.clear();
        o.port = 0;
        let p = plan(&deployment(), &o).unwrap();
        let port = p.port.expect("a port was picked");
        assert!(!p.publish && p.network.as_deref() == Some("host"));
        assert_eq!(p.env.iter().filter(|(k, _)| k == "port").collect::<Vec<_>>(), [&("port".into(), port.to_string())]);
        let line = docker_run_line(&p);
        assert!(line.contains("--network=host") && line.contains(&format!("-e=port={port}")), "{line}");
        assert!(!line.contains("-p="), "{line}");
        // An explicit -e port wins, and must be a port.
        o.extra_env = vec![("port".into(), "9002".into())];
        assert_eq!(plan(&deployment(), &o).unwrap().port, Some(9002));
        o.extra_env = vec![("port".into(), "http".into())];
        assert!(matches!(plan(&deployment(), &o), Err(LocalRunError::BadPortEnv { .. })));
        // A taken port is an error before anything starts.
        let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        o.extra_env.clear();
        o.port = taken.local_addr().unwrap().port();
        let p = plan(&deployment(), &o).unwrap();
        assert!(matches!(check_port_free(&p), Err(LocalRunError::PortTaken { .. })));
    }
}
