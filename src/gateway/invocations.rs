//! `/system/async/invocations`: the records of async calls, and the dead-letter queue's replay.
//! rfaas only; OpenFaaS has no such API (other gateways answer 404).
//!
//! - `GET /system/async/invocations?function=&namespace=&status=&limit=`: newest first; every
//!   filter optional (no namespace: every namespace), `limit` 1 to 1000 (default 100); an unknown,
//!   repeated or bad filter is a 400.
//! - `GET /system/async/invocations/{callId}`: one record; 404 when unknown or pruned.
//! - `POST /system/async/invocations/{callId}/retry`: queues a `dead` or `succeeded` call again with
//!   the same request, as a new attempt with a fresh retry budget (202 with the record); 409 for a
//!   call in any other state, or whose function is gone.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::names::{FnKey, check_function, check_namespace};
use super::queue::now_ms;
use super::state::Gateway;
use super::store::{Filter, RetryRefused, StoreError};
use crate::openfaas::invocations::{InvocationStatus, check_call_id};

/// Records per list when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 1000;

fn store_error(e: StoreError) -> ApiError {
    ApiError::internal("cannot read the async records", e)
}

/// The filters of a list request; the error is the text of a 400.
fn parse_filter(query: Option<&str>) -> Result<Filter, String> {
    let mut filter = Filter { limit: DEFAULT_LIMIT, ..Filter::default() };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if seen.contains(&key.to_string()) {
            return Err(format!("filter {key:?} is given more than once"));
        }
        seen.push(key.to_string());
        let value = value.into_owned();
        match key.as_ref() {
            "function" => {
                check_function(&value)?;
                filter.function = Some(value);
            }
            "namespace" => {
                check_namespace(&value)?;
                filter.namespace = Some(value);
            }
            "status" => filter.status = Some(value.parse::<InvocationStatus>()?),
            "limit" => {
                filter.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| format!("limit must be a whole number from 1 to {MAX_LIMIT}, got {value:?}"))?;
            }
            other => {
                return Err(format!("unknown filter {other:?}: expected function, namespace, status or limit"));
            }
        }
    }
    Ok(filter)
}

/// `GET /system/async/invocations`.
pub async fn list(State(gw): State<Arc<Gateway>>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let filter = parse_filter(query.as_deref()).map_err(ApiError::BadRequest)?;
    let records = gw.store.invocations(filter).await.map_err(store_error)?;
    Ok(Json(records).into_response())
}

fn checked(call_id: &str) -> Result<(), ApiError> {
    check_call_id(call_id).map_err(|why| ApiError::BadRequest(format!("invalid call id: {why}")))
}

fn not_found(call_id: &str) -> ApiError {
    ApiError::NotFound(format!("no async call {call_id} (unknown, or pruned after the retention window)"))
}

/// `GET /system/async/invocations/{callId}`.
pub async fn get(State(gw): State<Arc<Gateway>>, Path(call_id): Path<String>) -> Result<Response, ApiError> {
    checked(&call_id)?;
    let record = gw.store.invocation(&call_id).await.map_err(store_error)?.ok_or_else(|| not_found(&call_id))?;
    Ok(Json(record).into_response())
}

/// `POST /system/async/invocations/{callId}/retry`: 202 with the record, queued again.
pub async fn retry(State(gw): State<Arc<Gateway>>, Path(call_id): Path<String>) -> Result<Response, ApiError> {
    checked(&call_id)?;
    let record = gw.store.invocation(&call_id).await.map_err(store_error)?.ok_or_else(|| not_found(&call_id))?;
    let key = FnKey::new(&record.function, &record.namespace);
    if gw.functions.get(&key).is_none() {
        return Err(ApiError::Conflict(format!(
            "function {key} no longer exists; deploy it again before retrying {call_id}"
        )));
    }
    let pending = match gw.store.requeue_invocation(&call_id, now_ms()).await.map_err(store_error)? {
        Ok(pending) => pending,
        Err(RetryRefused::NotFound) => return Err(not_found(&call_id)),
        Err(RetryRefused::Status(status)) => {
            return Err(ApiError::Conflict(format!(
                "async call {call_id} is {status}; only succeeded and dead calls can be retried"
            )));
        }
    };
    super::console::info(&format!("async {call_id}: queued again by request"));
    // Read before the queue is told: a worker on another thread may start the call at once,
    // and the answer describes the call as this request left it (queued).
    let record = gw.store.invocation(&call_id).await.map_err(store_error)?.ok_or_else(|| not_found(&call_id));
    gw.queue.requeued(pending);
    Ok((StatusCode::ACCEPTED, Json(record?)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked() {
        let f = parse_filter(Some("function=payment&namespace=shop&status=dead&limit=5")).unwrap();
        assert_eq!(
            (f.function.as_deref(), f.namespace.as_deref(), f.status, f.limit),
            (Some("payment"), Some("shop"), Some(InvocationStatus::Dead), 5)
        );
        assert_eq!(parse_filter(None).unwrap().limit, DEFAULT_LIMIT);
        for (query, says) in [
            ("limit=0", "limit must be"),
            ("limit=1001", "limit must be"),
            ("limit=18446744073709551616", "limit must be"),
            ("limit=-1", "limit must be"),
            ("status=Dead", "unknown status"),
            ("status=", "unknown status"),
            ("function=../x", "function"),
            ("namespace=a%2Fb", "namespace"),
            ("stauts=dead", "unknown filter \"stauts\""),
            ("status=dead&status=queued", "more than once"),
        ] {
            let err = parse_filter(Some(query)).unwrap_err();
            assert!(err.contains(says), "{query}: {err}");
        }
    }
}
