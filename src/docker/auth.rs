//! Registry credentials the way the Docker CLI finds them: `$DOCKER_CONFIG/config.json` (else
//! `~/.docker/config.json`), its `credHelpers` per registry, its `credsStore`, then `auths`
//! (base64 `auth`, or `username`/`password`). Helpers run as `docker-credential-<name> get`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

/// The Docker Hub name in Docker's config, used for images without a registry host.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// The parts of Docker's `config.json` that hold credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DockerConfig {
    pub auths: BTreeMap<String, AuthEntry>,
    pub creds_store: Option<String>,
    pub cred_helpers: BTreeMap<String, String>,
}

/// One `auths` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthEntry {
    pub auth: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub identitytoken: Option<String>,
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read Docker config {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("credential helper docker-credential-{helper} failed for {server}: {reason}")]
    Helper { helper: String, server: String, reason: String },
    #[error("invalid `auth` for {server} in {path}: {reason}")]
    BadAuth { server: String, path: String, reason: String },
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("config.json")),
        _ => dirs::home_dir().map(|h| h.join(".docker").join("config.json")),
    }
}

/// The registry host of an image reference (`docker.io` when it has none).
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// `https://host/v1/` → `host`, so config keys written either way match.
fn normalize(server: &str) -> String {
    let s = server.trim_start_matches("https://").trim_start_matches("http://");
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        h => h.to_string(),
    }
}

/// Credentials for pushing to `registry`, or `None` when the config has none.
pub fn credentials_for(registry: &str) -> Result<Option<DockerCredentials>, AuthError> {
    let Some(path) = config_path() else { return Ok(None) };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuthError::Config { path: path.display().to_string(), reason: e.to_string() }),
    };
    let config: DockerConfig = serde_json::from_str(&text)
        .map_err(|e| AuthError::Config { path: path.display().to_string(), reason: e.to_string() })?;
    lookup(&config, registry, &path.display().to_string())
}

/// The lookup itself, on a parsed config.
pub fn lookup(config: &DockerConfig, registry: &str, path: &str) -> Result<Option<DockerCredentials>, AuthError> {
    let wanted = normalize(registry);
    let server = if wanted == "docker.io" { DOCKER_HUB.to_string() } else { wanted.clone() };
    let helper = config.cred_helpers.iter().find(|(k, _)| normalize(k) == wanted).map(|(_, v)| v.clone());
    if let Some(helper) = helper.or_else(|| config.creds_store.clone()).filter(|h| !h.is_empty()) {
        return run_helper(&helper, &server).map(Some);
    }
    let Some((key, entry)) = config.auths.iter().find(|(k, _)| normalize(k) == wanted) else { return Ok(None) };
    let bad = |reason: String| AuthError::BadAuth { server: key.clone(), path: path.to_string(), reason };
    let (username, password) = match entry.auth.as_deref().filter(|a| !a.is_empty()) {
        Some(auth) => {
            let bytes =
                base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|e| bad(e.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
            let (u, p) = text.split_once(':').ok_or_else(|| bad("expected base64 of user:password".into()))?;
            (Some(u.to_string()), Some(p.to_string()))
        }
        None => (entry.username.clone(), entry.password.clone()),
    };
    Ok(Some(DockerCredentials {
        username,
        password,
        identitytoken: entry.identitytoken.clone(),
        serveraddress: Some(server),
        ..Default::default()
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperReply {
    username: String,
    secret: String,
}

fn run_helper(helper: &str, server: &str) -> Result<DockerCredentials, AuthError> {
    let fail = |reason: String| AuthError::Helper { helper: helper.to_string(), server: server.to_string(), reason };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(server.as_bytes()).map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        return Err(fail(text.trim().to_string()));
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout).map_err(|e| fail(e.to_string()))?;
    let mut creds = DockerCredentials { serveraddress: Some(server.to_string()), ..Default::default() };
    if reply.username == "<token>" {
        creds.identitytoken = Some(reply.secret);
    } else {
        creds.username = Some(reply.username);
        creds.password = Some(reply.secret);
    }
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_of("127.0.0.1:5000/a/fn:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("ghcr.io/o/fn"), "ghcr.io");
        assert_eq!(registry_of("alexellis/fn"), "docker.io");
        assert_eq!(registry_of("localhost/fn"), "localhost");
    }

    #[test]
    fn auths_with_base64_or_username_password() {
        let c = config(
            r#"{"auths":{"http://127.0.0.1:5000":{"auth":"dTpw"},"https://index.docker.io/v1/":{"username":"a","password":"b"}}}"#,
        );
        let creds = lookup(&c, "127.0.0.1:5000", "c.json").unwrap().unwrap();
        assert_eq!((creds.username.as_deref(), creds.password.as_deref()), (Some("u"), Some("p")));
        let hub = lookup(&c, "docker.io", "c.json").unwrap().unwrap();
        assert_eq!(hub.serveraddress.as_deref(), Some(DOCKER_HUB));
        assert_eq!(hub.username.as_deref(), Some("a"));
        assert!(lookup(&c, "ghcr.io", "c.json").unwrap().is_none());
    }

    #[test]
    fn a_missing_helper_is_a_clear_error() {
        let c = config(r#"{"credHelpers":{"ghcr.io":"rfaas-test-nonexistent"}}"#);
        let err = lookup(&c, "ghcr.io", "c.json").unwrap_err();
        assert!(err.to_string().starts_with("credential helper docker-credential-rfaas-test-nonexistent failed"));
    }
}
