//! Secrets under concurrent writes and in other clients' wire formats, read back byte by byte
//! through a function that mounts them.

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

/// A value unique to `name`, `len` bytes long, that shows where it came from if it ends up in
/// another secret.
fn value_of(name: &str, len: usize) -> String {
    let unit = format!("<{name}>");
    unit.repeat(len / unit.len() + 1)[..len].to_string()
}

/// The bytes `function` reads from `/var/openfaas/secrets/<name>`, and the replica that read them.
async fn read_through(gw: &TestGateway, function: &str, name: &str) -> (Vec<u8>, String) {
    let response = gw.invoke(&format!("{function}/secret?name={name}")).await;
    assert_eq!(response.status(), 200, "{function} cannot read secret {name}");
    let instance = response.headers()["x-echo-instance"].to_str().unwrap().to_string();
    (response.bytes().await.expect("body").to_vec(), instance)
}

async fn deploy_with_secrets(gw: &TestGateway, function: &str, secrets: &[String]) {
    let (image, _) = echo_images().await;
    let mut deployment = echo_fn(function, &image);
    deployment["secrets"] = json!(secrets);
    let (status, body) = gw.deploy(&deployment).await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn a_hundred_secrets_created_16_at_a_time_each_keep_their_own_value() {
    let gw = TestGateway::start().await;
    // Pairs whose names differ only in the extension: they once shared one temporary file.
    let names: Vec<String> = (0..50).flat_map(|i| [format!("db{i:02}.pass"), format!("db{i:02}.user")]).collect();
    let values: Vec<String> = names.iter().enumerate().map(|(i, n)| value_of(n, 200 + 97 * i)).collect();
    let statuses: Vec<(String, u16, String)> = futures_util::stream::iter(names.iter().zip(&values))
        .map(|(name, value)| {
            let gw = &gw;
            async move {
                let create = gw.system(Method::POST, "/system/secrets").json(&json!({"name": name, "value": value}));
                let (status, body) = gw.send(create).await;
                (name.clone(), status, body)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let failed: Vec<_> = statuses.iter().filter(|(_, status, _)| *status != 201).collect();
    assert!(failed.is_empty(), "{} of 100 creates did not answer 201: {failed:?}", failed.len());

    deploy_with_secrets(&gw, "reader", &names).await;
    let mut wrong = Vec::new();
    for (name, value) in names.iter().zip(&values) {
        let (read, _) = read_through(&gw, "reader", name).await;
        if read != value.as_bytes() {
            wrong.push(format!("{name}: {}", String::from_utf8_lossy(&read[..read.len().min(40)])));
        }
    }
    assert!(wrong.is_empty(), "{} of 100 secrets hold another value: {wrong:?}", wrong.len());
    let leftovers: Vec<_> = std::fs::read_dir(gw.dir.join("secrets/openfaas-fn"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !names.contains(n))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[tokio::test]
async fn sixteen_creates_of_one_name_give_one_201_and_fifteen_409s() {
    let gw = TestGateway::start().await;
    let statuses: Vec<u16> = futures_util::future::join_all((0..16).map(|i| {
        let create =
            gw.system(Method::POST, "/system/secrets").json(&json!({"name": "once", "value": format!("v{i}")}));
        async { gw.send(create).await.0 }
    }))
    .await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 15), "{statuses:?}");
}

#[tokio::test]
async fn sixteen_concurrent_updates_leave_one_whole_value_in_every_replica() {
    let gw = TestGateway::start().await;
    let create = gw.system(Method::POST, "/system/secrets").json(&json!({"name": "shared", "value": "initial"}));
    assert_eq!(gw.send(create).await.0, 201);
    deploy_with_secrets(&gw, "sharer", &["shared".to_string()]).await;
    // A second replica started later mounts the same copy as the first, so both see updates.
    let scale =
        gw.system(Method::POST, "/system/scale-function/sharer").json(&json!({"serviceName": "sharer", "replicas": 2}));
    assert_eq!(gw.send(scale).await.0, 200);

    let values: Vec<String> = (0..16).map(|i| value_of(&format!("update-{i:02}"), 3000 + 1013 * i)).collect();
    let statuses: Vec<u16> = futures_util::future::join_all(values.iter().map(|value| {
        let update = gw.system(Method::PUT, "/system/secrets").json(&json!({"name": "shared", "value": value}));
        async { gw.send(update).await.0 }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let stored = std::fs::read(gw.dir.join("secrets/openfaas-fn/shared")).unwrap();
    assert!(values.iter().any(|v| v.as_bytes() == stored), "the stored secret is not one whole value");
    let mut instances = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let (read, instance) = read_through(&gw, "sharer", "shared").await;
        assert!(read == stored, "replica {instance} reads another value than the stored one");
        instances.insert(instance);
    }
    assert_eq!(instances.len(), 2, "both replicas answered");
}
