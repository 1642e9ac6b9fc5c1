//! Talking to an image registry directly (OCI distribution API, through `oci-client`), for what
//! the engine's own push cannot do: upload an engine image by digest without moving any tag, and
//! push an image index (manifest list) that ties several platforms' images to one tag.
//!
//! Credentials are the ones `rfaas push` uses (Docker's config.json, see [`super::auth`]).
//! Registries the engine treats as insecure (loopback, and its `insecure-registries`) are spoken
//! to over plain HTTP, like the engine does.

use std::io::{Read, Seek};

use std::net::IpAddr;

use bollard::Docker;
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::{self, AuthError};

/// OCI media types of what is pushed.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

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
    #[error("cannot export {image} from the engine: {message}")]
    Export { image: String, message: String },
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

/// A manifest pushed by digest.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    pub digest: String,
    pub size: usize,
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

    /// Exports `image` from the engine and uploads its layers, config and manifest by digest;
    /// no tag in the registry changes.
    pub async fn push_engine_image(&self, docker: &Docker, image: &str) -> Result<PushedManifest, RegistryError> {
        let saved = export(docker, image).await?;
        let known = layer_cache::load();
        let (saved, parts) = read_blocking(saved, image, known).await?;
        // A layer compressed before is taken by its recorded digest when the registry has it;
        // if any is missing there, every layer is read and compressed again.
        let mut all_there = true;
        for blob in parts.layers.iter().filter(|b| b.data.is_none()) {
            let at = self.at_digest(&blob.digest);
            self.client.store_auth_if_needed(&self.registry, &self.auth).await;
            if !self.client.blob_exists(&at, &blob.digest).await.map_err(|e| self.classify(e))? {
                all_there = false;
                break;
            }
        }
        let parts = if all_there { parts } else { read_blocking(saved, image, Default::default()).await?.1 };
        let mut layers = Vec::new();
        let mut learned = Vec::new();
        for blob in parts.layers {
            if let Some(data) = blob.data {
                self.push_blob(data, &blob.digest).await?;
            }
            learned.push((blob.diff_id.clone(), blob.digest.clone(), blob.size));
            layers.push(Descriptor {
                media_type: OCI_LAYER_GZIP.to_string(),
                digest: blob.digest,
                size: blob.size,
                platform: None,
            });
        }
        layer_cache::remember(&learned);
        let config_digest = sha256(&parts.config);
        let config_size = parts.config.len();
        self.push_blob(parts.config, &config_digest).await?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: OCI_MANIFEST.to_string(),
            config: Descriptor {
                media_type: OCI_CONFIG.to_string(),
                digest: config_digest,
                size: config_size,
                platform: None,
            },
            layers,
        };
        let body = serde_json::to_vec(&manifest).map_err(|e| self.failed(e.to_string()))?;
        let digest = sha256(&body);
        let size = body.len();
        self.push_manifest(&self.at_digest(&digest), body, OCI_MANIFEST).await?;
        Ok(PushedManifest { digest, size, platform: parts.platform })
    }

    /// Pushes an image index of `manifests` under each of `tags`; returns the index digest.
    pub async fn push_index(&self, manifests: &[PushedManifest], tags: &[String]) -> Result<String, RegistryError> {
        let index = Index {
            schema_version: 2,
            media_type: OCI_INDEX.to_string(),
            manifests: manifests
                .iter()
                .map(|m| Descriptor {
                    media_type: OCI_MANIFEST.to_string(),
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

    async fn push_blob(&self, data: Vec<u8>, digest: &str) -> Result<(), RegistryError> {
        let at = self.at_digest(digest);
        self.client.store_auth_if_needed(&self.registry, &self.auth).await;
        if self.client.blob_exists(&at, digest).await.map_err(|e| self.classify(e))? {
            return Ok(());
        }
        self.client.push_blob(&at, data, digest).await.map_err(|e| self.classify(e))?;
        Ok(())
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u32,
    media_type: String,
    config: Descriptor,
    layers: Vec<Descriptor>,
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

/// `docker save` of one image, spooled to a temporary file (its manifest comes last).
async fn export(docker: &Docker, image: &str) -> Result<std::fs::File, RegistryError> {
    let fail = |message: String| RegistryError::Export { image: image.to_string(), message };
    let mut file = tempfile::tempfile().map_err(|e| fail(e.to_string()))?;
    let mut stream = docker.export_image(image);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| fail(super::engine_reason(&e)))?;
        std::io::Write::write_all(&mut file, &chunk).map_err(|e| fail(e.to_string()))?;
    }
    file.rewind().map_err(|e| fail(e.to_string()))?;
    Ok(file)
}

/// [`read_saved`] on a blocking thread; gives the spooled archive back for a second read.
async fn read_blocking(
    mut file: std::fs::File,
    image: &str,
    known: layer_cache::Known,
) -> Result<(std::fs::File, SavedImage), RegistryError> {
    let image_owned = image.to_string();
    tokio::task::spawn_blocking(move || read_saved(&mut file, &image_owned, &known).map(|s| (file, s)))
        .await
        .map_err(|e| RegistryError::Export { image: image.to_string(), message: e.to_string() })?
}

/// Which compressed blob each uncompressed layer became, so a layer already pushed (the base
/// image's, an unchanged step's) is not compressed again on every publish. Kept in the user's
/// cache directory; losing it only costs time.
mod layer_cache {
    use std::collections::HashMap;

    /// diff_id → (compressed digest, size).
    pub type Known = HashMap<String, (String, usize)>;

    /// Bump when the compression changes: its digests would differ.
    const FILE: &str = "layers-gzip-fast-v1.json";

    fn path() -> Option<std::path::PathBuf> {
        dirs::cache_dir().map(|d| d.join("rfaas").join(FILE))
    }

    pub fn load() -> Known {
        let Some(path) = path() else { return Known::new() };
        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Adds `learned` (diff_id, digest, size) to the file; best effort.
    pub fn remember(learned: &[(String, String, usize)]) {
        let Some(path) = path() else { return };
        let mut known = load();
        let before = known.len();
        for (diff, digest, size) in learned {
            known.insert(diff.clone(), (digest.clone(), *size));
        }
        if known.len() == before {
            return;
        }
        let Some(dir) = path.parent() else { return };
        let Ok(text) = serde_json::to_vec(&known) else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".{FILE}.{}", uuid::Uuid::new_v4().simple()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

struct Blob {
    /// The compressed layer; `None` when taken from the layer cache (not read again).
    data: Option<Vec<u8>>,
    digest: String,
    size: usize,
    /// sha256 of the uncompressed layer, as the image config lists it.
    diff_id: String,
}

struct SavedImage {
    config: Vec<u8>,
    layers: Vec<Blob>,
    platform: IndexPlatform,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SaveManifest {
    config: String,
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    rootfs: RootFs,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

/// Reads a `docker save` archive: the config, and each layer gzipped (fast level: the layers are
/// compressed on every push, and speed matters more than the last few percent here). Two passes
/// over the spooled file, skipping by seek: one for `manifest.json`, one for the blobs it names.
fn read_saved(file: &mut std::fs::File, image: &str, known: &layer_cache::Known) -> Result<SavedImage, RegistryError> {
    let fail = |message: String| RegistryError::Export { image: image.to_string(), message };
    let mut manifest_bytes = None;
    for_each_entry(file, |name, entry| {
        if name == "manifest.json" {
            let mut out = Vec::new();
            entry.read_to_end(&mut out)?;
            manifest_bytes = Some(out);
        }
        Ok(())
    })
    .map_err(|e| fail(e.to_string()))?;
    let manifest_bytes = manifest_bytes.ok_or_else(|| fail("manifest.json is not in the exported archive".into()))?;
    let manifests: Vec<SaveManifest> =
        serde_json::from_slice(&manifest_bytes).map_err(|e| fail(format!("manifest.json: {e}")))?;
    let Some(saved) = manifests.into_iter().next() else { return Err(fail("the archive holds no image".into())) };
    let mut config = None;
    for_each_entry(file, |name, entry| {
        if name == saved.config {
            let mut out = Vec::new();
            entry.read_to_end(&mut out)?;
            config = Some(out);
        }
        Ok(())
    })
    .map_err(|e| fail(e.to_string()))?;
    let config = config.ok_or_else(|| fail(format!("{} is not in the exported archive", saved.config)))?;
    let parsed: ImageConfig = serde_json::from_slice(&config).map_err(|e| fail(format!("image config: {e}")))?;
    if parsed.rootfs.diff_ids.len() != saved.layers.len() {
        return Err(fail("the image config and the archive list different numbers of layers".into()));
    }
    let diff_of = |path: &str| saved.layers.iter().position(|l| l == path).map(|i| parsed.rootfs.diff_ids[i].clone());
    let mut blobs: std::collections::HashMap<String, Vec<u8>> = std::collections::HashMap::new();
    for_each_entry(file, |name, entry| {
        let wanted = diff_of(name).is_some_and(|d| !known.contains_key(&d));
        if wanted && !blobs.contains_key(name) {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::copy(entry, &mut encoder)?;
            blobs.insert(name.to_string(), encoder.finish()?);
        }
        Ok(())
    })
    .map_err(|e| fail(e.to_string()))?;
    let mut layers = Vec::new();
    for (path, diff_id) in saved.layers.iter().zip(&parsed.rootfs.diff_ids) {
        let blob = match (known.get(diff_id), blobs.remove(path)) {
            (_, Some(data)) => {
                Blob { digest: sha256(&data), size: data.len(), data: Some(data), diff_id: diff_id.clone() }
            }
            (Some((digest, size)), None) => {
                Blob { data: None, digest: digest.clone(), size: *size, diff_id: diff_id.clone() }
            }
            (None, None) => {
                // The same layer twice in one image: the first copy was compressed.
                let first = layers.iter().find(|b: &&Blob| &b.diff_id == diff_id);
                match first {
                    Some(b) => Blob { data: None, digest: b.digest.clone(), size: b.size, diff_id: diff_id.clone() },
                    None => return Err(fail(format!("layer {path} is not in the exported archive"))),
                }
            }
        };
        layers.push(blob);
    }
    let platform = IndexPlatform { os: parsed.os, architecture: parsed.architecture, variant: parsed.variant };
    Ok(SavedImage { config, layers, platform })
}

/// Calls `f` with each regular file of the archive and its path (without a leading `./`).
fn for_each_entry(
    file: &mut std::fs::File,
    mut f: impl FnMut(&str, &mut dyn Read) -> std::io::Result<()>,
) -> std::io::Result<()> {
    file.rewind()?;
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries_with_seek()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        f(&name, &mut entry)?;
    }
    Ok(())
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
