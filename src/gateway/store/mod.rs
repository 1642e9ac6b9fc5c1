//! Durable gateway state in one SQLite file (`<state-dir>/gateway.db`): functions with their full
//! deployment, desired replicas and generation; namespaces; the async invocation records, which
//! are the work queue too ([`invocations`]); and the gateway's identity. WAL with `synchronous=FULL` means a committed write survives SIGKILL and
//! power loss, which is what lets `/async-function` answer 202 only after the fsync.
//! Secrets are not here: they are files (see `secrets.rs`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::names::FnKey;
use crate::openfaas::types::{FunctionDeployment, FunctionNamespace};

mod invocations;
pub use invocations::{AttemptEnd, AttemptResult, Filter, Inserted, Job, NewInvocation, Pending, RetryRefused};

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

/// A call queued by a gateway from before the invocation records (its `queue` table), to move.
#[derive(Debug, Clone)]
pub struct LegacyJob {
    pub id: i64,
    /// Owned by `queue.rs`.
    pub payload: String,
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
        conn.execute_batch(invocations::SCHEMA)?;
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

    /// The calls a gateway from before the invocation records left queued, oldest first.
    pub async fn legacy_queue(&self) -> Result<Vec<LegacyJob>, StoreError> {
        self.with(|c| {
            let exists: bool = c.query_row(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'queue'",
                [],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(Vec::new());
            }
            let mut stmt = c.prepare("SELECT id, payload FROM queue ORDER BY id")?;
            let jobs = stmt.query_map([], |r| Ok(LegacyJob { id: r.get(0)?, payload: r.get(1)? }))?;
            Ok(jobs.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Reads from the database (for health checks); the number of functions.
    pub async fn ping(&self) -> Result<u64, StoreError> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM functions", [], |r| r.get::<_, i64>(0))?.max(0) as u64))
            .await
    }

    /// Removes a moved legacy call; the table goes with the last one.
    pub async fn drop_legacy_job(&self, id: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute("DELETE FROM queue WHERE id = ?1", [id])?;
            let left: i64 = c.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get(0))?;
            if left == 0 {
                c.execute_batch("DROP TABLE queue")?;
            }
            Ok(())
        })
        .await
    }
}
