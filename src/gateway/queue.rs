//! Durable asynchronous invocation: `POST /async-function/<name>[.<ns>][/<path>]`.
//!
//! The request (headers, body, path, callback URL) is committed to the state database with an
//! fsync *before* the 202 is sent, so accepted work survives a crash or SIGKILL and is picked up
//! again on the next start (delivery is at least once). A worker pool invokes the function with
//! `POST` and the original headers through the same proxy path as synchronous calls, retrying
//! on 429, 502, 503 and 504 (connection errors and timeouts are 502/504 there) with exponential
//! back-off, then POSTs the result to `X-Callback-Url` (see [`super::callback`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};

use super::callback::{CallbackAllow, Callbacks, Report};
use super::console;
use super::error::{ApiError, plain};
use super::proxy::{Target, decorate, forward, parse_target};
use super::state::Gateway;
use super::store::QueuedJob;

/// Largest accepted async body.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Attempts per call before the last result is final.
pub const MAX_ATTEMPTS: u32 = 6;
const WORKERS: usize = 4;
const RETRY_STATUSES: [u16; 4] = [429, 502, 503, 504];
const HEADERS_NOT_REPLAYED: [&str; 5] = ["host", "content-length", "connection", "transfer-encoding", "keep-alive"];

/// How the async queue was asked to run (`rfaas gateway` flags).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Which `X-Callback-Url` hosts are accepted.
    pub callback_allow: CallbackAllow,
    /// The longest one callback may take, connecting included.
    pub callback_timeout: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { callback_allow: CallbackAllow::Any, callback_timeout: Duration::from_secs(10) }
    }
}

/// The queue's shared state: the worker's wake-up signal and the callback sender.
pub struct Queue {
    notify: Notify,
    callbacks: Callbacks,
}

impl Queue {
    pub fn new(config: &QueueConfig) -> anyhow::Result<Queue> {
        let callbacks = Callbacks::new(config.callback_allow.clone(), config.callback_timeout)?;
        Ok(Queue { notify: Notify::new(), callbacks })
    }
}

/// What the store keeps for one queued call.
#[derive(Debug, Serialize, Deserialize)]
struct QueuedCall {
    call_id: String,
    function: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: String,
    callback_url: Option<String>,
    enqueued_ms: i64,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `POST /async-function/...`: 202 with an empty body once the call is durably queued.
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
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(format!("request body larger than {MAX_BODY} bytes")))?;
    let call_id = parts
        .headers
        .get("x-call-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(k, _)| !HEADERS_NOT_REPLAYED.contains(&k.as_str()) && k.as_str() != "x-call-id")
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    headers.push(("x-call-id".into(), call_id.clone()));
    headers.push(("x-start-time".into(), start_ns.to_string()));
    let call = QueuedCall {
        call_id: call_id.clone(),
        function: target.key.to_string(),
        path_and_query: target.path_and_query,
        headers,
        body: base64::engine::general_purpose::STANDARD.encode(&body),
        callback_url,
        enqueued_ms: now_ms(),
    };
    let payload = serde_json::to_string(&call).map_err(|e| ApiError::internal("Error queuing request", e))?;
    gw.store.enqueue(payload).await.map_err(|e| ApiError::internal("Error queuing request", e))?;
    gw.queue.notify.notify_one();
    Ok(decorate(StatusCode::ACCEPTED.into_response(), &call_id, start_ns))
}

/// Runs the workers until the process exits.
pub fn start_workers(gw: &Arc<Gateway>) {
    let gw = gw.clone();
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(WORKERS));
        let busy: Arc<Mutex<HashSet<i64>>> = Arc::default();
        loop {
            let free = permits.available_permits();
            let taken: Vec<i64> = busy.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
            let jobs =
                if free == 0 { Vec::new() } else { gw.store.due_jobs(now_ms(), free, taken).await.unwrap_or_default() };
            for job in jobs {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                busy.lock().unwrap_or_else(|p| p.into_inner()).insert(job.id);
                let (gw, busy) = (gw.clone(), busy.clone());
                tokio::spawn(async move {
                    let id = job.id;
                    process(&gw, job).await;
                    busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                    drop(permit);
                    gw.queue.notify.notify_one();
                });
            }
            tokio::select! {
                () = gw.queue.notify.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    });
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(10))
}

async fn process(gw: &Arc<Gateway>, job: QueuedJob) {
    let call: QueuedCall = match serde_json::from_str(&job.payload) {
        Ok(call) => call,
        Err(e) => {
            console::error(&format!("dropping unreadable queued call {}: {e}", job.id));
            let _ = gw.store.finish(job.id).await;
            return;
        }
    };
    let (status, headers, body) = invoke(gw, &call).await;
    let attempt = job.attempts + 1;
    if RETRY_STATUSES.contains(&status) && attempt < MAX_ATTEMPTS {
        let wait = backoff(job.attempts);
        console::info(&format!(
            "async {} ({}): status {status}, attempt {attempt}/{MAX_ATTEMPTS}; retrying in {wait:?}",
            call.function, call.call_id
        ));
        let _ = gw.store.retry_later(job.id, attempt, now_ms() + wait.as_millis() as i64).await;
        return;
    }
    console::info(&format!("async {} ({}): status {status} after {attempt} attempt(s)", call.function, call.call_id));
    if let Some(url) = &call.callback_url {
        callback(gw, url, &call, status, &headers, body).await;
    }
    if let Err(e) = gw.store.finish(job.id).await {
        console::error(&format!("cannot mark async call {} done: {e}", call.call_id));
    }
}

/// One attempt: status, response headers and body.
async fn invoke(gw: &Arc<Gateway>, call: &QueuedCall) -> (u16, HeaderMap, Bytes) {
    let target = Target {
        key: super::names::FnKey::parse_qualified(&call.function),
        path_and_query: call.path_and_query.clone(),
    };
    let body = base64::engine::general_purpose::STANDARD.decode(&call.body).unwrap_or_default();
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = axum::http::Method::POST;
    for (k, v) in &call.headers {
        if let (Ok(name), Ok(value)) = (k.parse::<axum::http::HeaderName>(), HeaderValue::from_str(v)) {
            request.headers_mut().append(name, value);
        }
    }
    request.headers_mut().insert("user-agent", HeaderValue::from_static("rfaas/queue-worker"));
    let response = forward(gw, &target, request, None).await;
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => (parts.status.as_u16(), parts.headers, collected.to_bytes()),
        Err(_) => (502, parts.headers, Bytes::new()),
    }
}

async fn callback(gw: &Gateway, url: &str, call: &QueuedCall, status: u16, headers: &HeaderMap, body: Bytes) {
    let seconds = (now_ms() - call.enqueued_ms) as f64 / 1000.0;
    let report = Report { call_id: &call.call_id, function: &call.function, status, seconds, extra: Vec::new() };
    let outcome = gw.queue.callbacks.send(url, &report, headers, body).await;
    match (outcome.status, outcome.error) {
        (Some(status), _) => console::info(&format!("async {}: callback answered {status}", call.call_id)),
        (None, error) => {
            console::warn(&format!("async {}: callback failed: {}", call.call_id, error.unwrap_or_default()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(9), Duration::from_secs(10));
    }
}
