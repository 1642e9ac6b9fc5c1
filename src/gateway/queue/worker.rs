//! One attempt at an async call: mark it running, invoke the function with `POST` and the original
//! headers through the same proxy path as synchronous calls, then either schedule a retry (the
//! function's retry policy) or, for the final attempt, tell the callback and record the end.
//!
//! The callback is sent before the final state is written: a crash in between makes the call run
//! again after the restart rather than leave it finished with a callback that was never sent.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use http_body_util::BodyExt;

use super::stats::Event;
use super::{Replay, now_ms, policy_of};
use crate::gateway::callback::Report;
use crate::gateway::console;
use crate::gateway::proxy::{Target, forward};
use crate::gateway::state::Gateway;
use crate::gateway::store::{AttemptEnd, AttemptResult, Job};
use crate::openfaas::invocations::{CallbackResult, InvocationStatus};

/// What the dispatcher does with a call after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again when it is due.
    Retry { due_ms: i64 },
    /// It reached `succeeded` or `dead`.
    Final,
    /// It was not (or no longer) waiting, or the store failed: nothing to schedule.
    Dropped,
}

/// How long to wait before trying again after the store failed to start an attempt.
const STORE_RETRY_MS: i64 = 1000;

/// Makes one attempt at `call_id`.
pub async fn attempt(gw: &Arc<Gateway>, call_id: &str) -> Next {
    let job = match gw.store.start_attempt(call_id, now_ms()).await {
        Ok(Some(job)) => job,
        Ok(None) => return Next::Dropped,
        Err(e) => {
            console::error(&format!("async {call_id}: cannot start an attempt: {e}"));
            return Next::Retry { due_ms: now_ms() + STORE_RETRY_MS };
        }
    };
    let started = Instant::now();
    let answer = invoke(gw, &job).await;
    let result = AttemptResult {
        status_code: answer.status,
        duration_seconds: started.elapsed().as_secs_f64(),
        bytes: answer.body.len() as u64,
        error: answer.error.clone(),
        finished_ms: now_ms(),
    };
    let (end, next) = conclude(gw, &job, answer).await;
    if let Err(e) = gw.store.finish_attempt(&job.call_id, result, end).await {
        // The record stays `running`: the next start of the gateway makes the attempt again.
        console::error(&format!("async {}: cannot record the attempt: {e}", job.call_id));
        return Next::Dropped;
    }
    next
}

/// After an attempt: a retry when the policy says so, else the final state, told to the callback.
async fn conclude(gw: &Arc<Gateway>, job: &Job, answer: Answer) -> (AttemptEnd, Next) {
    let policy = policy_of(gw, &job.key);
    let charged = job.charged + 1;
    if policy.retries(answer.status, answer.internal) && charged < policy.attempts {
        let wait = policy.wait(charged);
        let due_ms = now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        console::info(&format!(
            "async {} ({}): status {}, attempt {charged}/{}; retrying in {wait:?}",
            job.key, job.call_id, answer.status, policy.attempts
        ));
        gw.queue.counters.count(Event::Retry);
        return (AttemptEnd::Retry { next_ms: due_ms }, Next::Retry { due_ms });
    }
    let status = if (200..400).contains(&answer.status) { InvocationStatus::Succeeded } else { InvocationStatus::Dead };
    console::info(&format!(
        "async {} ({}): {status}, status {} after attempt {}",
        job.key, job.call_id, answer.status, job.number
    ));
    gw.queue.counters.count(if status == InvocationStatus::Dead { Event::Dead } else { Event::Succeeded });
    let callback = match &job.callback_url {
        Some(url) => Some(callback(gw, url, job, status, answer).await),
        None => None,
    };
    (AttemptEnd::Final { status, callback }, Next::Final)
}

/// The most of a function's async response the gateway holds to forward to the callback. A
/// larger body is dropped (the callback gets the status and headers, and the record says why)
/// rather than buffered: one call must not be able to exhaust the gateway's memory.
pub const MAX_RESPONSE_BODY: usize = 32 * 1024 * 1024;

/// The function's answer to one attempt.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    /// The gateway answered for the function (it never saw the call).
    internal: bool,
    error: Option<String>,
}

async fn invoke(gw: &Arc<Gateway>, job: &Job) -> Answer {
    let replay: Replay = match serde_json::from_str(&job.request) {
        Ok(replay) => replay,
        Err(e) => {
            console::error(&format!("async {}: unreadable stored request: {e}", job.call_id));
            let error = Some("the stored request is unreadable".to_string());
            return Answer { status: 500, headers: HeaderMap::new(), body: Bytes::new(), internal: false, error };
        }
    };
    let target = Target { key: job.key.clone(), path_and_query: replay.path_and_query };
    let mut request = Request::new(Body::from(job.body.clone()));
    *request.method_mut() = Method::POST;
    for (k, v) in &replay.headers {
        if let (Ok(name), Ok(value)) = (k.parse::<axum::http::HeaderName>(), HeaderValue::from_str(v)) {
            request.headers_mut().append(name, value);
        }
    }
    request.headers_mut().insert("user-agent", HeaderValue::from_static("rfaas/queue-worker"));
    let response = forward(gw, &target, request, None).await;
    let (parts, body) = response.into_parts();
    let internal = parts.headers.contains_key("x-openfaas-internal");
    let status = parts.status.as_u16();
    match http_body_util::Limited::new(body, MAX_RESPONSE_BODY).collect().await {
        Ok(collected) => Answer { status, headers: parts.headers, body: collected.to_bytes(), internal, error: None },
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Answer {
            status,
            headers: parts.headers,
            body: Bytes::new(),
            internal,
            error: Some(format!(
                "the function's response is larger than {} MiB: its body was dropped, not forwarded",
                MAX_RESPONSE_BODY / (1024 * 1024)
            )),
        },
        Err(e) => Answer {
            status: 502,
            headers: parts.headers,
            body: Bytes::new(),
            internal: false,
            error: Some(format!("the function's response was cut short: {e}")),
        },
    }
}

/// Tells the callback how the call ended: the function's last answer, its final state
/// (`X-Call-Status: succeeded|dead`) and how many attempts it took (`X-Call-Attempts`).
async fn callback(gw: &Gateway, url: &str, job: &Job, status: InvocationStatus, answer: Answer) -> CallbackResult {
    let seconds = (now_ms() - job.created_ms) as f64 / 1000.0;
    let function = job.key.to_string();
    let extra = vec![("x-call-status", status.to_string()), ("x-call-attempts", job.number.to_string())];
    let report = Report { call_id: &job.call_id, function: &function, status: answer.status, seconds, extra };
    let outcome = gw.queue.callbacks.send(url, &report, &answer.headers, answer.body).await;
    if outcome.status.is_none_or(|code| code >= 400) {
        gw.queue.counters.count(Event::CallbackFailed);
    }
    match (&outcome.status, &outcome.error) {
        (Some(code), _) => console::info(&format!("async {}: callback answered {code}", job.call_id)),
        (None, error) => {
            console::warn(&format!("async {}: callback failed: {}", job.call_id, error.as_deref().unwrap_or_default()))
        }
    }
    CallbackResult { status_code: outcome.status, error: outcome.error, at: chrono::Utc::now() }
}
