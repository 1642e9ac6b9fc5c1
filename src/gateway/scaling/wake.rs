//! Scale from zero: the one place a request finds its replica. With a replica in the endpoint
//! table that is all it does (one atomic load, plus the idle clock). Otherwise:
//!
//! * paused replicas (the idle tier) are unpaused and put back in the table;
//! * a function at 0 desired replicas is scaled to `max(com.openfaas.scale.min, 1)`;
//! * a function that wants replicas but has none ready waits while a reconcile is starting or
//!   adopting them (just after a gateway restart, a replica crash), else answers 503 at once.
//!
//! The wake runs as its own task, so a request that gives up (its deadline, a client that goes
//! away) never cancels a half-started replica; every request that arrives meanwhile joins the
//! same wake instead of starting another. A request waits at most until its deadline
//! (`--wake-timeout`), then gets 504 with a body that says what happened.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use tokio::sync::watch;
use tokio::time::Instant;

use super::labels::Policy;
use crate::gateway::error::plain;
use crate::gateway::state::{Endpoint, Function, Gateway};

/// How often a request waiting for a running reconcile looks for a replica.
const RECONCILE_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// How a wake ended (`None` while it runs), or why it failed, for the requests waiting on it.
pub(super) type Outcome = watch::Receiver<Option<Result<(), String>>>;

/// A replica of `f` for one request, waking the function if it has none; the error is the
/// response to send instead (503 no replicas / failed start, 504 the wake outlasted `deadline`).
pub async fn ready_or_wake(gw: &Arc<Gateway>, f: &Arc<Function>, deadline: Instant) -> Result<Arc<Endpoint>, Response> {
    f.scaling.touch();
    if let Some(endpoint) = f.pick() {
        return Ok(endpoint);
    }
    // Boxed: the rare path's state would otherwise enlarge every invocation's future, which
    // is moved (copied) several times on its way into the connection's task.
    Box::pin(wake(gw, f, deadline)).await
}

/// [`ready_or_wake`] once no replica is ready.
async fn wake(gw: &Arc<Gateway>, f: &Arc<Function>, deadline: Instant) -> Result<Arc<Endpoint>, Response> {
    loop {
        match join_or_start(gw, f) {
            Some(wake) => return wait_for_wake(gw, f, wake, deadline).await,
            None => {
                // The function wants replicas and has none ready: while a reconcile is starting
                // or adopting them (after a gateway restart, a crash, a scale, an idle removal
                // that just set 0), wait and look again (polled: this is the rare path);
                // otherwise 503.
                if let Some(endpoint) = f.pick() {
                    return Ok(endpoint);
                }
                let reconciling =
                    !f.scaling.reconciled.load(std::sync::atomic::Ordering::SeqCst) || f.ops.try_lock().is_err();
                if !reconciling {
                    return Err(no_endpoints(f));
                }
                if Instant::now() >= deadline {
                    return Err(timed_out(gw, f));
                }
                tokio::time::sleep(RECONCILE_POLL).await;
            }
        }
    }
}

async fn wait_for_wake(
    gw: &Gateway,
    f: &Function,
    mut wake: Outcome,
    deadline: Instant,
) -> Result<Arc<Endpoint>, Response> {
    loop {
        if let Some(endpoint) = f.pick() {
            return Ok(endpoint);
        }
        let outcome = wake.borrow_and_update().clone();
        match outcome {
            Some(Ok(())) => return f.pick().ok_or_else(|| no_endpoints(f)),
            Some(Err(reason)) => {
                let text = format!("Cannot start a replica of {}: {reason}", f.key.name);
                return Err(internal(StatusCode::SERVICE_UNAVAILABLE, text));
            }
            None => {}
        }
        match tokio::time::timeout_at(deadline, wake.changed()).await {
            Ok(Ok(())) => {}
            // The wake task ended without a word (it cannot, but a dropped sender must not spin).
            Ok(Err(_)) => return f.pick().ok_or_else(|| no_endpoints(f)),
            Err(_) => return Err(timed_out(gw, f)),
        }
    }
}

/// The wake in progress, or a new one when `f` is paused or at 0 replicas; `None` when there
/// is nothing to wake (the function wants replicas and is already getting them).
fn join_or_start(gw: &Arc<Gateway>, f: &Arc<Function>) -> Option<Outcome> {
    let mut slot = f.scaling.waking.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rx) = slot.as_ref() {
        return Some(rx.clone());
    }
    let paused = f.scaling.paused_count() > 0;
    if !paused && f.record().replicas > 0 {
        return None;
    }
    let (tx, rx) = watch::channel(None);
    *slot = Some(rx.clone());
    drop(slot);
    let (gw, f) = (gw.clone(), f.clone());
    tokio::spawn(async move {
        let result = if paused { resume(&gw, &f).await } else { scale_up(&gw, &f).await };
        // Clear the slot before telling the waiters, so a request after a failure tries again.
        *f.scaling.waking.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let _ = tx.send(Some(result));
    });
    Some(rx)
}

async fn resume(gw: &Arc<Gateway>, f: &Arc<Function>) -> Result<(), String> {
    let _ops = f.ops.lock().await;
    super::idle::resume(gw, f, "request").await;
    if f.endpoints().is_empty() {
        // Unpausing failed (the containers are gone): start afresh.
        drop(_ops);
        return scale_up(gw, f).await;
    }
    Ok(())
}

async fn scale_up(gw: &Arc<Gateway>, f: &Arc<Function>) -> Result<(), String> {
    let record = f.record();
    let to = if record.replicas > 0 {
        record.replicas
    } else {
        Policy::of(record.deployment.labels.as_ref(), gw.config.scaling.max_replicas).min.max(1)
    };
    super::set_replicas(gw, f, to, "request while at zero replicas").await.map_err(|e| e.to_string())
}

fn timed_out(gw: &Gateway, f: &Function) -> Response {
    let text = format!(
        "Timed out after {}s waiting for a replica of {} to start; it is still starting, try again.",
        gw.config.scaling.wake_timeout.as_secs_f64(),
        f.key.name
    );
    internal(StatusCode::GATEWAY_TIMEOUT, text)
}

fn no_endpoints(f: &Function) -> Response {
    internal(StatusCode::SERVICE_UNAVAILABLE, format!("No endpoints available for: {}.", f.key.name))
}

fn internal(status: StatusCode, text: String) -> Response {
    let mut r = plain(status, text);
    r.headers_mut().insert("x-openfaas-internal", HeaderValue::from_static("proxy"));
    r
}
