//! Functions as Docker containers behind the real gateway: invoke, round robin, scaling, rolling
//! updates without failed requests, secrets, logs, crash recovery and container settings.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images};

#[tokio::test]
async fn invoke_scale_round_robin_rolling_update_and_remove() {
    let (v1, v2) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("echo", &v1)).await.0, 202);

    // The proxy: path, query, body and headers reach the function; call headers come back.
    let response = gw
        .http
        .put(format!("{}/function/echo/some/path?q=1&r=two", gw.url))
        .header("x-custom", "yes")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let call_id = headers["x-call-id"].to_str().unwrap().to_string();
    assert_eq!(call_id.len(), 36);
    assert!(headers["x-start-time"].to_str().unwrap().parse::<u128>().unwrap() > 1_600_000_000_000_000_000);
    assert!(headers["x-served-by"].to_str().unwrap().starts_with("rfaas/"));
    assert_eq!(headers["x-duration-seconds"], "0.001000");
    let echo: Value = response.json().await.unwrap();
    assert_eq!(
        (echo["method"].as_str(), echo["path"].as_str(), echo["query"].as_str()),
        (Some("PUT"), Some("/some/path"), Some("q=1&r=two"))
    );
    assert_eq!(echo["body"], "payload");
    assert_eq!(echo["headers"]["x-custom"], "yes");
    assert_eq!(echo["headers"]["x-call-id"], call_id.as_str());
    assert!(echo["headers"]["x-forwarded-for"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(echo["headers"]["x-forwarded-host"].as_str().unwrap().starts_with("127.0.0.1:"));
    let given =
        gw.http.get(format!("{}/function/echo.openfaas-fn", gw.url)).header("x-call-id", "mine").send().await.unwrap();
    assert_eq!(given.headers()["x-call-id"], "mine");

    // Scale to 3: requests rotate over three replicas.
    let scale = gw
        .system(Method::POST, "/system/scale-function/echo?namespace=openfaas-fn")
        .json(&json!({"serviceName": "echo", "replicas": 3}));
    assert_eq!(gw.send(scale).await.0, 200);
    assert_eq!(gw.describe("echo").await["availableReplicas"], 3);
    let fn_name = "function_name=\"echo.openfaas-fn\"";
    let up = format!("rfaas_scale_events_total{{direction=\"up\",{fn_name}}}");
    assert_eq!(gw.metric(&up).await, Some(1.0));
    assert_eq!(gw.metric(&format!("rfaas_cold_starts_total{{cause=\"scale\",{fn_name}}}")).await, Some(2.0));
    assert_eq!(gw.metric(&format!("gateway_service_count{{{fn_name}}}")).await, Some(3.0));
    let mut order = Vec::new();
    for _ in 0..9 {
        let echo: Value = gw.invoke("echo").await.json().await.unwrap();
        order.push(echo["instance"].as_str().unwrap().to_string());
    }
    assert_eq!(order.iter().collect::<BTreeSet<_>>().len(), 3, "{order:?}");
    assert_eq!(order[0..3], order[3..6], "round robin: {order:?}");

    // Rolling update to a new image while requests keep flowing: none may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut loops = Vec::new();
    for _ in 0..4 {
        let (http, url, stop, ok, failed) = (gw.http.clone(), gw.url.clone(), stop.clone(), ok.clone(), failed.clone());
        loops.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let good = match http.post(format!("{url}/function/echo")).body("x").send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if good { &ok } else { &failed };
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gw.update(&echo_fn("echo", &v2)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for l in loops {
        l.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::SeqCst), 0, "{} ok", ok.load(Ordering::SeqCst));
    assert!(ok.load(Ordering::SeqCst) > 20);
    let status = gw.describe("echo").await;
    assert_eq!((status["image"].as_str(), status["replicas"].as_u64()), (Some(v2.as_str()), Some(3)));
    assert_eq!(status["availableReplicas"], 3);
    for _ in 0..3 {
        let echo: Value = gw.invoke("echo").await.json().await.unwrap();
        assert_eq!(echo["version"], "2");
    }
    assert_eq!(gw.containers().await.len(), 3, "old replicas are stopped and removed");

    // Scale to zero: listed, no replicas; the next invocation starts one (scale from zero).
    let zero =
        gw.system(Method::POST, "/system/scale-function/echo").json(&json!({"serviceName": "echo", "replicas": 0}));
    assert_eq!(gw.send(zero).await.0, 200);
    assert!(gw.containers().await.is_empty());
    assert_eq!(gw.describe("echo").await.get("replicas"), None, "0 is omitted, as Go does");
    assert_eq!(gw.invoke("echo").await.status(), 200);
    assert_eq!(gw.describe("echo").await["availableReplicas"], 1);

    let delete = gw
        .system(Method::DELETE, "/system/functions")
        .json(&json!({"functionName": "echo", "namespace": "openfaas-fn"}));
    assert_eq!(gw.send(delete).await.0, 200);
    assert_eq!(gw.invoke("echo").await.status(), 404);
    assert!(gw.containers().await.is_empty());
}

#[tokio::test]
async fn secrets_are_mounted_for_the_image_user_and_never_leak() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let secret = "s3cr3t-value-0451";
    let create = gw.system(Method::POST, "/system/secrets").json(&json!({"name": "db.password", "value": secret}));
    assert_eq!(gw.send(create).await.0, 201);
    let mut deployment = echo_fn("reader", &image);
    deployment["secrets"] = json!(["db.password"]);
    assert_eq!(gw.deploy(&deployment).await.0, 202);

    let whoami: Value = gw.invoke("reader/whoami").await.json().await.unwrap();
    assert_eq!(whoami["uid"], 10001, "the test image runs as user app");
    let read = gw.invoke("reader/secret?name=db.password").await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.text().await.unwrap(), secret);

    let update = gw.system(Method::PUT, "/system/secrets").json(&json!({"name": "db.password", "value": "rotated"}));
    assert_eq!(gw.send(update).await.0, 200);
    assert_eq!(gw.invoke("reader/secret?name=db.password").await.text().await.unwrap(), "rotated");

    let describe = gw.describe("reader").await;
    assert_eq!(describe["secrets"], json!(["db.password"]));
    let (_, list) = gw.send(gw.system(Method::GET, "/system/functions")).await;
    let (_, secrets) = gw.send(gw.system(Method::GET, "/system/secrets")).await;
    let (_, logs) = gw.send(gw.system(Method::GET, "/system/logs?name=reader")).await;
    for text in [describe.to_string(), list, secrets, logs, gw.log()] {
        assert!(!text.contains(secret) && !text.contains("rotated"), "secret leaked: {text}");
    }
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[tokio::test]
async fn logs_stream_as_ndjson_with_tail_since_and_follow() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("talker", &image)).await.0, 202);
    for i in 1..=3 {
        gw.invoke(&format!("talker/log?text=line-{i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    for i in 4..=5 {
        gw.invoke(&format!("talker/log?text=line-{i}")).await;
    }

    let response =
        gw.system(Method::GET, "/system/logs?name=talker&namespace=openfaas-fn&tail=2").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let lines = ndjson(&response.text().await.unwrap());
    let texts: Vec<&str> = lines.iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["line-4", "line-5"]);
    let first = lines[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(keys, ["instance", "name", "namespace", "text", "timestamp"]);
    assert_eq!((first["name"].as_str(), first["namespace"].as_str()), (Some("talker"), Some("openfaas-fn")));
    assert!(first["instance"].as_str().unwrap().starts_with("rfaas-openfaas-fn-talker-"));
    assert!(chrono::DateTime::parse_from_rfc3339(first["timestamp"].as_str().unwrap()).is_ok());

    let (_, all) = gw.send(gw.system(Method::GET, "/system/logs?name=talker&tail=-1")).await;
    assert_eq!(ndjson(&all).len(), 6, "start-up line and five lines: {all}");
    let since_url = format!("/system/logs?name=talker&since={}", urlencode(&since));
    let (_, recent) = gw.send(gw.system(Method::GET, &since_url)).await;
    let texts: Vec<String> = ndjson(&recent).iter().map(|l| l["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(texts, ["line-4", "line-5"]);

    // follow: lines written after the request arrive while the stream is open.
    let response = gw.system(Method::GET, "/system/logs?name=talker&follow=true&tail=1").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    gw.invoke("talker/log?text=followed").await;
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("\"followed\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "{seen}");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_killed_replica_is_replaced_and_serves_again() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("phoenix", &image)).await.0, 202);
    let before = gw.containers().await;
    assert_eq!(before.len(), 1);
    docker().await.kill_container(&before[0].1, None::<bollard::query_parameters::KillContainerOptions>).await.unwrap();
    assert_eq!(gw.invoke_until_ok("phoenix", Duration::from_secs(20)).await, 200);
    assert_eq!(gw.describe("phoenix").await["availableReplicas"], 1);
    let after = gw.containers().await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].1, before[0].1);
    assert!(gw.log().contains("exited; replacing it"));
    let fn_name = "function_name=\"phoenix.openfaas-fn\"";
    assert_eq!(gw.metric(&format!("rfaas_replica_restarts_total{{{fn_name}}}")).await, Some(1.0));
    for cause in ["deploy", "replace"] {
        let series = format!("rfaas_cold_starts_total{{cause=\"{cause}\",{fn_name}}}");
        assert_eq!(gw.metric(&series).await, Some(1.0), "{series}");
    }
    assert_eq!(gw.metric(&format!("rfaas_cold_start_seconds_count{{{fn_name}}}")).await, Some(2.0));
}

#[tokio::test]
async fn limits_read_only_root_and_environment_reach_docker() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let mut deployment = echo_fn("limited", &image);
    deployment["limits"] = json!({"memory": "64Mi", "cpu": "500m"});
    deployment["requests"] = json!({"memory": "32Mi", "cpu": "250m"});
    deployment["readOnlyRootFilesystem"] = json!(true);
    deployment["envProcess"] = json!("python3 server.py");
    deployment["envVars"] = json!({"ECHO_MODE": "x"});
    assert_eq!(gw.deploy(&deployment).await.0, 202);
    let containers = gw.containers().await;
    let inspect = docker().await.inspect_container(&containers[0].1, None).await.unwrap();
    let host = inspect.host_config.unwrap();
    assert_eq!(host.network_mode.as_deref(), Some("host"));
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.memory_reservation, Some(32 << 20));
    // 500m as 5 ms of CPU per 10 ms period; the 250m request as 256 shares.
    assert_eq!((host.cpu_quota, host.cpu_period), (Some(5_000), Some(10_000)));
    assert_eq!(host.cpu_shares, Some(256));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert!(host.tmpfs.unwrap().contains_key("/tmp"));
    let env = inspect.config.unwrap().env.unwrap();
    assert!(env.contains(&"fprocess=python3 server.py".to_string()));
    assert!(env.contains(&"ECHO_MODE=x".to_string()));
    assert_eq!(env.iter().filter(|e| e.starts_with("port=")).count(), 1, "the gateway sets the port: {env:?}");
    let echo: Value = gw.invoke("limited").await.json().await.unwrap();
    assert_eq!(echo["env"]["ECHO_MODE"], "x");
}
