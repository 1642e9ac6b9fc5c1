//! `rfaas gateway start|status|stop` (the background gateway), the proxy's timeout answer, and
//! updates whose new replicas never become healthy.

use std::time::Duration;

use serde_json::Value;

use crate::support::Rfaas;
use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images};

#[tokio::test]
async fn start_status_stop_in_the_background() {
    docker().await;
    let rfaas = Rfaas::new();
    let dir = rfaas.path().join("gw-state");
    let dir_arg = dir.display().to_string();
    let limits = ["--header-read-timeout", "3s", "--idle-timeout", "2500ms", "--max-connections", "300"];
    let mut start = vec!["gateway", "start", "--port", "0", "--state-dir", &dir_arg];
    start.extend(limits);
    let started = rfaas.run(&start);
    started.success().stderr_has("gateway started").stderr_has("basic-auth-password");
    let url = started.stdout.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!started.stderr.contains(std::fs::read_to_string(dir.join("basic-auth-password")).unwrap().trim()));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("gateway.json")).unwrap()).unwrap();
    assert_eq!(file["url"], url.as_str());
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", file["pid"])).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    for flag in ["--header-read-timeout=3000ms", "--idle-timeout=2500ms", "--max-connections=300"] {
        assert!(cmdline.contains(flag), "the background gateway runs without {flag}: {cmdline}");
    }
    let mut idle = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let opened = std::time::Instant::now();
    assert_eq!(std::io::Read::read(&mut idle, &mut [0u8; 16]).unwrap_or(0), 0, "an idle connection is closed");
    assert!(opened.elapsed() < Duration::from_secs(8), "closed after {:?}, not after --idle-timeout", opened.elapsed());
    let again = rfaas.run(&["gateway", "start", "--port", "0", "--state-dir", &dir_arg]);
    again.success().stderr_has("already running");
    assert_eq!(again.stdout.trim(), url);
    rfaas.run(&["gateway", "status", "--state-dir", &dir_arg]).success().stdout_has(&url);
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);

    rfaas.run(&["gateway", "stop", "--state-dir", &dir_arg]).success().stderr_has("stopped");
    assert!(!dir.join("gateway.json").exists(), "a clean exit removes gateway.json");
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err());
    rfaas.run(&["gateway", "status", "--state-dir", &dir_arg]).failure(1).stderr_has("no gateway running");
    rfaas.run(&["gateway", "stop", "--state-dir", &dir_arg]).success().stderr_has("no gateway running");
}

#[tokio::test]
async fn slow_functions_get_a_504_after_the_upstream_timeout() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--upstream-timeout", "1s"]).await;
    assert_eq!(gw.deploy(&echo_fn("slow", &image)).await.0, 202);
    let started = std::time::Instant::now();
    let response = gw.invoke("slow/sleep?s=3").await;
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert!(response.headers().contains_key("x-call-id"));
    assert!(response.text().await.unwrap().contains("slow"));
    assert_eq!(gw.invoke("slow/sleep?s=0").await.status(), 200);
}

#[tokio::test]
async fn an_update_that_never_gets_healthy_keeps_the_old_version_serving() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--health-timeout", "2s"]).await;
    assert_eq!(gw.deploy(&echo_fn("steady", &image)).await.0, 202);
    let mut broken = echo_fn("steady", &image);
    broken["envVars"] = serde_json::json!({"ECHO_UNHEALTHY": "1"});
    let (status, body) = gw.update(&broken).await;
    assert_eq!(status, 500);
    assert!(body.contains("did not become healthy"), "{body}");
    let echo: Value = gw.invoke("steady").await.json().await.unwrap();
    assert!(echo["env"].get("ECHO_UNHEALTHY").is_none(), "the previous replica still answers: {echo}");
    assert_eq!(gw.describe("steady").await["availableReplicas"], 1);

    let mut fresh = echo_fn("fresh", &image);
    fresh["envVars"] = serde_json::json!({"ECHO_UNHEALTHY": "1"});
    assert_eq!(gw.deploy(&fresh).await.0, 500);
    assert_eq!(gw.invoke("fresh").await.status(), 503);
}
