//! The gateway's REST API: auth, status codes, JSON shapes and input validation, against the
//! real `rfaas gateway` binary and Docker.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

#[tokio::test]
async fn system_routes_need_basic_auth_and_open_routes_do_not() {
    let gw = TestGateway::start().await;
    let routes = [
        (Method::GET, "/system/functions"),
        (Method::POST, "/system/functions"),
        (Method::GET, "/system/function/x"),
        (Method::POST, "/system/scale-function/x"),
        (Method::GET, "/system/secrets"),
        (Method::GET, "/system/logs?name=x"),
        (Method::GET, "/system/namespaces"),
        (Method::GET, "/system/namespace/openfaas-fn"),
        (Method::GET, "/system/info"),
    ];
    for (method, path) in routes {
        let url = format!("{}{path}", gw.url);
        for request in [
            gw.http.request(method.clone(), &url),
            gw.http.request(method.clone(), &url).basic_auth("admin", Some("wrong")),
            gw.http.request(method.clone(), &url).basic_auth("root", Some(&gw.password)),
        ] {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path}");
            assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"Restricted\"");
            assert_eq!(response.text().await.unwrap().trim(), "invalid credentials");
        }
    }
    let healthz = gw.http.get(format!("{}/healthz", gw.url)).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    assert_eq!(gw.http.head(format!("{}/healthz", gw.url)).send().await.unwrap().status(), 200);
    let metrics = gw.http.get(format!("{}/metrics", gw.url)).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    // Before any invocation the gateway_* families have no series and, as with OpenFaaS's Go
    // client, are left out; the gauges are always there.
    let text = metrics.text().await.unwrap();
    let open = text.lines().find_map(|l| l.strip_prefix("rfaas_open_connections ")?.parse::<f64>().ok());
    assert!(open.is_some_and(|n| n >= 1.0), "this test's own connection is open: {text}");
    assert!(!text.contains("gateway_function_invocation_total"), "{text}");
    assert_eq!(gw.send(gw.system(Method::GET, "/nope")).await.0, 404);
    assert_eq!(gw.send(gw.system(Method::PATCH, "/system/functions")).await.0, 405);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/scale-function/x")).await.0, 405);
    assert_eq!(gw.send(gw.http.get(format!("{}/async-function/x", gw.url))).await.0, 405);

    let (status, body) = gw.send(gw.system(Method::GET, "/system/info")).await;
    assert_eq!(status, 200);
    let info: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["provider"]["provider"], "rfaas");
    assert_eq!(info["provider"]["orchestration"], "docker");
    assert!(info["provider"]["version"]["release"].is_string());
    assert!(info["version"]["sha"].is_string() && info["version"]["release"].is_string());
    assert!(["amd64", "arm64"].contains(&info["arch"].as_str().unwrap()));
}

#[tokio::test]
async fn function_endpoints_answer_with_openfaas_status_codes() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let (status, body) = gw.send(gw.system(Method::GET, "/system/functions")).await;
    assert_eq!((status, body.as_str()), (200, "[]"));

    // Validation: 400 with plain-text bodies.
    let bad_json = gw.send(gw.system(Method::POST, "/system/functions").body("{not json")).await;
    assert_eq!(bad_json.0, 400);
    assert!(bad_json.1.starts_with("invalid request body"), "{}", bad_json.1);
    for name in ["Bad_Name", "../etc", "a/b", ""] {
        assert_eq!(gw.deploy(&echo_fn(name, &image)).await.0, 400, "{name}");
    }
    let mut missing_secret = echo_fn("s", &image);
    missing_secret["secrets"] = json!(["nope"]);
    assert_eq!(gw.deploy(&missing_secret).await, (400, "unable to find secret: nope\n".to_string()));
    let (status, body) = gw.deploy(&echo_fn("img", "rfaas-test/does-not-exist:1")).await;
    assert_eq!(status, 424);
    assert!(body.contains("rfaas-test/does-not-exist:1"), "{body}");
    let mut bad_limits = echo_fn("lim", &image);
    bad_limits["limits"] = json!({"memory": "lots"});
    assert_eq!(gw.deploy(&bad_limits).await.0, 400);
    // Finer than 1m would be 0 nano-CPUs: a 400 naming the value, not a crashed handler.
    bad_limits["limits"] = json!({"cpu": "0.5m"});
    let (status, text) = gw.deploy(&bad_limits).await;
    assert_eq!(status, 400);
    assert_eq!(text, "limits.cpu \"0.5m\" is below 1m, the smallest CPU quantity\n");
    let mut bad_scale = echo_fn("sc", &image);
    bad_scale["labels"] = json!({"com.openfaas.scale.min": "11"});
    assert_eq!(gw.deploy(&bad_scale).await.0, 400);
    let mut other_ns = echo_fn("ns", &image);
    other_ns["namespace"] = json!("missing");
    assert_eq!(gw.deploy(&other_ns).await.0, 400);

    // Unknown functions.
    assert_eq!(gw.update(&echo_fn("ghost", &image)).await.0, 404);
    let delete = gw.system(Method::DELETE, "/system/functions").json(&json!({"functionName": "ghost"}));
    assert_eq!(gw.send(delete).await.0, 404);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/function/ghost")).await.0, 404);
    let scale =
        gw.system(Method::POST, "/system/scale-function/ghost").json(&json!({"serviceName": "ghost", "replicas": 1}));
    assert_eq!(gw.send(scale).await.0, 404);
    assert_eq!(gw.invoke("ghost").await.status(), 404);

    // Deploy: labels and annotations round-trip exactly.
    let mut deployment = echo_fn("echo", &image);
    deployment["labels"] = json!({"team": "a", "com.openfaas.scale.min": "1"});
    deployment["annotations"] = json!({"topic": "x", "note": "with spaces: and \"quotes\""});
    deployment["envVars"] = json!({"ECHO_A": "1"});
    deployment["envProcess"] = json!("python3 server.py");
    assert_eq!(gw.deploy(&deployment).await.0, 202);
    assert_eq!(gw.deploy(&deployment).await.0, 409);
    let status = gw.describe("echo").await;
    assert_eq!(status["name"], "echo");
    assert_eq!(status["namespace"], "openfaas-fn");
    assert_eq!(status["image"], image);
    assert_eq!(status["labels"], deployment["labels"]);
    assert_eq!(status["annotations"], deployment["annotations"]);
    assert_eq!(status["envVars"], deployment["envVars"]);
    assert_eq!(status["envProcess"], "python3 server.py");
    assert_eq!((status["replicas"].as_u64(), status["availableReplicas"].as_u64()), (Some(1), Some(1)));
    assert!(status["createdAt"].as_str().unwrap().starts_with("20"));

    for _ in 0..3 {
        assert_eq!(gw.invoke("echo").await.status(), 200);
    }
    let (_, list) = gw.send(gw.system(Method::GET, "/system/functions?namespace=openfaas-fn")).await;
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["invocationCount"], 3.0);
    let metrics = gw.http.get(format!("{}/metrics", gw.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("gateway_function_invocation_total{code=\"200\",function_name=\"echo.openfaas-fn\"} 3"));
    assert!(metrics.contains("gateway_function_invocation_started{function_name=\"echo.openfaas-fn\"} 3"));
    assert!(metrics.contains("gateway_service_count{function_name=\"echo.openfaas-fn\"} 1"));
    assert!(metrics.contains("gateway_functions_seconds_count{code=\"200\",function_name=\"echo.openfaas-fn\"} 3"));

    let too_many =
        gw.system(Method::POST, "/system/scale-function/echo").json(&json!({"serviceName": "echo", "replicas": 11}));
    assert_eq!(gw.send(too_many).await.0, 400);
    let wrong_key =
        gw.system(Method::POST, "/system/scale-function/echo").json(&json!({"service": "echo", "replicas": 1}));
    assert_eq!(gw.send(wrong_key).await.0, 200, "serviceName may be omitted; the URL names the function");
    assert_eq!(gw.update(&deployment).await.0, 200);

    let delete = gw.system(Method::DELETE, "/system/functions").json(&json!({"functionName": "echo"}));
    assert_eq!(gw.send(delete).await.0, 200);
    assert_eq!(gw.invoke("echo").await.status(), 404);
    assert!(gw.containers().await.is_empty());
}

#[tokio::test]
async fn secrets_crud_and_names() {
    let gw = TestGateway::start().await;
    let secrets = "/system/secrets";
    assert_eq!(gw.send(gw.system(Method::GET, secrets)).await, (200, "[]".to_string()));
    let create = |body: Value| gw.system(Method::POST, secrets).json(&body);
    assert_eq!(gw.send(create(json!({"name": "api-key", "value": "hunter2"}))).await.0, 201);
    assert_eq!(gw.send(create(json!({"name": "api-key", "value": "hunter2"}))).await.0, 409);
    assert_eq!(gw.send(create(json!({"name": "raw", "rawValue": "aGk="}))).await.0, 201);
    for bad in ["../x", "a/b", "a..b", "UP", ""] {
        assert_eq!(gw.send(create(json!({"name": bad, "value": "v"}))).await.0, 400, "{bad}");
    }
    assert_eq!(gw.send(create(json!({"name": "n", "namespace": "nope", "value": "v"}))).await.0, 400);
    let (status, list) = gw.send(gw.system(Method::GET, "/system/secrets?namespace=openfaas-fn")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap(),
        json!([{"name": "api-key", "namespace": "openfaas-fn"}, {"name": "raw", "namespace": "openfaas-fn"}])
    );
    let update = |name: &str| gw.system(Method::PUT, secrets).json(&json!({"name": name, "value": "new"}));
    assert_eq!(gw.send(update("api-key")).await.0, 200);
    assert_eq!(gw.send(update("missing")).await.0, 404);
    let delete_q = gw.system(Method::DELETE, "/system/secrets?namespace=openfaas-fn").json(&json!({"name": "raw"}));
    assert_eq!(gw.send(delete_q).await.0, 200);
    let delete = gw.system(Method::DELETE, secrets).json(&json!({"name": "raw"}));
    assert_eq!(gw.send(delete).await.0, 404);
    let stored = std::fs::read(gw.dir.join("secrets/openfaas-fn/api-key")).unwrap();
    assert_eq!(stored, b"new");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(gw.dir.join("secrets/openfaas-fn/api-key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&gw.dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert!(!gw.log().contains("hunter2") && !gw.log().contains("new\n"));
}

#[tokio::test]
async fn namespaces_crud() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.send(gw.system(Method::GET, "/system/namespaces")).await, (200, "[\"openfaas-fn\"]".to_string()));
    let ns =
        |method: Method, name: &str, body: Value| gw.system(method, &format!("/system/namespace/{name}")).json(&body);
    let labelled = json!({"name": "dev", "labels": {"openfaas": "1"}, "annotations": {"owner": "me"}});
    assert_eq!(gw.send(ns(Method::POST, "dev", json!({"name": "dev"}))).await.0, 400, "needs openfaas=1");
    assert_eq!(gw.send(ns(Method::POST, "prod", labelled.clone())).await.0, 400, "body/URL mismatch");
    assert_eq!(gw.send(ns(Method::POST, "Bad_Name", json!({}))).await.0, 400);
    assert_eq!(gw.send(ns(Method::POST, "dev", labelled.clone())).await.0, 201);
    assert_eq!(gw.send(ns(Method::POST, "dev", labelled.clone())).await.0, 409);
    let (status, body) = gw.send(gw.system(Method::GET, "/system/namespace/dev")).await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, labelled.clone()));
    assert_eq!(gw.send(gw.system(Method::GET, "/system/namespace/nope")).await.0, 404);
    assert_eq!(gw.send(ns(Method::PUT, "dev", json!({"labels": {"openfaas": "1"}}))).await.0, 202);
    assert_eq!(gw.send(ns(Method::PUT, "nope", json!({"labels": {"openfaas": "1"}}))).await.0, 404);
    let (_, list) = gw.send(gw.system(Method::GET, "/system/namespaces")).await;
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap(), json!(["openfaas-fn", "dev"]));

    let mut in_dev = echo_fn("echo", &image);
    in_dev["namespace"] = json!("dev");
    assert_eq!(gw.deploy(&in_dev).await.0, 202);
    assert_eq!(gw.invoke("echo.dev").await.status(), 200);
    assert_eq!(gw.invoke("echo").await.status(), 404);
    let (_, list) = gw.send(gw.system(Method::GET, "/system/functions?namespace=dev")).await;
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap()[0]["namespace"], "dev");
    assert_eq!(gw.send(gw.system(Method::DELETE, "/system/namespace/dev")).await.0, 400, "still has functions");
    let delete = gw.system(Method::DELETE, "/system/functions?namespace=dev").json(&json!({"functionName": "echo"}));
    assert_eq!(gw.send(delete).await.0, 200);
    assert_eq!(gw.send(gw.system(Method::DELETE, "/system/namespace/dev")).await.0, 202);
    assert_eq!(gw.send(gw.system(Method::DELETE, "/system/namespace/dev")).await.0, 404);
    assert_eq!(gw.send(gw.system(Method::DELETE, "/system/namespace/openfaas-fn")).await.0, 400);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/functions?namespace=dev")).await.0, 400);
}

#[tokio::test]
async fn logs_requests_are_validated() {
    let gw = TestGateway::start().await;
    assert_eq!(gw.send(gw.system(Method::GET, "/system/logs")).await.0, 400);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/logs?name=x&tail=many")).await.0, 422);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/logs?name=x&since=yesterday")).await.0, 422);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/logs?name=x")).await.0, 404);
}
