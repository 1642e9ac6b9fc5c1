//! `secret apply`: ./.secrets/ synced to the real gateway, byte-exact, checked before any request.

use super::Session;

async fn seen_by_function(s: &Session, name: &str) -> Vec<u8> {
    let response = s.gw.http.get(format!("{}/function/echo/secret?name={name}", s.gw.url)).send().await.unwrap();
    assert_eq!(response.status(), 200, "secret {name}");
    response.bytes().await.unwrap().to_vec()
}

async fn secret_names(s: &Session) -> Vec<String> {
    let (status, body) = s.gw.send(s.gw.system(reqwest::Method::GET, "/system/secrets")).await;
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut names: Vec<String> =
        list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn apply_creates_and_updates_every_file_byte_exact_and_skips_what_faas_cli_skips() {
    let mut s = Session::logged_in().await;
    s.run(&["secret", "create", "api-key", "--from-literal", "old-value"]).success();
    let dir = s.path().join(".secrets");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("api-key"), b"new-value\n").unwrap();
    let binary: Vec<u8> = vec![0, 159, 146, 150, 255, 10];
    std::fs::write(dir.join("cert"), &binary).unwrap();
    std::fs::write(dir.join("Not_Valid"), b"x").unwrap();
    std::fs::write(dir.join("blank"), b" \n").unwrap();
    let run = s.run(&["secret", "apply"]);
    run.success()
        .stderr_has("Updating secret: api-key")
        .stderr_has("Updated: 200 OK")
        .stderr_has("Creating secret: cert")
        .stderr_has("Created: 201 Created")
        .stderr_has("skipping Not_Valid: not a valid secret name")
        .stderr_has("skipping blank: the file is empty");
    assert!(!s.transcript.contains("new-value"), "values are never printed");
    assert_eq!(secret_names(&s).await, ["api-key", "cert"]);
    s.deploy_echo("echo", &["--secret", "api-key", "--secret", "cert"]);
    assert_eq!(seen_by_function(&s, "api-key").await, b"new-value\n", "rawValue is the file's exact bytes");
    assert_eq!(seen_by_function(&s, "cert").await, binary);
    // Applying again updates in place: the function keeps seeing a value throughout.
    std::fs::write(dir.join("api-key"), b"third").unwrap();
    s.run(&["secret", "apply"]).success().stderr_has("Updating secret: api-key");
    assert_eq!(seen_by_function(&s, "api-key").await, b"third");
}

#[tokio::test]
async fn a_bad_folder_changes_nothing_on_the_gateway() {
    let mut s = Session::logged_in().await;
    s.run(&["secret", "apply"])
        .failure(1)
        .stderr_has("secrets directory does not exist")
        .stderr_has("hint: create .secrets/");
    let dir = s.path().join(".secrets");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("good"), b"fine").unwrap();
    // A link to a file outside the folder (../../etc/passwd style) is refused, not sent.
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    s.run(&["secret", "apply"]).failure(1).stderr_has("links to /etc/passwd, outside .secrets/");
    std::fs::remove_file(dir.join("passwd")).unwrap();
    let huge = std::fs::File::create(dir.join("huge")).unwrap();
    huge.set_len(64 * 1024 * 1024).unwrap();
    s.run(&["secret", "apply"]).failure(1).stderr_has("huge is 67108864 bytes; a secret can be at most 524288 bytes");
    assert!(secret_names(&s).await.is_empty(), "nothing half-done");
    std::fs::remove_file(dir.join("huge")).unwrap();
    // The largest allowed secret goes through whole.
    std::fs::write(dir.join("max"), vec![b'x'; 512 * 1024]).unwrap();
    s.run(&["secret", "apply"]).success();
    assert_eq!(secret_names(&s).await, ["good", "max"]);
}

#[tokio::test]
async fn concurrent_applies_both_succeed_and_leave_one_whole_value() {
    let s = Session::logged_in().await;
    let dir = s.path().join(".secrets");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..8 {
        std::fs::write(dir.join(format!("s{i}")), format!("value-{i}")).unwrap();
    }
    use std::process::Stdio;
    let children: Vec<_> = (0..4)
        .map(|_| s.command(&["secret", "apply"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(secret_names(&s).await.len(), 8);
}
