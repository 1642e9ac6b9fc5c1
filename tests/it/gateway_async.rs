//! Async invocation records, the retry policy annotations, the dead-letter queue and its replay,
//! retention, and queues that keep a slow function from starving the others: the real gateway,
//! the echo function and a real callback receiver.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::callbacks::Receiver;
use crate::support::gateway::{TestGateway, echo_fn, echo_images};

const WAIT: Duration = Duration::from_secs(30);

/// The echo function with the given annotations.
fn annotated(name: &str, image: &str, annotations: Value) -> Value {
    let mut d = echo_fn(name, image);
    d["annotations"] = annotations;
    d
}

fn codes(record: &Value) -> Vec<u64> {
    record["attempts"].as_array().unwrap().iter().map(|a| a["statusCode"].as_u64().unwrap_or(0)).collect()
}

async fn retry(gw: &TestGateway, call_id: &str) -> (u16, String) {
    gw.send(gw.system(Method::POST, &format!("/system/async/invocations/{call_id}/retry"))).await
}

#[tokio::test]
async fn calls_are_recorded_retried_by_policy_dead_lettered_and_replayed() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let policy = json!({
        "com.openfaas.retry.attempts": "3",
        "com.openfaas.retry.codes": "500,503",
        "com.openfaas.retry.min_wait": "200ms",
        "com.openfaas.retry.max_wait": "400ms"
    });
    assert_eq!(gw.deploy(&annotated("worker", &image, policy)).await.0, 202);
    let receiver = Receiver::start().await;
    let cb = receiver.url("/cb");

    gw.queue_call("worker/echo", "ok-1", Some(&cb)).await;
    gw.queue_call("worker/flaky?key=k1&fails=2", "flaky-1", Some(&cb)).await;
    gw.queue_call("worker/status?code=500", "dead-1", Some(&cb)).await;
    gw.queue_call("worker/status?code=404", "dead-2", None).await;
    gw.queue_call("worker/flaky?key=k2&fails=3", "fixed-1", Some(&cb)).await;

    let ok = gw.wait_for_status("ok-1", "succeeded", WAIT).await;
    assert_eq!((ok["function"].as_str(), ok["namespace"].as_str()), (Some("worker"), Some("openfaas-fn")));
    assert_eq!(codes(&ok), [200]);
    assert_eq!(ok["response"]["statusCode"], 200);
    assert!(ok["response"]["bytes"].as_u64().unwrap() > 0 && ok["response"]["durationSeconds"].as_f64().unwrap() > 0.0);
    assert_eq!(ok["callbackUrl"], cb.as_str());
    assert_eq!(ok["nextAttemptAt"], Value::Null);

    let flaky = gw.wait_for_status("flaky-1", "succeeded", WAIT).await;
    assert_eq!(codes(&flaky), [503, 503, 200], "retried on 503 until it answered");
    let numbers: Vec<u64> =
        flaky["attempts"].as_array().unwrap().iter().map(|a| a["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3]);

    let dead = gw.wait_for_status("dead-1", "dead", WAIT).await;
    assert_eq!(codes(&dead), [500, 500, 500], "com.openfaas.retry.attempts=3 in all");
    assert_eq!(dead["response"]["statusCode"], 500);
    assert_eq!(dead["callback"]["statusCode"], 200);
    let not_retried = gw.wait_for_status("dead-2", "dead", WAIT).await;
    assert_eq!(codes(&not_retried), [404], "404 is not in com.openfaas.retry.codes");

    // The callback tells a final success from a dead call, and how many attempts it took.
    let fixed = gw.wait_for_status("fixed-1", "dead", WAIT).await;
    assert_eq!(codes(&fixed), [503, 503, 503]);
    let got = receiver.wait_for("/cb", 4, WAIT).await;
    let told = |id: &str| got.iter().find(|c| c.header("x-call-id") == id).unwrap_or_else(|| panic!("{id}: {got:?}"));
    assert_eq!((told("ok-1").header("x-call-status"), told("ok-1").header("x-call-attempts")), ("succeeded", "1"));
    assert_eq!(
        (told("flaky-1").header("x-call-status"), told("flaky-1").header("x-call-attempts")),
        ("succeeded", "3")
    );
    let dead_cb = told("dead-1");
    assert_eq!((dead_cb.header("x-function-status"), dead_cb.header("x-call-status")), ("500", "dead"));
    assert_eq!(dead_cb.header("x-call-attempts"), "3");

    let dead_list = gw.invocations("status=dead").await;
    let ids: Vec<&str> = dead_list.as_array().unwrap().iter().map(|r| r["callId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["fixed-1", "dead-2", "dead-1"], "newest first");
    assert_eq!(gw.invocations("function=worker&limit=2").await.as_array().unwrap().len(), 2);
    assert_eq!(gw.invocations("namespace=elsewhere").await, json!([]));

    // The dead call is replayed (same body, new attempts, a fresh budget) and now succeeds.
    let (status, body) = retry(&gw, "fixed-1").await;
    assert_eq!(status, 202, "{body}");
    let queued: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((queued["status"].as_str(), queued["callback"].clone()), (Some("queued"), Value::Null));
    let fixed = gw.wait_for_status("fixed-1", "succeeded", WAIT).await;
    assert_eq!(codes(&fixed), [503, 503, 503, 200]);
    let replayed = receiver.wait_for("/cb", 5, WAIT).await;
    let last = replayed.iter().rev().find(|c| c.header("x-call-id") == "fixed-1").unwrap();
    assert_eq!((last.header("x-call-status"), last.header("x-call-attempts")), ("succeeded", "4"));

    // A succeeded call can be replayed too, with the same body; a waiting one cannot.
    assert_eq!(retry(&gw, "ok-1").await.0, 202);
    let again = gw.wait_for_status("ok-1", "succeeded", WAIT).await;
    assert_eq!(codes(&again), [200, 200]);
    let echoes: Vec<Value> = receiver
        .on("/cb")
        .iter()
        .filter(|c| c.header("x-call-id") == "ok-1")
        .map(|c| serde_json::from_str(&c.body).unwrap())
        .collect();
    assert_eq!(echoes.len(), 2);
    assert!(echoes.iter().all(|e| e["body"] == "ok-1" && e["method"] == "POST"), "{echoes:?}");
    gw.queue_call("worker/sleep?s=2", "slow-1", None).await;
    let (status, body) = retry(&gw, "slow-1").await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn a_response_too_large_to_hold_reaches_the_callback_without_its_body() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("bulky", &image)).await.0, 202);
    let receiver = Receiver::start().await;
    let cb = receiver.url("/cb");
    gw.queue_call("bulky/big?mib=40", "too-big", Some(&cb)).await;
    gw.queue_call("bulky/big?mib=2", "fits", Some(&cb)).await;

    let dropped = gw.wait_for_status("too-big", "succeeded", WAIT).await;
    let attempt = &dropped["attempts"][0];
    assert_eq!(attempt["statusCode"], 200, "{dropped:#}");
    assert!(attempt["error"].as_str().unwrap().contains("larger than 32 MiB"), "{dropped:#}");
    assert_eq!(dropped["response"]["bytes"], 0);
    let fits = gw.wait_for_status("fits", "succeeded", WAIT).await;
    assert_eq!(fits["response"]["bytes"], 2 * 1024 * 1024);

    let got = receiver.wait_for("/cb", 2, WAIT).await;
    let told = |id: &str| got.iter().find(|c| c.header("x-call-id") == id).unwrap_or_else(|| panic!("{id}: {got:?}"));
    assert_eq!((told("too-big").header("x-function-status"), told("too-big").body.len()), ("200", 0));
    assert_eq!(told("fits").body.len(), 2 * 1024 * 1024);
}

#[tokio::test]
async fn records_survive_a_clean_restart_and_a_sigkill_mid_attempt() {
    let (image, _) = echo_images().await;
    let mut gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("durable", &image)).await.0, 202);
    gw.queue_call("durable/echo", "before", None).await;
    let before = gw.wait_for_status("before", "succeeded", WAIT).await;

    gw.terminate();
    gw.relaunch().await;
    assert_eq!(gw.invocation("before").await.as_ref(), Some(&before), "a clean restart keeps the record");

    gw.queue_call("durable/sleep?s=3", "cut-short", None).await;
    gw.wait_for_status("cut-short", "running", WAIT).await;
    gw.restart_after_kill9().await;
    let record = gw.wait_for_status("cut-short", "succeeded", WAIT).await;
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{record:#}");
    assert_eq!(attempts[0]["error"], "interrupted: the gateway stopped during this attempt");
    assert_eq!((attempts[0]["statusCode"].clone(), attempts[1]["statusCode"].clone()), (Value::Null, json!(200)));
    assert_eq!(gw.invocation("before").await.as_ref(), Some(&before), "and so does a SIGKILL");
}

#[tokio::test]
async fn finished_records_are_pruned_by_count_and_age() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--async-retention-count", "3", "--async-retention-age", "4s"]).await;
    assert_eq!(gw.deploy(&echo_fn("kept", &image)).await.0, 202);
    for i in 0..5 {
        gw.queue_call("kept/echo", &format!("r{i}"), None).await;
        gw.wait_for_status(&format!("r{i}"), "succeeded", WAIT).await;
    }
    let ids = |list: Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|r| r["callId"].as_str().unwrap().to_string()).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while ids(gw.invocations("").await).len() > 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ids(gw.invocations("").await), ["r4", "r3", "r2"], "the newest 3 are kept\n{}", gw.log());

    // Once older than the age limit they go too (the next finished call prompts the pruning).
    tokio::time::sleep(Duration::from_secs(5)).await;
    gw.queue_call("kept/echo", "r5", None).await;
    gw.wait_for_status("r5", "succeeded", WAIT).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ids(gw.invocations("").await).len() > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ids(gw.invocations("").await), ["r5"]);
    // A pruned call id is new again: re-sending it runs the call once more.
    gw.queue_call("kept/echo", "r0", None).await;
    assert_eq!(codes(&gw.wait_for_status("r0", "succeeded", WAIT).await), [200]);
}

/// Seconds from `start` until the call's record says it succeeded.
async fn seconds_to_success(gw: &TestGateway, call_id: &str, start: Instant) -> f64 {
    gw.wait_for_status(call_id, "succeeded", Duration::from_secs(60)).await;
    start.elapsed().as_secs_f64()
}

#[tokio::test]
async fn a_slow_function_does_not_starve_another_in_its_queue_or_in_its_own() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--queue-workers", "slow-fns=1"]).await;
    assert_eq!(gw.deploy(&echo_fn("slow", &image)).await.0, 202);
    assert_eq!(gw.deploy(&echo_fn("fast", &image)).await.0, 202);
    let own_queue = json!({"com.openfaas.queue": "slow-fns"});
    assert_eq!(gw.deploy(&annotated("isolated", &image, own_queue)).await.0, 202);

    // One shared queue of 4 workers: 12 two-second calls, then 3 quick ones. First in, first out
    // would hold the quick ones for three rounds (6 s); taking turns, they go in the next round.
    let start = Instant::now();
    for i in 0..12 {
        gw.queue_call("slow/sleep?s=2", &format!("slow-{i}"), None).await;
    }
    for i in 0..3 {
        gw.queue_call("fast/echo", &format!("fast-{i}"), None).await;
    }
    let mut fast = Vec::new();
    for i in 0..3 {
        fast.push(seconds_to_success(&gw, &format!("fast-{i}"), start).await);
    }
    let slow_last = seconds_to_success(&gw, "slow-11", start).await;
    eprintln!("shared queue: fast calls done after {fast:?} s, the slow backlog after {slow_last:.1} s");
    assert!(fast.iter().all(|s| *s < slow_last - 1.5), "fast {fast:?}, slow backlog {slow_last}");

    // A function in its own queue (1 worker) has no effect on the shared one.
    let start = Instant::now();
    for i in 0..4 {
        gw.queue_call("isolated/sleep?s=2", &format!("isolated-{i}"), None).await;
    }
    gw.queue_call("fast/echo", "fast-after", None).await;
    let fast_after = seconds_to_success(&gw, "fast-after", start).await;
    let isolated_last = seconds_to_success(&gw, "isolated-3", start).await;
    eprintln!("own queue: fast call done after {fast_after:.2} s, the isolated backlog after {isolated_last:.1} s");
    assert!(fast_after < 1.5, "{fast_after}");
    assert!(isolated_last >= 7.5, "one worker runs the 4 calls one by one: {isolated_last}");
}

#[tokio::test]
async fn max_inflight_caps_how_many_of_a_functions_calls_run_at_once() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let capped = json!({"com.rfaas.queue.max_inflight": "1"});
    assert_eq!(gw.deploy(&annotated("capped", &image, capped)).await.0, 202);
    let start = Instant::now();
    for i in 0..3 {
        gw.queue_call("capped/sleep?s=1", &format!("c{i}"), None).await;
    }
    let last = seconds_to_success(&gw, "c2", start).await;
    assert!(last >= 2.9, "three 1 s calls one at a time take 3 s, not {last}");
    let records = gw.invocations("function=capped").await;
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let mut spans: Vec<_> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (time(&r["attempts"][0]["startedAt"]), time(&r["attempts"][0]["finishedAt"])))
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "attempts overlap: {spans:?}");
    }
}
