//! Small endpoints: `/healthz` (GET/HEAD, open), `/metrics` (open) and `/system/info`
//! (versions are never null: faas-cli reads them without checks).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::state::Gateway;
use crate::commands::version::COMMIT;
use crate::openfaas::types::{GatewayInfo, ProviderInfo, VersionInfo};

pub async fn healthz() -> &'static str {
    "OK"
}

pub async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    let mut response = gw.metrics.render(&gw.functions).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// The architecture as Go names it (`amd64`, `arm64`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    }
}

pub fn info_body() -> GatewayInfo {
    let version = VersionInfo {
        commit_message: String::new(),
        sha: COMMIT.to_string(),
        release: env!("CARGO_PKG_VERSION").to_string(),
    };
    GatewayInfo {
        provider: ProviderInfo { provider: "rfaas".into(), orchestration: "docker".into(), version: version.clone() },
        version: VersionInfo { commit_message: "rfaas built-in gateway".into(), ..version },
        arch: go_arch().to_string(),
    }
}

pub async fn info() -> Response {
    axum::Json(info_body()).into_response()
}
