//! Namespaces: `openfaas-fn` always exists; others are created with `POST /system/namespace/`
//! (faas-cli and the go-sdk: the name is in the body) or `/system/namespace/{name}`, which require
//! the label `openfaas=1` as faasd does, and are kept in the store.
//! Status codes: POST 201 / 409, GET 200 / 404, PUT 202 / 404, DELETE 202 / 404; the default
//! namespace can be read but not changed or deleted (400), and a namespace that still has
//! functions cannot be deleted (400). Deleting a namespace deletes its secrets.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, bad_name, parse_json};
use super::names::check_namespace;
use super::state::Gateway;
use crate::openfaas::types::{DEFAULT_NAMESPACE, FunctionNamespace};

fn store_error(e: super::store::StoreError) -> ApiError {
    ApiError::internal("cannot read or write the namespace list", e)
}

async fn find(gw: &Gateway, name: &str) -> Result<Option<FunctionNamespace>, ApiError> {
    if name == DEFAULT_NAMESPACE {
        let labels = BTreeMap::from([("openfaas".to_string(), "1".to_string())]);
        return Ok(Some(FunctionNamespace { name: name.to_string(), labels, ..Default::default() }));
    }
    let all = gw.store.namespaces().await.map_err(store_error)?;
    Ok(all.into_iter().find(|n| n.name == name))
}

/// 400 `namespace not valid` unless `name` exists.
pub async fn require_namespace(gw: &Gateway, name: &str) -> Result<(), ApiError> {
    match find(gw, name).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::BadRequest(format!("namespace not valid: {name}"))),
    }
}

/// `GET /system/namespaces`: `["openfaas-fn", ...]`.
pub async fn list(State(gw): State<Arc<Gateway>>) -> Result<Response, ApiError> {
    let mut names = vec![DEFAULT_NAMESPACE.to_string()];
    names.extend(gw.store.namespaces().await.map_err(store_error)?.into_iter().map(|n| n.name));
    Ok(axum::Json(names).into_response())
}

pub async fn get(State(gw): State<Arc<Gateway>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    bad_name(check_namespace(&name))?;
    match find(&gw, &name).await? {
        Some(ns) => Ok(axum::Json(ns).into_response()),
        None => Err(ApiError::NotFound(format!("namespace {name} not found"))),
    }
}

fn parse_body(name: &str, body: &[u8]) -> Result<FunctionNamespace, ApiError> {
    bad_name(check_namespace(name))?;
    let mut ns: FunctionNamespace =
        if body.iter().all(u8::is_ascii_whitespace) { FunctionNamespace::default() } else { parse_json(body)? };
    if ns.name.is_empty() {
        ns.name = name.to_string();
    }
    if ns.name != name {
        return Err(ApiError::BadRequest(format!(
            "namespace in the body ({}) does not match the URL ({name})",
            ns.name
        )));
    }
    if !matches!(ns.labels.get("openfaas").map(String::as_str), Some("1" | "true")) {
        return Err(ApiError::BadRequest("a namespace needs the label openfaas=1".to_string()));
    }
    Ok(ns)
}

pub async fn create(
    State(gw): State<Arc<Gateway>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    insert(&gw, parse_body(&name, &body)?).await
}

/// `POST /system/namespace/`, the path faas-cli and the go-sdk use: the name comes from the body.
pub async fn create_from_body(State(gw): State<Arc<Gateway>>, body: Bytes) -> Result<Response, ApiError> {
    let named: FunctionNamespace =
        if body.iter().all(u8::is_ascii_whitespace) { FunctionNamespace::default() } else { parse_json(&body)? };
    if named.name.is_empty() {
        return Err(ApiError::BadRequest("the namespace name is required in the body".to_string()));
    }
    insert(&gw, parse_body(&named.name, &body)?).await
}

async fn insert(gw: &Gateway, ns: FunctionNamespace) -> Result<Response, ApiError> {
    let name = ns.name.clone();
    if find(gw, &name).await?.is_some() {
        return Err(ApiError::Conflict(format!("namespace {name} already exists")));
    }
    gw.store.put_namespace(&ns).await.map_err(store_error)?;
    Ok(StatusCode::CREATED.into_response())
}

pub async fn update(
    State(gw): State<Arc<Gateway>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ns = parse_body(&name, &body)?;
    if name == DEFAULT_NAMESPACE {
        return Err(ApiError::BadRequest(format!("the {DEFAULT_NAMESPACE} namespace cannot be changed")));
    }
    if find(&gw, &name).await?.is_none() {
        return Err(ApiError::NotFound(format!("namespace {name} not found")));
    }
    gw.store.put_namespace(&ns).await.map_err(store_error)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn delete(State(gw): State<Arc<Gateway>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    bad_name(check_namespace(&name))?;
    if name == DEFAULT_NAMESPACE {
        return Err(ApiError::BadRequest(format!("the {DEFAULT_NAMESPACE} namespace cannot be deleted")));
    }
    if find(&gw, &name).await?.is_none() {
        return Err(ApiError::NotFound(format!("namespace {name} not found")));
    }
    if !gw.functions.in_namespace(&name).is_empty() {
        return Err(ApiError::BadRequest(format!("namespace {name} still has functions: remove them first")));
    }
    gw.store.delete_namespace(&name).await.map_err(store_error)?;
    gw.secrets.remove_namespace(&name).map_err(|e| ApiError::internal("cannot delete the namespace's secrets", e))?;
    Ok(StatusCode::ACCEPTED.into_response())
}
