//! Readiness of images that are not built on a watchdog: a custom health path and initial delay
//! from the OpenFaaS annotations, Python's stock `http.server` (no health path: ready by the TCP
//! fallback), and an image that ignores env `port`, reported as such. The images are built from
//! the echo image (debian:bookworm-slim with python3).

use serde_json::{Value, json};

use crate::engine;
use crate::support::gateway::{TestGateway, build, docker, echo_fn, echo_images};

const PROBE_SERVER: &str = include_str!("support/probe/server.py");

/// The probe server image (`support/probe/server.py`) and one running Python's `http.server`.
async fn images() -> (String, String) {
    use md5::Digest;
    let (echo, _) = echo_images().await;
    let docker = docker().await;
    let hash = hex::encode(md5::Md5::digest(format!("{echo}\n{PROBE_SERVER}")));
    let probe = format!("rfaas-test/probe:{}", &hash[..12]);
    if docker.inspect_image(&probe).await.is_err() {
        let dockerfile = format!(
            "FROM {echo}\nCOPY server.py /home/app/probe.py\nCMD [\"python3\", \"-u\", \"/home/app/probe.py\"]\n"
        );
        build(&docker, &probe, &[("Dockerfile", &dockerfile), ("server.py", PROBE_SERVER)]).await;
    }
    let plain = format!("rfaas-test/plain-http-server:{}", &hash[..12]);
    if docker.inspect_image(&plain).await.is_err() {
        let dockerfile = format!(
            "FROM {echo}\nCOPY index.html /www/index.html\nWORKDIR /www\n\
             CMD exec python3 -m http.server --bind \"$bind_address\" \"$port\"\n"
        );
        build(&docker, &plain, &[("Dockerfile", &dockerfile), ("index.html", "hello from http.server\n")]).await;
    }
    (probe, plain)
}

fn with(name: &str, image: &str, env: Value, annotations: Value) -> Value {
    let mut d = echo_fn(name, image);
    d["envVars"] = env;
    d["annotations"] = annotations;
    d
}

#[tokio::test]
async fn the_health_path_and_initial_delay_annotations_are_probed() {
    let (probe, _) = images().await;
    let gw = TestGateway::start_with(&["--health-timeout", "4s"]).await;
    let env = json!({"HEALTH_PATH": "/ready-here"});
    let annotated = with(
        "annotated",
        &probe,
        env.clone(),
        json!({"com.openfaas.health.http.path": "/ready-here", "com.openfaas.health.http.initialDelay": "2s"}),
    );
    let plain = with("unannotated", &probe, env, json!({}));
    let ((status, body), (plain_status, plain_body)) = tokio::join!(gw.deploy(&annotated), gw.deploy(&plain));
    assert_eq!(status, 202, "{body}\n{}", gw.log());
    let first = gw.http.get(format!("{}/function/annotated/first-probe", gw.url)).send().await.unwrap();
    let first: f64 = first.text().await.unwrap().parse().unwrap();
    // The delay runs from when the container was started (its StartedAt, on the same clock).
    let (_, id) = gw.containers().await.into_iter().find(|(f, _)| f == "annotated").expect("the replica");
    let state = docker().await.inspect_container(&id, None).await.unwrap().state.unwrap();
    let started = chrono::DateTime::parse_from_rfc3339(&state.started_at.unwrap()).unwrap();
    let delay = first - started.timestamp_micros() as f64 / 1e6;
    assert!(delay >= 2.0, "first probe {delay:.3}s after the container started, with initialDelay 2s");

    // Without the annotation /_/health is probed, which answers 503: never ready, and why.
    assert_eq!(plain_status, 500, "{plain_body}");
    assert!(plain_body.contains("did not become healthy within 4s: GET /_/health on port "), "{plain_body}");
    assert!(plain_body.contains("last answered 503, not 2xx/3xx or 404"), "{plain_body}");
    let reason = gw.describe("unannotated").await["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("last answered 503"), "{reason}");
}

#[tokio::test]
async fn an_image_without_a_health_path_is_ready_once_it_accepts_connections() {
    let (_, plain) = images().await;
    let gw = TestGateway::start_with(&["--health-timeout", "20s"]).await;
    let (status, body) = gw.deploy(&echo_fn("stock", &plain)).await;
    assert_eq!(status, 202, "{body}\n{}", gw.log());
    let reply = gw.http.get(format!("{}/function/stock/", gw.url)).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.text().await.unwrap(), "hello from http.server\n");
    // Scaling works the same way: each replica on its own port.
    let (status, body) =
        gw.send(gw.system(reqwest::Method::POST, "/system/scale-function/stock").json(&json!({"replicas": 2}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(gw.describe("stock").await["availableReplicas"], 2);
}

#[tokio::test]
async fn an_image_that_ignores_env_port_is_named_with_the_port_it_listens_on() {
    let (probe, _) = images().await;
    let gw = TestGateway::start_with(&["--health-timeout", "3s"]).await;
    let fixed = engine::free_port();
    let (status, body) = gw.deploy(&with("fixed", &probe, json!({"LISTEN_PORT": fixed.to_string()}), json!({}))).await;
    assert_eq!(status, 424, "{body}\n{}", gw.log());
    assert!(body.contains("did not become healthy within 3s: the image ignores env port="), "{body}");
    assert!(body.contains(&format!("; it listens on 127.0.0.1:{fixed} (a fixed port")), "{body}");
    let described = gw.describe("fixed").await;
    assert!(described["reason"].as_str().is_some_and(|r| r.contains("the image ignores env port=")), "{described}");
    // The failed replica is removed (Podman may list it a moment longer); the next try comes
    // after a 10 s backoff.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !gw.containers().await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the failed replica is removed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn bad_readiness_annotations_are_400s_naming_the_annotation() {
    let (probe, _) = images().await;
    let gw = TestGateway::start().await;
    let long = format!("/{}", "a".repeat(100_000));
    let cases = [
        ("com.openfaas.health.http.path", "healthz", "must be an absolute path such as /healthz"),
        ("com.openfaas.health.http.path", "/a b", "is not a valid URL path"),
        ("com.openfaas.health.http.path", "/\u{7f}", "is not a valid URL path"),
        ("com.openfaas.health.http.path", long.as_str(), "longer than 1024 bytes"),
        ("com.openfaas.health.http.initialDelay", "soon", "not a duration (examples: 2s, 500ms, 1m30s)"),
        ("com.openfaas.health.http.initialDelay", "-1s", "not a duration"),
        ("com.openfaas.health.http.initialDelay", "11m", "at most 600s"),
    ];
    for (annotation, value, why) in cases {
        let (status, body) = gw.deploy(&with("bad", &probe, json!({}), json!({annotation: value}))).await;
        assert_eq!(status, 400, "{annotation}={value}: {body}");
        assert!(body.starts_with(&format!("annotation {annotation} ")) && body.contains(why), "{body}");
        assert!(body.len() < 600, "the value is not echoed whole: {} bytes", body.len());
    }
    let (status, list) = gw.send(gw.system(reqwest::Method::GET, "/system/functions")).await;
    assert_eq!((status, list.as_str()), (200, "[]"));
}
