//! Hot reload of a handler inside a running replica, without an image build.
//!
//! The protocol, shared with `templates/python3-http/index.py` and `templates/node18/index.js`:
//!
//! 1. Images built from those templates carry the label [`HOT_RELOAD_LABEL`]`="1"`; the reload
//!    code in their server is dormant until signalled, so the image is the same with or without
//!    `--watch`.
//! 2. [`reload`] uploads one tar, extracted at `/home/app`: `function/<files>` (the host handler
//!    folder minus ignored files, `node_modules` and `__pycache__`, owned by the uid:gid the image
//!    runs as) and [`RELOAD_ID_FILE`], one line holding a reload id unique to this call.
//! 3. It sends `SIGHUP` to the container's main process.
//! 4. The server loads the new handler beside the old one and switches new requests to it only
//!    if the load succeeds (requests in flight finish on the old code; a failed load leaves the
//!    old code serving). Either way it prints one line on stdout: [`ANSWER_PREFIX`] and a JSON
//!    object (see [`answer`]).
//! 5. [`reload`] follows the container's log from just before the signal until the line with its
//!    id, or gives up after the caller's timeout, so that the caller can fall back to a rebuild.
//!
//! Files deleted on the host stay in the container until the next full rebuild: the upload only
//! adds and replaces files. Reloads of one container (as named by the caller) run one at a time
//! in this process, since the id file and the signal are per container.

mod answer;
mod archive;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::query_parameters::{KillContainerOptionsBuilder, LogsOptionsBuilder, UploadToContainerOptionsBuilder};
use futures_util::{Stream, StreamExt};

use crate::docker::engine_reason;
use crate::gateway::image_user;

pub use answer::{ANSWER_PREFIX, LogSeen};

/// The image label that says the template's server reloads its handler on `SIGHUP`.
pub const HOT_RELOAD_LABEL: &str = "com.rfaas.hot-reload";
/// Where the upload is extracted in the container: the template's `WORKDIR`.
pub const APP_HOME: &str = "/home/app";
/// The file (relative to [`APP_HOME`]) holding the id of the reload the signal asks for.
pub const RELOAD_ID_FILE: &str = ".rfaas-reload";
/// How long to wait for the runtime's answer before giving up (and rebuilding instead): far
/// more than a load takes (milliseconds), enough for a module that does work when imported.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether an image (or a container, whose labels include its image's) with these labels reloads
/// its handler on `SIGHUP`.
pub fn supports_hot_reload(image_labels: &HashMap<String, String>) -> bool {
    image_labels.get(HOT_RELOAD_LABEL).is_some_and(|v| v == "1")
}

/// One reload: which container gets which handler folder.
pub struct ReloadRequest<'a> {
    /// The container's id or name.
    pub container: &'a str,
    /// The handler folder on the host (the function's `handler:`), copied to `/home/app/function`.
    pub handler_dir: &'a Path,
    /// Files and folders to leave out, called with each path under `handler_dir` as found on
    /// disk (`handler_dir.join(relative)`); a folder left out is not walked. `node_modules` and
    /// `__pycache__` are always left out. `Sync` so that the reload future can be spawned.
    pub ignore: &'a (dyn Fn(&Path) -> bool + Sync),
}

/// What the runtime answered.
#[derive(Debug, Clone, PartialEq)]
pub enum ReloadOutcome {
    /// The new handler is serving new requests. `elapsed` is the time the runtime took to load it
    /// (the answer's `ms`); time the call for the whole round trip.
    Loaded { elapsed: Duration },
    /// The new handler failed to load; the old one is still serving.
    Failed {
        /// `Type: message`, e.g. `SyntaxError: invalid syntax`.
        error: String,
        /// The handler's own file where the error is, relative to `/home/app`
        /// (e.g. `function/handler.py`), when known.
        file: Option<String>,
        /// The line in `file`, when known.
        line: Option<u32>,
        /// The traceback or stack, lines joined with `\n`.
        detail: String,
    },
}

/// Why no answer came back; the caller should fall back to a rebuild.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("container {container}'s image has no {HOT_RELOAD_LABEL} label, so its server does not reload")]
    Unsupported { container: String },
    #[error("container {container} is not running")]
    NotRunning { container: String },
    #[error("cannot read the handler folder: {path}: {source}")]
    HandlerDir { path: PathBuf, source: std::io::Error },
    #[error("container {container} refused the handler files: its root filesystem is read-only")]
    ReadOnly { container: String },
    #[error("cannot copy the handler files into container {container}: {message}")]
    Upload { container: String, message: String },
    #[error("the runtime in container {container} did not answer the reload within {}; {seen}", humantime::format_duration(*.timeout))]
    NoAnswer { container: String, timeout: Duration, seen: LogSeen },
    #[error("container {container} stopped before its runtime answered the reload")]
    Stopped { container: String },
    #[error("the engine failed to {action} container {container}: {message}")]
    Engine { container: String, action: &'static str, message: String },
}

impl crate::error::Hint for ReloadError {
    fn hint(&self) -> Option<String> {
        match self {
            ReloadError::Unsupported { .. } => {
                Some("rebuild the function: images from rfaas's python3-http and node18 templates reload".into())
            }
            ReloadError::ReadOnly { .. } => Some(
                "read_only_root_filesystem: true keeps the handler from being replaced; a rebuild is needed".into(),
            ),
            _ => None,
        }
    }
}

/// Copies the handler into the running container, signals its server and waits (at most
/// `timeout`) for its answer.
pub async fn reload(docker: &Docker, req: &ReloadRequest<'_>, timeout: Duration) -> Result<ReloadOutcome, ReloadError> {
    let container = req.container;
    let _one_at_a_time = container_lock(container).await;
    let owner = hot_reload_owner(docker, container).await?;
    let id = next_reload_id();
    let tar = archive::handler_archive(req.handler_dir, req.ignore, owner, &id)
        .map_err(|(path, source)| ReloadError::HandlerDir { path, source })?;
    upload(docker, container, tar).await?;
    // Log timestamps have whole seconds here: start one second early, the id tells lines apart.
    let since = unix_seconds().saturating_sub(1);
    let logs = stdout_lines(docker, container, since);
    let kill = KillContainerOptionsBuilder::default().signal("SIGHUP").build();
    docker.kill_container(container, Some(kill)).await.map_err(|e| match engine(container, "signal", &e) {
        ReloadError::Engine { message, .. } if message.contains("is not running") => {
            ReloadError::NotRunning { container: container.to_string() }
        }
        other => other,
    })?;
    let mut seen = LogSeen::default();
    match tokio::time::timeout(timeout, answer::find(logs, &id, &mut seen)).await {
        Ok(Some(found)) => found.map_err(|message| ReloadError::Engine {
            container: container.to_string(),
            action: "read the logs of",
            message,
        }),
        Ok(None) => Err(ReloadError::Stopped { container: container.to_string() }),
        Err(_) => Err(ReloadError::NoAnswer { container: container.to_string(), timeout, seen }),
    }
}

/// Held while `container` is being reloaded.
async fn container_lock(container: &str) -> tokio::sync::OwnedMutexGuard<()> {
    type Locks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;
    static LOCKS: LazyLock<Locks> = LazyLock::new(Locks::default);
    let lock = LOCKS.lock().unwrap_or_else(|p| p.into_inner()).entry(container.to_string()).or_default().clone();
    lock.lock_owned().await
}

/// Checks that `container` runs and reloads, and returns the uid:gid its server runs as.
async fn hot_reload_owner(docker: &Docker, container: &str) -> Result<image_user::Owner, ReloadError> {
    let inspect = docker.inspect_container(container, None).await.map_err(|e| engine(container, "inspect", &e))?;
    let config = inspect.config.unwrap_or_default();
    if !supports_hot_reload(&config.labels.unwrap_or_default()) {
        return Err(ReloadError::Unsupported { container: container.to_string() });
    }
    if !inspect.state.and_then(|s| s.running).unwrap_or(false) {
        return Err(ReloadError::NotRunning { container: container.to_string() });
    }
    // Reading its /etc/passwd is most of the time a reload takes before the upload: once per
    // container (by id, so a new container under the same name is looked at afresh).
    static OWNERS: LazyLock<Mutex<HashMap<String, image_user::Owner>>> = LazyLock::new(Mutex::default);
    let id = inspect.id.unwrap_or_else(|| container.to_string());
    if let Some(owner) = OWNERS.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return Ok(*owner);
    }
    let user = config.user.unwrap_or_default();
    let owner = image_user::resolve_in_container(docker, container, &user).await.map_err(|message| {
        ReloadError::Engine { container: container.to_string(), action: "resolve the user of", message }
    })?;
    OWNERS.lock().unwrap_or_else(|p| p.into_inner()).insert(id, owner);
    Ok(owner)
}

async fn upload(docker: &Docker, container: &str, tar: Vec<u8>) -> Result<(), ReloadError> {
    let options = UploadToContainerOptionsBuilder::default().path(APP_HOME).build();
    docker.upload_to_container(container, Some(options), bollard::body_full(tar.into())).await.map_err(|e| {
        let message = engine_reason(&e);
        if message.contains("read-only") {
            ReloadError::ReadOnly { container: container.to_string() }
        } else {
            ReloadError::Upload { container: container.to_string(), message }
        }
    })
}

/// The container's stdout from `since` (Unix seconds) on, followed, as text chunks.
fn stdout_lines(docker: &Docker, container: &str, since: i64) -> impl Stream<Item = Result<String, String>> + use<> {
    let options = LogsOptionsBuilder::default()
        .follow(true)
        .stdout(true)
        .stderr(false)
        .since(i32::try_from(since).unwrap_or(i32::MAX))
        .build();
    docker.logs(container, Some(options)).map(|chunk| {
        chunk.map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned()).map_err(|e| engine_reason(&e))
    })
}

/// A reload id unique to this process and call: `<pid>-<counter>-<nanoseconds>`.
fn next_reload_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}-{n}-{nanos}", std::process::id())
}

fn unix_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn engine(container: &str, action: &'static str, err: &bollard::errors::Error) -> ReloadError {
    ReloadError::Engine { container: container.to_string(), action, message: engine_reason(err) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_label_set_to_one_means_hot_reload() {
        let labels = |v: &str| HashMap::from([(HOT_RELOAD_LABEL.to_string(), v.to_string())]);
        assert!(supports_hot_reload(&labels("1")));
        assert!(!supports_hot_reload(&labels("0")));
        assert!(!supports_hot_reload(&HashMap::new()));
    }

    /// Compiles only while the reload future is `Send`, i.e. can be given to `tokio::spawn`.
    #[allow(dead_code)]
    fn the_reload_future_can_be_spawned<'a>(
        docker: &'a Docker,
        req: &'a ReloadRequest<'a>,
    ) -> impl Future<Output = Result<ReloadOutcome, ReloadError>> + Send + 'a {
        reload(docker, req, Duration::from_secs(1))
    }

    #[test]
    fn reload_ids_differ_between_calls() {
        assert_ne!(next_reload_id(), next_reload_id());
    }
}
