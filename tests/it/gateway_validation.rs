//! What the gateway refuses before it stores anything: scale bodies, resource quantities,
//! environment variables and schedules that Docker or the replicas could not honour are 400s
//! naming the field and the value, and a rejected deploy or update leaves no trace.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

/// `(status, body)` of a scale request with a raw body.
async fn scale(gw: &TestGateway, name: &str, body: &str) -> (u16, String) {
    let request = gw
        .system(Method::POST, &format!("/system/scale-function/{name}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    gw.send(request).await
}

#[tokio::test]
async fn scale_bodies_without_a_whole_replica_count_are_400_and_scale_nothing() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("steady", &image)).await.0, 202);
    let not_object = "invalid request body: expected a JSON object\n";
    let required =
        "replicas is required: a whole number from 0 to 10, e.g. {\"serviceName\": \"NAME\", \"replicas\": 1}\n";
    let range = |got: &str| format!("replicas must be a whole number from 0 to 10, got {got}\n");
    let cases = [
        ("[]", not_object.to_string()),
        ("\"x\"", not_object.to_string()),
        ("{}", required.to_string()),
        (r#"{"replica": 3}"#, required.to_string()),
        (r#"{"serviceName": "steady"}"#, required.to_string()),
        (r#"{"replicas": -1}"#, range("-1")),
        (r#"{"replicas": 1.5}"#, range("1.5")),
        (r#"{"replicas": 2.0}"#, range("2.0")),
        (r#"{"replicas": 1e30}"#, range("1e+30")),
        (r#"{"replicas": 18446744073709551616}"#, range("1.8446744073709552e+19")),
        (r#"{"replicas": "2"}"#, range("\"2\"")),
        (r#"{"replicas": null}"#, range("null")),
        (r#"{"replicas": [1]}"#, range("an array")),
        (r#"{"replicas": 11}"#, range("11")),
    ];
    for (body, expected) in &cases {
        assert_eq!(scale(&gw, "steady", body).await, (400, expected.clone()), "{body}");
    }
    let mismatch = scale(&gw, "steady", r#"{"serviceName": 5, "replicas": 1}"#).await;
    assert_eq!(mismatch, (400, "invalid request body: serviceName and namespace must be strings\n".into()));
    let status = gw.describe("steady").await;
    assert_eq!((status["replicas"].as_u64(), status["availableReplicas"].as_u64()), (Some(1), Some(1)));
    assert_eq!(gw.invoke("steady").await.status(), 200);
    // A good body still works, with or without serviceName.
    assert_eq!(scale(&gw, "steady", r#"{"replicas": 0}"#).await.0, 200);
    assert_eq!(gw.describe("steady").await.get("replicas"), None, "0 is omitted as Go omits it");
}
