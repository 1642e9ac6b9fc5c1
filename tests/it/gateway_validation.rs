//! What the gateway refuses before it stores anything: scale bodies, resource quantities,
//! environment variables and schedules that Docker or the replicas could not honour are 400s
//! naming the field and the value, and a rejected deploy or update leaves no trace.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images, image_without_command};

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

/// `echo_fn(name, image)` with the fields of `change` set.
fn echo_with(name: &str, image: &str, change: &Value) -> Value {
    let mut deployment = echo_fn(name, image);
    deployment.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
    deployment
}

/// Deploys the echo function with each change: a 400 with exactly that message, nothing stored.
async fn assert_each_refused(gw: &TestGateway, image: &str, cases: impl IntoIterator<Item = (Value, String)>) {
    for (change, message) in cases {
        assert_eq!(gw.deploy(&echo_with("refused", image, &change)).await, (400, format!("{message}\n")), "{change}");
        assert_nothing_stored(gw, &change.to_string()).await;
    }
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
    assert_each_refused(&gw, &image, cases).await;
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

#[tokio::test]
async fn environments_docker_or_the_gateway_would_refuse_are_400() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let cases = [
        (json!({"envVars": {"": "x"}}), "envVars has a variable with an empty name"),
        (json!({"envVars": {"A=B": "x"}}), "envVars[\"A=B\"]: a variable name cannot contain '=' or a NUL byte"),
        (json!({"envVars": {"A\0B": "x"}}), "envVars[\"A\\0B\"]: a variable name cannot contain '=' or a NUL byte"),
        (json!({"envVars": {"A": "x\0y"}}), "envVars[\"A\"]: the value contains a NUL byte"),
        (json!({"envProcess": "python3\0x"}), "envProcess contains a NUL byte"),
        (json!({"envVars": {"port": "9"}}), "envVars[\"port\"] is set by the gateway for every replica; remove it"),
        (
            json!({"envVars": {"bind_address": "0.0.0.0"}}),
            "envVars[\"bind_address\"] is set by the gateway for every replica; remove it",
        ),
        (
            json!({"envProcess": "python3 a.py", "envVars": {"fprocess": "python3 b.py"}}),
            "envVars[\"fprocess\"] and envProcess name different commands; set the command once (envProcess)",
        ),
    ];
    assert_each_refused(&gw, &image, cases.map(|(env, message)| (env, message.to_string()))).await;
    // Variable names are case-sensitive (PORT is not port), and fprocess may come from either
    // field when they agree.
    let mut deployment = echo_fn("env", &image);
    deployment["envVars"] = json!({"PORT": "9", "fprocess": "python3 server.py", "ECHO_A": "1"});
    deployment["envProcess"] = json!("python3 server.py");
    assert_eq!(gw.deploy(&deployment).await.0, 202);
    let echo: Value = gw.invoke("env").await.json().await.unwrap();
    assert_eq!(
        (echo["env"]["ECHO_A"].as_str(), echo["env"]["fprocess"].as_str()),
        (Some("1"), Some("python3 server.py"))
    );
}

/// `(deployment change, status, expected body or a part of it)` for every check deploy and
/// update make before storing anything.
fn rejected_deployments(image: &str, no_command: &str) -> Vec<(Value, u16, String)> {
    let cron = json!({"topic": "cron-function", "schedule": "*/5 * * *"});
    vec![
        (json!({"image": ""}), 400, "image is required".into()),
        (json!({"namespace": "missing"}), 400, "namespace not valid: missing".into()),
        (json!({"namespace": "Bad_NS"}), 400, "invalid namespace \"Bad_NS\"".into()),
        (json!({"secrets": ["nope"]}), 400, "unable to find secret: nope".into()),
        (json!({"secrets": ["../x"]}), 400, "invalid secret name \"../x\"".into()),
        (json!({"limits": {"memory": "1"}}), 400, "limits.memory \"1\"".into()),
        (json!({"requests": {"cpu": "x"}}), 400, "requests.cpu \"x\"".into()),
        (json!({"envVars": {"port": "9"}}), 400, "envVars[\"port\"]".into()),
        (json!({"annotations": cron}), 400, "function kept: invalid schedule \"*/5 * * *\"".into()),
        (
            json!({"annotations": {"topic": "cron-function", "schedule": "0 0 30 2 *"}}),
            400,
            "function kept: invalid schedule \"0 0 30 2 *\": it never fires".into(),
        ),
        (json!({"labels": {"com.openfaas.scale.min": "0"}}), 400, "label com.openfaas.scale.min".into()),
        // An image that is only absent is pulled when replicas start (gateway_images.rs).
        (json!({"image": "Not A Reference"}), 400, "invalid image reference \"Not A Reference\"".into()),
        (json!({"image": no_command}), 400, format!("image {no_command} has no command to run (no CMD or ENTRYPOINT)")),
        (
            json!({"image": image, "envVars": "not a map"}),
            400,
            "invalid request body: unexpected fields or types".into(),
        ),
    ]
}

#[tokio::test]
async fn rejected_deploys_and_updates_leave_no_record() {
    let (image, _) = echo_images().await;
    let no_command = image_without_command().await;
    let gw = TestGateway::start().await;
    for (change, status, expected) in rejected_deployments(&image, &no_command) {
        let (got, body) = gw.deploy(&echo_with("kept", &image, &change)).await;
        assert_eq!(got, status, "{change}: {body}");
        assert!(body.starts_with(&expected), "{change}: {body}");
        assert_nothing_stored(&gw, &change.to_string()).await;
    }

    // Updates: the stored function, its generation and its replica stay as they were.
    assert_eq!(gw.deploy(&echo_fn("kept", &image)).await.0, 202);
    let before = (gw.describe("kept").await, gw.containers().await);
    for (change, status, expected) in rejected_deployments(&image, &no_command) {
        if change.get("namespace").is_some() {
            continue; // another namespace is another function: a 404 for an update
        }
        let (got, body) = gw.update(&echo_with("kept", &image, &change)).await;
        assert_eq!(got, status, "{change}: {body}");
        assert!(body.starts_with(&expected), "{change}: {body}");
        assert_eq!((gw.describe("kept").await, gw.containers().await), before, "after {change}");
    }
    assert_eq!(gw.invoke("kept").await.status(), 200);
    let (_, list) = gw.send(gw.system(Method::GET, "/system/functions")).await;
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap().as_array().map(Vec::len), Some(1));
}
