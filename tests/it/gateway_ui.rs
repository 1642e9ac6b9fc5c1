//! The web UI in a real browser: Debian's headless Chromium driven by playwright-core (pinned by
//! tests/ui/package-lock.json, installed here with `npm ci` into a cached directory) runs the
//! scripts in tests/ui/ against a real gateway with real functions. Screenshots are saved under
//! `target/ui-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

const HINT: &str = "run `sudo bash tests/env/setup.sh` to install chromium and node";
const UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui");
/// Markup in an env value and a log line: shown as text, or the test fails.
pub const HOSTILE: &str = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>";

static NODE_MODULES: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();

/// `npm ci` of tests/ui into `<target>/tmp/ui-node-<lock hash>`, once; returns playwright-core's
/// entry point.
async fn playwright() -> PathBuf {
    NODE_MODULES
        .get_or_init(|| async {
            use md5::Digest;
            let lock = std::fs::read(Path::new(UI_DIR).join("package-lock.json")).expect("tests/ui/package-lock.json");
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("ui-node-{}", &hex::encode(md5::Md5::digest(&lock))[..12]));
            let entry = dir.join("node_modules/playwright-core/index.mjs");
            if !entry.exists() {
                std::fs::create_dir_all(&dir).expect("node modules dir");
                for file in ["package.json", "package-lock.json"] {
                    std::fs::copy(Path::new(UI_DIR).join(file), dir.join(file)).expect("copy package files");
                }
                let out = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
                    .current_dir(&dir)
                    .output()
                    .unwrap_or_else(|e| panic!("cannot run npm ({e}): {HINT}"));
                assert!(
                    out.status.success(),
                    "npm ci failed: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            entry
        })
        .await
        .clone()
}

/// Where the screenshots of `test` go.
fn screenshots(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("ui-screenshots").join(test)
}

/// Runs `node tests/ui/<script>` against `gw`; returns its stdout, failing with everything it printed.
async fn node(script: &str, gw: &TestGateway, env: &[(&str, &str)]) -> String {
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: {HINT}");
    let entry = playwright().await;
    let shots = screenshots(script.trim_end_matches(".mjs"));
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(Path::new(UI_DIR).join(script))
        .env("PLAYWRIGHT_CORE", &entry)
        .env("RFAAS_UI_URL", &gw.url)
        .env("RFAAS_UI_PASSWORD", &gw.password)
        .env("UI_SCREENSHOTS", &shots)
        .envs(env.iter().copied())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within 5 minutes"))
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {HINT}"));
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}\ngateway log:\n{}", gw.log());
    stdout
}

/// A gateway with secret `token` set to `value`.
async fn gateway_with_secret(value: &str) -> TestGateway {
    let gw = TestGateway::start().await;
    let secret = json!({"name": "token", "value": value});
    assert_eq!(gw.send(gw.system(reqwest::Method::POST, "/system/secrets").json(&secret)).await.0, 201);
    gw
}

#[tokio::test]
async fn ui_lists_describes_invokes_and_follows_logs_in_chromium() {
    let (image, _) = echo_images().await;
    let gw = gateway_with_secret("s3cr3t-value").await;
    let mut echo = echo_fn("echo", &image);
    echo["envVars"] = json!({ "HOSTILE": HOSTILE });
    echo["secrets"] = json!(["token"]);
    echo["annotations"] = json!({"topic": "cron-function", "schedule": "@every 1h"});
    assert_eq!(gw.deploy(&echo).await.0, 202, "{}", gw.log());
    assert_eq!(gw.deploy(&echo_fn("idle", &image)).await.0, 202);
    let scale = json!({"serviceName": "idle", "replicas": 0});
    assert_eq!(gw.send(gw.system(reqwest::Method::POST, "/system/scale-function/idle").json(&scale)).await.0, 200);
    for _ in 0..5 {
        assert_eq!(gw.invoke("echo").await.status(), 200);
    }

    let out = node("browse.mjs", &gw, &[("HOSTILE", HOSTILE)]).await;
    for step in ["first paint", "functions list", "function page", "invoke", "live logs"] {
        assert!(out.contains(&format!("ok {step}\n")), "{step}:\n{out}");
    }
    // The command line the page showed works when pasted into a shell.
    let command = out.lines().find_map(|l| l.strip_prefix("command ")).expect("the page's command line");
    let bin = Path::new(env!("CARGO_BIN_EXE_rfaas")).parent().expect("bin dir");
    let shell = Command::new("bash")
        .args(["-c", command])
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .env("HOME", gw.dir.parent().expect("tmp"))
        .output()
        .expect("bash");
    let answer = String::from_utf8_lossy(&shell.stdout);
    assert!(shell.status.success(), "{command}\n{answer}{}", String::from_utf8_lossy(&shell.stderr));
    let echoed: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!((echoed["method"].as_str(), echoed["query"].as_str()), (Some("PUT"), Some("a=1&b=x+y")), "{echoed}");
    assert_eq!(echoed["body"], "hi 'there' $HOME", "{echoed}");
    assert_eq!(echoed["headers"]["x-test"], "it's", "{echoed}");
    println!("{}", out.lines().find(|l| l.starts_with("first-paint-ms")).unwrap_or_default());
}

#[tokio::test]
async fn ui_deploys_scales_and_removes_with_a_confirm_step_in_chromium() {
    let (image, _) = echo_images().await;
    let gw = gateway_with_secret("v4lue-never-shown").await;

    let out = node("manage.mjs", &gw, &[("IMAGE", &image), ("SECRET_VALUE", "v4lue-never-shown")]).await;
    for step in ["deploy", "scale", "remove"] {
        assert!(out.contains(&format!("ok {step}\n")), "{step}:\n{out}");
    }
    // What the page did happened: the function is gone, its containers too.
    let (status, _) = gw.send(gw.system(reqwest::Method::GET, "/system/function/made-in-ui")).await;
    assert_eq!(status, 404);
    assert!(gw.containers().await.is_empty(), "{:?}", gw.containers().await);
    let log = gw.log();
    assert!(
        log.contains("made-in-ui.openfaas-fn: deployed") && log.contains("made-in-ui.openfaas-fn: removed"),
        "{log}"
    );
}

#[tokio::test]
async fn ui_shows_a_dead_async_call_and_retries_it_in_chromium() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let mut jobs = echo_fn("jobs", &image);
    jobs["annotations"] = json!({
        "com.openfaas.retry.attempts": "2",
        "com.openfaas.retry.min_wait": "100ms",
        "com.openfaas.retry.max_wait": "100ms",
    });
    assert_eq!(gw.deploy(&jobs).await.0, 202, "{}", gw.log());
    // Fails twice (both attempts: dead), then answers 200: the retry from the page succeeds.
    let accepted = gw
        .http
        .post(format!("{}/async-function/jobs/flaky?key=ui&fails=2", gw.url))
        .header("X-Call-Id", "ui-call-1")
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(accepted.status(), 202);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = gw.send(gw.system(reqwest::Method::GET, "/system/async/invocations/ui-call-1")).await;
        if body.contains("\"status\":\"dead\"") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the call did not die: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let out = node("async.mjs", &gw, &[("CALL_ID", "ui-call-1")]).await;
    assert!(out.contains("ok async retry\n"), "{out}");
    let (status, body) = gw.send(gw.system(reqwest::Method::GET, "/system/async/invocations/ui-call-1")).await;
    let record: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!((status, &record["status"]), (200, &json!("succeeded")), "{record}");
    assert_eq!(record["attempts"].as_array().map(Vec::len), Some(3), "{record}");
    for (series, want) in [
        ("rfaas_async_dead_total", 1.0),
        ("rfaas_async_manual_retries_total", 1.0),
        ("rfaas_async_succeeded_total", 1.0),
        ("rfaas_async_retries_total", 1.0),
    ] {
        assert_eq!(gw.metric(series).await, Some(want), "{series}");
    }
}
