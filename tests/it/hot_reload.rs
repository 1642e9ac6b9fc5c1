//! Hot reload inside the python3-http and node18 runtimes, through `rfaas::devloop::reload`
//! against real containers built by `rfaas build`: an edit is served as soon as the reload
//! returns, a request in flight finishes on the old code, a handler that fails to load answers
//! with its file and line and leaves the old one serving, a slow load fails no request, and a
//! reload does not wait for calls queued behind `handler_concurrency`, and reloads among many
//! concurrent requests are answered with every log line whole.
//! The reload latency (reload call → first response from the new code) is printed, p50 of 10.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptions;
use rfaas::devloop::reload::{self, ReloadError, ReloadOutcome, ReloadRequest};

use crate::build_run::scaffold;
use crate::client_commands::eventually;
use crate::engine::{self, Container};
use crate::support::Rfaas;

/// What differs between the two runtimes in these tests.
struct Runtime {
    lang: &'static str,
    handler_file: &'static str,
    /// A handler answering `version`, after 1.5 s on `/slow`.
    handler: fn(&str) -> String,
    /// A handler whose module takes 1 s to load, then answers `version`.
    slow_load: fn(&str) -> String,
    /// A handler that does not compile, and the line its error is on.
    broken: (&'static str, u32),
    /// The unit test file the build runs, replacing the starter's (which checks its answer).
    unit_test: (&'static str, &'static str),
    /// Whether requests arriving during a (blocking) load are served by the old code.
    serves_old_code_while_loading: bool,
}

const PYTHON: Runtime = Runtime {
    lang: "python3-http",
    handler_file: "handler.py",
    handler: |v| {
        format!(
            "import time\n\n\ndef handle(event, context):\n    if event.path == \"/slow\":\n        time.sleep(1.5)\n    return {{\"statusCode\": 200, \"body\": \"{v}\"}}\n"
        )
    },
    slow_load: |v| format!("import time\n\ntime.sleep(1)\n\n\ndef handle(event, context):\n    return \"{v}\"\n"),
    broken: ("def handle(event, context):\n    return {\"body\": \"broken\"\n", 2),
    unit_test: (
        "handler_test.py",
        "from .handler import handle\n\n\ndef test_handle_is_there():\n    assert callable(handle)\n",
    ),
    serves_old_code_while_loading: true,
};

const NODE: Runtime = Runtime {
    lang: "node18",
    handler_file: "handler.js",
    handler: |v| {
        format!(
            "'use strict';\n\nmodule.exports = async (event, context) => {{\n  if (event.path === '/slow') await new Promise((r) => setTimeout(r, 1500));\n  return context.status(200).succeed('{v}');\n}};\n"
        )
    },
    // CommonJS has no top-level await: a slow load is synchronous and blocks the event loop.
    slow_load: |v| {
        format!(
            "'use strict';\n\nAtomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);\n\nmodule.exports = async () => '{v}';\n"
        )
    },
    broken: ("'use strict';\nmodule.exports = async () => { return 'x' +; };\n", 2),
    unit_test: (
        "handler.test.js",
        "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\nconst handler = require('./handler');\n\ntest('handler is a function', () => {\n  assert.strictEqual(typeof handler, 'function');\n});\n",
    ),
    serves_old_code_while_loading: false,
};

const ANSWER_TIMEOUT: Duration = reload::DEFAULT_TIMEOUT;

#[tokio::test]
async fn python3_http_reloads_its_handler_in_place() {
    edit_fail_and_slow_load(&PYTHON).await;
}

#[tokio::test]
async fn node18_reloads_its_handler_in_place() {
    edit_fail_and_slow_load(&NODE).await;
}

/// With `handler_concurrency=1` and the one place taken by a slow call, a reload does not wait
/// for it: the running call finishes on the old code and the call queued behind it runs the new.
#[tokio::test]
async fn a_capped_python3_http_reloads_while_calls_wait_for_its_place() {
    let (docker, rfaas, image, _cleanup) = built(&PYTHON).await;
    let container = Container::start(&docker, &image, &[("handler_concurrency", "1")]).await;
    let fn_dir = rfaas.path().join("fn");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let running = tokio::spawn(client.get(container.url("/slow")).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = tokio::spawn(client.get(container.url("/")).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    std::fs::write(fn_dir.join("handler.py"), (PYTHON.handler)("v2")).unwrap();
    let outcome = reload_now(&docker, &container, &fn_dir).await;
    assert!(matches!(outcome, ReloadOutcome::Loaded { .. }), "{outcome:?}");
    assert!(!queued.is_finished(), "the queued call waited for the slow one, which the reload did not");
    let old = running.await.unwrap().unwrap();
    assert_eq!((old.status().as_u16(), old.text().await.unwrap()), (200, "v1".to_string()), "the running call");
    let new = queued.await.unwrap().unwrap();
    assert_eq!((new.status().as_u16(), new.text().await.unwrap()), (200, "v2".to_string()), "the queued call");
    container.remove(&docker).await;
}

/// Sixteen clients at once, each request logged by its own thread, while the handler is
/// reloaded five times: every reload's answer is found in the log, and every log line is whole
/// (one access line per request, none run into another).
#[tokio::test]
async fn python3_http_log_lines_stay_whole_and_reloads_are_answered_under_concurrent_requests() {
    let (docker, rfaas, image, _cleanup) = built(&PYTHON).await;
    let container = Container::start(&docker, &image, &[]).await;
    let fn_dir = rfaas.path().join("fn");
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let clients: Vec<_> = (0..16)
        .map(|_| tokio::spawn(call_until(client.clone(), container.url("/"), stop.clone(), Duration::ZERO)))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 2..7 {
        std::fs::write(fn_dir.join("handler.py"), (PYTHON.handler)(&format!("v{n}"))).unwrap();
        let outcome = reload_now(&docker, &container, &fn_dir).await;
        assert!(matches!(outcome, ReloadOutcome::Loaded { .. }), "reload {n}: {outcome:?}");
    }
    stop.store(true, Ordering::Relaxed);
    let mut served = 0;
    for client in clients {
        let answers = client.await.unwrap();
        let failed: Vec<_> = answers.iter().filter(|a| a.is_err()).take(5).collect();
        assert!(failed.is_empty(), "requests failed during the reloads: {failed:?}");
        served += answers.len();
    }
    let log = engine::logs(&container.id);
    let broken: Vec<&str> = log.lines().filter(|l| !whole_python3_http_line(l)).take(5).collect();
    assert!(broken.is_empty(), "log lines run into each other (first 5): {broken:?}");
    let access = log.lines().filter(|l| l.starts_with("GET / - 200 ")).count();
    assert_eq!(access, served, "one access line per request answered");
    eprintln!("{served} requests from 16 clients during 5 reloads, every log line whole");
    container.remove(&docker).await;
}

/// One line the python3-http runtime writes for this test: its start-up line, a reload's answer
/// or the access line of `GET /`.
fn whole_python3_http_line(line: &str) -> bool {
    if line.starts_with("python3-http listening on ") {
        return true;
    }
    if let Some(answer) = line.strip_prefix(reload::ANSWER_PREFIX) {
        return serde_json::from_str::<serde_json::Value>(answer).is_ok();
    }
    line.strip_prefix("GET / - 200 - ContentLength: 2 (")
        .and_then(|rest| rest.strip_suffix("s)"))
        .is_some_and(|secs| secs.parse::<f64>().is_ok())
}

/// `rt`'s starter with its handler answering `v1`, built: the engine, the project, the image and
/// its removal.
async fn built(rt: &Runtime) -> (Docker, Rfaas, String, engine::Images) {
    let docker = engine::docker().await;
    let (rfaas, image) = scaffold(rt.lang);
    let cleanup = engine::Images(vec![image.clone()]);
    rfaas.file(&format!("fn/{}", rt.handler_file), &(rt.handler)("v1"));
    rfaas.file(&format!("fn/{}", rt.unit_test.0), rt.unit_test.1);
    rfaas.run(&["build"]).success().stderr_has("fn built");
    (docker, rfaas, image, cleanup)
}

async fn edit_fail_and_slow_load(rt: &Runtime) {
    let (docker, rfaas, image, _cleanup) = built(rt).await;
    let labels = docker.inspect_image(&image).await.unwrap().config.and_then(|c| c.labels).unwrap_or_default();
    assert!(reload::supports_hot_reload(&labels), "{image} lacks the hot-reload label: {labels:?}");
    let container = Container::start(&docker, &image, &[]).await;
    let fn_dir = rfaas.path().join("fn");
    let handler_path = fn_dir.join(rt.handler_file);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    assert_eq!(body(&client, &container, "/").await, "v1");

    // An edit is live when the reload returns; a request in flight finishes on the old code.
    let in_flight = tokio::spawn(client.get(container.url("/slow")).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&handler_path, (rt.handler)("v2")).unwrap();
    let outcome = reload_now(&docker, &container, &fn_dir).await;
    assert!(matches!(outcome, ReloadOutcome::Loaded { .. }), "{outcome:?}");
    assert_eq!(body(&client, &container, "/").await, "v2", "the first request after the reload");
    let old = in_flight.await.unwrap().unwrap();
    assert_eq!((old.status().as_u16(), old.text().await.unwrap()), (200, "v1".to_string()), "the request in flight");

    // A handler that does not compile: its file and line come back, the old code keeps serving.
    std::fs::write(&handler_path, rt.broken.0).unwrap();
    match reload_now(&docker, &container, &fn_dir).await {
        ReloadOutcome::Failed { error, file, line, detail } => {
            assert!(error.starts_with("SyntaxError: "), "{error}");
            let expected = format!("function/{}", rt.handler_file);
            assert_eq!((file.as_deref(), line), (Some(expected.as_str()), Some(rt.broken.1)), "{detail}");
            assert!(!detail.is_empty());
        }
        loaded => panic!("a broken handler loaded: {loaded:?}"),
    }
    assert_eq!(body(&client, &container, "/").await, "v2", "the old code after a failed load");

    // A module that takes 1 s to load: no request fails meanwhile.
    std::fs::write(&handler_path, (rt.slow_load)("v3")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = tokio::spawn(call_until(client.clone(), container.url("/"), stop.clone(), Duration::from_millis(20)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcome = reload_now(&docker, &container, &fn_dir).await;
    stop.store(true, Ordering::Relaxed);
    let answers = hammer.await.unwrap();
    let ReloadOutcome::Loaded { elapsed } = outcome else { panic!("the slow handler failed: {outcome:?}") };
    assert!(elapsed >= Duration::from_millis(950), "the load took {elapsed:?}, the module sleeps 1 s");
    let failed: Vec<_> = answers.iter().filter(|a| !matches!(a, Ok(b) if b == "v2" || b == "v3")).collect();
    assert!(failed.is_empty(), "requests failed during the load: {failed:?}");
    let old_answers = answers.iter().filter(|a| matches!(a, Ok(b) if b == "v2")).count();
    if rt.serves_old_code_while_loading {
        assert!(old_answers >= 3, "only {old_answers} answers from the old code during a 1 s load");
    }
    assert_eq!(body(&client, &container, "/").await, "v3");
    eprintln!("{}: {} requests during a 1 s load, {old_answers} by the old code, none failed", rt.lang, answers.len());

    // Latency: reload call → first response from the new code, 10 edits.
    let mut latencies = Vec::new();
    for n in 0..10 {
        let version = format!("v{}", n + 10);
        std::fs::write(&handler_path, (rt.handler)(&version)).unwrap();
        let started = Instant::now();
        let outcome = reload_now(&docker, &container, &fn_dir).await;
        assert!(matches!(outcome, ReloadOutcome::Loaded { .. }), "{outcome:?}");
        while body(&client, &container, "/").await != version {
            assert!(started.elapsed() < ANSWER_TIMEOUT, "{version} never served");
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    eprintln!("{}: reload latency (upload → first new response) p50 {p50:?}, max {:?}", rt.lang, latencies[9]);
    assert!(p50 < Duration::from_secs(1), "p50 {p50:?} misses the 1 s target");
    container.remove(&docker).await;
}

#[tokio::test]
async fn a_read_only_replica_refuses_the_reload() {
    let docker = engine::docker().await;
    let (rfaas, image) = scaffold("python3-http");
    let _cleanup = engine::Images(vec![image.clone()]);
    rfaas.run(&["build"]).success();
    let port = engine::free_port();
    let body = ContainerCreateBody {
        image: Some(image.clone()),
        env: Some(vec![format!("port={port}")]),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            readonly_rootfs: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptions { name: Some(engine::unique("rfaas-it-ro")), ..Default::default() };
    let id = docker.create_container(Some(opts), body).await.unwrap().id;
    let _remove = RemoveOnDrop(id.clone());
    docker.start_container(&id, None).await.unwrap();
    let ignore = |_: &Path| false;
    let req = ReloadRequest { container: &id, handler_dir: &rfaas.path().join("fn"), ignore: &ignore };
    let err = reload::reload(&docker, &req, ANSWER_TIMEOUT).await.unwrap_err();
    assert!(matches!(err, ReloadError::ReadOnly { .. }), "{err}");
}

#[tokio::test]
async fn a_runtime_that_answers_another_reload_is_reported_with_what_its_log_showed() {
    let docker = engine::docker().await;
    // A labelled server whose SIGHUP answer carries a stale id, as if its id file were never read.
    let server = r#"mkdir -p /home/app && trap 'echo "rfaas-reload {\"id\":\"stale\",\"ok\":true,\"ms\":1}"' HUP && echo ready && while :; do sleep 0.1; done"#;
    let body = ContainerCreateBody {
        image: Some("debian:bookworm-slim".into()),
        cmd: Some(vec!["sh".into(), "-c".into(), server.into()]),
        labels: Some([(reload::HOT_RELOAD_LABEL.to_string(), "1".to_string())].into()),
        host_config: Some(HostConfig { network_mode: Some("host".into()), ..Default::default() }),
        ..Default::default()
    };
    let opts = CreateContainerOptions { name: Some(engine::unique("rfaas-it-stale")), ..Default::default() };
    let id = docker.create_container(Some(opts), body).await.unwrap().id;
    let _remove = RemoveOnDrop(id.clone());
    docker.start_container(&id, None).await.unwrap();
    assert!(eventually(Duration::from_secs(10), || logged(&id, "ready")), "container {id} never logged ready");
    let handler = tempfile::tempdir().unwrap();
    std::fs::write(handler.path().join("handler.py"), "def handle(event, context):\n    return 'x'\n").unwrap();
    let ignore = |_: &Path| false;
    let req = ReloadRequest { container: &id, handler_dir: handler.path(), ignore: &ignore };
    let started = Instant::now();
    let err = reload::reload(&docker, &req, Duration::from_secs(2)).await.unwrap_err();
    assert!(matches!(err, ReloadError::NoAnswer { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "the 2 s timeout took {:?}", started.elapsed());
    let message = err.to_string();
    assert!(message.contains("did not answer the reload within 2s"), "{message}");
    assert!(message.contains("with answers to other reloads only (stale)"), "{message}");
}

/// Whether container `id`'s log has the line `line`.
fn logged(id: &str, line: &str) -> bool {
    engine::logs(id).lines().any(|l| l == line)
}

/// Removes a container when dropped.
struct RemoveOnDrop(String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

async fn reload_now(docker: &Docker, container: &Container, fn_dir: &Path) -> ReloadOutcome {
    let ignore = |_: &Path| false;
    let req = ReloadRequest { container: &container.id, handler_dir: fn_dir, ignore: &ignore };
    reload::reload(docker, &req, ANSWER_TIMEOUT).await.unwrap_or_else(|e| panic!("reload: {e}"))
}

async fn body(client: &reqwest::Client, container: &Container, path: &str) -> String {
    let reply = client.get(container.url(path)).send().await.unwrap();
    assert_eq!(reply.status(), 200, "GET {path}");
    reply.text().await.unwrap()
}

/// GETs `url` one request after another, `pause` apart (none: as fast as answered), until
/// `stop`; every answer's body or error (a status other than 200 is an error).
async fn call_until(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
    pause: Duration,
) -> Vec<Result<String, String>> {
    let mut answers = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let answer = match client.get(&url).send().await {
            Ok(r) if r.status() == 200 => r.text().await.map_err(|e| e.to_string()),
            Ok(r) => Err(format!("status {}", r.status())),
            Err(e) => Err(e.to_string()),
        };
        answers.push(answer);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    answers
}
