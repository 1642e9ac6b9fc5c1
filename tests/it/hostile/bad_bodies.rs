//! Bad bodies and names for every write endpoint (functions POST/PUT/DELETE, scale, secrets
//! POST/PUT/DELETE, namespaces POST/PUT/DELETE): malformed JSON, wrong types, missing fields,
//! huge bodies and traversal or overlong names each get their exact 4xx, and after every one
//! the gateway holds exactly what it held before (one function, one secret, one namespace).

use serde_json::{Value, json};

use super::wire::send;
use crate::support::gateway::{TestGateway, echo_fn, echo_images};

/// One hostile request and what must come back.
struct Case {
    method: &'static str,
    path: String,
    body: Vec<u8>,
    status: u16,
    /// The start of the plain-text answer.
    says: String,
}

fn case(method: &'static str, path: &str, body: impl Into<Vec<u8>>, status: u16, says: &str) -> Case {
    Case { method, path: path.to_string(), body: body.into(), status, says: says.to_string() }
}

fn json_body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

/// Every byte outside `[a-z0-9]` percent-encoded, so `..` and `/` reach the router as data.
fn in_path(name: &str) -> String {
    name.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Bodies no endpoint accepts, with the answer they get.
fn malformed() -> Vec<(Vec<u8>, u16, &'static str)> {
    let deep = format!("{{\"a\": {}", "[".repeat(10_000));
    let huge = format!("{{\"service\": \"{}\"}}", "x".repeat(3 << 20));
    vec![
        (b"{not json".to_vec(), 400, "invalid request body: malformed JSON at line 1 column 2"),
        (b"{\"service\": ".to_vec(), 400, "invalid request body: truncated JSON"),
        (b"[]".to_vec(), 400, "invalid request body: expected a JSON object"),
        (b"[\"kept\", \"img\"]".to_vec(), 400, "invalid request body: expected a JSON object"),
        (b"null".to_vec(), 400, "invalid request body: expected a JSON object"),
        (b"\"kept\"".to_vec(), 400, "invalid request body: expected a JSON object"),
        (b"\xff\xfe{}".to_vec(), 400, "invalid request body: expected a JSON object"),
        (b"{\"\xff\": 1}".to_vec(), 400, "invalid request body: malformed JSON"),
        // Skipped as an unknown field (truncated at the end) or stopped by serde_json's recursion
        // limit (the scale body is read as a value): no stack overflow either way.
        (deep.into_bytes(), 400, "invalid request body: "),
        (huge.into_bytes(), 413, "Failed to buffer the request body: length limit exceeded"),
    ]
}

/// Names that must never reach a file, a container or the store.
fn bad_labels() -> Vec<String> {
    let mut names: Vec<String> = ["../x", "a/b", "..", ".", "a\0b", "Kept", "a b", "-a", "a.b", "", "x\n"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.push("x".repeat(64));
    names
}

fn bad_secret_names() -> Vec<String> {
    let mut names: Vec<String> =
        ["../x", "a/b", "..", ".", "a\0b", "Kept", "a b", ".x", "a..b", ""].iter().map(|s| s.to_string()).collect();
    names.push("x".repeat(64));
    names.push(format!("{}.x", ["x".repeat(63), "x".repeat(63), "x".repeat(63), "x".repeat(62)].join(".")));
    names
}

fn function_cases(image: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (method, body) in [("POST", "fresh"), ("PUT", "kept")] {
        let path = "/system/functions";
        let with = |extra: Value| {
            let mut d = echo_fn(body, image);
            d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json_body(d)
        };
        let types = "invalid request body: unexpected fields or types";
        cases.push(case(method, path, json_body(json!({"service": 5, "image": image})), 400, types));
        cases.push(case(method, path, with(json!({"envVars": ["A=1"]})), 400, types));
        cases.push(case(method, path, with(json!({"secrets": "kept"})), 400, types));
        cases.push(case(method, path, with(json!({"limits": {"memory": 128}})), 400, types));
        cases.push(case(method, path, with(json!({"readOnlyRootFilesystem": "yes"})), 400, types));
        cases.push(case(method, path, "{\"service\": \"a\", \"service\": \"b\"}", 400, types));
        cases.push(case(method, path, "{}", 400, "invalid function name \"\""));
        cases.push(case(method, path, json_body(json!({"image": image})), 400, "invalid function name \"\""));
        cases.push(case(method, path, json_body(json!({"service": body})), 400, "image is required"));
        for name in bad_labels() {
            let bad_fn = json_body(json!({"service": name, "image": image}));
            cases.push(case(method, path, bad_fn, 400, "invalid function name"));
        }
    }
    for name in bad_labels().into_iter().filter(|n| !n.is_empty()) {
        let in_ns = json_body(json!({"service": "fresh", "image": image, "namespace": name}));
        cases.push(case("POST", "/system/functions", in_ns, 400, "invalid namespace"));
    }
    let delete = "/system/functions";
    cases.push(case("DELETE", delete, "{}", 400, "invalid function name \"\""));
    cases.push(case("DELETE", delete, json_body(json!({"functionName": 5})), 400, "invalid request body"));
    cases.push(case("DELETE", delete, json_body(json!({"functionName": ["kept"]})), 400, "invalid request body"));
    for name in bad_labels() {
        cases.push(case("DELETE", delete, json_body(json!({"functionName": name})), 400, "invalid function name"));
        if !name.is_empty() {
            let in_ns = json_body(json!({"functionName": "kept", "namespace": name}));
            cases.push(case("DELETE", delete, in_ns, 400, "invalid namespace"));
        }
    }
    cases
}

/// `{"replicas": 1, "x": [[[...]]]}`, 10,000 levels deep.
fn deep_value() -> Vec<u8> {
    format!("{{\"replicas\": 1, \"x\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()
}

fn scale_cases() -> Vec<Case> {
    let one = json_body(json!({"replicas": 1}));
    let mut cases = vec![
        case("POST", "/system/scale-function/kept", "{}", 400, "replicas is required"),
        case("POST", "/system/scale-function/kept", "{\"replica\": 3}", 400, "replicas is required"),
        case("POST", "/system/scale-function/kept", "{\"replicas\": -1}", 400, "replicas must be a whole number"),
        case("POST", "/system/scale-function/kept", "{\"replicas\": 0.5}", 400, "replicas must be a whole number"),
        case("POST", "/system/scale-function/kept", "{\"replicas\": 1e9}", 400, "replicas must be a whole number"),
        case("POST", "/system/scale-function/kept", "{\"replicas\": \"1\"}", 400, "replicas must be a whole number"),
        case(
            "POST",
            "/system/scale-function/kept",
            json_body(json!({"serviceName": 1, "replicas": 1})),
            400,
            "invalid request body",
        ),
        case(
            "POST",
            "/system/scale-function/kept",
            json_body(json!({"serviceName": "other", "replicas": 1})),
            400,
            "serviceName \"other\" does not match",
        ),
        case("POST", "/system/scale-function/..", one.clone(), 400, "invalid function name \"..\""),
        // The scale body is read as a JSON value first: serde_json's recursion limit holds.
        case("POST", "/system/scale-function/kept", deep_value(), 400, "invalid request body: malformed JSON"),
    ];
    for name in bad_labels().into_iter().filter(|n| !n.is_empty()) {
        let path = format!("/system/scale-function/{}", in_path(&name));
        cases.push(case("POST", &path, one.clone(), 400, "invalid function name"));
        let in_ns = json_body(json!({"replicas": 1, "namespace": name}));
        cases.push(case("POST", "/system/scale-function/kept", in_ns, 400, "invalid namespace"));
    }
    cases
}

fn secret_cases() -> Vec<Case> {
    let path = "/system/secrets";
    let mut cases = Vec::new();
    for method in ["POST", "PUT", "DELETE"] {
        cases.push(case(method, path, "{}", 400, "invalid secret name \"\""));
        cases.push(case(
            method,
            path,
            json_body(json!({"name": 5})),
            400,
            "invalid request body: unexpected fields or types",
        ));
        cases.push(case(method, path, json_body(json!({"name": "kept", "value": 5})), 400, "invalid request body"));
        cases.push(case(
            method,
            path,
            json_body(json!({"name": "kept", "rawValue": "!!"})),
            400,
            "invalid request body",
        ));
        for name in bad_secret_names() {
            cases.push(case(method, path, json_body(json!({"name": name, "value": "v"})), 400, "invalid secret name"));
        }
        let unknown_ns = json_body(json!({"name": "kept", "value": "v", "namespace": "../x"}));
        cases.push(case(method, path, unknown_ns, 400, "namespace not valid"));
    }
    cases
}

fn namespace_cases() -> Vec<Case> {
    let labelled = |name: &str| json_body(json!({"name": name, "labels": {"openfaas": "1"}}));
    let mut cases = vec![
        case("POST", "/system/namespace/", "{}", 400, "the namespace name is required in the body"),
        case("POST", "/system/namespace/", json_body(json!({"name": 5})), 400, "invalid request body"),
        case(
            "POST",
            "/system/namespace/fresh",
            json_body(json!({"name": "fresh"})),
            400,
            "a namespace needs the label openfaas=1",
        ),
        case("POST", "/system/namespace/fresh", labelled("other"), 400, "namespace in the body (other) does not match"),
        case("POST", "/system/namespace/fresh", "{\"labels\": {\"openfaas\": 1}}", 400, "invalid request body"),
        case("POST", "/system/namespace/fresh", "{\"labels\": \"openfaas=1\"}", 400, "invalid request body"),
        case("PUT", "/system/namespace/kept", "{\"annotations\": []}", 400, "invalid request body"),
        case("PUT", "/system/namespace/kept", "{\"labels\": {}}", 400, "a namespace needs the label openfaas=1"),
        case(
            "PUT",
            "/system/namespace/openfaas-fn",
            labelled("openfaas-fn"),
            400,
            "the openfaas-fn namespace cannot be changed",
        ),
        case("DELETE", "/system/namespace/openfaas-fn", "", 400, "the openfaas-fn namespace cannot be deleted"),
        case("POST", "/system/namespace/..", labelled(".."), 400, "invalid namespace \"..\""),
        case("DELETE", "/system/namespace/..", "", 400, "invalid namespace \"..\""),
    ];
    for name in bad_labels().into_iter().filter(|n| !n.is_empty()) {
        cases.push(case("POST", "/system/namespace/", labelled(&name), 400, "invalid namespace"));
        let path = format!("/system/namespace/{}", in_path(&name));
        for method in ["POST", "PUT"] {
            cases.push(case(method, &path, labelled(&name), 400, "invalid namespace"));
        }
        cases.push(case("DELETE", &path, "", 400, "invalid namespace"));
    }
    cases
}

/// Every endpoint that reads a JSON body, with a path it accepts.
const JSON_ENDPOINTS: [(&str, &str); 10] = [
    ("POST", "/system/functions"),
    ("PUT", "/system/functions"),
    ("DELETE", "/system/functions"),
    ("POST", "/system/scale-function/kept"),
    ("POST", "/system/secrets"),
    ("PUT", "/system/secrets"),
    ("DELETE", "/system/secrets"),
    ("POST", "/system/namespace/"),
    ("POST", "/system/namespace/fresh"),
    ("PUT", "/system/namespace/kept"),
];

fn all_cases(image: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (method, path) in JSON_ENDPOINTS {
        for (body, status, says) in malformed() {
            cases.push(case(method, path, body, status, says));
        }
    }
    cases.extend(function_cases(image));
    cases.extend(scale_cases());
    cases.extend(secret_cases());
    cases.extend(namespace_cases());
    cases
}

/// What the gateway holds: functions and secrets of both namespaces, the namespaces, the
/// containers, and every file under the state directory with its contents.
async fn holdings(gw: &TestGateway) -> Vec<String> {
    let mut out = Vec::new();
    for path in [
        "/system/functions",
        "/system/functions?namespace=kept",
        "/system/secrets",
        "/system/secrets?namespace=kept",
        "/system/namespaces",
        "/system/namespace/kept",
        "/system/function/kept",
    ] {
        let (status, body) = gw.send(gw.system(reqwest::Method::GET, path)).await;
        out.push(format!("{path} {status} {body}"));
    }
    out.push(format!("{:?}", gw.containers().await));
    let root = gw.dir.parent().unwrap();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(root).unwrap().display().to_string();
        if rel.starts_with("state/secrets") || rel.starts_with("state/mounts") {
            out.push(format!("{rel} {:?}", std::fs::read(entry.path()).ok()));
        } else {
            out.push(rel); // the database and the logs change with every request
        }
    }
    out
}

#[tokio::test]
async fn every_write_endpoint_answers_bad_bodies_with_the_exact_4xx_and_stores_nothing() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("kept", &image)).await.0, 202);
    let secret = gw.system(reqwest::Method::POST, "/system/secrets").json(&json!({"name": "kept", "value": "v1"}));
    assert_eq!(gw.send(secret).await.0, 201);
    let ns = json!({"name": "kept", "labels": {"openfaas": "1"}});
    assert_eq!(gw.send(gw.system(reqwest::Method::POST, "/system/namespace/").json(&ns)).await.0, 201);
    let before = holdings(&gw).await;
    let auth = format!("Basic {}", base64_credentials(&gw.password));

    let cases = all_cases(&image);
    assert!(cases.len() > 300, "{}", cases.len());
    for c in &cases {
        let answer = send(&gw.url, c.method, &c.path, &[("Authorization", &auth)], &c.body).await;
        let shown = String::from_utf8_lossy(&c.body[..c.body.len().min(120)]).into_owned();
        let what = format!("{} {} {shown:?}", c.method, c.path);
        assert_eq!(answer.status, c.status, "{what}: {}", answer.body);
        assert!(answer.body.starts_with(&c.says), "{what}: {:?} does not start with {:?}", answer.body, c.says);
        assert!(answer.body.len() < 1024, "{what}: the answer echoes the body ({} bytes)", answer.body.len());
        assert_eq!(holdings(&gw).await, before, "after {what}");
    }
    assert_eq!(holdings(&gw).await, before);
    assert_eq!(gw.invoke("kept").await.status(), 200);
}

fn base64_credentials(password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"))
}
