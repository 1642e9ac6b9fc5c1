//! Helpers for tests that need the Docker engine and the registry from tests/env/setup.sh. A test
//! that needs them fails (never passes silently) when they are down.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};

/// Image names used by tests start with this, so leftovers are easy to find and remove.
pub const PREFIX: &str = "rfaas-it";

/// A connected engine, or a panic telling how to start it.
pub async fn docker() -> Docker {
    let docker = Docker::connect_with_local_defaults()
        .unwrap_or_else(|e| panic!("no Docker client ({e}): run `sudo bash tests/env/setup.sh`"));
    docker
        .negotiate_version()
        .await
        .unwrap_or_else(|e| panic!("Docker engine not answering ({e}): run `sudo bash tests/env/setup.sh`"))
}

/// A name unique to this test run, for image tags and function names.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What container `id` has written to stdout so far (`docker logs`).
pub fn logs(id: &str) -> String {
    let out = std::process::Command::new("docker").args(["logs", id]).output().expect("run docker logs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the named images (tag only, keeping the layer cache) when dropped, so a failing test
/// leaves nothing behind either.
///
/// On Podman the tags are only untagged (`podman untag`): its Docker-compatible image delete
/// ignores `noprune` and removes the untagged parent images too, which are the layer cache that
/// a concurrent build of the same template may be using at that moment (that build then fails
/// with `image not known`).
pub struct Images(pub Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        let podman = on_podman();
        for image in &self.0 {
            let _ = if podman {
                let name = podman_name(image);
                std::process::Command::new("podman").args(["untag", &name, &name]).output()
            } else {
                std::process::Command::new("docker").args(["image", "rm", "--no-prune", image]).output()
            };
        }
    }
}

/// `image` as Podman stores it: `podman untag` reads a name without a registry as one on
/// `localhost/`, while images built or pulled through the Docker-compatible API are on `docker.io/`
/// (as Docker reads them).
fn podman_name(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => image.to_string(),
        Some(_) => format!("docker.io/{image}"),
        None => format!("docker.io/library/{image}"),
    }
}

/// Whether the tests run against tests/env/setup.sh's Podman service (`DOCKER_HOST` is its socket).
/// Never panics: it runs in `Drop`, also while a failed test unwinds.
fn on_podman() -> bool {
    let Ok(env) = crate::environment::read_test_env() else { return false };
    let podman_host = env.get("RFAAS_TEST_PODMAN_HOST");
    podman_host.is_some() && std::env::var("DOCKER_HOST").ok().as_ref() == podman_host
}

/// A running container on the host network; removed by [`Container::remove`] or on drop.
pub struct Container {
    pub id: String,
    pub port: u16,
}

impl Container {
    /// Starts `image` with `port=<free port>` and `env`, and waits for `/_/health`.
    pub async fn start(docker: &Docker, image: &str, env: &[(&str, &str)]) -> Container {
        let port = free_port();
        let mut vars = vec![format!("port={port}")];
        vars.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(vars),
            host_config: Some(HostConfig { network_mode: Some("host".into()), ..Default::default() }),
            ..Default::default()
        };
        let name = unique("rfaas-it");
        let opts = CreateContainerOptions { name: Some(name), ..Default::default() };
        let created = docker.create_container(Some(opts), body).await.expect("create container");
        let container = Container { id: created.id, port };
        docker.start_container(&container.id, None).await.expect("start container");
        container.wait_healthy().await;
        container
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Ok(r) = client.get(self.url("/_/health")).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("container {} never answered /_/health on port {}", self.id, self.port);
    }

    pub async fn remove(self, docker: &Docker) {
        let opts = RemoveContainerOptions { force: true, ..Default::default() };
        let _ = docker.remove_container(&self.id, Some(opts)).await;
        std::mem::forget(self);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker").args(["rm", "-f", &self.id]).output();
    }
}
