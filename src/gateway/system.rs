//! Small endpoints: `/metrics` (open) and `/system/info`
//! (versions are never null: faas-cli reads them without checks).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use std::sync::atomic::Ordering;

use super::metrics::{FunctionGauges, Scrape};
use super::state::Gateway;
use crate::commands::version::COMMIT;
use crate::openfaas::types::{GatewayInfo, ProviderInfo, VersionInfo};

/// `GET /metrics`: the counters, with the gauges read now.
pub async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    let mut response = gw.metrics.render(&scrape(&gw)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// The current state the gauges report.
pub fn scrape(gw: &Gateway) -> Scrape {
    let functions = gw
        .functions
        .all()
        .iter()
        .map(|f| FunctionGauges {
            name: f.key.to_string(),
            desired: f.record().replicas,
            available: f.endpoints().len(),
            starting: f.starting.load(Ordering::Relaxed),
            inflight: f.inflight(),
        })
        .collect();
    Scrape { functions, queue: super::queue::stats(gw) }
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
