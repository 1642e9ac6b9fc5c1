//! Async calls named by the client (`X-Call-Id`) across a SIGKILL of the gateway: a client that
//! re-sends every call it has no 202 for, and some it has, gets each call run once; the only
//! second runs are of calls cut short by the kill, and each is recorded as an interrupted attempt.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

const CALLS: usize = 500;
/// The gateway's default async workers: at most this many calls can be cut short by the kill.
const WORKERS: usize = 4;

fn id(i: usize) -> String {
    format!("crash-{i:03}")
}

/// Sends call `i`; `Some(status)` when the gateway answered.
async fn send(http: &reqwest::Client, url: &str, i: usize) -> Option<u16> {
    let response = http
        .post(format!("{url}/async-function/ledger/record?ms=5"))
        .header("X-Call-Id", id(i))
        .body(format!("call {i}"))
        .send()
        .await
        .ok()?;
    if response.status() == 202 {
        assert_eq!(response.headers()["x-call-id"], id(i).as_str(), "the 202 names the client's call id");
    }
    Some(response.status().as_u16())
}

/// The call ids the function ran, in order, with repeats.
async fn ledger(gw: &TestGateway) -> Vec<String> {
    let response = gw.invoke("ledger/records").await;
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn five_hundred_calls_across_a_sigkill_are_neither_lost_nor_run_twice() {
    let (image, _) = echo_images().await;
    let mut gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("ledger", &image)).await.0, 202);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    // First pass: the gateway is SIGKILLed once 150 calls are acknowledged, with more in flight.
    let acked_count = Arc::new(AtomicUsize::new(0));
    let pid = gw.pid().unwrap();
    let killer = {
        let acked_count = acked_count.clone();
        tokio::spawn(async move {
            while acked_count.load(Ordering::SeqCst) < 150 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // SAFETY: a signal to the gateway process this test started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        })
    };
    let url = gw.url.clone();
    let first: Vec<(usize, Option<u16>)> = futures_util::stream::iter(0..CALLS)
        .map(|i| {
            let (http, url, acked_count) = (http.clone(), url.clone(), acked_count.clone());
            async move {
                let status = send(&http, &url, i).await;
                if status == Some(202) {
                    acked_count.fetch_add(1, Ordering::SeqCst);
                }
                (i, status)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    killer.await.unwrap();
    let acked: BTreeSet<usize> = first.iter().filter(|(_, s)| *s == Some(202)).map(|(i, _)| *i).collect();
    assert!(acked.len() >= 150 && acked.len() < CALLS, "the kill landed mid-way: {} acknowledged", acked.len());
    gw.kill9();
    gw.relaunch().await;

    // Second pass: every call without a 202, every 10th one with, and some of those twice at once.
    let resend: Vec<usize> = (0..CALLS).filter(|i| !acked.contains(i) || i % 10 == 0).collect();
    let doubled: Vec<usize> = resend.iter().copied().filter(|i| i % 25 == 0).collect();
    let url = gw.url.clone();
    let second: Vec<(usize, Option<u16>)> = futures_util::stream::iter(resend.iter().chain(&doubled).copied())
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            async move { (i, send(&http, &url, i).await) }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let refused: Vec<_> = second.iter().filter(|(_, s)| *s != Some(202)).collect();
    assert!(refused.is_empty(), "after the restart every call is acknowledged: {refused:?}\n{}", gw.log());

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut ran = ledger(&gw).await;
    while ran.iter().collect::<BTreeSet<_>>().len() < CALLS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        ran = ledger(&gw).await;
    }
    // Anything run twice would show up shortly after the last first run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    ran = ledger(&gw).await;
    let mut runs: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &ran {
        *runs.entry(call.as_str()).or_default() += 1;
    }
    let lost: Vec<String> = (0..CALLS).map(id).filter(|c| !runs.contains_key(c.as_str())).collect();
    let twice: Vec<(&str, usize)> = runs.iter().filter(|(_, n)| **n > 1).map(|(c, n)| (*c, *n)).collect();
    eprintln!(
        "{} acknowledged before the kill, {} re-sent ({} twice at once); lost {}, run twice {twice:?}",
        acked.len(),
        resend.len(),
        doubled.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}\n{}", gw.log());
    assert_eq!(runs.len(), CALLS, "only the client's calls ran: {runs:?}");
    // Re-sending never runs a call again; only a call cut short by the kill is made again, and
    // the gateway's record accounts for every run the function saw.
    assert!(twice.len() <= WORKERS && twice.iter().all(|(_, n)| *n == 2), "run twice: {twice:?}\n{}", gw.log());
    let records = gw.invocations("function=ledger&limit=1000").await;
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), CALLS, "one record per call id");
    for record in records {
        let call_id = record["callId"].as_str().unwrap();
        let attempts = record["attempts"].as_array().unwrap();
        assert_eq!(record["status"], "succeeded", "{record:#}");
        let answered = attempts.iter().filter(|a| a["statusCode"].is_u64()).count();
        let interrupted =
            attempts.iter().filter(|a| a["error"] == "interrupted: the gateway stopped during this attempt").count();
        assert_eq!((answered, answered + interrupted), (1, attempts.len()), "{record:#}");
        // An interrupted attempt may or may not have reached the function before the kill.
        assert!((1..=attempts.len()).contains(&runs[call_id]), "runs {} for {record:#}", runs[call_id]);
    }
}

#[tokio::test]
async fn client_call_ids_are_checked_and_belong_to_one_function() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("ledger", &image)).await.0, 202);
    assert_eq!(gw.deploy(&echo_fn("other", &image)).await.0, 202);
    let queue = |path: &str, call_id: &str| {
        gw.http.post(format!("{}/async-function/{path}", gw.url)).header("X-Call-Id", call_id.to_string())
    };
    let long = "x".repeat(129);
    for bad in ["", "../../etc/passwd", ".hidden", "a b", "a/b", "semi;colon", long.as_str()] {
        let (status, body) = gw.send(queue("ledger/record", bad)).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body.contains("X-Call-Id"), "{body}");
    }
    let (status, body) = gw.send(queue("ledger/record", &"y".repeat(128))).await;
    assert_eq!(status, 202, "{body}");

    assert_eq!(gw.send(queue("ledger/record", "order-1:pay")).await.0, 202);
    let (status, body) = gw.send(queue("other/record", "order-1:pay")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("already used by a call to ledger.openfaas-fn"), "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ledger(&gw).await.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..5 {
        assert_eq!(gw.send(queue("ledger/record", "order-1:pay")).await.0, 202);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ran = ledger(&gw).await;
    assert_eq!(ran.iter().filter(|c| *c == "order-1:pay").count(), 1, "{ran:?}");
}
