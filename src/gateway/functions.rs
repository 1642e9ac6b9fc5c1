//! `/system/functions`, `/system/function/{name}` and `/system/scale-function/{name}`: deploy,
//! update (rolling), remove, describe and scale functions.
//!
//! Status codes: POST 202 (409 when the function exists), PUT 200 (404 when unknown, which
//! faas-cli relies on to fall back to POST), DELETE 200 / 404, GET one 200 / 404, scale 200 / 404.
//! Invalid input is 400 (on every write, DELETE and scale included): names, namespace, missing
//! secrets, bad limits, environment variables Docker cannot pass on or that the gateway sets
//! itself, a bad `com.openfaas.scale.*` label (see [`super::scaling::labels`]), an invalid cron schedule, bad async
//! annotations (retry policy, queue, health path and initial delay), an invalid image reference, or a local image without a
//! command. Every check runs before anything is stored: a 400 leaves no record behind.
//! Deploy, update and scale wait (bounded by the health timeout) until the new replicas answer
//! their health check. An image that cannot be pulled (see `pull.rs`) is a 424: the function is
//! kept, unavailable (an update keeps the old replicas), with the reason in its status, and the
//! gateway keeps trying; replicas that fail otherwise are a 500, retried the same way.
//! Scaling needs `replicas`, a whole number from 0 to `--max-replicas` (10): 0 stops every
//! replica and keeps the function listed (the next invocation starts one again, see
//! [`super::scaling::wake`]); a missing, fractional, negative or larger count
//! is refused with 400, as are invalid names in the URL.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::cron;
use super::error::{ApiError, bad_name, parse_json, shown};
use super::names::{FnKey, check_function, check_namespace, check_secret};
use super::namespaces::require_namespace;
use super::provider;
use super::queue;
use super::replicas;
use super::resources;
use super::scaling::labels::Policy;
use super::state::{Function, Gateway};
use super::store::FunctionRecord;
use crate::openfaas::types::{DeleteFunctionRequest, FunctionDeployment, FunctionStatus, ScaleServiceRequest};

/// The label that sets a function's replica count at deploy time.
pub const SCALE_MIN_LABEL: &str = super::scaling::labels::MIN;

type NsQuery = Query<HashMap<String, String>>;

fn query_namespace(q: &HashMap<String, String>) -> &str {
    q.get("namespace").map(String::as_str).unwrap_or_default()
}

fn store_error(e: super::store::StoreError) -> ApiError {
    ApiError::internal("cannot save the function", e)
}

/// The status clients see for `f`.
pub fn status_of(f: &Function) -> FunctionStatus {
    let r = f.record();
    let d = r.deployment;
    FunctionStatus {
        name: r.key.name,
        image: d.image,
        namespace: r.key.namespace,
        env_process: d.env_process,
        env_vars: d.env_vars,
        constraints: d.constraints,
        secrets: d.secrets,
        labels: Some(d.labels.unwrap_or_default()),
        annotations: Some(d.annotations.unwrap_or_default()),
        limits: d.limits,
        requests: d.requests,
        read_only_root_filesystem: d.read_only_root_filesystem,
        invocation_count: f.invocations.load(Ordering::Relaxed) as f64,
        replicas: r.replicas,
        available_replicas: f.endpoints().len() as u64,
        created_at: r.created_at,
        usage: None,
        scaling: Some(f.scaling.status()),
        reason: f.reason(),
    }
}

/// `GET /system/functions?namespace=`.
pub async fn list(State(gw): State<Arc<Gateway>>, Query(q): NsQuery) -> Result<Response, ApiError> {
    let key = FnKey::new("", query_namespace(&q));
    bad_name(check_namespace(&key.namespace))?;
    require_namespace(&gw, &key.namespace).await?;
    let items: Vec<FunctionStatus> = gw.functions.in_namespace(&key.namespace).iter().map(|f| status_of(f)).collect();
    Ok(axum::Json(items).into_response())
}

/// `GET /system/function/{name}?namespace=`.
pub async fn get(
    State(gw): State<Arc<Gateway>>,
    Path(name): Path<String>,
    Query(q): NsQuery,
) -> Result<Response, ApiError> {
    let key = FnKey::new(&name, query_namespace(&q));
    let f = gw.functions.get(&key).ok_or_else(|| ApiError::NotFound(format!("function {key} not found")))?;
    Ok(axum::Json(status_of(&f)).into_response())
}

/// Validates a deployment, fills its namespace, and returns its key and initial replicas.
async fn validate(gw: &Gateway, d: &mut FunctionDeployment) -> Result<(FnKey, Option<u64>), ApiError> {
    bad_name(check_function(&d.service))?;
    let key = FnKey::new(&d.service, &d.namespace);
    bad_name(check_namespace(&key.namespace))?;
    require_namespace(gw, &key.namespace).await?;
    d.namespace = key.namespace.clone();
    if d.image.trim().is_empty() {
        return Err(ApiError::BadRequest("image is required".into()));
    }
    for secret in &d.secrets {
        bad_name(check_secret(secret))?;
        if !gw.secrets.exists(&key.namespace, secret) {
            return Err(ApiError::BadRequest(format!("unable to find secret: {secret}")));
        }
    }
    resources::to_docker(d.limits.as_ref(), d.requests.as_ref()).map_err(ApiError::BadRequest)?;
    provider::check_env(d).map_err(ApiError::BadRequest)?;
    let deployment = d.clone();
    tokio::task::spawn_blocking(move || cron::schedule_of(&deployment))
        .await
        .map_err(|e| ApiError::internal("cannot check the schedule", e))?
        .map_err(|e| ApiError::BadRequest(format!("function {}: {e}", d.service)))?;
    queue::check_annotations(d).map_err(ApiError::BadRequest)?;
    let policy = Policy::parse(d.labels.as_ref(), gw.config.scaling.max_replicas).map_err(ApiError::BadRequest)?;
    let min = d.labels.as_ref().and_then(|l| l.get(SCALE_MIN_LABEL)).map(|_| policy.min);
    super::readiness::Probe::of(d).map_err(ApiError::BadRequest)?;
    gw.provider.check_image(&d.image).await.map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok((key, min))
}

/// Starts or replaces replicas and reports a failure the client can act on: 424 when the image
/// cannot be pulled or used (the function is kept, unavailable, with the reason in its status,
/// and retried), else a 500.
async fn converge(gw: &Arc<Gateway>, f: &Arc<Function>, cause: replicas::Cause) -> Result<(), ApiError> {
    replicas::reconcile(gw, f, cause).await.map_err(|e| {
        super::console::warn(&format!("{}: {e}", f.key));
        let text = format!("{}; the gateway keeps trying (see the function's logs)", e.reason());
        if e.is_image_problem() { ApiError::FailedDependency(text) } else { ApiError::Internal(text) }
    })
}

/// `POST /system/functions`: 202.
pub async fn deploy(State(gw): State<Arc<Gateway>>, body: Bytes) -> Result<Response, ApiError> {
    let mut d: FunctionDeployment = parse_json(&body)?;
    let (key, min) = validate(&gw, &mut d).await?;
    if gw.functions.get(&key).is_some() {
        return Err(ApiError::Conflict(format!("function {key} already exists; update it with PUT")));
    }
    let record =
        FunctionRecord { key, deployment: d, replicas: min.unwrap_or(1), generation: 1, created_at: Utc::now() };
    let f = Arc::new(Function::new(record.clone()));
    if !gw.functions.insert_new(f.clone()) {
        return Err(ApiError::Conflict(format!("function {} already exists; update it with PUT", record.key)));
    }
    if let Err(e) = gw.store.put_function(&record).await {
        gw.functions.remove(&record.key);
        return Err(store_error(e));
    }
    cron::apply(&gw, &f);
    super::console::info(&format!("{}: deployed", f.key));
    converge(&gw, &f, replicas::Cause::Deploy).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /system/functions`: a rolling update; 200, or 404 when the function does not exist.
pub async fn update(State(gw): State<Arc<Gateway>>, body: Bytes) -> Result<Response, ApiError> {
    let mut d: FunctionDeployment = parse_json(&body)?;
    let key = FnKey::new(&d.service, &d.namespace);
    if check_function(&d.service).is_ok() && gw.functions.get(&key).is_none() {
        return Err(ApiError::NotFound(format!("function: {key} not found")));
    }
    let (key, min) = validate(&gw, &mut d).await?;
    let f = gw.functions.get(&key).ok_or_else(|| ApiError::NotFound(format!("function: {key} not found")))?;
    let edit = f.edit.lock().await;
    if !gw.functions.holds(&f) {
        return Err(ApiError::NotFound(format!("function: {key} not found")));
    }
    let old = f.record();
    let old_min = old.deployment.labels.as_ref().and_then(|l| l.get(SCALE_MIN_LABEL)).cloned();
    let new_min = d.labels.as_ref().and_then(|l| l.get(SCALE_MIN_LABEL)).cloned();
    let replicas = if new_min != old_min { min.unwrap_or(1) } else { old.replicas };
    let from = old.replicas;
    let record = FunctionRecord { deployment: d, replicas, generation: old.generation + 1, ..old };
    gw.store.put_function(&record).await.map_err(store_error)?;
    gw.metrics.scaled(&key.to_string(), from, replicas);
    f.set_record(record);
    drop(edit);
    cron::apply(&gw, &f);
    super::console::info(&format!("{key}: updating"));
    converge(&gw, &f, replicas::Cause::Update).await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /system/functions`: body `{functionName, namespace}`, namespace falling back to the query.
pub async fn delete(State(gw): State<Arc<Gateway>>, Query(q): NsQuery, body: Bytes) -> Result<Response, ApiError> {
    let req: DeleteFunctionRequest = parse_json(&body)?;
    let namespace = if req.namespace.is_empty() { query_namespace(&q) } else { &req.namespace };
    let key = FnKey::new(&req.function_name, namespace);
    bad_name(check_function(&key.name))?;
    bad_name(check_namespace(&key.namespace))?;
    let f = gw.functions.get(&key).ok_or_else(|| ApiError::NotFound(format!("function {key} not found")))?;
    let _edit = f.edit.lock().await;
    if !gw.functions.holds(&f) {
        return Err(ApiError::NotFound(format!("function {key} not found")));
    }
    // Containers go before the record: a crash in between leaves the function deployed (the
    // delete was not acknowledged) instead of leaving containers a restart would resurrect.
    gw.functions.remove(&key);
    f.cron.stop();
    replicas::remove_all(&gw, &f).await;
    gw.store.delete_function(&key).await.map_err(store_error)?;
    super::console::info(&format!("{key}: removed"));
    Ok(StatusCode::OK.into_response())
}

/// `POST /system/scale-function/{name}`: namespace from the body or the query; 0..=10 replicas.
pub async fn scale(
    State(gw): State<Arc<Gateway>>,
    Path(name): Path<String>,
    Query(q): NsQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    bad_name(check_function(&name))?;
    let req = parse_scale(&body, gw.config.scaling.max_replicas)?;
    if !req.service_name.is_empty() && req.service_name != name {
        return Err(ApiError::BadRequest(format!(
            "serviceName {} does not match the function in the URL ({name})",
            shown(&req.service_name)
        )));
    }
    let namespace = if req.namespace.is_empty() { query_namespace(&q) } else { &req.namespace };
    let key = FnKey::new(&name, namespace);
    bad_name(check_namespace(&key.namespace))?;
    let f = gw.functions.get(&key).ok_or_else(|| ApiError::NotFound(format!("function {key} not found")))?;
    let edit = f.edit.lock().await;
    if !gw.functions.holds(&f) {
        return Err(ApiError::NotFound(format!("function {key} not found")));
    }
    let record = FunctionRecord { replicas: req.replicas, ..f.record() };
    gw.store.put_function(&record).await.map_err(store_error)?;
    let from = f.record().replicas;
    f.set_record(record);
    drop(edit);
    gw.metrics.scaled(&key.to_string(), from, req.replicas);
    if from != req.replicas {
        super::scaling::note(&f, from, req.replicas, "scale request");
    }
    converge(&gw, &f, replicas::Cause::Scale).await?;
    Ok(StatusCode::OK.into_response())
}

/// Parses a scale body. `replicas` is required: with serde's defaults a body without it (`{}`,
/// `{"replica": 3}`) would silently scale the function to zero.
fn parse_scale(body: &[u8], limit: u64) -> Result<ScaleServiceRequest, ApiError> {
    let value: serde_json::Value = parse_json(body)?;
    let Some(replicas) = value.get("replicas") else {
        return Err(ApiError::BadRequest(format!(
            "replicas is required: a whole number from 0 to {limit}, e.g. {{\"serviceName\": \"NAME\", \"replicas\": 1}}"
        )));
    };
    if replicas.as_u64().is_none_or(|n| n > limit) {
        return Err(ApiError::BadRequest(format!(
            "replicas must be a whole number from 0 to {limit}, got {}",
            json_shown(replicas)
        )));
    }
    serde_json::from_value(value).map_err(|_| {
        ApiError::BadRequest("invalid request body: serviceName and namespace must be strings".to_string())
    })
}

/// A JSON value in an error message, bounded like [`shown`].
fn json_shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => shown(text),
        serde_json::Value::Array(_) => "an array".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
        // Numbers print short: serde_json keeps only a u64, an i64 or an f64.
        other => other.to_string(),
    }
}
