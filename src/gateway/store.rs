//! Durable gateway state in one SQLite file (`<state-dir>/gateway.db`): functions with their full
//! deployment, desired replicas and generation; namespaces; the async work queue; and the
//! gateway's identity. WAL with `synchronous=FULL` means a committed write survives SIGKILL and
//! power loss, which is what lets `/async-function` answer 202 only after the fsync.
//! Secrets are not here: they are files (see `secrets.rs`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::names::FnKey;
use crate::openfaas::types::{FunctionDeployment, FunctionNamespace};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("state database: corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("state database: worker thread failed")]
    Join,
}

/// A deployed function as the store keeps it.
#[derive(Debug, Clone)]
pub struct FunctionRecord {
    pub key: FnKey,
    pub deployment: FunctionDeployment,
    /// Desired replicas (scale requests and `com.openfaas.scale.min`).
    pub replicas: u64,
    /// Bumped on every update; containers carry it so stale ones are recognised.
    pub generation: u64,
    pub created_at: DateTime<Utc>,
}

/// A queued async call: an opaque JSON payload owned by `queue.rs`.
#[derive(Debug, Clone)]
pub struct QueuedJob {
    pub id: i64,
    pub payload: String,
    pub attempts: u32,
}

/// The state database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS functions (
    namespace TEXT NOT NULL, name TEXT NOT NULL, deployment TEXT NOT NULL,
    replicas INTEGER NOT NULL, generation INTEGER NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL);
";

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // Created 0600 first: SQLite gives its -wal and -shm files the database file's mode.
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|_| StoreError::Join)?
    }

    /// The gateway's identity; containers are labelled with it. `known` (from the state
    /// directory's `gateway-id` file) wins, so a lost database keeps the identity; otherwise the
    /// stored one is used, or a new one is created.
    pub async fn gateway_id(&self, known: Option<String>) -> Result<String, StoreError> {
        self.with(move |c| {
            let existing: Option<String> =
                c.query_row("SELECT value FROM meta WHERE key = 'gateway_id'", [], |r| r.get(0)).optional()?;
            let id = match (known, existing) {
                (Some(k), Some(e)) if k == e => return Ok(e),
                (Some(k), _) => k,
                (None, Some(e)) => return Ok(e),
                (None, None) => uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            };
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('gateway_id', ?1)", [&id])?;
            Ok(id)
        })
        .await
    }

    pub async fn functions(&self) -> Result<Vec<FunctionRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT namespace, name, deployment, replicas, generation, created_at FROM functions ORDER BY namespace, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (namespace, name, deployment, replicas, generation, created_at) = row?;
                out.push(FunctionRecord {
                    key: FnKey { namespace, name },
                    deployment: serde_json::from_str(&deployment)?,
                    replicas: u64::try_from(replicas).unwrap_or(0),
                    generation: u64::try_from(generation).unwrap_or(0),
                    created_at: DateTime::parse_from_rfc3339(&created_at)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_else(|_| Utc::now()),
                });
            }
            Ok(out)
        })
        .await
    }

    /// Inserts or replaces a function record.
    pub async fn put_function(&self, record: &FunctionRecord) -> Result<(), StoreError> {
        let deployment = serde_json::to_string(&record.deployment)?;
        let (ns, name) = (record.key.namespace.clone(), record.key.name.clone());
        let (replicas, generation) = (record.replicas as i64, record.generation as i64);
        let created = record.created_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        self.with(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO functions (namespace, name, deployment, replicas, generation, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![ns, name, deployment, replicas, generation, created],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn delete_function(&self, key: &FnKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.with(move |c| {
            c.execute("DELETE FROM functions WHERE namespace = ?1 AND name = ?2", params![key.namespace, key.name])?;
            Ok(())
        })
        .await
    }

    pub async fn namespaces(&self) -> Result<Vec<FunctionNamespace>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT body FROM namespaces ORDER BY name")?;
            let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn put_namespace(&self, ns: &FunctionNamespace) -> Result<(), StoreError> {
        let body = serde_json::to_string(ns)?;
        let name = ns.name.clone();
        self.with(move |c| {
            c.execute("INSERT OR REPLACE INTO namespaces (name, body) VALUES (?1, ?2)", params![name, body])?;
            Ok(())
        })
        .await
    }

    pub async fn delete_namespace(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.with(move |c| {
            c.execute("DELETE FROM namespaces WHERE name = ?1", [name])?;
            Ok(())
        })
        .await
    }

    /// Appends a job, durably, before the caller answers 202.
    pub async fn enqueue(&self, payload: String) -> Result<i64, StoreError> {
        self.with(move |c| {
            c.execute("INSERT INTO queue (payload, attempts, next_at) VALUES (?1, 0, 0)", [payload])?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Jobs due at `now_ms` (Unix milliseconds), oldest first, excluding `busy` ids.
    pub async fn due_jobs(&self, now_ms: i64, limit: usize, busy: Vec<i64>) -> Result<Vec<QueuedJob>, StoreError> {
        self.with(move |c| {
            let mut stmt =
                c.prepare("SELECT id, payload, attempts FROM queue WHERE next_at <= ?1 ORDER BY next_at, id LIMIT ?2")?;
            let extra = busy.len() + limit;
            let rows = stmt.query_map(params![now_ms, extra as i64], |r| {
                Ok(QueuedJob { id: r.get(0)?, payload: r.get(1)?, attempts: r.get::<_, i64>(2)? as u32 })
            })?;
            let mut out = Vec::new();
            for row in rows {
                let job = row?;
                if !busy.contains(&job.id) && out.len() < limit {
                    out.push(job);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Reads from the database (for health checks); the number of functions.
    pub async fn ping(&self) -> Result<u64, StoreError> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM functions", [], |r| r.get::<_, i64>(0))?.max(0) as u64))
            .await
    }

    /// How many async calls are queued (waiting or being run).
    pub async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0))?.max(0) as u64)).await
    }

    /// When the next job is due (Unix milliseconds), if any.
    pub async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.with(|c| Ok(c.query_row("SELECT MIN(next_at) FROM queue", [], |r| r.get::<_, Option<i64>>(0))?)).await
    }

    /// Records a failed attempt and when to try again.
    pub async fn retry_later(&self, id: i64, attempts: u32, next_at_ms: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute("UPDATE queue SET attempts = ?2, next_at = ?3 WHERE id = ?1", params![id, attempts, next_at_ms])?;
            Ok(())
        })
        .await
    }

    /// Removes a finished job.
    pub async fn finish(&self, id: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute("DELETE FROM queue WHERE id = ?1", [id])?;
            Ok(())
        })
        .await
    }
}
