//! Every bundled template builds into an image that runs and answers; the python3-http
//! function gets a handler written by the test to check bodies, queries, headers, status codes,
//! exec_timeout (504), max_inflight (429) and its server's HTTP/1.1 (chunked bodies, HEAD,
//! pipelining, a malformed request); the node18 one checks Express's response conventions.

use std::time::{Duration, Instant};

use crate::engine::{self, Container};
use crate::support::Rfaas;

/// `rfaas new fn --lang <lang>`, with a unique image name; returns the project and the image.
pub fn scaffold(lang: &str) -> (Rfaas, String) {
    let rfaas = Rfaas::new();
    rfaas.run(&["new", "fn", "--lang", lang, "--prefix", engine::PREFIX, "-q"]).success();
    let image = format!("{}/{}:{}", engine::PREFIX, lang, engine::unique("t"));
    let stack = std::fs::read_to_string(rfaas.path().join("stack.yaml")).unwrap();
    let stack = stack.replace(&format!("{}/fn:latest", engine::PREFIX), &image);
    rfaas.file("stack.yaml", &stack);
    (rfaas, image)
}

async fn build_and_call(lang: &str, expect: &str) {
    let docker = engine::docker().await;
    let (rfaas, image) = scaffold(lang);
    let _cleanup = engine::Images(vec![image.clone()]);
    rfaas.run(&["build"]).success().stderr_has(&format!("fn built {image}"));
    let container = Container::start(&docker, &image, &[]).await;
    let reply = reqwest::Client::new().post(container.url("/")).body("ping").send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let text = reply.text().await.unwrap();
    assert!(text.contains(expect), "{lang} answered {text:?}");
    container.remove(&docker).await;
}

#[tokio::test]
async fn node18_template_builds_and_runs() {
    build_and_call("node18", "ping").await;
}

#[tokio::test]
async fn golang_http_template_builds_and_runs() {
    build_and_call("golang-http", "Body: ping").await;
}

#[tokio::test]
async fn dockerfile_template_builds_and_runs() {
    build_and_call("dockerfile", "4 bytes received").await;
}

const HANDLER: &str = r#"import json
import time


def handle(event, context):
    if event.path == "/sleep":
        time.sleep(float(event.query.get("s", "1")))
        return {"statusCode": 200, "body": "slept"}
    if event.path == "/spin":
        until = time.monotonic() + float(event.query.get("s", "1"))
        while time.monotonic() < until:
            pass
        return {"statusCode": 200, "body": "spun"}
    if event.path == "/teapot":
        return {"statusCode": 418, "body": "short and stout"}
    return {
        "statusCode": 200,
        "body": {
            "method": event.method,
            "body": event.body.decode(),
            "query": dict(event.query),
            "header": event.headers.get("X-Test"),
        },
        "headers": {"X-Reply": "yes"},
    }
"#;

const HANDLER_TEST: &str = r#"from types import SimpleNamespace

from .handler import handle


def test_teapot():
    event = SimpleNamespace(path="/teapot", query={}, body=b"", method="GET", headers={})
    assert handle(event, None)["statusCode"] == 418
"#;

/// The python3-http starter with [`HANDLER`], built: the engine, the image and its removal.
async fn built_python3_http() -> (bollard::Docker, String, engine::Images) {
    let docker = engine::docker().await;
    let (rfaas, image) = scaffold("python3-http");
    let cleanup = engine::Images(vec![image.clone()]);
    rfaas.file("fn/handler.py", HANDLER).file("fn/handler_test.py", HANDLER_TEST);
    rfaas.run(&["build"]).success().stderr_has("fn built");
    (docker, image, cleanup)
}

/// Waits until `/_/ready` answers 429: `max_inflight` requests are in flight (running or queued).
async fn until_at_limit(client: &reqwest::Client, container: &Container) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.get(container.url("/_/ready")).send().await.unwrap().status() != 429 {
        assert!(Instant::now() < deadline, "the requests never showed as in flight on /_/ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn python3_http_function_handles_requests_timeouts_and_concurrency() {
    let (docker, image, _cleanup) = built_python3_http().await;
    let env = [("exec_timeout", "1s"), ("max_inflight", "1")];
    let container = Container::start(&docker, &image, &env).await;
    let client = reqwest::Client::new();

    let reply =
        client.post(container.url("/echo?name=x&n=1")).header("X-Test", "hdr").body("hello").send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["x-reply"], "yes");
    let json: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(json["method"], "POST");
    assert_eq!(json["body"], "hello");
    assert_eq!(json["query"], serde_json::json!({"name": "x", "n": "1"}));
    assert_eq!(json["header"], "hdr");

    let teapot = client.get(container.url("/teapot")).send().await.unwrap();
    assert_eq!(teapot.status(), 418);
    assert_eq!(teapot.text().await.unwrap(), "short and stout");

    let slow = client.get(container.url("/sleep?s=3")).send().await.unwrap();
    assert_eq!(slow.status(), 504, "exec_timeout=1s must cut a 3 s handler");
    // A timed-out call gives its max_inflight place back before its 504 goes out, so a client
    // may send its next request as soon as it reads the 504. The handler still spinning after
    // its 504 competes for the interpreter lock with the timer's thread, which makes a late
    // release lose the race most of the time (three rounds caught it in 5 of 6 runs; five here).
    for round in 1..=5 {
        let slow = client.get(container.url("/spin?s=1.3")).send().await.unwrap();
        assert_eq!(slow.status(), 504, "exec_timeout=1s must cut a 1.3 s handler (round {round})");
        let ready = client.get(container.url("/_/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "the place is free once the 504 has arrived (round {round})");
    }

    let busy = tokio::spawn(client.get(container.url("/sleep?s=0.8")).send());
    // In flight once the readiness endpoint says the function is at its limit (polled every
    // 20 ms, well within the 0.8 s it stays there; a fixed 300 ms pause was too short when the
    // machine was busy).
    until_at_limit(&client, &container).await;
    let rejected = client.get(container.url("/")).send().await.unwrap();
    assert_eq!(rejected.status(), 429, "max_inflight=1 with one request in flight");
    assert_eq!(busy.await.unwrap().unwrap().status(), 200);

    // The template's own HTTP/1.1 server: a chunked body, HEAD, pipelined requests on one
    // connection and a malformed request line.
    let chunks = futures_util::stream::iter(["hel", "lo"].map(Ok::<_, std::io::Error>));
    let chunked = client.post(container.url("/echo")).body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
    assert_eq!(chunked.status(), 200);
    let json: serde_json::Value = chunked.json().await.unwrap();
    assert_eq!(json["body"], "hello", "a chunked request body arrives whole");
    let head = client.head(container.url("/teapot")).send().await.unwrap();
    assert_eq!(head.status(), 418);
    assert_eq!(head.headers()["content-length"], "15", "HEAD reports the body's length");
    assert_eq!(head.bytes().await.unwrap().len(), 0, "HEAD sends no body");
    let address = container.url("").trim_start_matches("http://").trim_end_matches('/').to_string();
    let two = "GET /teapot HTTP/1.1\r\nHost: t\r\n\r\nGET /teapot HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let wire = raw_exchange(&address, two).await;
    assert_eq!(wire.matches("HTTP/1.1 418").count(), 2, "two pipelined requests, two answers: {wire}");
    let wire = raw_exchange(&address, "NONSENSE\r\n\r\n").await;
    assert!(wire.starts_with("HTTP/1.1 400"), "a malformed request line is a 400: {wire}");

    container.remove(&docker).await;
}

/// Sends `request` as is on a new connection and returns everything read until the server
/// closes it (10 s at most).
async fn raw_exchange(address: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

const NODE_HANDLER: &str = r#"'use strict';

module.exports = async (event, context) => {
  if (event.path === '/text') {
    return context.status(201).headers({ 'Content-Type': 'text/plain' }).succeed('plain');
  }
  if (event.path === '/typed') {
    return context.headers({ 'Content-Type': 'Text/Plain; Charset=ISO-8859-1; format=flowed' }).succeed('typed');
  }
  return { query: event.query, body: event.body, path: event.path };
};
"#;

const NODE_HANDLER_TEST: &str = r#"'use strict';

const test = require('node:test');
const assert = require('node:assert');
const handler = require('./handler');

test('echoes the path', async () => {
  const out = await handler({ path: '/p', query: {}, body: {} }, {});
  assert.strictEqual(out.path, '/p');
});
"#;

#[tokio::test]
async fn node18_function_keeps_express_conventions() {
    let docker = engine::docker().await;
    let (rfaas, image) = scaffold("node18");
    let _cleanup = engine::Images(vec![image.clone()]);
    rfaas.file("fn/handler.js", NODE_HANDLER).file("fn/handler.test.js", NODE_HANDLER_TEST);
    rfaas.run(&["build"]).success().stderr_has("fn built");
    let container = Container::start(&docker, &image, &[]).await;
    let client = reqwest::Client::new();

    let reply = client.get(container.url("/q?a[b]=1&c=2")).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "application/json; charset=utf-8");
    let etag = reply.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""), "a weak ETag, as Express sends: {etag}");
    let json: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(json["query"], serde_json::json!({"a": {"b": "1"}, "c": "2"}), "qs's nested query objects");
    assert_eq!(json["path"], "/q");

    let fresh = client.get(container.url("/q?a[b]=1&c=2")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(fresh.status(), 304, "a fresh copy is a 304");

    let posted = client
        .post(container.url("/p"))
        .header("Content-Type", "application/json")
        .body(r#"{"x":[1,2]}"#)
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = posted.json().await.unwrap();
    assert_eq!(json["body"], serde_json::json!({"x": [1, 2]}), "JSON bodies are parsed");

    let bad =
        client.post(container.url("/p")).header("Content-Type", "application/json").body("{bad").send().await.unwrap();
    assert_eq!(bad.status(), 400, "invalid JSON is the body parser's 400");
    assert_eq!(bad.headers()["content-type"], "text/plain; charset=utf-8");

    let text = client.get(container.url("/text")).send().await.unwrap();
    assert_eq!(text.status(), 201);
    assert_eq!(text.headers()["content-type"], "text/plain; charset=utf-8", "Express adds the charset");
    assert!(text.headers().contains_key("x-duration-seconds"));
    assert_eq!(text.text().await.unwrap(), "plain");
    let typed = client.get(container.url("/typed")).send().await.unwrap();
    assert_eq!(
        typed.headers()["content-type"],
        "text/plain; charset=utf-8; format=flowed",
        "Express's res.send lower-cases the type and sets the charset to utf-8"
    );

    container.remove(&docker).await;
}

/// `GET /sleep?s=<secs>` on `container`, with the seconds the client waited.
async fn timed_sleep(client: &reqwest::Client, container: &Container, secs: &str) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let reply = client.get(container.url(&format!("/sleep?s={secs}"))).send().await.unwrap();
    (reply, started.elapsed())
}

/// `handler_concurrency=1`: a second call waits for the first in the queue, and that wait counts
/// as the request's time (X-Duration-Seconds, exec_timeout) and against max_inflight; a drain
/// on SIGTERM still answers the queued call; a malformed value is reported and a huge one taken.
#[tokio::test]
async fn python3_http_handler_concurrency_queues_calls_and_counts_their_wait() {
    let (docker, image, _cleanup) = built_python3_http().await;
    let env = [("handler_concurrency", "1"), ("exec_timeout", "1500ms"), ("max_inflight", "2")];
    let container = Container::start(&docker, &image, &env).await;
    let client = reqwest::Client::new();

    // Two 0.6 s calls, one slot: they run one after the other, and the one that waited reports
    // its wait in X-Duration-Seconds.
    let started = Instant::now();
    let (first, second) =
        tokio::join!(timed_sleep(&client, &container, "0.6"), timed_sleep(&client, &container, "0.6"));
    assert!(started.elapsed() >= Duration::from_millis(1200), "the calls overlapped: {:?}", started.elapsed());
    let mut durations = Vec::new();
    for (reply, _) in [first, second] {
        assert_eq!(reply.status(), 200);
        durations.push(reply.headers()["x-duration-seconds"].to_str().unwrap().parse::<f64>().unwrap());
    }
    let longest = durations.iter().cloned().fold(0.0, f64::max);
    assert!(longest >= 1.1, "X-Duration-Seconds counts the wait for the slot: {durations:?}");

    // Queued calls count against max_inflight: one running, one waiting, the third is a 429.
    let running = tokio::spawn(client.get(container.url("/sleep?s=0.5")).send());
    let queued = tokio::spawn(client.get(container.url("/sleep?s=0.5")).send());
    until_at_limit(&client, &container).await;
    let rejected = client.get(container.url("/")).send().await.unwrap();
    assert_eq!(rejected.status(), 429, "max_inflight=2 with one call running and one queued");
    assert_eq!(running.await.unwrap().unwrap().status(), 200);
    assert_eq!(queued.await.unwrap().unwrap().status(), 200);

    // exec_timeout runs from arrival: 0.9 s queued behind a 0.9 s call, then 0.9 s of its own.
    let first = timed_sleep(&client, &container, "0.9");
    let second = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        timed_sleep(&client, &container, "0.9").await
    };
    let ((first, _), (second, waited)) = tokio::join!(first, second);
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 504, "1.5 s from arrival passed while it ran ({waited:?})");

    // SIGTERM with one call running and one queued: both are answered before the server exits.
    let running = tokio::spawn(client.get(container.url("/sleep?s=0.5")).send());
    let queued = tokio::spawn(client.get(container.url("/sleep?s=0.5")).send());
    until_at_limit(&client, &container).await;
    let term = bollard::query_parameters::KillContainerOptions { signal: "SIGTERM".into() };
    docker.kill_container(&container.id, Some(term)).await.unwrap();
    assert_eq!(running.await.unwrap().unwrap().status(), 200, "the running call finishes the drain");
    assert_eq!(queued.await.unwrap().unwrap().status(), 200, "the queued call is served in the drain");
    container.remove(&docker).await;

    // A value that is no count is reported, and the default serves.
    let container = Container::start(&docker, &image, &[("handler_concurrency", "lots\u{1b}[2J")]).await;
    assert_eq!(client.get(container.url("/teapot")).send().await.unwrap().status(), 418);
    let logs = engine::logs(&container.id);
    assert!(logs.contains(r"Invalid integer handler_concurrency='lots\x1b[2J', using 0"), "{logs}");
    assert!(logs.contains("handler_concurrency=32)"), "{logs}");
    container.remove(&docker).await;

    // A huge count is taken as it is: no overflow, the function serves.
    let huge = "1".repeat(40);
    let container = Container::start(&docker, &image, &[("handler_concurrency", huge.as_str())]).await;
    assert_eq!(client.get(container.url("/teapot")).send().await.unwrap().status(), 418);
    assert!(engine::logs(&container.id).contains(&format!("handler_concurrency={huge})")));
    container.remove(&docker).await;
}
