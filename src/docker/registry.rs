//! Talking to an image registry directly (OCI distribution API, through `oci-client`), for what
//! the engine's own push cannot do: check push access before anything is built, read back the
//! manifest the engine pushed for one platform, and push an image index (manifest list) that
//! ties several platforms' images to one tag.
//!
//! Credentials are the ones `rfaas push` uses (Docker's config.json, see [`super::auth`]).
//! Registries the engine treats as insecure (loopback, and its `insecure-registries`) are spoken
//! to over plain HTTP, like the engine does.

use std::net::IpAddr;

use bollard::Docker;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::{self, AuthError};

/// Media types of the single-platform manifests an index can list (the engine pushes Docker's
/// v2 manifest, an engine with the containerd image store the OCI one), and of the index.
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{registry} refused the credentials for {repository}: {message}")]
    Unauthorized { registry: String, repository: String, message: String },
    #[error("cannot reach the registry {registry}: {message}")]
    Unreachable { registry: String, message: String },
    #[error("invalid image reference \"{reference}\": {message}")]
    BadReference { reference: String, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("registry {registry}: {message}")]
    Failed { registry: String, message: String },
}

impl RegistryError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Unauthorized { registry, .. } => Some(format!(
                "log in to {registry}: `rfaas registry-login --server {registry} -u USER --password-stdin` then \
                 `DOCKER_CONFIG=./credentials rfaas publish`, or `docker login {registry}`"
            )),
            RegistryError::Unreachable { registry, .. } => Some(format!("is the registry at {registry} running?")),
            _ => None,
        }
    }
}

/// A platform as an image index records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPlatform {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub variant: Option<String>,
}

/// One platform's image manifest as the registry stores it.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    pub digest: String,
    pub size: usize,
    pub media_type: String,
    pub platform: IndexPlatform,
}

/// A client for one repository (`registry/name`), authenticated for pushing.
pub struct Repository {
    client: Client,
    auth: RegistryAuth,
    registry: String,
    repository: String,
}

impl Repository {
    /// Reads the credentials for `image`'s registry and picks the protocol the engine would use.
    pub async fn open(docker: &Docker, image: &str) -> Result<Repository, RegistryError> {
        let reference: Reference = image.parse().map_err(|e: oci_client::ParseError| RegistryError::BadReference {
            reference: image.to_string(),
            message: e.to_string(),
        })?;
        let registry = reference.registry().to_string();
        let auth = match auth::credentials_for(&auth::registry_of(image))? {
            Some(c) => match (c.username, c.password, c.identitytoken) {
                (Some(u), Some(p), _) if !u.is_empty() => RegistryAuth::Basic(u, p),
                (_, _, Some(token)) if !token.is_empty() => RegistryAuth::Bearer(token),
                _ => RegistryAuth::Anonymous,
            },
            None => RegistryAuth::Anonymous,
        };
        let insecure = insecure_registries(docker, &registry).await;
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure),
            use_monolithic_push: true,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(300)),
            ..Default::default()
        };
        Ok(Repository { client: Client::new(config), auth, registry, repository: reference.repository().to_string() })
    }

    /// The registry host.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    fn at_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.to_string())
    }

    fn at_tag(&self, tag: &str) -> Reference {
        Reference::with_tag(self.registry.clone(), self.repository.clone(), tag.to_string())
    }

    /// Checks that the registry answers and takes the credentials for pushing, before anything
    /// is built: asks for a blob that cannot exist (404 is the good answer).
    pub async fn check_push_access(&self) -> Result<(), RegistryError> {
        let digest = format!("sha256:{}", "0".repeat(64));
        let probe = self.at_digest(&digest);
        self.client.auth(&probe, &self.auth, RegistryOperation::Push).await.map_err(|e| self.classify(e))?;
        self.client.blob_exists(&probe, &digest).await.map_err(|e| self.classify(e))?;
        Ok(())
    }

    /// What the registry holds at `reference` (a digest, or a tag) of this repository: the
    /// manifest's digest, size and media type, and the platform its config names. Used after the
    /// engine pushed a platform's image, to list it in the index exactly as the registry stored it.
    pub async fn manifest(&self, reference: &str) -> Result<PushedManifest, RegistryError> {
        let at = if reference.starts_with("sha256:") { self.at_digest(reference) } else { self.at_tag(reference) };
        let (body, digest) = self
            .client
            .pull_manifest_raw(&at, &self.auth, &[OCI_MANIFEST, DOCKER_MANIFEST])
            .await
            .map_err(|e| self.classify(e))?;
        let parsed: StoredManifest = serde_json::from_slice(&body).map_err(|e| {
            self.failed(format!("the manifest of {} is not an image manifest: {e}", self.name(reference)))
        })?;
        let media_type = parsed.media_type.unwrap_or_else(|| OCI_MANIFEST.to_string());
        if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
            return Err(self
                .failed(format!("{} is a {media_type}, not a single-platform image manifest", self.name(reference))));
        }
        let mut config = Vec::new();
        self.client.pull_blob(&at, parsed.config.digest.as_str(), &mut config).await.map_err(|e| self.classify(e))?;
        let config: ImageConfig = serde_json::from_slice(&config)
            .map_err(|e| self.failed(format!("the image config of {}: {e}", self.name(reference))))?;
        let platform = IndexPlatform { os: config.os, architecture: config.architecture, variant: config.variant };
        Ok(PushedManifest { digest, size: body.len(), media_type, platform })
    }

    /// `registry/repository:tag` or `registry/repository@digest`, for messages.
    fn name(&self, reference: &str) -> String {
        let sep = if reference.starts_with("sha256:") { '@' } else { ':' };
        format!("{}/{}{sep}{reference}", self.registry, self.repository)
    }

    /// Pushes an image index of `manifests` under each of `tags`; returns the index digest.
    pub async fn push_index(&self, manifests: &[PushedManifest], tags: &[String]) -> Result<String, RegistryError> {
        let index = Index {
            schema_version: 2,
            media_type: OCI_INDEX.to_string(),
            manifests: manifests
                .iter()
                .map(|m| Descriptor {
                    media_type: m.media_type.clone(),
                    digest: m.digest.clone(),
                    size: m.size,
                    platform: Some(m.platform.clone()),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&index).map_err(|e| self.failed(e.to_string()))?;
        let digest = sha256(&body);
        for tag in tags {
            self.push_manifest(&self.at_tag(tag), body.clone(), OCI_INDEX).await?;
        }
        Ok(digest)
    }

    async fn push_manifest(&self, at: &Reference, body: Vec<u8>, media_type: &str) -> Result<(), RegistryError> {
        self.client.store_auth_if_needed(&self.registry, &self.auth).await;
        let content_type =
            reqwest::header::HeaderValue::from_str(media_type).map_err(|e| self.failed(e.to_string()))?;
        self.client.push_manifest_raw(at, body, content_type).await.map_err(|e| self.classify(e))?;
        Ok(())
    }

    fn failed(&self, message: String) -> RegistryError {
        RegistryError::Failed { registry: self.registry.clone(), message }
    }

    fn classify(&self, err: OciDistributionError) -> RegistryError {
        let message = crate::error::with_sources(err.to_string(), &err);
        let lower = message.to_lowercase();
        let unauthorized = matches!(
            err,
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_)
        ) || matches!(&err, OciDistributionError::ServerError { code: 401 | 403, .. })
            || lower.contains("401 unauthorized")
            || lower.contains("authentication required");
        if unauthorized {
            return RegistryError::Unauthorized {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                message,
            };
        }
        let unreachable = match &err {
            OciDistributionError::RequestError(e) => e.is_connect() || e.is_timeout(),
            _ => false,
        } || ["connection refused", "dns error", "timed out"].iter().any(|s| lower.contains(s));
        if unreachable {
            return RegistryError::Unreachable { registry: self.registry.clone(), message };
        }
        self.failed(message)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<IndexPlatform>,
}

/// The parts of a stored image manifest the index needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredManifest {
    #[serde(default)]
    media_type: Option<String>,
    config: ConfigDescriptor,
}

#[derive(Deserialize)]
struct ConfigDescriptor {
    digest: String,
}

/// The platform an image config names.
#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    media_type: String,
    manifests: Vec<Descriptor>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Hosts the engine reaches over plain HTTP: loopback ones, and its `insecure-registries`
/// (names, or CIDRs matched against an IP host). Only `registry` matters here.
async fn insecure_registries(docker: &Docker, registry: &str) -> Vec<String> {
    let host = host_of(registry);
    let ip: Option<IpAddr> = host.parse().ok();
    if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
        return vec![registry.to_string()];
    }
    let Ok(info) = docker.info().await else { return Vec::new() };
    let Some(config) = info.registry_config else { return Vec::new() };
    let by_name = config
        .index_configs
        .unwrap_or_default()
        .values()
        .any(|c| c.secure == Some(false) && c.name.as_deref() == Some(registry));
    let by_cidr =
        ip.is_some_and(|ip| config.insecure_registry_cidrs.unwrap_or_default().iter().any(|c| in_cidr(ip, c)));
    if by_name || by_cidr { vec![registry.to_string()] } else { Vec::new() }
}

/// `host` of `host[:port]` (IPv6 in brackets).
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.rsplit_once(':').map_or(registry, |(h, _)| h)
}

fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else { return false };
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_cidrs() {
        assert_eq!(host_of("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(host_of("[::1]:5000"), "::1");
        assert_eq!(host_of("ghcr.io"), "ghcr.io");
        assert!(in_cidr("127.0.0.1".parse().unwrap(), "127.0.0.0/8"));
        assert!(!in_cidr("128.0.0.1".parse().unwrap(), "127.0.0.0/8"));
        assert!(in_cidr("10.1.2.3".parse().unwrap(), "0.0.0.0/0"));
        assert!(!in_cidr("::1".parse().unwrap(), "127.0.0.0/8"));
        assert!(!in_cidr("127.0.0.1".parse().unwrap(), "nonsense"));
    }

    #[test]
    fn index_json_has_the_oci_shape() {
        let index = Index {
            schema_version: 2,
            media_type: OCI_INDEX.into(),
            manifests: vec![Descriptor {
                media_type: OCI_MANIFEST.into(),
                digest: "sha256:ab".into(),
                size: 3,
                platform: Some(IndexPlatform { os: "linux".into(), architecture: "arm64".into(), variant: None }),
            }],
        };
        let json = serde_json::to_value(&index).unwrap();
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["manifests"][0]["platform"], serde_json::json!({"os": "linux", "architecture": "arm64"}));
        assert_eq!(json["manifests"][0]["mediaType"], OCI_MANIFEST);
    }
}
