//! Async invocation records: one row per accepted call, keyed by its call id, from `queued` to
//! `succeeded` or `dead`. The row is the work queue too (a call is due while `next_at` is set), so
//! a call id can be accepted once only, and a manual retry is one conditional update.
//!
//! The request (path, headers) is an opaque JSON text owned by `queue.rs`; the body is kept as is.
//! Finished records (`succeeded`, `dead`) are pruned by count and age; the others never are.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Store, StoreError};
use crate::gateway::names::FnKey;
use crate::openfaas::invocations::{Attempt, CallbackResult, Invocation, InvocationResponse, InvocationStatus};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS invocations (
    call_id TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    request TEXT NOT NULL, body BLOB NOT NULL, attempts TEXT NOT NULL DEFAULT '[]',
    budget_start INTEGER NOT NULL DEFAULT 0, response TEXT, callback_url TEXT, callback TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_at INTEGER);
CREATE INDEX IF NOT EXISTS invocations_by_created ON invocations (created_at);
CREATE INDEX IF NOT EXISTS invocations_finished ON invocations (updated_at) WHERE status IN ('succeeded', 'dead');
";

/// What an interrupted attempt says once the gateway is back.
const INTERRUPTED: &str = "interrupted: the gateway stopped during this attempt";

/// A call as it is accepted.
#[derive(Debug, Clone)]
pub struct NewInvocation {
    pub call_id: String,
    pub key: FnKey,
    /// Owned by `queue.rs`: how to replay the request.
    pub request: String,
    pub body: Vec<u8>,
    pub callback_url: Option<String>,
    pub now_ms: i64,
}

/// Whether an insert created the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Created, with its insertion order ([`Pending::seq`]).
    New(i64),
    /// The call id was already taken, by this function's call or another's.
    Existing(FnKey),
}

/// A call waiting for an attempt, as the dispatcher tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub call_id: String,
    pub key: FnKey,
    pub due_ms: i64,
    /// Insertion order, to keep calls due at the same time first in, first out.
    pub seq: i64,
}

/// What a worker needs for one attempt.
#[derive(Debug, Clone)]
pub struct Job {
    pub call_id: String,
    pub key: FnKey,
    pub request: String,
    pub body: Vec<u8>,
    pub callback_url: Option<String>,
    pub created_ms: i64,
    /// This attempt's number (1 for the first).
    pub number: u32,
    /// Attempts that got an answer since the call was queued or last retried by hand, this one
    /// excluded: what the retry policy's attempt count is measured against.
    pub charged: u32,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status_code: u16,
    pub duration_seconds: f64,
    pub bytes: u64,
    pub error: Option<String>,
    pub finished_ms: i64,
}

/// What becomes of the call after an attempt.
#[derive(Debug, Clone)]
pub enum AttemptEnd {
    /// `failed`, with the next attempt due then.
    Retry { next_ms: i64 },
    /// `succeeded` or `dead`, with what the callback answered.
    Final { status: InvocationStatus, callback: Option<CallbackResult> },
}

/// Filters of `GET /system/async/invocations` (all optional but the limit).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub function: Option<String>,
    pub namespace: Option<String>,
    pub status: Option<InvocationStatus>,
    pub limit: usize,
}

/// Why a manual retry was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryRefused {
    NotFound,
    /// Only `succeeded` and `dead` calls can be retried.
    Status(InvocationStatus),
}

pub(super) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn status_of(text: &str) -> Result<InvocationStatus, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(serde::de::Error::custom(format!("invocation status {text:?}"))))
}

fn read_attempts(c: &Connection, call_id: &str) -> Result<Option<(Vec<Attempt>, i64)>, StoreError> {
    let row: Option<(String, i64)> = c
        .query_row("SELECT attempts, budget_start FROM invocations WHERE call_id = ?1", [call_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((text, start)) => Ok(Some((serde_json::from_str(&text)?, start))),
    }
}

const RECORD_COLUMNS: &str =
    "call_id, namespace, name, status, attempts, response, callback_url, callback, created_at, updated_at, next_at";

/// A row of [`RECORD_COLUMNS`] before its JSON columns are read.
struct RecordRow {
    call_id: String,
    namespace: String,
    name: String,
    status: String,
    attempts: String,
    response: Option<String>,
    callback_url: Option<String>,
    callback: Option<String>,
    created: i64,
    updated: i64,
    next: Option<i64>,
}

fn record(r: &Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        call_id: r.get(0)?,
        namespace: r.get(1)?,
        name: r.get(2)?,
        status: r.get(3)?,
        attempts: r.get(4)?,
        response: r.get(5)?,
        callback_url: r.get(6)?,
        callback: r.get(7)?,
        created: r.get(8)?,
        updated: r.get(9)?,
        next: r.get(10)?,
    })
}

fn to_invocation(row: RecordRow) -> Result<Invocation, StoreError> {
    Ok(Invocation {
        status: status_of(&row.status)?,
        attempts: serde_json::from_str(&row.attempts)?,
        response: row.response.map(|t| serde_json::from_str(&t)).transpose()?,
        callback: row.callback.map(|t| serde_json::from_str(&t)).transpose()?,
        call_id: row.call_id,
        function: row.name,
        namespace: row.namespace,
        callback_url: row.callback_url,
        created_at: ms_to_time(row.created),
        updated_at: ms_to_time(row.updated),
        next_attempt_at: row.next.map(ms_to_time),
    })
}

impl Store {
    /// Records a new call, durably, before the caller answers 202; a call id already known is
    /// left as it is.
    pub async fn insert_invocation(&self, new: NewInvocation) -> Result<Inserted, StoreError> {
        self.with(move |c| {
            let inserted = c.execute(
                "INSERT INTO invocations (call_id, namespace, name, status, request, body, callback_url,
                                          created_at, updated_at, next_at)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?7, ?7) ON CONFLICT (call_id) DO NOTHING",
                params![
                    new.call_id,
                    new.key.namespace,
                    new.key.name,
                    new.request,
                    new.body,
                    new.callback_url,
                    new.now_ms
                ],
            )?;
            if inserted == 1 {
                return Ok(Inserted::New(c.last_insert_rowid()));
            }
            let (namespace, name) =
                c.query_row("SELECT namespace, name FROM invocations WHERE call_id = ?1", [&new.call_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            Ok(Inserted::Existing(FnKey { namespace, name }))
        })
        .await
    }

    /// Every call waiting for an attempt, for the dispatcher at start-up. Calls left `running` by
    /// a crash are queued again, due now, their open attempt marked as interrupted.
    pub async fn pending_invocations(&self, now_ms: i64) -> Result<Vec<Pending>, StoreError> {
        self.with(move |c| {
            let tx = c.transaction()?;
            let running: Vec<String> = tx
                .prepare("SELECT call_id FROM invocations WHERE status = 'running'")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for call_id in running {
                let Some((mut attempts, _)) = read_attempts(&tx, &call_id)? else { continue };
                if let Some(open) = attempts.last_mut().filter(|a| a.finished_at.is_none()) {
                    open.finished_at = Some(ms_to_time(now_ms));
                    open.error = Some(INTERRUPTED.to_string());
                }
                tx.execute(
                    "UPDATE invocations SET status = 'queued', attempts = ?2, updated_at = ?3, next_at = ?3
                     WHERE call_id = ?1",
                    params![call_id, serde_json::to_string(&attempts)?, now_ms],
                )?;
            }
            let pending = tx
                .prepare(
                    "SELECT call_id, namespace, name, next_at, rowid FROM invocations
                     WHERE next_at IS NOT NULL ORDER BY next_at, rowid",
                )?
                .query_map([], |r| {
                    Ok(Pending {
                        call_id: r.get(0)?,
                        key: FnKey { namespace: r.get(1)?, name: r.get(2)? },
                        due_ms: r.get(3)?,
                        seq: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit()?;
            Ok(pending)
        })
        .await
    }

    /// Marks `call_id` running with a new open attempt and returns what the attempt needs;
    /// `None` when the call is not waiting for one.
    pub async fn start_attempt(&self, call_id: &str, now_ms: i64) -> Result<Option<Job>, StoreError> {
        let call_id = call_id.to_string();
        self.with(move |c| {
            let tx = c.transaction()?;
            let row = tx
                .query_row(
                    "SELECT namespace, name, request, body, callback_url, created_at FROM invocations
                     WHERE call_id = ?1 AND next_at IS NOT NULL",
                    [&call_id],
                    |r| {
                        Ok((
                            FnKey { namespace: r.get(0)?, name: r.get(1)? },
                            r.get::<_, String>(2)?,
                            r.get::<_, Vec<u8>>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((key, request, body, callback_url, created_ms)) = row else { return Ok(None) };
            let Some((mut attempts, budget_start)) = read_attempts(&tx, &call_id)? else { return Ok(None) };
            let since_retry = attempts.iter().skip(usize::try_from(budget_start).unwrap_or(0));
            let charged = since_retry.filter(|a| a.status_code.is_some()).count() as u32;
            let number = attempts.len() as u32 + 1;
            attempts.push(Attempt {
                number,
                started_at: ms_to_time(now_ms),
                finished_at: None,
                status_code: None,
                duration_seconds: None,
                error: None,
            });
            tx.execute(
                "UPDATE invocations SET status = 'running', attempts = ?2, updated_at = ?3, next_at = NULL
                 WHERE call_id = ?1",
                params![call_id, serde_json::to_string(&attempts)?, now_ms],
            )?;
            tx.commit()?;
            Ok(Some(Job { call_id, key, request, body, callback_url, created_ms, number, charged }))
        })
        .await
    }

    /// Closes the open attempt of `call_id` and moves the call on as `end` says.
    pub async fn finish_attempt(
        &self,
        call_id: &str,
        result: AttemptResult,
        end: AttemptEnd,
    ) -> Result<(), StoreError> {
        let call_id = call_id.to_string();
        self.with(move |c| {
            let tx = c.transaction()?;
            let Some((mut attempts, _)) = read_attempts(&tx, &call_id)? else { return Ok(()) };
            if let Some(open) = attempts.last_mut() {
                open.finished_at = Some(ms_to_time(result.finished_ms));
                open.status_code = Some(result.status_code);
                open.duration_seconds = Some(result.duration_seconds);
                open.error = result.error.clone();
            }
            let attempts = serde_json::to_string(&attempts)?;
            match end {
                AttemptEnd::Retry { next_ms } => tx.execute(
                    "UPDATE invocations SET status = 'failed', attempts = ?2, updated_at = ?3, next_at = ?4
                     WHERE call_id = ?1",
                    params![call_id, attempts, result.finished_ms, next_ms],
                )?,
                AttemptEnd::Final { status, callback } => {
                    let response = InvocationResponse {
                        status_code: result.status_code,
                        bytes: result.bytes,
                        duration_seconds: result.duration_seconds,
                    };
                    let callback = callback.map(|cb| serde_json::to_string(&cb)).transpose()?;
                    tx.execute(
                        "UPDATE invocations SET status = ?2, attempts = ?3, response = ?4, callback = ?5,
                                updated_at = ?6, next_at = NULL
                         WHERE call_id = ?1",
                        params![
                            call_id,
                            status.as_str(),
                            attempts,
                            serde_json::to_string(&response)?,
                            callback,
                            result.finished_ms
                        ],
                    )?
                }
            };
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Queues a `succeeded` or `dead` call again, due now, with a fresh attempt budget; one
    /// conditional update, so of concurrent retries of one call exactly one succeeds.
    pub async fn requeue_invocation(
        &self,
        call_id: &str,
        now_ms: i64,
    ) -> Result<Result<Pending, RetryRefused>, StoreError> {
        let call_id = call_id.to_string();
        self.with(move |c| {
            let changed = c.execute(
                "UPDATE invocations SET status = 'queued', budget_start = json_array_length(attempts),
                        response = NULL, callback = NULL, updated_at = ?2, next_at = ?2
                 WHERE call_id = ?1 AND status IN ('succeeded', 'dead')",
                params![call_id, now_ms],
            )?;
            let row: Option<(String, String, String, i64)> = c
                .query_row(
                    "SELECT namespace, name, status, rowid FROM invocations WHERE call_id = ?1",
                    [&call_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((namespace, name, status, seq)) = row else { return Ok(Err(RetryRefused::NotFound)) };
            if changed == 0 {
                return Ok(Err(RetryRefused::Status(status_of(&status)?)));
            }
            Ok(Ok(Pending { call_id, key: FnKey { namespace, name }, due_ms: now_ms, seq }))
        })
        .await
    }

    /// One record.
    pub async fn invocation(&self, call_id: &str) -> Result<Option<Invocation>, StoreError> {
        let call_id = call_id.to_string();
        self.with(move |c| {
            let sql = format!("SELECT {RECORD_COLUMNS} FROM invocations WHERE call_id = ?1");
            let row = c.query_row(&sql, [call_id], record).optional()?;
            row.map(to_invocation).transpose()
        })
        .await
    }

    /// Records matching `filter`, newest first.
    pub async fn invocations(&self, filter: Filter) -> Result<Vec<Invocation>, StoreError> {
        self.with(move |c| {
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM invocations
                 WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR namespace = ?2) AND (?3 IS NULL OR status = ?3)
                 ORDER BY created_at DESC, rowid DESC LIMIT ?4"
            );
            let status = filter.status.map(InvocationStatus::as_str);
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let rows = c
                .prepare(&sql)?
                .query_map(params![filter.function, filter.namespace, status, limit], record)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(to_invocation).collect()
        })
        .await
    }

    /// Deletes finished records beyond the newest `keep` and those finished before `before_ms`;
    /// returns how many went.
    pub async fn prune_invocations(&self, keep: usize, before_ms: i64) -> Result<usize, StoreError> {
        self.with(move |c| {
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            let deleted = c.execute(
                "DELETE FROM invocations WHERE status IN ('succeeded', 'dead') AND (updated_at < ?2 OR rowid IN (
                     SELECT rowid FROM invocations WHERE status IN ('succeeded', 'dead')
                     ORDER BY updated_at DESC, rowid DESC LIMIT -1 OFFSET ?1))",
                params![keep, before_ms],
            )?;
            Ok(deleted)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
