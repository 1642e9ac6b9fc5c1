//! Async invocation with callbacks and retries, and what survives a SIGKILL of the gateway.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::callbacks::Receiver;
use crate::support::gateway::{TestGateway, echo_fn, echo_images};

#[tokio::test]
async fn async_calls_are_retried_and_reported_to_the_callback() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("worker", &image)).await.0, 202);
    let receiver = Receiver::start().await;
    let callback = receiver.url("/cb");

    let async_url = |path: &str| format!("{}/async-function/{path}", gw.url);
    let response = gw
        .http
        .post(async_url("worker/flaky?key=k1&fails=2"))
        .header("X-Callback-Url", &callback)
        .header("Content-Type", "text/plain")
        .body("job-body")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let call_id = response.headers()["x-call-id"].to_str().unwrap().to_string();
    assert!(response.headers().contains_key("x-start-time"));
    assert_eq!(response.text().await.unwrap(), "");

    let got = receiver.wait_for("/cb", 1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1, "{}", gw.log());
    let cb = &got[0];
    assert_eq!(cb.headers["x-function-status"], "200", "two 503s were retried");
    assert_eq!(cb.headers["x-function-name"], "worker.openfaas-fn");
    assert_eq!(cb.headers["x-call-id"], call_id.as_str());
    assert!(cb.headers["x-duration-seconds"].to_str().unwrap().parse::<f64>().unwrap() > 0.0);
    let echo: Value = serde_json::from_str(&cb.body).unwrap();
    assert_eq!((echo["method"].as_str(), echo["body"].as_str()), (Some("POST"), Some("job-body")));
    assert_eq!(echo["headers"]["x-call-id"], call_id.as_str());
    assert_eq!(echo["headers"]["content-type"], "text/plain");

    // A final failure is reported too, once the attempts run out... of a non-retried status.
    gw.http.post(async_url("worker/status?code=500")).header("X-Callback-Url", &callback).send().await.unwrap();
    let got = receiver.wait_for("/cb", 2, Duration::from_secs(10)).await;
    assert_eq!(got[1].headers["x-function-status"], "500");

    let bad = gw.http.post(async_url("worker")).header("X-Callback-Url", "::not a url").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(gw.http.post(async_url("nobody")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_sigkilled_gateway_restarts_with_functions_secrets_and_queued_work() {
    let (image, _) = echo_images().await;
    let mut gw = TestGateway::start().await;
    let create = gw.system(Method::POST, "/system/secrets").json(&json!({"name": "token", "value": "t0k3n"}));
    assert_eq!(gw.send(create).await.0, 201);
    let mut deployment = echo_fn("durable", &image);
    deployment["secrets"] = json!(["token"]);
    deployment["labels"] = json!({"com.openfaas.scale.min": "2"});
    assert_eq!(gw.deploy(&deployment).await.0, 202);
    let containers_before = gw.containers().await;
    assert_eq!(containers_before.len(), 2);

    // Queue work that is still running (or not started) when the gateway dies.
    let receiver = Receiver::start().await;
    let callback = receiver.url("/cb");
    let mut call_ids = Vec::new();
    for i in 0..3 {
        let response = gw
            .http
            .post(format!("{}/async-function/durable/sleep?s=2&n={i}", gw.url))
            .header("X-Callback-Url", &callback)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        call_ids.push(response.headers()["x-call-id"].to_str().unwrap().to_string());
    }
    gw.restart_after_kill9().await;

    let status = gw.describe("durable").await;
    assert_eq!((status["replicas"].as_u64(), status["secrets"].clone()), (Some(2), json!(["token"])));
    assert_eq!(gw.invoke_until_ok("durable", Duration::from_secs(20)).await, 200);
    let mut after: Vec<String> = gw.containers().await.into_iter().map(|c| c.1).collect();
    let mut before: Vec<String> = containers_before.into_iter().map(|c| c.1).collect();
    after.sort();
    before.sort();
    assert_eq!(after, before, "running replicas are re-adopted, not recreated");
    assert_eq!(gw.invoke("durable/secret?name=token").await.text().await.unwrap(), "t0k3n");
    let (_, secrets) = gw.send(gw.system(Method::GET, "/system/secrets")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&secrets).unwrap(),
        json!([{"name": "token", "namespace": "openfaas-fn"}])
    );

    let got = receiver.wait_for("/cb", 3, Duration::from_secs(30)).await;
    let mut done: Vec<String> = got.iter().map(|c| c.headers["x-call-id"].to_str().unwrap().to_string()).collect();
    done.sort();
    done.dedup();
    call_ids.sort();
    assert_eq!(done, call_ids, "every queued call completes after the restart\n{}", gw.log());
    assert!(got.iter().all(|c| c.headers["x-function-status"] == "200"));

    // Even with the database gone, the function is rebuilt from its containers' labels.
    gw.kill9();
    for file in ["gateway.db", "gateway.db-wal", "gateway.db-shm"] {
        let _ = std::fs::remove_file(gw.dir.join(file));
    }
    gw.relaunch().await;
    let rebuilt = gw.describe("durable").await;
    assert_eq!(rebuilt["labels"], json!({"com.openfaas.scale.min": "2"}));
    assert_eq!(rebuilt["replicas"], 2);
    assert_eq!(gw.invoke_until_ok("durable", Duration::from_secs(20)).await, 200);
    assert_eq!(gw.invoke("durable/secret?name=token").await.text().await.unwrap(), "t0k3n");
    assert_eq!(gw.containers().await.len(), 2);
}
