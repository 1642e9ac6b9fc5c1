//! Talking to the Docker engine with bollard: packing build contexts, building and pushing
//! images, registry credentials from Docker's config, and per-function progress.

pub mod auth;
pub mod build;
pub mod context;
pub mod dockerignore;
pub mod ping;
pub mod plan;
pub mod progress;
pub mod push;
pub mod qemu;
pub mod registry;

use bollard::Docker;

/// The engine could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach the Docker engine at {host}: {reason}")]
pub struct ConnectError {
    pub host: String,
    pub reason: String,
}

impl crate::error::Hint for ConnectError {
    fn hint(&self) -> Option<String> {
        Some("is dockerd running? `docker info` should answer; set DOCKER_HOST if the engine is elsewhere".into())
    }
}

/// Connects to the engine (`DOCKER_HOST`, else the local socket) and agrees on an API version:
/// the one the engine names in its ping ([`ping::api_version`]), else bollard's negotiation.
pub async fn connect() -> anyhow::Result<Docker> {
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| format!("unix://{LOCAL_SOCKET}"));
    let fail = |reason: String| ConnectError { host: host.clone(), reason };
    if let Some(socket) = host.strip_prefix("unix://")
        && let Some(version) = ping::api_version(std::path::Path::new(socket)).await
    {
        let agreed = ping::older(version, *bollard::API_DEFAULT_VERSION);
        return Ok(Docker::connect_with_unix(socket, ENGINE_TIMEOUT_SECS, &agreed).map_err(|e| fail(e.to_string()))?);
    }
    let docker = Docker::connect_with_local_defaults().map_err(|e| fail(e.to_string()))?;
    Ok(docker.negotiate_version().await.map_err(|e| fail(engine_reason(&e)))?)
}

/// The engine's socket when `DOCKER_HOST` names none (bollard's default too).
const LOCAL_SOCKET: &str = "/var/run/docker.sock";

/// How long one engine request may take (bollard's default).
const ENGINE_TIMEOUT_SECS: u64 = 120;

/// A short reason for an engine error, without bollard's debug wrapping.
pub fn engine_reason(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error;
    match err {
        Error::DockerResponseServerError { message, .. } => message.clone(),
        Error::DockerStreamError { error } => error.clone(),
        other => crate::error::with_sources(other.to_string(), other),
    }
}

/// Splits `repo[:tag]` at the tag's colon (a registry port's colon is not a tag).
pub fn split_tag(image: &str) -> (&str, Option<&str>) {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], Some(&image[last_slash + i + 1..])),
        None => (image, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_after_the_last_slash() {
        assert_eq!(split_tag("127.0.0.1:5000/a/fn:1.0"), ("127.0.0.1:5000/a/fn", Some("1.0")));
        assert_eq!(split_tag("127.0.0.1:5000/fn"), ("127.0.0.1:5000/fn", None));
        assert_eq!(split_tag("fn:latest"), ("fn", Some("latest")));
    }
}
