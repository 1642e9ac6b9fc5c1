//! What the gateway refuses before it stores anything: scale bodies, resource quantities,
//! environment variables and schedules that Docker or the replicas could not honour are 400s
//! naming the field and the value, and a rejected deploy or update leaves no trace.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images};

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

/// Asserts that the gateway has no function and no container.
async fn assert_nothing_stored(gw: &TestGateway, after: &str) {
    let (status, list) = gw.send(gw.system(Method::GET, "/system/functions")).await;
    assert_eq!((status, list.as_str()), (200, "[]"), "after {after}");
    assert!(gw.containers().await.is_empty(), "after {after}");
}

#[tokio::test]
async fn quantities_docker_would_refuse_are_400_naming_field_and_value() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let below = "is below Docker's minimum of 6Mi (omit it for no limit)";
    let fractional = "is not a whole number of bytes (examples: 128Mi, 1Gi, 500M)";
    let cases = [
        // Became Memory=0 (no limit at all).
        (json!({"limits": {"memory": "0.4"}}), format!("limits.memory \"0.4\" {fractional}")),
        (json!({"limits": {"memory": "1m"}}), format!("limits.memory \"1m\" {fractional}")),
        (json!({"limits": {"memory": "1e-10"}}), format!("limits.memory \"1e-10\" {fractional}")),
        // Docker refused these at container creation: a 500 and a record retried forever.
        (json!({"limits": {"memory": "1"}}), format!("limits.memory \"1\" {below}")),
        (json!({"limits": {"memory": "4Mi"}}), format!("limits.memory \"4Mi\" {below}")),
        (json!({"limits": {"memory": "1E3"}}), format!("limits.memory \"1E3\" {below}")),
        (json!({"limits": {"memory": "+5Mi"}}), format!("limits.memory \"+5Mi\" {below}")),
        (json!({"requests": {"memory": "1Mi"}}), format!("requests.memory \"1Mi\" {below}")),
        (
            json!({"limits": {"memory": "32Mi"}, "requests": {"memory": "64Mi"}}),
            "requests.memory \"64Mi\" is above limits.memory \"32Mi\"".to_string(),
        ),
        (json!({"requests": {"cpu": "1e-10"}}), "requests.cpu \"1e-10\" is below 1m, the smallest CPU quantity".into()),
        (json!({"limits": {"cpu": "-1"}}), "limits.cpu \"-1\" is negative".into()),
    ];
    for (resources, message) in cases {
        let mut deployment = echo_fn("sized", &image);
        deployment.as_object_mut().unwrap().extend(resources.as_object().unwrap().clone());
        assert_eq!(gw.deploy(&deployment).await, (400, format!("{message}\n")), "{resources}");
        assert_nothing_stored(&gw, &resources.to_string()).await;
    }
    // Kubernetes' explicit sign and exponent forms are quantities like any other.
    let mut deployment = echo_fn("sized", &image);
    deployment["limits"] = json!({"memory": "+64Mi", "cpu": "5E-1"});
    deployment["requests"] = json!({"memory": "6Mi"});
    assert_eq!(gw.deploy(&deployment).await.0, 202);
    let inspect = docker().await.inspect_container(&gw.containers().await[0].1, None).await.unwrap();
    let host = inspect.host_config.unwrap();
    assert_eq!((host.memory, host.memory_reservation), (Some(64 << 20), Some(6 << 20)));
    assert_eq!((host.cpu_quota, host.cpu_period), (Some(5_000), Some(10_000)));
}
