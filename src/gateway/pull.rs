//! Getting a function's image into the local engine. A deploy only looks the image up locally
//! ([`local_image`]: an invalid reference is the client's 400); an absent image is pulled when
//! replicas start ([`pull`]), with the credentials Docker's config holds for its registry (the
//! lookup `rfaas push` uses: `$DOCKER_CONFIG/config.json` else `~/.docker/config.json`, its
//! `credHelpers`, `credsStore` and `auths`), read again on every pull so that fixing them needs
//! no gateway restart. A failed pull is told apart (refused credentials, no such image, registry
//! unreachable) so the reason shown in `describe`, `ready` and the deploy response says what to do.

use bollard::Docker;
use bollard::models::ImageInspect;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::error::shown;
use crate::docker::auth::{self, AuthError};
use crate::docker::{engine_reason, split_tag};

/// Whether the gateway may pull an image the engine does not have (`rfaas gateway --pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullPolicy {
    /// Pull an absent image from its registry (faasd's behaviour).
    #[default]
    Missing,
    /// Never pull: only images already in the engine can run (offline machines, tests).
    Never,
}

/// Why an image could not be found or pulled.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// `image` is already quoted and bounded ([`shown`]): a reference can be any size.
    #[error("invalid image reference {image}: {reason}")]
    InvalidReference { image: String, reason: String },
    #[error("cannot pull image {image}: {registry} refused the credentials {credentials}: {reason}")]
    Denied { image: String, registry: String, credentials: String, reason: String },
    #[error("cannot pull image {image}: it does not exist in {registry}: {reason}")]
    NotFound { image: String, registry: String, reason: String },
    #[error("cannot pull image {image}: cannot reach the registry {registry}: {reason}")]
    Unreachable { image: String, registry: String, reason: String },
    #[error("cannot pull image {image}: {source}")]
    Credentials { image: String, source: AuthError },
    #[error("cannot pull image {image}: {reason}")]
    Failed { image: String, reason: String },
    #[error("image {image} is not in the engine, and this gateway does not pull images (--pull never)")]
    PullsDisabled { image: String },
}

impl PullError {
    /// What the operator can do about it (appended to the reason clients see).
    pub fn hint(&self) -> Option<String> {
        match self {
            PullError::Denied { registry, .. } => Some(format!(
                "log in to {registry} where the gateway runs (`docker login {registry}`, or `rfaas registry-login` \
                 and DOCKER_CONFIG for the gateway); the gateway retries the pull"
            )),
            PullError::NotFound { .. } => Some("check the image name and tag, or push the image".to_string()),
            PullError::PullsDisabled { .. } => Some(
                "build or load the image where the gateway runs, or restart the gateway with --pull missing"
                    .to_string(),
            ),
            PullError::Unreachable { registry, .. } => {
                Some(format!("is the registry at {registry} running? the gateway retries the pull"))
            }
            _ => None,
        }
    }
}

/// The longest reference accepted: Docker allows 255 bytes of name, 128 of tag, or a digest.
const MAX_REFERENCE: usize = 512;

/// The local image `image`, `None` when the engine does not have it.
pub async fn local_image(docker: &Docker, image: &str) -> Result<Option<ImageInspect>, PullError> {
    // Docker answers 404 (not 400) for some invalid references, such as one too long.
    let invalid = |reason: &str| PullError::InvalidReference { image: shown(image), reason: reason.to_string() };
    if image.len() > MAX_REFERENCE {
        return Err(invalid(&format!("longer than {MAX_REFERENCE} bytes")));
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains whitespace or control characters"));
    }
    match docker.inspect_image(image).await {
        Ok(inspect) => Ok(Some(inspect)),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => {
            let reason = engine_reason(&e);
            // Docker answers 400 with "no such image: <ref>: invalid reference format: <why>";
            // Podman 500 with "normalizing image: ...: invalid reference format" (or "repository
            // name must be lowercase").
            let invalid = matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 400, .. })
                || ["invalid reference format", "repository name must"].iter().any(|m| reason.contains(m));
            if invalid {
                let reason = reason.rsplit(": ").next().unwrap_or(&reason).to_string();
                return Err(PullError::InvalidReference { image: shown(image), reason: shown_reason(&reason) });
            }
            Err(PullError::Failed { image: image.to_string(), reason })
        }
    }
}

/// An engine's reason, which may quote the reference, bounded like [`shown`] (without quotes).
fn shown_reason(reason: &str) -> String {
    let quoted = shown(reason);
    quoted.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(&quoted).to_string()
}

/// Pulls `image` with the credentials Docker's config has for its registry (none when it has
/// none: public images need none).
pub async fn pull(docker: &Docker, image: &str) -> Result<(), PullError> {
    let registry = auth::registry_of(image);
    let lookup = registry.clone();
    let creds = tokio::task::spawn_blocking(move || auth::credentials_for(&lookup))
        .await
        .map_err(|e| PullError::Failed { image: image.to_string(), reason: e.to_string() })?
        .map_err(|source| PullError::Credentials { image: image.to_string(), source })?;
    let described = describe_credentials(creds.is_some(), &registry);
    let (repo, tag) = split_tag(image);
    let (repo, tag) = match repo.split_once('@') {
        // A digest reference is passed whole, without a tag.
        Some(_) => (image, None),
        None => (repo, Some(tag.unwrap_or("latest"))),
    };
    let mut options = CreateImageOptionsBuilder::default().from_image(repo);
    if let Some(tag) = tag {
        options = options.tag(tag);
    }
    let mut stream = docker.create_image(Some(options.build()), None, creds);
    while let Some(step) = stream.next().await {
        let reason = match step {
            Ok(info) => match info.error_detail.and_then(|d| d.message) {
                Some(message) => message,
                None => continue,
            },
            Err(e) => engine_reason(&e),
        };
        return Err(classify(image, &registry, described, reason));
    }
    Ok(())
}

/// "from <config>" or "(none found in <config>)", for the message of a refused pull.
fn describe_credentials(found: bool, registry: &str) -> String {
    let path = auth::config_path().map_or_else(|| "no Docker config".to_string(), |p| p.display().to_string());
    if found { format!("from {path}") } else { format!("(none for {registry} in {path})") }
}

fn classify(image: &str, registry: &str, credentials: String, reason: String) -> PullError {
    let lower = reason.to_lowercase();
    let (image, registry) = (image.to_string(), registry.to_string());
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if any(&["unauthorized", "authentication required", "no basic auth", "denied"]) {
        PullError::Denied { image, registry, credentials, reason }
    } else if any(&["connection refused", "no such host", "i/o timeout", "dial tcp", "connection reset", "lookup "]) {
        PullError::Unreachable { image, registry, reason }
    } else if any(&["manifest unknown", "not found", "does not exist", "name unknown"]) {
        PullError::NotFound { image, registry, reason }
    } else {
        PullError::Failed { image, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_told_apart() {
        let c = |m: &str| classify("127.0.0.1:5000/a/fn:1", "127.0.0.1:5000", "from c.json".into(), m.to_string());
        let denied = c("Head \"http://127.0.0.1:5000/v2/a/fn/manifests/1\": no basic auth credentials");
        assert!(matches!(denied, PullError::Denied { .. }), "{denied}");
        assert!(denied.to_string().contains("refused the credentials from c.json"), "{denied}");
        assert!(matches!(c("unauthorized: authentication required"), PullError::Denied { .. }));
        assert!(matches!(
            c("Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused"),
            PullError::Unreachable { .. }
        ));
        assert!(matches!(
            c("manifest for 127.0.0.1:5000/a/fn:1 not found: manifest unknown"),
            PullError::NotFound { .. }
        ));
        assert!(matches!(c("something else"), PullError::Failed { .. }));
    }

    #[test]
    fn hints_name_the_registry() {
        let c = |m: &str| classify("r:5000/a/fn:1", "r:5000", String::new(), m.to_string());
        assert!(c("unauthorized").hint().unwrap().contains("docker login r:5000"));
        assert!(c("connection refused").hint().unwrap().contains("r:5000 running"));
        assert!(c("boom").hint().is_none());
    }
}
