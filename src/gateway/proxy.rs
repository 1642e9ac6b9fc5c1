//! The invoke hot path: `/function/<name>[.<ns>][/<path>][?<query>]`, with GET, POST, PUT,
//! PATCH, DELETE, OPTIONS or HEAD (others are 405, as faas-provider answers).
//!
//! The endpoint comes from the in-memory table (round robin over healthy replicas); no Docker
//! call is made per request. Bodies stream both ways over the thread's kept-alive connections to
//! the replica ([`super::upstream`]). Hop-by-hop headers are dropped; `X-Forwarded-For`/`-Host`
//! are added when absent, `X-Call-Id` is generated when absent, `X-Start-Time` (Unix ns) is
//! appended, and the response carries `X-Call-Id`, `X-Start-Time` and `X-Served-By` (the
//! function's `X-Duration-Seconds` passes through).
//! A function at 0 replicas (or paused) is woken first ([`super::scaling::wake`]).
//! Failures: unknown function 404, no available replica 503 `No endpoints available for: <name>.`,
//! connection error 502, no response headers within the upstream timeout 504 (each counted by kind).
//! Every call of a known function is counted through its pre-resolved handles ([`super::metrics`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use http_body_util::BodyExt;

use super::connections::Client;
use super::error::plain;
use super::metrics::UpstreamError;
use super::names::FnKey;
use super::state::{Endpoint, Gateway};

/// The value of `X-Served-By`.
pub const SERVED_BY: &str = concat!("rfaas/", env!("CARGO_PKG_VERSION"));

// Header names as constants: a `&str` name is parsed (and hashed) again on every lookup.

/// The hop-by-hop headers, never passed on (RFC 9110 7.6.1, and those of older proxies).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];
const X_CALL_ID: HeaderName = HeaderName::from_static("x-call-id");
const X_START_TIME: HeaderName = HeaderName::from_static("x-start-time");
const X_SERVED_BY: HeaderName = HeaderName::from_static("x-served-by");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Which function a request is for, and the path and query the function sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub key: FnKey,
    /// Starts with `/`; includes `?query` when there is one.
    pub path_and_query: String,
}

/// Parses `<prefix><name>[.<ns>][/<rest>]` (prefix like `/function/`).
pub fn parse_target(prefix: &str, uri: &Uri) -> Option<Target> {
    let rest = uri.path().strip_prefix(prefix)?;
    let (qualified, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if qualified.is_empty() || qualified.ends_with('.') || !qualified.chars().all(valid) {
        return None;
    }
    let key = FnKey::parse_qualified(qualified);
    if key.name.is_empty() || key.namespace.is_empty() {
        return None;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    Some(Target { key, path_and_query })
}

/// The methods functions are invoked with; others get 405, as from faas-provider's proxy.
const METHODS: [Method; 7] =
    [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS, Method::HEAD];

/// `/function/...` with any of [`METHODS`], as an axum handler.
pub async fn handle(State(gw): State<Arc<Gateway>>, request: Request) -> Response {
    invoke(gw, request).await
}

/// `/function/...` with any of [`METHODS`]: what [`handle`] does, called by the gateway's
/// service before (and instead of) axum's router (see `router::App`).
pub async fn invoke(gw: Arc<Gateway>, request: Request) -> Response {
    if !METHODS.contains(request.method()) {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".to_string());
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"));
        return response;
    }
    let forwarded_for = request.extensions().get::<ConnectInfo<Client>>().map(|ConnectInfo(Client(text))| text.clone());
    match parse_target("/function/", request.uri()) {
        Some(target) => forward(&gw, &target, request, forwarded_for).await,
        None => plain(StatusCode::NOT_FOUND, "404 page not found".to_string()),
    }
}

/// Decrements an endpoint's in-flight count when the response body is finished or dropped.
struct InflightGuard(Arc<Endpoint>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Sends `request` to a replica of `target.key`, with `X-Forwarded-For: forwarded_for` unless it
/// has one; also used by the async queue and cron (which have no client address).
pub async fn forward(
    gw: &Arc<Gateway>,
    target: &Target,
    request: Request,
    forwarded_for: Option<HeaderValue>,
) -> Response {
    let started = Instant::now();
    let start_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let given = request.headers().get(X_CALL_ID).filter(|v| v.to_str().is_ok()).cloned();
    let stamp =
        Stamp { call_id: Some(given.unwrap_or_else(new_call_id)), start_time: HeaderValue::from(start_ns as u64) };
    let Some(f) = gw.functions.get(&target.key) else {
        let text = format!("error finding function {}: not found", target.key);
        return stamp.response(plain(StatusCode::NOT_FOUND, text));
    };
    let metrics = f.metrics(&gw.metrics);
    metrics.started();
    f.invocations.fetch_add(1, Ordering::Relaxed);
    let wake_deadline = tokio::time::Instant::now() + gw.config.scaling.wake_timeout;
    let response = match super::scaling::wake::ready_or_wake(gw, &f, wake_deadline).await {
        Err(response) => response,
        Ok(endpoint) => match send(gw, target, endpoint, request, forwarded_for, &stamp).await {
            Ok(response) => response,
            Err((kind, response)) => {
                metrics.upstream_error(kind);
                response
            }
        },
    };
    let unix_secs = (start_ns / 1_000_000_000) as u64;
    metrics.finished(&gw.metrics, response.status().as_u16(), started.elapsed().as_secs_f64(), unix_secs);
    stamp.response(response)
}

async fn send(
    gw: &Arc<Gateway>,
    target: &Target,
    endpoint: Arc<Endpoint>,
    request: Request,
    forwarded_for: Option<HeaderValue>,
    stamp: &Stamp,
) -> Result<Response, (UpstreamError, Response)> {
    endpoint.inflight.fetch_add(1, Ordering::SeqCst);
    let guard = InflightGuard(endpoint.clone());
    let (parts, body) = request.into_parts();
    let request_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    let mut upstream = axum::http::Request::new(body);
    *upstream.method_mut() = parts.method;
    match target.path_and_query.parse() {
        Ok(uri) => *upstream.uri_mut() = uri,
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "invalid path".to_string())),
    }
    *upstream.headers_mut() = request_headers(parts.headers, forwarded_for, stamp);
    let timeout = gw.config.upstream_timeout;
    match tokio::time::timeout(timeout, super::upstream::send(endpoint.port, upstream)).await {
        Err(_) => Err((
            UpstreamError::Timeout,
            plain(
                StatusCode::GATEWAY_TIMEOUT,
                format!("Timed out after {}s waiting for: {}.", timeout.as_secs_f64(), target.key.name),
            ),
        )),
        Ok(Err(e)) => {
            super::console::warn(&format!("{}: replica {} unreachable: {e}", target.key, endpoint.instance));
            let response = plain(StatusCode::BAD_GATEWAY, format!("Can't reach service for: {}.", target.key.name));
            Err((classify(&e), response))
        }
        Ok(Ok(response)) => {
            let (mut parts, incoming) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            if !parts.headers.contains_key(header::CONTENT_TYPE) {
                let fallback = request_type.unwrap_or(HeaderValue::from_static("text/plain"));
                parts.headers.insert(header::CONTENT_TYPE, fallback);
            }
            // The body keeps its size hint and trailers; the guard lives as long as it does.
            let body = incoming.map_frame(move |frame| {
                let _hold = &guard;
                frame
            });
            Ok(Response::from_parts(parts, Body::new(body)))
        }
    }
}

/// What kind of failure an upstream error was, from the I/O or hyper error in its cause chain.
fn classify(e: &super::upstream::Failure) -> UpstreamError {
    if matches!(e, super::upstream::Failure::ConnectTimeout) {
        return UpstreamError::Timeout;
    }
    use std::io::ErrorKind;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return UpstreamError::Refused,
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof => return UpstreamError::Reset,
                ErrorKind::TimedOut => return UpstreamError::Timeout,
                _ => {}
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                return UpstreamError::Timeout;
            }
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return UpstreamError::Reset;
            }
        }
        cause = err.source();
    }
    UpstreamError::Other
}

/// A version-4 UUID from the thread-local generator: `Uuid::new_v4` asks the kernel for
/// random bytes (a `getrandom` system call) on every request.
fn new_call_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes()).expect("a UUID is header text")
}

/// The headers sent to the function.
fn request_headers(mut headers: HeaderMap, forwarded_for: Option<HeaderValue>, stamp: &Stamp) -> HeaderMap {
    strip_hop_by_hop(&mut headers);
    let host = headers.remove(header::HOST);
    if let Some(host) = host
        && !headers.contains_key(X_FORWARDED_HOST)
    {
        headers.insert(X_FORWARDED_HOST, host);
    }
    if let Some(addr) = forwarded_for
        && !headers.contains_key(X_FORWARDED_FOR)
    {
        headers.insert(X_FORWARDED_FOR, addr);
    }
    if let Some(call_id) = &stamp.call_id {
        headers.insert(X_CALL_ID, call_id.clone());
    }
    headers.append(X_START_TIME, stamp.start_time.clone());
    headers
}

/// Removes hop-by-hop headers and those the `Connection` header names, in place.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages have none: one pass over the few names present costs less than a lookup
    // of each hop-by-hop name.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| HeaderName::from_bytes(s.trim().as_bytes()).ok())
        .collect();
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name);
    }
}

/// A call's `X-Call-Id` and `X-Start-Time` (Unix ns) values, made once for the request to the
/// function and the response.
struct Stamp {
    call_id: Option<HeaderValue>,
    start_time: HeaderValue,
}

impl Stamp {
    /// Adds `X-Call-Id`, `X-Start-Time` and `X-Served-By` to a response.
    fn response(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        if let Some(call_id) = &self.call_id {
            headers.insert(X_CALL_ID, call_id.clone());
        }
        headers.insert(X_START_TIME, self.start_time.clone());
        headers.insert(X_SERVED_BY, HeaderValue::from_static(SERVED_BY));
        response
    }
}

/// Adds `X-Call-Id`, `X-Start-Time` and `X-Served-By` to a response (a call id that is no
/// header text is left out).
pub fn decorate(response: Response, call_id: &str, start_ns: u128) -> Response {
    let stamp = Stamp { call_id: HeaderValue::from_str(call_id).ok(), start_time: HeaderValue::from(start_ns as u64) };
    stamp.response(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str) -> Option<Target> {
        parse_target("/function/", &uri.parse().unwrap())
    }

    #[test]
    fn targets() {
        let t = target("/function/echo").unwrap();
        assert_eq!((t.key, t.path_and_query.as_str()), (FnKey::new("echo", "openfaas-fn"), "/"));
        let t = target("/function/echo.dev/a/b?x=1").unwrap();
        assert_eq!((t.key, t.path_and_query.as_str()), (FnKey::new("echo", "dev"), "/a/b?x=1"));
        let t = target("/function/echo/").unwrap();
        assert_eq!(t.path_and_query, "/");
        assert!(target("/function/").is_none());
        assert!(target("/function/e%2Fcho").is_none());
        assert!(target("/function/echo.").is_none());
    }

    #[test]
    fn call_ids_are_distinct_v4_uuids() {
        let (a, b) = (new_call_id(), new_call_id());
        assert_ne!(a, b);
        let id = uuid::Uuid::parse_str(a.to_str().unwrap()).unwrap();
        assert_eq!(id.get_version(), Some(uuid::Version::Random));
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("keep-alive, X-Private"));
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        h.insert("host", HeaderValue::from_static("gw:8080"));
        let stamp = Stamp { call_id: Some(HeaderValue::from_static("id-1")), start_time: HeaderValue::from(42u64) };
        let out = request_headers(h, Some(HeaderValue::from_static("127.0.0.1:5555")), &stamp);
        assert!(out.get("x-private").is_none() && out.get("keep-alive").is_none() && out.get("host").is_none());
        assert_eq!(out["x-kept"], "1");
        assert_eq!(out["x-forwarded-host"], "gw:8080");
        assert_eq!(out["x-forwarded-for"], "127.0.0.1:5555");
        assert_eq!(out["x-call-id"], "id-1");
        assert_eq!(out["x-start-time"], "42");
    }
}
