//! Health: `/healthz` (open, GET/HEAD) and `GET /system/health` (behind auth).
//!
//! `/healthz` stays what OpenFaaS clients expect, 200 `OK`, as long as the gateway can do its
//! work: it answers 503 with the reason when the container engine or the state store does not
//! answer within a second. `/system/health` reports each part (engine, store, async queue,
//! cron) with its status and how long the check took, as JSON; 200 when all are ok, else 503.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::error::plain;
use super::state::Gateway;

/// How long `/healthz` waits for the engine and the store.
const LIVENESS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long `/system/health` waits for each check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// A schedule whose next run is this far in the past has a stuck scheduler.
const CRON_OVERDUE: Duration = Duration::from_secs(5);

/// One part's health.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// `ok` or `error`.
    pub status: &'static str,
    pub latency_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the check found (versions, counts), by name.
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}

impl Check {
    fn ok(&self) -> bool {
        self.status == "ok"
    }
}

/// Runs `probe` with a timeout and times it.
async fn timed<F>(timeout: Duration, probe: F) -> Check
where
    F: Future<Output = Result<serde_json::Map<String, Value>, String>>,
{
    let t0 = Instant::now();
    let result = tokio::time::timeout(timeout, probe).await;
    let latency_seconds = t0.elapsed().as_secs_f64();
    match result {
        Ok(Ok(details)) => Check { status: "ok", latency_seconds, error: None, details },
        Ok(Err(e)) => Check { status: "error", latency_seconds, error: Some(e), details: Default::default() },
        Err(_) => Check {
            status: "error",
            latency_seconds,
            error: Some(format!("no answer within {}s", timeout.as_secs_f64())),
            details: Default::default(),
        },
    }
}

fn details(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

async fn engine(gw: &Gateway, timeout: Duration, full: bool) -> Check {
    timed(timeout, async {
        if !full {
            gw.provider.docker.ping().await.map_err(|e| e.to_string())?;
            return Ok(serde_json::Map::new());
        }
        let v = gw.provider.docker.version().await.map_err(|e| e.to_string())?;
        let name = v.platform.map(|p| p.name).unwrap_or_default();
        Ok(details(json!({"engine": name, "version": v.version, "apiVersion": v.api_version})))
    })
    .await
}

async fn store(gw: &Gateway, timeout: Duration) -> Check {
    let path = gw.config.state_dir.join("gateway.db");
    timed(timeout, async {
        // A deleted or replaced file would keep answering through the open handle while every
        // write went to a file no restart will read.
        std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let functions = gw.store.ping().await.map_err(|e| e.to_string())?;
        Ok(details(json!({ "functions": functions })))
    })
    .await
}

/// The async queue as its dispatcher holds it: calls waiting and running, per named queue.
async fn queue(gw: &Gateway) -> Check {
    timed(CHECK_TIMEOUT, async {
        let stats = super::queue::stats(gw);
        let queues: Vec<Value> = stats
            .queues
            .iter()
            .map(|q| json!({"queue": q.queue, "workers": q.workers, "waiting": q.waiting, "running": q.running}))
            .collect();
        let waiting: usize = stats.queues.iter().map(|q| q.waiting).sum();
        let running: usize = stats.queues.iter().map(|q| q.running).sum();
        Ok(details(json!({ "depth": waiting, "running": running, "queues": queues })))
    })
    .await
}

async fn cron(gw: &Gateway) -> Check {
    timed(CHECK_TIMEOUT, async {
        let now = chrono::Utc::now();
        let mut scheduled = 0;
        let mut stuck = Vec::new();
        for f in gw.functions.all() {
            let Some((_, next, alive)) = f.cron.health() else { continue };
            scheduled += 1;
            let overdue = next.is_some_and(|at| (now - at).to_std().is_ok_and(|late| late > CRON_OVERDUE));
            if !alive || overdue {
                stuck.push(f.key.to_string());
            }
        }
        if !stuck.is_empty() {
            return Err(format!("the schedule of {} is not running", stuck.join(", ")));
        }
        Ok(details(json!({ "scheduled": scheduled })))
    })
    .await
}

/// `/healthz`: 200 `OK`, or 503 naming what does not answer.
pub async fn healthz(State(gw): State<Arc<Gateway>>) -> Response {
    let (engine, store) = tokio::join!(engine(&gw, LIVENESS_TIMEOUT, false), store(&gw, LIVENESS_TIMEOUT));
    let mut problems = Vec::new();
    for (name, check) in [("container engine", &engine), ("state store", &store)] {
        if let Some(e) = &check.error {
            problems.push(format!("{name}: {e}"));
        }
    }
    if problems.is_empty() {
        return "OK".into_response();
    }
    plain(StatusCode::SERVICE_UNAVAILABLE, problems.join("; "))
}

/// `GET /system/health`.
pub async fn report(State(gw): State<Arc<Gateway>>) -> Response {
    let (engine, store, queue, cron) =
        tokio::join!(engine(&gw, CHECK_TIMEOUT, true), store(&gw, CHECK_TIMEOUT), queue(&gw), cron(&gw));
    let healthy = [&engine, &store, &queue, &cron].iter().all(|c| c.ok());
    let body = json!({
        "status": if healthy { "ok" } else { "error" },
        "checks": { "engine": engine, "store": store, "queue": queue, "cron": cron },
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}
