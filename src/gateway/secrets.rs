//! Secrets: the API (`/system/secrets`), their files, and the copies functions mount.
//!
//! The gateway's own copy of a secret is `<state-dir>/secrets/<namespace>/<name>`, mode 0600 in
//! 0700 directories. Function images usually run as a non-root user, so each function gets its
//! own copies under `<state-dir>/mounts/<namespace>/<function>/<name>`, owned by the uid:gid the
//! image runs as (resolved by `image_user.rs`) with mode 0400, bind-mounted read-only at
//! `/var/openfaas/secrets/<name>`. If the owner cannot be resolved the copy falls back to mode
//! 0444 inside the 0700 directory (still unreadable to other host users). Updating a secret
//! rewrites those copies in place (a bind mount pins the file's inode, so a rename would not
//! reach running replicas), and a copy that already holds the value is kept for the same reason.
//! Writes go through `private_files` (unique temporary files, so secrets whose names differ
//! only in an extension never share one); creating is atomic (never two 201s for one name) and
//! updates are serialised, so concurrent updates leave every file holding one whole value.
//! Secret values never appear in responses, logs or error messages.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, bad_name, parse_json};
use super::image_user::Owner;
use super::names::{FnKey, check_secret};
use super::namespaces::require_namespace;
use super::state::Gateway;
use super::store::FunctionRecord;
use crate::openfaas::types::{DEFAULT_NAMESPACE, Secret};
use crate::private_files::{FileAttrs, create_private, private_dir, write_file, write_private};

/// Secret files under the state directory.
pub struct SecretStore {
    secrets: PathBuf,
    mounts: PathBuf,
    /// Held while a secret and its copies are rewritten or removed: two updates rewriting the
    /// same copies in place at once could interleave their bytes.
    changes: Mutex<()>,
}

impl SecretStore {
    pub fn new(state_dir: &Path) -> std::io::Result<SecretStore> {
        let store = SecretStore {
            secrets: state_dir.join("secrets"),
            mounts: state_dir.join("mounts"),
            changes: Mutex::new(()),
        };
        private_dir(&store.secrets)?;
        private_dir(&store.mounts)?;
        Ok(store)
    }

    fn path(&self, namespace: &str, name: &str) -> PathBuf {
        self.secrets.join(namespace).join(name)
    }

    pub fn exists(&self, namespace: &str, name: &str) -> bool {
        self.path(namespace, name).is_file()
    }

    /// The values of those of `names` that exist in `namespace`, to redact them from excerpts
    /// of a function's output.
    pub fn values(&self, namespace: &str, names: &[String]) -> Vec<Vec<u8>> {
        names.iter().filter_map(|name| fs_err::read(self.path(namespace, name)).ok()).collect()
    }

    /// Names in `namespace`, sorted.
    pub fn list(&self, namespace: &str) -> std::io::Result<Vec<String>> {
        let dir = self.secrets.join(namespace);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = fs_err::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| check_secret(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a new secret; false (and nothing written) when `namespace/name` exists.
    pub fn create(&self, namespace: &str, name: &str, bytes: &[u8]) -> std::io::Result<bool> {
        private_dir(&self.secrets.join(namespace))?;
        match create_private(&self.path(namespace, name), bytes) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replaces a secret and refreshes the functions' copies; false when it does not exist.
    pub fn update(&self, namespace: &str, name: &str, bytes: &[u8]) -> std::io::Result<bool> {
        let _changing = self.lock();
        if !self.exists(namespace, name) {
            return Ok(false);
        }
        write_private(&self.path(namespace, name), bytes)?;
        self.refresh_copies(namespace, name, bytes);
        Ok(true)
    }

    pub fn delete(&self, namespace: &str, name: &str) -> std::io::Result<()> {
        let _changing = self.lock();
        fs_err::remove_file(self.path(namespace, name))
    }

    /// Removes every secret of a deleted namespace.
    pub fn remove_namespace(&self, namespace: &str) -> std::io::Result<()> {
        match fs_err::remove_dir_all(self.secrets.join(namespace)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn copies_dir(&self, key: &FnKey) -> PathBuf {
        self.mounts.join(&key.namespace).join(&key.name)
    }

    /// Writes the function's copies of its secrets; returns `(name, host path)` pairs to mount.
    /// A secret deleted since the deploy is skipped with a warning.
    pub fn materialize(
        &self,
        record: &FunctionRecord,
        owner: Option<Owner>,
    ) -> std::io::Result<Vec<(String, PathBuf)>> {
        // An update running meanwhile could otherwise refresh the copies just before this
        // writes the value it read earlier.
        let _changing = self.lock();
        let dir = self.copies_dir(&record.key);
        private_dir(&dir)?;
        let mut out = Vec::new();
        for name in &record.deployment.secrets {
            let Ok(bytes) = fs_err::read(self.path(&record.key.namespace, name)) else {
                super::console::warn(&format!("{}: secret {name} no longer exists; not mounted", record.key));
                continue;
            };
            let target = dir.join(name);
            let attrs = match owner {
                Some(o) => FileAttrs { mode: 0o400, owner: Some((o.uid, o.gid)) },
                None => FileAttrs { mode: 0o444, owner: None },
            };
            // Replicas already running have this very file mounted: replacing it would leave
            // them out of later updates.
            if !holds(&target, &bytes, attrs) {
                write_file(&target, &bytes, attrs)?;
            }
            out.push((name.clone(), target));
        }
        Ok(out)
    }

    /// Rewrites, in place, every function copy of `namespace/name` so running replicas see it.
    fn refresh_copies(&self, namespace: &str, name: &str, bytes: &[u8]) {
        let Ok(functions) = fs_err::read_dir(self.mounts.join(namespace)) else { return };
        for function in functions.filter_map(|e| e.ok()) {
            let copy = function.path().join(name);
            if copy.is_file() {
                let written = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&copy)
                    .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
                if let Err(e) = written {
                    super::console::warn(&format!("cannot refresh a copy of secret {name}: {e}"));
                }
            }
        }
    }

    /// Removes a function's copies (after its last replica stopped).
    pub fn remove_copies(&self, key: &FnKey) {
        let _ = fs_err::remove_dir_all(self.copies_dir(key));
    }
}

/// Whether `path` is a file holding exactly `bytes` with `attrs` (mode, and owner if given).
fn holds(path: &Path, bytes: &[u8], attrs: FileAttrs) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    let owned = attrs.owner.is_none_or(|(uid, gid)| (meta.uid(), meta.gid()) == (uid, gid));
    meta.is_file()
        && meta.mode() & 0o7777 == attrs.mode
        && owned
        && meta.len() == bytes.len() as u64
        && std::fs::read(path).is_ok_and(|current| current == bytes)
}

/// Runs blocking file work (writes and fsyncs) off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

fn namespace_of(text: &str) -> String {
    if text.is_empty() { DEFAULT_NAMESPACE.to_string() } else { text.to_string() }
}

fn io_error(what: &str, e: std::io::Error) -> ApiError {
    ApiError::internal(what, e)
}

/// `GET /system/secrets?namespace=`: `[{name, namespace}]`.
pub async fn list(
    State(gw): State<Arc<Gateway>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let namespace = namespace_of(q.get("namespace").map(String::as_str).unwrap_or_default());
    require_namespace(&gw, &namespace).await?;
    let names = gw.secrets.list(&namespace).map_err(|e| io_error("cannot list secrets", e))?;
    let items: Vec<Secret> =
        names.into_iter().map(|name| Secret { name, namespace: namespace.clone(), ..Default::default() }).collect();
    Ok(axum::Json(items).into_response())
}

async fn parse_secret(gw: &Gateway, body: &[u8]) -> Result<(Secret, String), ApiError> {
    let secret: Secret = parse_json(body)?;
    bad_name(check_secret(&secret.name))?;
    let namespace = namespace_of(&secret.namespace);
    require_namespace(gw, &namespace).await?;
    Ok((secret, namespace))
}

/// `POST /system/secrets`: 201, or 409 when it exists.
pub async fn create(State(gw): State<Arc<Gateway>>, body: Bytes) -> Result<Response, ApiError> {
    let (secret, namespace) = parse_secret(&gw, &body).await?;
    let (store, ns, name, bytes) = (gw.clone(), namespace.clone(), secret.name.clone(), secret.bytes());
    let created = blocking(move || store.secrets.create(&ns, &name, &bytes))
        .await
        .map_err(|e| io_error("cannot store the secret", e))?;
    if !created {
        return Err(ApiError::Conflict(format!("secret {} already exists in {namespace}", secret.name)));
    }
    Ok(StatusCode::CREATED.into_response())
}

/// `PUT /system/secrets`: 200, or 404 when missing.
pub async fn update(State(gw): State<Arc<Gateway>>, body: Bytes) -> Result<Response, ApiError> {
    let (secret, namespace) = parse_secret(&gw, &body).await?;
    let (store, ns, name, bytes) = (gw.clone(), namespace.clone(), secret.name.clone(), secret.bytes());
    let updated = blocking(move || store.secrets.update(&ns, &name, &bytes))
        .await
        .map_err(|e| io_error("cannot store the secret", e))?;
    if !updated {
        return Err(ApiError::NotFound(format!("secret {} not found in {namespace}", secret.name)));
    }
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /system/secrets`: namespace from the body, else the query; 200, or 404 when missing.
pub async fn delete(
    State(gw): State<Arc<Gateway>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let secret: Secret = parse_json(&body)?;
    bad_name(check_secret(&secret.name))?;
    let namespace = namespace_of(if secret.namespace.is_empty() {
        q.get("namespace").map(String::as_str).unwrap_or_default()
    } else {
        &secret.namespace
    });
    require_namespace(&gw, &namespace).await?;
    if !gw.secrets.exists(&namespace, &secret.name) {
        return Err(ApiError::NotFound(format!("secret {} not found in {namespace}", secret.name)));
    }
    gw.secrets.delete(&namespace, &secret.name).map_err(|e| io_error("cannot delete the secret", e))?;
    Ok(StatusCode::OK.into_response())
}
