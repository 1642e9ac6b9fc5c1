//! Durable asynchronous invocation: `POST /async-function/<name>[.<ns>][/<path>]`.
//!
//! The call (path, headers, body, callback URL) is committed to the state database with an fsync
//! *before* the 202 is sent, so accepted work survives a crash or SIGKILL and is picked up again on
//! the next start (delivery is at least once: an attempt cut short by a crash is made again, and
//! its record says it was interrupted). Each call is a record in the store ([`super::store`]) from
//! `queued` to `succeeded` or `dead`, kept for the retention window and served by
//! [`super::invocations`].
//!
//! A client may name its call with `X-Call-Id` (1 to 128 of `A-Z a-z 0-9 . _ : -`, starting with a
//! letter or digit): a call id the gateway already holds is answered 202 again without queueing
//! the call twice, so a client that lost its 202 (a gateway crash) can simply send the call again.
//!
//! [`dispatch`] decides which calls run when; [`worker`] makes one attempt and reports it.

mod dispatch;
pub mod policy;
mod stats;
mod worker;

pub use dispatch::DEFAULT_QUEUE;
pub use stats::{FunctionQueueStats, NamedQueueStats, QueueStats, stats};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::callback::{CallbackAllow, Callbacks};
use super::console;
use super::error::{ApiError, plain};
use super::names::FnKey;
use super::proxy::{decorate, parse_target};
use super::state::Gateway;
use super::store::{Inserted, NewInvocation, Pending};
use crate::openfaas::invocations::check_call_id;
use crate::openfaas::types::FunctionDeployment;
use dispatch::{Dispatcher, Lane};
use policy::RetryPolicy;

/// Largest accepted async body.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Headers of the async request that are not replayed to the function.
const HEADERS_NOT_REPLAYED: [&str; 6] =
    ["host", "content-length", "connection", "transfer-encoding", "keep-alive", "x-call-id"];

/// How the async queue was asked to run (`rfaas gateway` flags).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Which `X-Callback-Url` hosts are accepted.
    pub callback_allow: CallbackAllow,
    /// The longest one callback may take, connecting included.
    pub callback_timeout: Duration,
    /// Workers of each queue not named in `workers`.
    pub default_workers: usize,
    /// Workers per named queue.
    pub workers: BTreeMap<String, usize>,
    /// Finished records kept, newest first.
    pub retention_count: usize,
    /// Finished records older than this are deleted.
    pub retention_age: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            callback_allow: CallbackAllow::Any,
            callback_timeout: Duration::from_secs(10),
            default_workers: 4,
            workers: BTreeMap::new(),
            retention_count: 10_000,
            retention_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The queue's shared state: configuration, dispatcher, callback sender and counters.
pub struct Queue {
    config: QueueConfig,
    dispatcher: Dispatcher,
    callbacks: Callbacks,
    counters: stats::Counters,
}

impl Queue {
    pub fn new(config: &QueueConfig) -> anyhow::Result<Queue> {
        let callbacks = Callbacks::new(config.callback_allow.clone(), config.callback_timeout)?;
        let (dispatcher, counters) = (Dispatcher::default(), stats::Counters::default());
        Ok(Queue { config: config.clone(), dispatcher, callbacks, counters })
    }

    /// Hands a call that is due now, or at `pending.due_ms`, to the dispatcher.
    pub(super) fn schedule(&self, pending: Pending) {
        self.dispatcher.add(pending);
    }

    /// Schedules a finished call queued again through the retry route.
    pub(super) fn requeued(&self, pending: Pending) {
        self.counters.count(stats::Event::ManualRetry);
        self.dispatcher.add(pending);
    }

    /// How many calls of `queue` may run at once.
    fn workers_of(&self, queue: &str) -> usize {
        self.config.workers.get(queue).copied().unwrap_or(self.config.default_workers)
    }
}

/// Checks a deployment's async annotations (retry policy, queue, in-flight cap); the error is the
/// text of a 400 naming the annotation.
pub fn check_annotations(d: &FunctionDeployment) -> Result<(), String> {
    let annotations = d.annotations.clone().unwrap_or_default();
    RetryPolicy::from_annotations(&annotations)?;
    policy::lane_from_annotations(&annotations)?;
    Ok(())
}

fn annotations_of(gw: &Gateway, key: &FnKey) -> BTreeMap<String, String> {
    gw.functions.get(key).and_then(|f| f.record().deployment.annotations).unwrap_or_default()
}

/// The queue and in-flight cap of `key`'s calls (the default lane once the function is gone).
fn lane_of(gw: &Gateway, key: &FnKey) -> Lane {
    policy::lane_from_annotations(&annotations_of(gw, key))
        .unwrap_or(Lane { queue: DEFAULT_QUEUE.to_string(), max_inflight: None })
}

/// The retry policy of `key`'s calls.
fn policy_of(gw: &Gateway, key: &FnKey) -> RetryPolicy {
    RetryPolicy::from_annotations(&annotations_of(gw, key)).unwrap_or_default()
}

/// How a queued call is replayed to the function (the store keeps it as JSON).
#[derive(Debug, Serialize, Deserialize)]
struct Replay {
    path_and_query: String,
    headers: Vec<(String, String)>,
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The client's `X-Call-Id` when valid, a new one when absent.
fn call_id_of(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers.get("x-call-id") {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(value) => {
            let id = value.to_str().map_err(|_| ApiError::BadRequest("X-Call-Id is not valid text".into()))?;
            check_call_id(id).map_err(|why| ApiError::BadRequest(format!("invalid X-Call-Id: {why}")))?;
            Ok(id.to_string())
        }
    }
}

/// `POST /async-function/...`: 202 with an empty body once the call is durably queued, or once
/// more for a call id already held.
pub async fn accept(State(gw): State<Arc<Gateway>>, request: Request) -> Result<Response, ApiError> {
    let start_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let Some(target) = parse_target("/async-function/", request.uri()) else {
        return Ok(plain(StatusCode::NOT_FOUND, "404 page not found".to_string()));
    };
    if gw.functions.get(&target.key).is_none() {
        return Err(ApiError::NotFound(format!("error finding function {}: not found", target.key)));
    }
    let (parts, body) = request.into_parts();
    let callback_url = match parts.headers.get("x-callback-url") {
        None => None,
        Some(v) => {
            let text = v.to_str().map_err(|_| ApiError::BadRequest("X-Callback-Url is not valid text".into()))?;
            Some(gw.queue.callbacks.check(text).map_err(ApiError::BadRequest)?.to_string())
        }
    };
    let call_id = call_id_of(&parts.headers)?;
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(format!("request body larger than {MAX_BODY} bytes")))?;
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(k, _)| !HEADERS_NOT_REPLAYED.contains(&k.as_str()))
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    headers.push(("x-call-id".into(), call_id.clone()));
    headers.push(("x-start-time".into(), start_ns.to_string()));
    let replay = Replay { path_and_query: target.path_and_query, headers };
    let new = NewInvocation {
        call_id: call_id.clone(),
        key: target.key.clone(),
        request: serde_json::to_string(&replay).map_err(|e| ApiError::internal("Error queuing request", e))?,
        body: body.to_vec(),
        callback_url,
        now_ms: now_ms(),
    };
    let due_ms = new.now_ms;
    match gw.store.insert_invocation(new).await.map_err(|e| ApiError::internal("Error queuing request", e))? {
        Inserted::New(seq) => gw.queue.schedule(Pending { call_id: call_id.clone(), key: target.key, due_ms, seq }),
        Inserted::Existing(key) if key == target.key => {
            console::info(&format!("async {call_id}: already queued; not queued again"));
        }
        Inserted::Existing(key) => {
            return Err(ApiError::Conflict(format!("X-Call-Id {call_id} is already used by a call to {key}")));
        }
    }
    Ok(decorate(StatusCode::ACCEPTED.into_response(), &call_id, start_ns))
}

/// Moves calls a gateway from before the invocation records left queued, loads every waiting
/// call, and starts the dispatcher and the pruning of old records.
pub async fn start(gw: &Arc<Gateway>) {
    move_legacy_queue(&gw.store).await;
    match gw.store.pending_invocations(now_ms()).await {
        Ok(pending) => {
            if !pending.is_empty() {
                console::info(&format!("{} async call(s) waiting", pending.len()));
            }
            for p in pending {
                gw.queue.schedule(p);
            }
        }
        Err(e) => console::error(&format!("cannot read the queued async calls: {e}")),
    }
    dispatch::spawn(gw.clone());
    tokio::spawn(prune_loop(gw.clone()));
}

/// A call as the `queue` table of an older gateway kept it.
#[derive(Deserialize)]
struct LegacyCall {
    call_id: String,
    function: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: String,
    callback_url: Option<String>,
    enqueued_ms: i64,
}

async fn move_legacy_queue(store: &super::store::Store) {
    let Ok(jobs) = store.legacy_queue().await else { return };
    for job in jobs {
        if let Ok(call) = serde_json::from_str::<LegacyCall>(&job.payload) {
            let replay = Replay { path_and_query: call.path_and_query, headers: call.headers };
            let new = NewInvocation {
                call_id: call.call_id,
                key: FnKey::parse_qualified(&call.function),
                request: serde_json::to_string(&replay).unwrap_or_default(),
                body: base64::engine::general_purpose::STANDARD.decode(&call.body).unwrap_or_default(),
                callback_url: call.callback_url,
                now_ms: call.enqueued_ms,
            };
            if let Err(e) = store.insert_invocation(new).await {
                console::error(&format!("cannot move queued async call {}: {e}", job.id));
                return;
            }
        } else {
            console::error(&format!("dropping unreadable queued async call {}", job.id));
        }
        if let Err(e) = store.drop_legacy_job(job.id).await {
            console::error(&format!("cannot move queued async call {}: {e}", job.id));
            return;
        }
    }
}

/// How often finished records are pruned when calls finish, and at the longest.
const PRUNE_SOON: Duration = Duration::from_secs(1);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

async fn prune_loop(gw: Arc<Gateway>) {
    let mut last = tokio::time::Instant::now() - PRUNE_EVERY;
    loop {
        if gw.queue.dispatcher.take_finished() || last.elapsed() >= PRUNE_EVERY {
            let age = i64::try_from(gw.queue.config.retention_age.as_millis()).unwrap_or(i64::MAX);
            let before = now_ms().saturating_sub(age);
            match gw.store.prune_invocations(gw.queue.config.retention_count, before).await {
                Ok(0) => {}
                Ok(n) => console::info(&format!("pruned {n} finished async record(s)")),
                Err(e) => console::warn(&format!("cannot prune async records: {e}")),
            }
            last = tokio::time::Instant::now();
        }
        tokio::time::sleep(PRUNE_SOON).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_queued_by_an_older_gateway_are_moved_to_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.db");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL,
                                 attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL);",
        )
        .unwrap();
        let payload = serde_json::json!({
            "call_id": "old-1", "function": "worker.dev", "path_and_query": "/x?y=1",
            "headers": [["x-call-id", "old-1"]], "body": "aGk=", "callback_url": null, "enqueued_ms": 5
        });
        old.execute("INSERT INTO queue (payload, next_at) VALUES (?1, 0)", [payload.to_string()]).unwrap();
        old.execute("INSERT INTO queue (payload, next_at) VALUES ('not json', 0)", []).unwrap();
        drop(old);
        let store = super::super::store::Store::open(&path).unwrap();
        move_legacy_queue(&store).await;
        let pending = store.pending_invocations(10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].call_id.as_str(), pending[0].key.to_string()), ("old-1", "worker.dev".to_string()));
        let job = store.start_attempt("old-1", 11).await.unwrap().unwrap();
        assert_eq!(job.body, b"hi");
        let replay: Replay = serde_json::from_str(&job.request).unwrap();
        assert_eq!(replay.path_and_query, "/x?y=1");
        assert!(store.legacy_queue().await.unwrap().is_empty(), "the old table is gone");
    }
}
