//! Router-level tests with `tower::ServiceExt::oneshot`: a gateway whose function table is
//! filled by hand (endpoints pointing at local test servers), so routing, auth, JSON shapes and
//! the proxy's error answers are checked without Docker.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::state::{Endpoint, Function, FunctionTable, Gateway, GatewayConfig};
use super::store::{FunctionRecord, Store};
use super::{auth, http_client, metrics, provider, queue, router, secrets, system};
use crate::gateway::names::FnKey;
use crate::openfaas::types::FunctionDeployment;

fn gateway(dir: &std::path::Path, upstream_timeout: Duration) -> Arc<Gateway> {
    let (credentials, _) = auth::load_or_create(dir).unwrap();
    Arc::new(Gateway {
        config: GatewayConfig {
            bind: [127, 0, 0, 1].into(),
            port: 0,
            state_dir: dir.to_path_buf(),
            upstream_timeout,
            health_timeout: Duration::from_secs(1),
            connections: super::connections::Limits {
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                max_connections: 1024,
            },
            queue: queue::QueueConfig::default(),
            scaling: super::scaling::ScalingConfig::default(),
            pull: super::pull::PullPolicy::default(),
        },
        credentials,
        store: Store::open(&dir.join("gateway.db")).unwrap(),
        functions: FunctionTable::default(),
        provider: provider::Provider::unchecked("test".into()).unwrap(),
        secrets: secrets::SecretStore::new(dir).unwrap(),
        metrics: metrics::Metrics::default(),
        http: http_client(),
        queue: queue::Queue::new(&queue::QueueConfig::default()).unwrap(),
    })
}

fn add_function(gw: &Gateway, name: &str, ports: &[u16]) {
    add_function_wanting(gw, name, ports, ports.len() as u64);
}

/// A function that wants `replicas` but has only the endpoints on `ports` (none ready: a request
/// gets 503 at once, where a function scaled to 0 would be woken).
fn add_function_wanting(gw: &Gateway, name: &str, ports: &[u16], replicas: u64) {
    let record = FunctionRecord {
        key: FnKey::new(name, ""),
        deployment: FunctionDeployment { service: name.into(), image: "img".into(), ..Default::default() },
        replicas,
        generation: 1,
        created_at: chrono::Utc::now(),
    };
    let f = Function::new(record);
    let endpoints = ports
        .iter()
        .map(|p| {
            Arc::new(Endpoint {
                container_id: format!("c{p}"),
                instance: format!("i{p}"),
                port: *p,
                generation: 1,
                inflight: AtomicUsize::new(0),
            })
        })
        .collect();
    f.set_endpoints(endpoints);
    // As after its first reconcile: a request does not wait for one to bring replicas.
    f.scaling.mark_reconciled();
    gw.functions.insert(Arc::new(f));
}

fn authed(gw: &Gateway, method: &str, uri: &str, body: &str) -> Request<Body> {
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", gw.credentials.user, gw.credentials.password));
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Basic {token}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn call(gw: &Arc<Gateway>, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router::router(gw.clone()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn routing_auth_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_secs(5));
    let (status, headers, body) = call(&gw, get("/system/functions")).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, "invalid credentials\n"));
    assert_eq!(headers["www-authenticate"], "Basic realm=\"Restricted\"");
    assert_eq!(call(&gw, get("/nowhere")).await.2, "404 page not found\n");
    assert_eq!(call(&gw, authed(&gw, "PATCH", "/system/functions", "")).await.0, StatusCode::METHOD_NOT_ALLOWED);
    add_function(&gw, "listed", &[]);
    let (status, _, body) = call(&gw, authed(&gw, "GET", "/system/functions", "")).await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list[0]["name"], "listed");
    assert_eq!(list[0]["labels"], serde_json::json!({}));
    let (status, headers, body) = call(&gw, authed(&gw, "POST", "/system/secrets", "{\"name\": 5}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(!body.contains('5'), "no values echoed: {body}");
    let (_, _, body) = call(&gw, authed(&gw, "GET", "/system/namespaces", "")).await;
    assert_eq!(body, "[\"openfaas-fn\"]");
}

/// A server on 127.0.0.1 that accepts connections and never answers.
async fn silent_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// A function replica that answers with the request's headers as text.
async fn echo_port() -> u16 {
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let mut names: Vec<String> = headers.keys().map(|k| k.to_string()).collect();
        names.sort();
        ([("x-duration-seconds", "0.5")], names.join(","))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn proxy_answers_503_502_504_and_forwards_headers() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_millis(300));
    add_function_wanting(&gw, "empty", &[], 1);
    add_function(&gw, "closed", &[closed_port()]);
    add_function(&gw, "silent", &[silent_port().await]);
    add_function(&gw, "echo", &[echo_port().await]);

    let (status, headers, body) = call(&gw, get("/function/empty")).await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "No endpoints available for: empty.\n"));
    assert!(headers.contains_key("x-call-id"));
    assert_eq!(call(&gw, get("/function/closed")).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(call(&gw, get("/function/silent/x")).await.0, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(call(&gw, get("/function/missing")).await.0, StatusCode::NOT_FOUND);

    let request = Request::post("/function/echo.openfaas-fn/path")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("x-kept", "1")
        .body(Body::from("hi"))
        .unwrap();
    let (status, headers, body) = call(&gw, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-duration-seconds"], "0.5");
    assert!(headers.contains_key("x-start-time") && headers.contains_key("x-served-by"));
    let seen: Vec<&str> = body.split(',').collect();
    assert!(seen.contains(&"x-kept") && seen.contains(&"x-call-id") && seen.contains(&"x-start-time"), "{body}");
    assert!(!seen.contains(&"x-hop") && !seen.contains(&"connection"), "{body}");
    let text = gw.metrics.render(&system::scrape(&gw));
    for code in ["503", "502", "504", "200"] {
        assert!(text.contains(&format!("gateway_function_invocation_total{{code=\"{code}\"")), "{code}: {text}");
    }
}

#[tokio::test]
async fn namespace_create_accepts_faas_clis_trailing_slash_path() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_secs(5));
    // faas-cli and the go-sdk POST to /system/namespace/ with the name in the body.
    let body = r#"{"name":"dev","labels":{"openfaas":"1"},"annotations":{"openfaas":"1"}}"#;
    assert_eq!(call(&gw, authed(&gw, "POST", "/system/namespace/", body)).await.0, StatusCode::CREATED);
    assert_eq!(call(&gw, authed(&gw, "POST", "/system/namespace/", body)).await.0, StatusCode::CONFLICT);
    let (_, _, list) = call(&gw, authed(&gw, "GET", "/system/namespaces", "")).await;
    assert_eq!(list, "[\"openfaas-fn\",\"dev\"]");
    let unlabelled = r#"{"name":"qa"}"#;
    assert_eq!(call(&gw, authed(&gw, "POST", "/system/namespace/", unlabelled)).await.0, StatusCode::BAD_REQUEST);
    let (status, _, text) = call(&gw, authed(&gw, "POST", "/system/namespace/", "{}")).await;
    assert_eq!((status, text.as_str()), (StatusCode::BAD_REQUEST, "the namespace name is required in the body\n"));
    assert_eq!(call(&gw, get("/system/namespace/")).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn functions_answer_only_faas_providers_methods() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_secs(5));
    add_function(&gw, "echo", &[echo_port().await]);
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] {
        let request = Request::builder().method(method).uri("/function/echo").body(Body::empty()).unwrap();
        assert_eq!(call(&gw, request).await.0, StatusCode::OK, "{method}");
    }
    for (method, uri) in [("TRACE", "/function/echo"), ("QUERY", "/function/echo/x"), ("TRACE", "/function/missing")] {
        let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
        let (status, headers, _) = call(&gw, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(headers["allow"], "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD");
    }
}

/// A replica that reads the request and closes the connection without answering.
async fn resetting_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
            drop(socket);
        }
    });
    port
}

/// The exposition text with what timing decides (bucket counts, sums) and the process
/// metrics (this test process's) masked, so that the snapshot shows names, types, labels and
/// every count that the calls decide.
fn stable_metrics(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains("process_"))
        .map(|l| {
            let timed = l.starts_with("gateway_functions_seconds_") || l.starts_with("rfaas_cold_start_seconds_");
            let fixed = l.contains("le=\"+Inf\"") || l.contains("_count");
            match l.rsplit_once(' ') {
                Some((series, _)) if timed && !fixed => format!("{series} <timing>"),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn metrics_after_a_known_sequence_of_calls() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_millis(300));
    add_function(&gw, "echo", &[echo_port().await, echo_port().await]);
    add_function_wanting(&gw, "empty", &[], 1);
    add_function(&gw, "refused", &[closed_port()]);
    add_function(&gw, "silent", &[silent_port().await]);
    add_function(&gw, "reset", &[resetting_port().await]);
    for _ in 0..3 {
        assert_eq!(call(&gw, get("/function/echo")).await.0, StatusCode::OK);
    }
    assert_eq!(call(&gw, get("/function/echo.openfaas-fn/sub/path?q=1")).await.0, StatusCode::OK);
    assert_eq!(call(&gw, get("/function/empty")).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(call(&gw, get("/function/refused")).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(call(&gw, get("/function/silent")).await.0, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(call(&gw, get("/function/reset")).await.0, StatusCode::BAD_GATEWAY);
    // Unknown functions are not counted: any URL would otherwise add a series.
    assert_eq!(call(&gw, get("/function/missing")).await.0, StatusCode::NOT_FOUND);
    gw.metrics.scaled("echo.openfaas-fn", 1, 2);
    gw.metrics.cron_skipped("echo.openfaas-fn");

    let (status, headers, text) = call(&gw, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    assert!(text.contains("process_resident_memory_bytes ") && text.contains("process_open_fds "), "{text}");
    insta::assert_snapshot!(stable_metrics(&text));
}

#[tokio::test]
async fn healthz_is_503_naming_an_engine_or_store_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = gateway(dir.path(), Duration::from_secs(5));
    // A socket file nobody listens on any more: connecting is refused.
    let gone = dir.path().join("no-engine.sock");
    drop(std::os::unix::net::UnixListener::bind(&gone).unwrap());
    let docker = bollard::Docker::connect_with_unix(gone.to_str().unwrap(), 5, bollard::API_DEFAULT_VERSION).unwrap();
    Arc::get_mut(&mut gw).unwrap().provider =
        provider::Provider { docker, ..provider::Provider::unchecked("t".into()).unwrap() };
    let (status, _, body) = call(&gw, get("/healthz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.starts_with("container engine: ") && !body.contains("state store"), "{body}");
    std::fs::remove_file(dir.path().join("gateway.db")).unwrap();
    let (status, _, body) = call(&gw, get("/healthz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("state store: ") && body.contains("gateway.db"), "{body}");
    let (status, _, body) = call(&gw, authed(&gw, "GET", "/system/health", "")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["status"], "error");
    assert_eq!(report["checks"]["engine"]["status"], "error");
    assert_eq!(report["checks"]["store"]["status"], "error");
    assert_eq!(report["checks"]["queue"]["status"], "ok", "{report}");
    assert_eq!(
        report["checks"]["cron"],
        serde_json::json!({"status": "ok", "latencySeconds": report["checks"]["cron"]["latencySeconds"], "scheduled": 0})
    );
    assert_eq!(call(&gw, get("/system/health")).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_ui_and_its_api_mount_sit_behind_auth() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_secs(5));
    add_function(&gw, "listed", &[]);
    for path in ["/ui", "/ui/", "/ui/app.js", "/ui/api/system/functions", "/ui/api/system/function-stats"] {
        assert_eq!(call(&gw, get(path)).await.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, headers, _) = call(&gw, authed(&gw, "GET", "/ui", "")).await;
    assert_eq!(
        (status, &headers["location"]),
        (StatusCode::PERMANENT_REDIRECT, &"/ui/".parse::<axum::http::HeaderValue>().unwrap())
    );
    let (status, headers, body) = call(&gw, authed(&gw, "GET", "/ui/", "")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("<script src=\"app.js\" defer></script>"), "{body}");
    // The same handler answers both paths.
    let direct = call(&gw, authed(&gw, "GET", "/system/functions", "")).await;
    let mounted = call(&gw, authed(&gw, "GET", "/ui/api/system/functions", "")).await;
    assert_eq!((direct.0, &direct.2), (mounted.0, &mounted.2));
    let (status, _, body) = call(&gw, authed(&gw, "GET", "/ui/api/system/function-stats", "")).await;
    assert_eq!(status, StatusCode::OK);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats[0]["name"], "listed");
    assert_eq!(stats[0]["lastMinute"]["requests"], 0);
    assert_eq!(stats[0]["lastFiveMinutes"]["series"].as_array().unwrap().len(), 30);
    assert_eq!(call(&gw, authed(&gw, "GET", "/ui/..%2FCargo.toml", "")).await.0, StatusCode::NOT_FOUND);
    let (status, _, body) = call(&gw, authed(&gw, "GET", "/ui/api/system/function-stats?namespace=../etc", "")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, body) = call(&gw, authed(&gw, "GET", "/system/function-stats?namespace=nowhere", "")).await;
    assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, "namespace not valid: nowhere\n"));
}

#[tokio::test]
async fn async_records_need_auth_check_their_input_and_refuse_a_retry_of_a_waiting_call() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), Duration::from_secs(5));
    add_function(&gw, "worker", &[]);
    for (method, uri) in [
        ("GET", "/system/async/invocations"),
        ("GET", "/system/async/invocations/c1"),
        ("POST", "/system/async/invocations/c1/retry"),
    ] {
        let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
        assert_eq!(call(&gw, request).await.0, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    let new = crate::gateway::store::NewInvocation {
        call_id: "c1".into(),
        key: FnKey::new("worker", ""),
        request: "{}".into(),
        body: Vec::new(),
        callback_url: None,
        now_ms: 1_767_225_600_000,
    };
    let crate::gateway::store::Inserted::New(seq) = gw.store.insert_invocation(new).await.unwrap() else { panic!() };
    gw.queue.schedule(crate::gateway::store::Pending {
        call_id: "c1".into(),
        key: FnKey::new("worker", ""),
        due_ms: 1_767_225_600_000,
        seq,
    });

    let (status, headers, body) = call(&gw, authed(&gw, "GET", "/system/async/invocations?status=queued", "")).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "application/json"));
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list[0]["callId"], "c1");
    assert_eq!(list[0]["createdAt"], "2026-01-01T00:00:00Z");
    assert_eq!(list[0]["nextAttemptAt"], "2026-01-01T00:00:00Z");
    let (_, _, body) = call(&gw, authed(&gw, "GET", "/system/async/invocations?status=dead", "")).await;
    assert_eq!(body, "[]");
    for (uri, status) in [
        ("/system/async/invocations?limit=100000", StatusCode::BAD_REQUEST),
        ("/system/async/invocations?status=lost", StatusCode::BAD_REQUEST),
        ("/system/async/invocations?function=Bad_Name", StatusCode::BAD_REQUEST),
        ("/system/async/invocations/c1", StatusCode::OK),
        ("/system/async/invocations/nope", StatusCode::NOT_FOUND),
        ("/system/async/invocations/..%2F..%2Fetc%2Fpasswd", StatusCode::BAD_REQUEST),
        ("/system/async/invocations/%2e%2e", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(call(&gw, authed(&gw, "GET", uri, "")).await.0, status, "{uri}");
    }
    let (status, _, body) = call(&gw, authed(&gw, "POST", "/system/async/invocations/c1/retry", "")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::CONFLICT, "async call c1 is queued; only succeeded and dead calls can be retried\n")
    );
    assert_eq!(
        call(&gw, authed(&gw, "POST", "/system/async/invocations/nope/retry", "")).await.0,
        StatusCode::NOT_FOUND
    );

    let stats = queue::stats(&gw);
    assert_eq!(stats.queues[0].queue, queue::DEFAULT_QUEUE);
    assert_eq!((stats.queues[0].waiting, stats.queues[0].running, stats.queues[0].workers), (1, 0, 4));
    assert_eq!(stats.functions[0].function, FnKey::new("worker", ""));
}
