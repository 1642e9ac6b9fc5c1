//! `/healthz` and `/system/health` of a real gateway whose Docker socket (`DOCKER_HOST`) is a
//! Unix-socket proxy in front of the real engine, which the test makes stall and then removes:
//! the engine going away for real, while a deployed function keeps answering.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

/// The engine's real socket, from `DOCKER_HOST` (as the gateway would read it) or the default.
fn engine_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => PathBuf::from(host.trim_start_matches("unix://")),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

#[derive(Default)]
struct Connections {
    forwarders: Vec<JoinHandle<()>>,
    /// Accepted while stalled: held open, never answered.
    held: Vec<UnixStream>,
    stalled: bool,
}

/// A Unix socket at `path` that forwards to the engine, until told to stall or stop.
struct EngineProxy {
    path: PathBuf,
    state: Arc<Mutex<Connections>>,
    accept: Option<JoinHandle<()>>,
}

impl EngineProxy {
    fn start(path: &Path) -> EngineProxy {
        let mut proxy = EngineProxy { path: path.to_path_buf(), state: Arc::default(), accept: None };
        proxy.listen();
        proxy
    }

    fn listen(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("bind the engine proxy socket");
        let state = self.state.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut s = state.lock().unwrap();
                if s.stalled {
                    s.held.push(client);
                    continue;
                }
                s.forwarders.push(tokio::spawn(async move {
                    if let Ok(mut engine) = UnixStream::connect(engine_socket()).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                }));
            }
        }));
    }

    /// Drops every forwarded connection; new ones are accepted and never answered.
    fn stall(&self) {
        let mut s = self.state.lock().unwrap();
        s.stalled = true;
        s.forwarders.drain(..).for_each(|f| f.abort());
    }

    /// Closes everything and removes the socket file.
    fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        let mut s = self.state.lock().unwrap();
        s.forwarders.drain(..).for_each(|f| f.abort());
        s.held.clear();
        let _ = std::fs::remove_file(&self.path);
    }

    /// Listens and forwards again.
    fn resume(&mut self) {
        self.stop();
        self.state.lock().unwrap().stalled = false;
        self.listen();
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `/healthz` until its status is `want` (or 10 s pass); returns the last status and body.
async fn healthz_until(gw: &TestGateway, want: u16) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = gw.send(gw.http.get(format!("{}/healthz", gw.url))).await;
        if status == want || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn health_report(gw: &TestGateway) -> (u16, serde_json::Value) {
    let (status, body) = gw.send(gw.system(reqwest::Method::GET, "/system/health")).await;
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")))
}

#[tokio::test]
async fn healthz_tells_when_the_engine_stops_answering() {
    let (image, _) = echo_images().await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let socket = tmp.path().join("engine.sock");
    let mut proxy = EngineProxy::start(&socket);
    let host = format!("unix://{}", socket.display());
    let gw = TestGateway::start_with_env(&[], &[("DOCKER_HOST", &host)]).await;
    let (status, _) = gw.deploy(&echo_fn("alive", &image)).await;
    assert_eq!(status, 202, "{}", gw.log());

    assert_eq!(healthz_until(&gw, 200).await, (200, "OK".to_string()));
    let (status, report) = health_report(&gw).await;
    assert_eq!((status, &report["status"]), (200, &serde_json::json!("ok")), "{report}");
    let engine = &report["checks"]["engine"];
    assert!(engine["version"].is_string() && engine["latencySeconds"].as_f64().unwrap() > 0.0, "{report}");
    assert_eq!(report["checks"]["store"]["functions"], 1, "{report}");
    assert_eq!(report["checks"]["queue"]["depth"], 0, "{report}");

    proxy.stall();
    let (status, body) = healthz_until(&gw, 503).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body, "container engine: no answer within 1s\n");
    let (status, report) = health_report(&gw).await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["checks"]["engine"]["status"], "error", "{report}");
    assert_eq!(report["checks"]["store"]["status"], "ok", "{report}");
    // Invocations never call the engine: the function still answers.
    assert_eq!(gw.invoke("alive").await.status(), 200);
    // And the gateway still counts as running: `status` (and `ensure_running`) must not take
    // it for gone and start a second one on the same state directory.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_rfaas"))
        .args(["gateway", "status", "--state-dir"])
        .arg(&gw.dir)
        .output()
        .expect("rfaas gateway status");
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success() && stdout.starts_with(&format!("running: {}", gw.url)), "{stdout}");

    proxy.stop();
    let (status, body) = healthz_until(&gw, 503).await;
    assert!(status == 503 && body.starts_with("container engine: ") && !body.contains("no answer"), "{status} {body}");

    proxy.resume();
    assert_eq!(healthz_until(&gw, 200).await, (200, "OK".to_string()));
}
