//! Scaling with the real engine: scale from zero (concurrent requests share one start; async
//! and cron calls wake too; a wake that outlasts --wake-timeout is a 504), idle scale to zero
//! through the paused tier, autoscaling under a load ramp, bad scaling labels, and faults (a
//! replica killed under load, the gateway SIGKILLed during a wake).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images};

const WAIT: Duration = Duration::from_secs(30);

async fn scale(gw: &TestGateway, name: &str, replicas: u64) {
    let body = json!({"serviceName": name, "replicas": replicas});
    let (status, text) = gw.send(gw.system(Method::POST, &format!("/system/scale-function/{name}")).json(&body)).await;
    assert_eq!(status, 200, "{text}");
}

/// The containers of function `name` (running, paused or stopped).
async fn containers_of(gw: &TestGateway, name: &str) -> Vec<String> {
    gw.containers().await.into_iter().filter(|(f, _)| f == name).map(|(_, id)| id).collect()
}

/// "held" (the idle tier: the engine paused it, or all its processes are stopped), "running"
/// or "exited".
async fn state_of(id: &str) -> String {
    let c = docker().await.inspect_container(id, None).await.expect("inspect");
    let state = c.state.expect("state");
    if state.paused == Some(true) {
        return "held".into();
    }
    match state.running {
        Some(true) if processes_stopped(state.pid.unwrap_or(0)) => "held".into(),
        Some(true) => "running".into(),
        _ => "exited".into(),
    }
}

/// True when every process in the cgroup of the container whose init is `pid` is stopped
/// (`T` in /proc/PID/stat): the gateway held it with SIGSTOP.
fn processes_stopped(pid: i64) -> bool {
    let Ok(cgroups) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else { return false };
    let Some(path) = cgroups.lines().find_map(|l| l.split_once(":pids:").map(|(_, p)| p.to_string())) else {
        return false;
    };
    let Ok(procs) = std::fs::read_to_string(format!("/sys/fs/cgroup/pids{path}/cgroup.procs")) else { return false };
    let states: Vec<char> = procs
        .lines()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|stat| stat.rsplit(')').next().and_then(|rest| rest.trim_start().chars().next()))
        .collect();
    !states.is_empty() && states.iter().all(|s| *s == 'T')
}

/// Waits until `check` holds for the function's status; panics with the status and log if not.
async fn wait_status(
    gw: &TestGateway,
    name: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let status = gw.describe(name).await;
        if check(&status) {
            return status;
        }
        if Instant::now() > deadline {
            panic!("{name}: not {what} after {timeout:?}: {status:#}\n{}", gw.log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn events(status: &Value) -> Vec<String> {
    status["scaling"]["events"].as_array().map_or_else(Vec::new, |e| {
        e.iter().map(|e| format!("{} -> {}: {}", e["from"], e["to"], e["reason"].as_str().unwrap_or(""))).collect()
    })
}

#[tokio::test]
async fn a_function_at_zero_wakes_once_for_concurrent_requests() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("sleepy", &image)).await.0, 202);
    scale(&gw, "sleepy", 0).await;
    assert!(containers_of(&gw, "sleepy").await.is_empty());

    let started = Instant::now();
    let calls = (0..8).map(|i| {
        let (http, url) = (gw.http.clone(), gw.url.clone());
        tokio::spawn(async move {
            let r = http.post(format!("{url}/function/sleepy")).body(format!("call {i}")).send().await.unwrap();
            let status = r.status().as_u16();
            let echo: Value = r.json().await.unwrap_or(Value::Null);
            (
                status,
                echo["body"].as_str().unwrap_or("").to_string(),
                echo["instance"].as_str().unwrap_or("").to_string(),
            )
        })
    });
    let results: Vec<(u16, String, String)> =
        futures_util::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    let elapsed = started.elapsed();
    for (i, (status, body, _)) in results.iter().enumerate() {
        assert_eq!((*status, body.as_str()), (200, format!("call {i}").as_str()), "{results:?}\n{}", gw.log());
    }
    let instances: BTreeSet<&String> = results.iter().map(|r| &r.2).collect();
    assert_eq!(instances.len(), 1, "one replica served every held request: {instances:?}");
    assert_eq!(containers_of(&gw, "sleepy").await.len(), 1, "one scale-up for 8 requests");
    let series = "rfaas_cold_starts_total{cause=\"wake\",function_name=\"sleepy.openfaas-fn\"}";
    assert_eq!(gw.metric(series).await, Some(1.0));
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let status = gw.describe("sleepy").await;
    assert_eq!((status["replicas"].as_u64(), status["availableReplicas"].as_u64()), (Some(1), Some(1)));
    assert!(events(&status).iter().any(|e| e == "0 -> 1: request while at zero replicas"), "{:?}", events(&status));
    assert!(gw.log().contains("sleepy.openfaas-fn: scaling 0 -> 1 replicas (request while at zero replicas)"));

    // The scale-from-zero target follows com.openfaas.scale.min.
    let mut two = echo_fn("pair", &image);
    two["labels"] = json!({"com.openfaas.scale.min": "2"});
    assert_eq!(gw.deploy(&two).await.0, 202);
    scale(&gw, "pair", 0).await;
    assert_eq!(gw.invoke("pair").await.status(), 200);
    assert_eq!(gw.describe("pair").await["availableReplicas"], 2);
}

#[tokio::test]
async fn a_wake_that_outlasts_the_wake_timeout_is_a_504_and_never_hangs() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--wake-timeout", "1s", "--health-timeout", "4s"]).await;
    assert_eq!(gw.deploy(&echo_fn("stuck", &image)).await.0, 202);
    scale(&gw, "stuck", 0).await;
    let mut broken = echo_fn("stuck", &image);
    broken["envVars"] = json!({"ECHO_UNHEALTHY": "1"});
    assert_eq!(gw.update(&broken).await.0, 200, "an update at 0 replicas starts nothing");

    let started = Instant::now();
    let held: Vec<_> = (0..3).map(|_| gw.invoke("stuck")).collect();
    for response in futures_util::future::join_all(held).await {
        assert_eq!(response.status(), 504);
        assert_eq!(response.headers()["x-openfaas-internal"], "proxy");
        let body = response.text().await.unwrap();
        assert!(body.contains("Timed out after 1s waiting for a replica of stuck to start;"), "{body}");
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    // After the health timeout the wake fails; a request joining it hears why.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let response = gw.invoke("stuck").await;
    assert!(matches!(response.status().as_u16(), 503 | 504), "{}", response.status());
}

#[tokio::test]
async fn async_and_cron_calls_wake_a_function_at_zero() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("queued", &image)).await.0, 202);
    scale(&gw, "queued", 0).await;
    for i in 0..3 {
        gw.queue_call("queued", &format!("wake-{i}"), None).await;
    }
    for i in 0..3 {
        let record = gw.wait_for_status(&format!("wake-{i}"), "succeeded", WAIT).await;
        assert_eq!(record["attempts"].as_array().map(Vec::len), Some(1), "no retry needed: {record}");
    }
    assert_eq!(containers_of(&gw, "queued").await.len(), 1);

    let mut tick = echo_fn("tick", &image);
    tick["annotations"] = json!({"topic": "cron-function", "schedule": "@every 1s"});
    assert_eq!(gw.deploy(&tick).await.0, 202);
    scale(&gw, "tick", 0).await;
    let ok = "rfaas_cron_runs_total{code=\"200\",function_name=\"tick.openfaas-fn\"}";
    let before = gw.metric(ok).await.unwrap_or(0.0);
    let deadline = Instant::now() + WAIT;
    while gw.metric(ok).await.unwrap_or(0.0) < before + 2.0 {
        assert!(Instant::now() < deadline, "cron did not wake tick:\n{}", gw.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(gw.log().contains("tick.openfaas-fn: scaling 0 -> 1 replicas (request while at zero replicas)"));
}

#[tokio::test]
async fn idle_replicas_are_paused_resumed_and_then_removed() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--pause-before-remove", "4s"]).await;
    let mut idle = echo_fn("idler", &image);
    idle["labels"] = json!({"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "2s"});
    assert_eq!(gw.deploy(&idle).await.0, 202);
    let first: Value = gw.invoke("idler").await.json().await.unwrap();

    // Idle for 2s: paused, out of the table, memory reported.
    let status =
        wait_status(&gw, "idler", "paused", Duration::from_secs(10), |s| s["scaling"]["pausedReplicas"] == 1).await;
    assert_eq!(status["replicas"], 1, "still desired while paused");
    assert!(status["scaling"]["pausedMemoryBytes"].as_u64().unwrap() > 1_000_000, "{status}");
    let ids = containers_of(&gw, "idler").await;
    assert_eq!(ids.len(), 1);
    assert_eq!(state_of(&ids[0]).await, "held");
    // The engine is on this host: the processes are stopped (resumed by a signal), not paused.
    let pid = docker().await.inspect_container(&ids[0], None).await.unwrap().state.unwrap().pid.unwrap();
    assert!(processes_stopped(pid), "the replica's processes are not stopped");
    assert_eq!(gw.metric("rfaas_paused_replicas{function_name=\"idler.openfaas-fn\"}").await, Some(1.0));
    assert!(gw.metric("rfaas_paused_memory_bytes{function_name=\"idler.openfaas-fn\"}").await.unwrap() > 1e6);

    // The next request resumes the same replica, fast.
    let started = Instant::now();
    let resumed: Value = gw.invoke("idler").await.json().await.unwrap();
    let took = started.elapsed();
    assert_eq!(resumed["instance"], first["instance"], "the paused replica itself answered");
    assert!(took < Duration::from_millis(1000), "{took:?}");
    assert_eq!(state_of(&ids[0]).await, "running");
    assert_eq!(gw.describe("idler").await["scaling"]["pausedReplicas"], 0);

    // The sweep (every 5s) leaves a paused replica alone; after 4s paused it is removed.
    wait_status(&gw, "idler", "paused again", Duration::from_secs(10), |s| s["scaling"]["pausedReplicas"] == 1).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(state_of(&ids[0]).await, "held");
    let status =
        wait_status(&gw, "idler", "removed", Duration::from_secs(10), |s| s["replicas"].as_u64().unwrap_or(0) == 0)
            .await;
    assert!(containers_of(&gw, "idler").await.is_empty(), "{status}");
    let log = events(&status);
    assert!(log.iter().any(|e| e.contains("replica(s) paused")), "{log:?}");
    assert!(log.iter().any(|e| e.contains("paused replica(s) resumed")), "{log:?}");
    assert!(log.iter().any(|e| e.starts_with("1 -> 0: paused for 4s")), "{log:?}");

    // From zero, a new replica starts.
    let woken: Value = gw.invoke("idler").await.json().await.unwrap();
    assert_ne!(woken["instance"], first["instance"]);
    assert_eq!(gw.describe("idler").await["availableReplicas"], 1);
}

#[tokio::test]
async fn a_restarted_gateway_resumes_replicas_it_had_paused() {
    let (image, _) = echo_images().await;
    let mut gw = TestGateway::start_with(&["--pause-before-remove", "10m"]).await;
    let mut idle = echo_fn("frozen", &image);
    idle["labels"] = json!({"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "1s"});
    assert_eq!(gw.deploy(&idle).await.0, 202);
    let first: Value = gw.invoke("frozen").await.json().await.unwrap();
    wait_status(&gw, "frozen", "paused", Duration::from_secs(10), |s| s["scaling"]["pausedReplicas"] == 1).await;
    gw.restart_after_kill9().await;
    let again: Value = gw.invoke("frozen").await.json().await.unwrap();
    assert_eq!(again["instance"], first["instance"], "adopted after unpausing:\n{}", gw.log());
    assert_eq!(containers_of(&gw, "frozen").await.len(), 1);
}

/// Runs `clients` loops of `path` until `stop`; counts answers and failures.
fn load(
    gw: &TestGateway,
    path: &str,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> (Arc<AtomicU64>, Arc<AtomicU64>, Vec<tokio::task::JoinHandle<()>>) {
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tasks = (0..clients)
        .map(|_| {
            let (http, url, stop, ok, failed) =
                (gw.http.clone(), format!("{}/function/{path}", gw.url), stop.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let good = match http.post(&url).send().await {
                        Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    let counter = if good { &ok } else { &failed };
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    (ok, failed, tasks)
}

/// What a load did to a function's replicas.
struct Growth {
    /// When a second replica was serving, after the load started.
    reaction: Duration,
    peak: u64,
    /// Available replicas every 250 ms.
    timeline: Vec<u64>,
    ok: u64,
    failed: u64,
}

/// Runs `clients` loops of `path` for `within` (or until `name` has `enough` replicas) while
/// sampling its available replicas; panics when a second replica never served.
async fn grow_under_load(
    gw: &TestGateway,
    name: &str,
    path: &str,
    clients: usize,
    within: Duration,
    enough: Option<u64>,
) -> Growth {
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed, tasks) = load(gw, path, clients, &stop);
    let started = Instant::now();
    let (mut peak, mut second_at, mut timeline) = (0u64, None, Vec::new());
    while started.elapsed() < within && enough.is_none_or(|n| peak < n) {
        let available = gw.describe(name).await["availableReplicas"].as_u64().unwrap_or(0);
        if available >= 2 && second_at.is_none() {
            second_at = Some(started.elapsed());
        }
        peak = peak.max(available);
        timeline.push(available);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::SeqCst);
    futures_util::future::join_all(tasks).await;
    let reaction = second_at.unwrap_or_else(|| panic!("never a second replica: {timeline:?}\n{}", gw.log()));
    Growth { reaction, peak, timeline, ok: ok.load(Ordering::SeqCst), failed: failed.load(Ordering::SeqCst) }
}

#[tokio::test]
async fn a_load_ramp_grows_replicas_without_errors_and_they_return_to_min() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--scale-down-window", "3s", "--max-replicas", "3"]).await;
    let mut ramp = echo_fn("ramp", &image);
    ramp["labels"] = json!({
        "com.openfaas.scale.type": "capacity",
        "com.openfaas.scale.target": "2",
        "com.openfaas.scale.target-proportion": "1",
        "com.openfaas.scale.min": "1",
        "com.openfaas.scale.max": "5",
    });
    assert_eq!(gw.deploy(&ramp).await.0, 202);
    let g = grow_under_load(&gw, "ramp", "ramp/sleep?s=0.2", 8, Duration::from_secs(10), None).await;
    assert!(g.reaction < Duration::from_secs(5), "second replica after {:?}: {:?}", g.reaction, g.timeline);
    assert_eq!(g.peak, 3, "up to --max-replicas 3 (label max 5), never past it: {:?}", g.timeline);
    assert_eq!(g.failed, 0, "{} ok", g.ok);
    assert!(g.ok > 100);

    let status =
        wait_status(&gw, "ramp", "back at min", Duration::from_secs(20), |s| s["availableReplicas"] == 1).await;
    assert_eq!(status["replicas"], 1);
    let log = events(&status);
    assert!(log.iter().any(|e| e.contains("autoscale: capacity")), "{log:?}");
    assert!(log.iter().any(|e| e.ends_with("target 2 per replica") && e.contains(" -> 1:")), "{log:?}");
    assert!(gw.log().contains("ramp.openfaas-fn: scaling 1 -> "), "changes are logged");
}

#[tokio::test]
async fn cpu_load_grows_replicas_and_they_return_to_min_when_it_stops() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--scale-down-window", "3s", "--max-replicas", "3"]).await;
    let mut burner = echo_fn("burner", &image);
    // 4 clients each keeping a replica's Python thread on the CPU: about 1000m in all, against a
    // target of 200m per replica, so the autoscaler wants 5 and --max-replicas caps it at 3.
    burner["labels"] = json!({
        "com.openfaas.scale.type": "cpu",
        "com.openfaas.scale.target": "200",
        "com.openfaas.scale.min": "1",
        "com.openfaas.scale.max": "5",
    });
    assert_eq!(gw.deploy(&burner).await.0, 202);
    let g = grow_under_load(&gw, "burner", "burner/burn?ms=50", 4, Duration::from_secs(15), Some(3)).await;
    assert!(g.reaction < Duration::from_secs(10), "second replica after {:?}: {:?}", g.reaction, g.timeline);
    assert!(g.peak <= 3, "never past --max-replicas 3: {:?}", g.timeline);
    assert_eq!(g.failed, 0, "{} ok", g.ok);

    // Idle, the CPU falls to nothing: back to min after the scale-down window. The target per
    // replica is 200m times the default target-proportion 0.90.
    let status =
        wait_status(&gw, "burner", "back at min", Duration::from_secs(30), |s| s["availableReplicas"] == 1).await;
    assert_eq!(status["replicas"], 1);
    let log = events(&status);
    assert!(log.iter().any(|e| e.contains("autoscale: cpu") && e.ends_with("target 180 per replica")), "{log:?}");
}

#[tokio::test]
async fn a_replica_killed_during_autoscaling_loses_no_async_call() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--scale-down-window", "30s", "--queue-workers", "8"]).await;
    let mut busy = echo_fn("busy", &image);
    busy["labels"] =
        json!({"com.openfaas.scale.type": "capacity", "com.openfaas.scale.target": "1", "com.openfaas.scale.max": "3"});
    assert_eq!(gw.deploy(&busy).await.0, 202);
    let stop = Arc::new(AtomicBool::new(false));
    let (_ok, _failed, tasks) = load(&gw, "busy/sleep?s=0.3", 4, &stop);
    wait_status(&gw, "busy", "scaled up", WAIT, |s| s["availableReplicas"].as_u64().unwrap_or(0) >= 2).await;
    let n = 30;
    for i in 0..n {
        gw.queue_call("busy/sleep?s=0.1", &format!("kill-{i}"), None).await;
    }
    let victim = containers_of(&gw, "busy").await[0].clone();
    docker()
        .await
        .kill_container(&victim, None::<bollard::query_parameters::KillContainerOptions>)
        .await
        .expect("kill");
    for i in 0..n {
        gw.wait_for_status(&format!("kill-{i}"), "succeeded", WAIT).await;
    }
    stop.store(true, Ordering::SeqCst);
    futures_util::future::join_all(tasks).await;
    let status = wait_status(&gw, "busy", "converged", WAIT, |s| s["availableReplicas"] == s["replicas"]).await;
    assert!(status["replicas"].as_u64().unwrap() >= 1);
    assert!(!containers_of(&gw, "busy").await.contains(&victim));
}

#[tokio::test]
async fn a_gateway_killed_during_a_wake_loses_no_async_call_and_converges() {
    let (image, _) = echo_images().await;
    let mut gw = TestGateway::start_with(&["--wake-timeout", "20s"]).await;
    assert_eq!(gw.deploy(&echo_fn("phoenix", &image)).await.0, 202);
    scale(&gw, "phoenix", 0).await;
    for i in 0..5 {
        gw.queue_call("phoenix", &format!("phoenix-{i}"), None).await;
    }
    // A held sync request: the gateway dies under it; it must end, not hang.
    let held = {
        let (http, url) = (gw.http.clone(), gw.url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let result = http.post(format!("{url}/function/phoenix")).send().await.map(|r| r.status().as_u16());
            (result.ok(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(60)).await;
    gw.kill9();
    let (status, took) = held.await.unwrap();
    assert!(took < Duration::from_secs(5), "the held request ended with {status:?} after {took:?}");
    gw.relaunch().await;
    for i in 0..5 {
        gw.wait_for_status(&format!("phoenix-{i}"), "succeeded", WAIT).await;
    }
    let status = wait_status(&gw, "phoenix", "converged", WAIT, |s| {
        s["replicas"].as_u64().unwrap_or(0) == 1 && s["availableReplicas"] == 1
    })
    .await;
    // Whatever the killed gateway had started was adopted or removed: exactly one replica.
    let deadline = Instant::now() + WAIT;
    while containers_of(&gw, "phoenix").await.len() != 1 {
        assert!(Instant::now() < deadline, "{status}\n{}", gw.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(gw.invoke("phoenix").await.status(), 200);
}

#[tokio::test]
async fn bad_scaling_labels_are_a_400_naming_the_label_and_store_nothing() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"com.openfaas.scale.max": "-1"}), "label com.openfaas.scale.max must be a whole number"),
        (json!({"com.openfaas.scale.max": "0"}), "label com.openfaas.scale.max must be a whole number"),
        (
            json!({"com.openfaas.scale.min": "4", "com.openfaas.scale.max": "2"}),
            "label com.openfaas.scale.min (4) is larger than com.openfaas.scale.max (2)",
        ),
        (
            json!({"com.openfaas.scale.type": "memory"}),
            "label com.openfaas.scale.type must be rps, capacity or cpu, got \"memory\"",
        ),
        (json!({"com.openfaas.scale.target": "0"}), "label com.openfaas.scale.target must be a number above 0"),
        (json!({"com.openfaas.scale.target": "-5"}), "label com.openfaas.scale.target must be a number above 0"),
        (
            json!({"com.openfaas.scale.target-proportion": "1.5"}),
            "label com.openfaas.scale.target-proportion must be a number above 0 and at most 1",
        ),
        (json!({"com.openfaas.scale.target-proportion": "0"}), "label com.openfaas.scale.target-proportion"),
        (json!({"com.openfaas.scale.zero": "yes"}), "label com.openfaas.scale.zero must be \"true\" or \"false\""),
        (
            json!({"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "15 minutes"}),
            "label com.openfaas.scale.zero-duration must be a duration such as 15m",
        ),
        (json!({"com.openfaas.scale.zero-duration": "1d"}), "label com.openfaas.scale.zero-duration"),
        (json!({"com.openfaas.scale.zero-duration": "x".repeat(100_000)}), "(100000 bytes)"),
    ];
    for (labels, expected) in &cases {
        let mut d = echo_fn("labelled", &image);
        d["labels"] = labels.clone();
        let (status, body) = gw.deploy(&d).await;
        assert_eq!(status, 400, "{labels}: {body}");
        assert!(body.contains(expected), "{labels}: {body}");
        assert!(body.len() < 300, "{body}");
        let (status, _) = gw.send(gw.system(Method::GET, "/system/function/labelled")).await;
        assert_eq!(status, 404, "nothing stored for {labels}");
    }
    assert!(gw.containers().await.is_empty());

    // An update is checked the same way, and the running version stays.
    assert_eq!(gw.deploy(&echo_fn("labelled", &image)).await.0, 202);
    let mut bad = echo_fn("labelled", &image);
    bad["labels"] = json!({"com.openfaas.scale.max": "-1"});
    let (status, body) = gw.update(&bad).await;
    assert_eq!((status, body.contains("com.openfaas.scale.max")), (400, true), "{body}");
    assert_eq!(gw.describe("labelled").await["labels"], json!({}));

    // Concurrent bad deploys: all refused, none stored.
    let tries = Arc::new(AtomicUsize::new(0));
    let calls = (0..8).map(|i| {
        let mut d = echo_fn(&format!("race{i}"), &image);
        d["labels"] = json!({"com.openfaas.scale.min": "3", "com.openfaas.scale.max": "1"});
        let (gw, tries) = (&gw, tries.clone());
        async move {
            let (status, _) = gw.deploy(&d).await;
            if status == 400 {
                tries.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    futures_util::future::join_all(calls).await;
    assert_eq!(tries.load(Ordering::SeqCst), 8);
    assert_eq!(containers_of(&gw, "labelled").await.len(), 1);
    assert_eq!(gw.containers().await.len(), 1);
}

#[tokio::test]
async fn rfaas_describe_shows_paused_replicas_and_scaling_events() {
    let mut s = crate::client_commands::Session::logged_in().await;
    s.deploy_echo(
        "shown",
        &["--label", "com.openfaas.scale.zero=true", "--label", "com.openfaas.scale.zero-duration=1s"],
    );
    scale(&s.gw, "shown", 0).await;
    assert_eq!(s.gw.invoke("shown").await.status(), 200);
    wait_status(&s.gw, "shown", "paused", Duration::from_secs(10), |v| v["scaling"]["pausedReplicas"] == 1).await;
    let text = s.run(&["describe", "shown"]).success().stdout.clone();
    assert!(text.contains("Paused Replicas     1 ("), "{text}");
    assert!(text.contains("Scaling Events:\n "), "{text}");
    assert!(text.contains(" 0 -> 1: request while at zero replicas\n"), "{text}");
    assert!(text.contains(" 1 -> 1: idle for 1s: 1 replica(s) paused"), "{text}");
    let d = s.describe("shown");
    assert_eq!(d["scaling"]["pausedReplicas"], 1);
    let events = d["scaling"]["events"].as_array().unwrap();
    let wake = events.iter().find(|e| e["reason"] == "request while at zero replicas").expect("the wake");
    assert_eq!((wake["from"].as_u64(), wake["to"].as_u64()), (Some(0), Some(1)), "{d}");
    assert!(wake["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{d}");
    let manual = events.iter().find(|e| e["reason"] == "scale request").expect("the manual scale");
    assert_eq!(manual["to"], 0, "{d}");
}
