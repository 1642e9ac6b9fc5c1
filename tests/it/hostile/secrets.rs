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

/// `s` as Go's `encoding/json` writes a string (faas-cli's `json.Marshal`): HTML characters,
/// control characters, U+2028/U+2029 escaped, and each byte of invalid UTF-8 as `\ufffd`.
fn go_json_string(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push_str(&"\\ufffd".repeat(chunk.invalid().len()));
    }
    out.push('"');
    out
}

/// The body faas-cli 0.16/0.18 `secret create|update NAME --from-file F` sends: a Go
/// `types.Secret` with `Value` = the trimmed text and `RawValue` = the bytes (base64).
fn faas_cli_body(name: &str, file: &[u8]) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.encode(file);
    format!(r#"{{"name":"{name}","value":{},"rawValue":"{raw}"}}"#, go_json_string(go_trim_space(file)))
}

/// Go's `strings.TrimSpace` on the bytes of a string: Unicode white space is trimmed from both
/// ends; invalid UTF-8 is not white space.
fn go_trim_space(mut b: &[u8]) -> &[u8] {
    while let Some(c) = b.utf8_chunks().next().and_then(|c| c.valid().chars().next()).filter(|c| c.is_whitespace()) {
        b = &b[c.len_utf8()..];
    }
    loop {
        let last = b.utf8_chunks().last().filter(|c| c.invalid().is_empty()).and_then(|c| c.valid().chars().last());
        match last.filter(|c| c.is_whitespace()) {
            Some(c) => b = &b[..b.len() - c.len_utf8()],
            None => return b,
        }
    }
}

fn every_byte() -> Vec<u8> {
    (0..=255u8).collect()
}

#[tokio::test]
async fn files_sent_in_the_faas_cli_wire_format_reach_functions_byte_exact() {
    let gw = TestGateway::start().await;
    let files: [(&str, Vec<u8>); 2] = [("binary", every_byte()), ("text", b"line one\nline two\n".to_vec())];
    for (name, bytes) in &files {
        let body = faas_cli_body(name, bytes);
        let create = gw.system(Method::POST, "/system/secrets").header("content-type", "application/json").body(body);
        assert_eq!(gw.send(create).await.0, 201);
    }
    deploy_with_secrets(&gw, "bytes", &files.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()).await;
    for (name, bytes) in &files {
        assert_eq!(&read_through(&gw, "bytes", name).await.0, bytes, "secret {name} as created");
    }

    let updated: [(&str, Vec<u8>); 2] =
        [("binary", every_byte().into_iter().rev().collect()), ("text", b"\n\trotated\r\n\n".to_vec())];
    for (name, bytes) in &updated {
        let update = gw
            .system(Method::PUT, "/system/secrets")
            .header("content-type", "application/json")
            .body(faas_cli_body(name, bytes));
        assert_eq!(gw.send(update).await.0, 200);
        assert_eq!(&read_through(&gw, "bytes", name).await.0, bytes, "secret {name} as updated");
    }
}

#[tokio::test]
async fn rfaas_secret_from_file_stores_the_files_bytes_exactly() {
    let mut s = crate::client_commands::Session::logged_in().await;
    std::fs::write(s.path().join("binary.dat"), every_byte()).unwrap();
    std::fs::write(s.path().join("text.txt"), "line one\nline two\n").unwrap();
    s.run(&["secret", "create", "binary", "--from-file", "binary.dat"]).success();
    s.run(&["secret", "create", "text", "--from-file", "text.txt"]).success();
    s.deploy_echo("echo", &["--secret", "binary", "--secret", "text"]);
    assert_eq!(read_through(&s.gw, "echo", "binary").await.0, every_byte());
    assert_eq!(read_through(&s.gw, "echo", "text").await.0, b"line one\nline two\n");

    let reversed: Vec<u8> = every_byte().into_iter().rev().collect();
    std::fs::write(s.path().join("binary.dat"), &reversed).unwrap();
    s.run(&["secret", "update", "binary", "--from-file", "binary.dat"]).success();
    assert_eq!(read_through(&s.gw, "echo", "binary").await.0, reversed);
}
