//! faas-cli plugins: `rfaas NAME ARGS...` runs `~/.openfaas/plugins/NAME` (as `faas-cli plugin
//! get` installs them), or `~/.openfaas/plugins/faas-NAME`, with the remaining arguments, and
//! exits with its exit code (the process is replaced, as faas-cli does on Unix).
//!
//! Unlike faas-cli, a plugin never shadows a built-in command (a file called `version` there does
//! not replace `rfaas version`), and only plain names (`[a-z0-9][a-z0-9_-]*`) are looked up, so
//! `rfaas ../x` cannot reach outside the plugin folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The exit code when a plugin exists but cannot be run, as faas-cli uses.
pub const EXEC_FAILED: u8 = 127;

/// The plugin folder: `$HOME/.openfaas/plugins`.
pub fn plugin_dir() -> Option<PathBuf> {
    dirs::home_dir().map(|h| h.join(".openfaas").join("plugins"))
}

/// A name that may be a plugin's.
pub fn is_plugin_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64
}

/// The executable for `name` in `dir`: `dir/NAME`, else `dir/faas-NAME`.
pub fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    if !is_plugin_name(name) {
        return None;
    }
    [name.to_string(), format!("faas-{name}")].into_iter().map(|f| dir.join(f)).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Replaces this process with `plugin ARGS`; returns only when that fails.
pub fn exec(plugin: &Path, args: &[OsString]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(plugin).args(args).exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_plugins() {
        for good in ["hello", "pro-builder", "a1_b"] {
            assert!(is_plugin_name(good), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "-x", "Upper", "a.b", &"a".repeat(65)] {
            assert!(!is_plugin_name(bad), "{bad}");
        }
    }

    #[test]
    fn finds_name_then_faas_name_and_only_executables() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, mode: u32| {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let exact = write("hello", 0o755);
        write("faas-hello", 0o755);
        let prefixed = write("faas-other", 0o755);
        write("plain", 0o644);
        assert_eq!(find(dir.path(), "hello"), Some(exact));
        assert_eq!(find(dir.path(), "other"), Some(prefixed));
        assert_eq!(find(dir.path(), "plain"), None);
        assert_eq!(find(dir.path(), "../hello"), None);
    }
}

/// What `plugin get` fetches.
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub name: String,
    /// `HOST[/PREFIX]`, e.g. `ghcr.io/openfaasltd`.
    pub registry: String,
    pub version: String,
    pub os: String,
    pub arch: String,
    pub dir: PathBuf,
}

/// The largest manifest and layer read.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
const MAX_LAYER_BYTES: usize = 256 * 1024 * 1024;

/// Why a plugin could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("invalid plugin name \"{0}\": use lower-case letters, digits, '-' and '_'")]
    Name(String),
    #[error("pulling {reference}: {reason}")]
    Pull { reference: String, reason: String },
    #[error("{reference} has no image for {os}/{arch}")]
    Platform { reference: String, os: String, arch: String },
    #[error("{reference}: no file named {name} in the image")]
    Missing { reference: String, name: String },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// Downloads the plugin image anonymously (OCI distribution API, with the registry's anonymous
/// token when it asks for one) and writes its top-level files into `opts.dir`; returns the
/// plugin's path.
pub async fn get(opts: &GetOptions) -> Result<PathBuf, PluginError> {
    if !is_plugin_name(&opts.name) {
        return Err(PluginError::Name(opts.name.clone()));
    }
    let (host, prefix) = opts.registry.split_once('/').unwrap_or((opts.registry.as_str(), ""));
    let repo =
        if prefix.is_empty() { opts.name.clone() } else { format!("{}/{}", prefix.trim_end_matches('/'), opts.name) };
    let reference = format!("{}/{repo}:{}", host, opts.version);
    let local = host.starts_with("localhost") || host.starts_with("127.") || host.starts_with("[::1]");
    let base = format!("{}://{host}/v2/{repo}", if local { "http" } else { "https" });
    let fail = |reason: String| PluginError::Pull { reference: reference.clone(), reason };
    let registry = Registry::new().map_err(|e| fail(e.to_string()))?;
    let mut manifest: serde_json::Value = serde_json::from_slice(
        &registry.get(&format!("{base}/manifests/{}", opts.version), MAX_MANIFEST_BYTES).await.map_err(fail)?,
    )
    .map_err(|e| fail(format!("the manifest is not JSON: {e}")))?;
    if let Some(list) = manifest.get("manifests").and_then(|m| m.as_array()) {
        let digest = list
            .iter()
            .find(|m| m["platform"]["os"] == opts.os.as_str() && m["platform"]["architecture"] == opts.arch.as_str())
            .and_then(|m| m["digest"].as_str())
            .ok_or_else(|| PluginError::Platform {
                reference: reference.clone(),
                os: opts.os.clone(),
                arch: opts.arch.clone(),
            })?
            .to_string();
        let bytes = registry.get(&format!("{base}/manifests/{digest}"), MAX_MANIFEST_BYTES).await.map_err(fail)?;
        check_digest(&bytes, &digest).map_err(fail)?;
        manifest = serde_json::from_slice(&bytes).map_err(|e| fail(format!("the manifest is not JSON: {e}")))?;
    }
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    std::fs::create_dir_all(&opts.dir).map_err(|source| PluginError::Write { path: opts.dir.clone(), source })?;
    for layer in layers {
        let digest = layer["digest"].as_str().unwrap_or_default();
        let blob = registry.get(&format!("{base}/blobs/{digest}"), MAX_LAYER_BYTES).await.map_err(fail)?;
        check_digest(&blob, digest).map_err(fail)?;
        let gzipped = layer["mediaType"].as_str().is_some_and(|t| t.ends_with("gzip"));
        extract_top_level(&blob, gzipped, &opts.dir).map_err(fail)?;
    }
    let path = opts.dir.join(&opts.name);
    if !path.is_file() {
        return Err(PluginError::Missing { reference, name: opts.name.clone() });
    }
    Ok(path)
}

fn check_digest(bytes: &[u8], digest: &str) -> Result<(), String> {
    use sha2::Digest;
    let want = digest.strip_prefix("sha256:").ok_or_else(|| format!("unsupported digest {digest}"))?;
    let got = hex::encode(sha2::Sha256::digest(bytes));
    if got != want {
        return Err(format!("content does not match its digest {digest} (got sha256:{got})"));
    }
    Ok(())
}

/// Writes the regular files at the top of the layer's tree into `dir`; everything else (folders,
/// links, paths with `..`) is skipped, so a layer cannot write outside the plugin folder.
fn extract_top_level(blob: &[u8], gzipped: bool, dir: &Path) -> Result<(), String> {
    use std::io::Read;
    let reader: Box<dyn Read> = if gzipped { Box::new(flate2::read::GzDecoder::new(blob)) } else { Box::new(blob) };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(|e| format!("the layer is not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("the layer is not a tar archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let parts: Vec<_> = path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
        let [std::path::Component::Normal(file)] = parts.as_slice() else { continue };
        let file = file.to_string_lossy().into_owned();
        if file.starts_with(".wh.") {
            continue;
        }
        let mode = entry.header().mode().unwrap_or(0o644) & 0o755;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let target = dir.join(&file);
        crate::private_files::write_file(&target, &bytes, crate::private_files::FileAttrs { mode, owner: None })
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    }
    Ok(())
}

/// An anonymous registry client that fetches the registry's anonymous bearer token when a
/// request is answered 401 with a `WWW-Authenticate: Bearer` challenge.
struct Registry {
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<String>>,
}

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

impl Registry {
    fn new() -> reqwest::Result<Registry> {
        let http =
            crate::http_client::builder(std::time::Duration::from_secs(60), Some(std::time::Duration::from_secs(300)))
                .build()?;
        Ok(Registry { http, token: tokio::sync::Mutex::new(None) })
    }

    async fn get(&self, url: &str, cap: usize) -> Result<Vec<u8>, String> {
        for attempt in 0..2 {
            let mut request = self.http.get(url).header("Accept", ACCEPT);
            if let Some(token) = self.token.lock().await.as_ref() {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.map_err(|e| crate::error::describe_reqwest(&e))?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                *self.token.lock().await = Some(self.anonymous_token(&challenge).await?);
                continue;
            }
            if !status.is_success() {
                return Err(format!("{url} answered HTTP {status}"));
            }
            if response.content_length().is_some_and(|n| n > cap as u64) {
                return Err(format!("{url} is larger than {cap} bytes"));
            }
            let bytes = response.bytes().await.map_err(|e| crate::error::describe_reqwest(&e))?;
            if bytes.len() > cap {
                return Err(format!("{url} is larger than {cap} bytes"));
            }
            return Ok(bytes.to_vec());
        }
        Err(format!("{url}: the registry refused the anonymous token"))
    }

    /// `Bearer realm="…",service="…",scope="…"` → GET realm?service=…&scope=… → its token.
    async fn anonymous_token(&self, challenge: &str) -> Result<String, String> {
        let params = challenge
            .strip_prefix("Bearer ")
            .ok_or("the registry needs credentials; plugins are pulled anonymously")?;
        let mut realm = None;
        let mut query = Vec::new();
        for part in params.split(',') {
            if let Some((k, v)) = part.trim().split_once('=') {
                let v = v.trim_matches('"').to_string();
                if k == "realm" { realm = Some(v) } else { query.push((k.to_string(), v)) }
            }
        }
        let realm = realm.ok_or("the registry's challenge names no token realm")?;
        let response =
            self.http.get(&realm).query(&query).send().await.map_err(|e| crate::error::describe_reqwest(&e))?;
        let body: serde_json::Value =
            response.json().await.map_err(|e| format!("the token answer is not JSON: {e}"))?;
        body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .map(str::to_string)
            .ok_or("no token in the registry's answer".into())
    }
}
