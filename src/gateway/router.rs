//! Every route of the gateway, in one place. `/system/*` and the UI (`/ui/`, which mounts the
//! same API again under `/ui/api/system/*`) sit behind basic auth; `/function/*`,
//! `/async-function/*`, `/healthz` and `/metrics` are open. Unknown paths are 404 and a known
//! path with the wrong method is 405.
//!
//! [`App`] is what the listener serves: `/function/*`, the hot path, goes straight to the
//! proxy; every other path goes through the router. The router has the same route to the same
//! code, for callers that drive it directly.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use axum::routing::{any, get, post};
use futures_util::future::Either;

use super::error::plain;
use super::state::Gateway;
use super::{auth, cron, functions, health, invocations, logs, namespaces, proxy, queue, secrets, system, ui, window};

/// The listener's service: the proxy for `/function/*`, the router for the rest. Matching
/// the prefix here saves the router's path matching, its layers and a clone per invocation.
#[derive(Clone)]
pub struct App {
    gw: Arc<Gateway>,
    router: Router,
}

/// The gateway's service, as the listener serves it.
pub fn app(gw: Arc<Gateway>) -> App {
    App { router: router(gw.clone()), gw }
}

impl super::connections::App for App {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send + 'static + use<> {
        if request.uri().path().starts_with("/function/") {
            Either::Left(proxy::invoke(self.gw.clone(), request))
        } else {
            Either::Right(super::connections::App::call(&self.router, request))
        }
    }
}

/// The gateway's router.
pub fn router(gw: Arc<Gateway>) -> Router {
    let protected =
        admin().merge(ui::routes(admin())).route_layer(middleware::from_fn_with_state(gw.clone(), auth::require));
    let open = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(system::metrics))
        .route("/function/{*path}", any(proxy::handle))
        .route("/async-function/{*path}", post(queue::accept));
    protected
        .merge(open)
        .fallback(|| async { plain(StatusCode::NOT_FOUND, "404 page not found".to_string()) })
        .with_state(gw)
}

/// The REST API under `/system/` (the UI mounts it again under `/ui/api/system/`).
fn admin() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/system/info", get(system::info))
        .route("/system/health", get(health::report))
        .route("/system/function-stats", get(window::stats))
        .route(
            "/system/functions",
            get(functions::list).post(functions::deploy).put(functions::update).delete(functions::delete),
        )
        .route("/system/function/{name}", get(functions::get))
        .route("/system/function/{name}/schedule", get(cron::status))
        .route("/system/scale-function/{name}", post(functions::scale))
        .route("/system/secrets", get(secrets::list).post(secrets::create).put(secrets::update).delete(secrets::delete))
        .route("/system/logs", get(logs::handle))
        .route("/system/namespaces", get(namespaces::list))
        .route("/system/async/invocations", get(invocations::list))
        .route("/system/async/invocations/{call_id}", get(invocations::get))
        .route("/system/async/invocations/{call_id}/retry", post(invocations::retry))
        .route("/system/namespace/", post(namespaces::create_from_body))
        .route(
            "/system/namespace/{name}",
            get(namespaces::get).post(namespaces::create).put(namespaces::update).delete(namespaces::delete),
        )
}
