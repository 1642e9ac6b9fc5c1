//! Every bundled template builds into an image that runs and answers; the python3-http
//! function gets a handler written by the test to check bodies, queries, headers, status codes,
//! exec_timeout (504) and max_inflight (429).

use std::time::Duration;

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

#[tokio::test]
async fn python3_http_function_handles_requests_timeouts_and_concurrency() {
    let docker = engine::docker().await;
    let (rfaas, image) = scaffold("python3-http");
    let _cleanup = engine::Images(vec![image.clone()]);
    rfaas.file("fn/handler.py", HANDLER).file("fn/handler_test.py", HANDLER_TEST);
    rfaas.run(&["build"]).success().stderr_has("fn built");
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

    let busy = tokio::spawn(client.get(container.url("/sleep?s=0.8")).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rejected = client.get(container.url("/")).send().await.unwrap();
    assert_eq!(rejected.status(), 429, "max_inflight=1 with one request in flight");
    assert_eq!(busy.await.unwrap().unwrap().status(), 200);

    container.remove(&docker).await;
}
