//! The async records API and the async annotations under bad input: wrong or missing credentials,
//! bad filters, huge limits, traversal and junk in call ids, unknown ids, concurrent retries of one
//! call, and bad retry/queue annotations at deploy and update.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

#[tokio::test]
async fn the_records_api_refuses_bad_input_and_retries_a_call_once_under_concurrency() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let mut d = echo_fn("worker", &image);
    d["annotations"] = json!({"com.openfaas.retry.attempts": "1"});
    assert_eq!(gw.deploy(&d).await.0, 202);
    gw.queue_call("worker/status?code=500", "dead-1", None).await;
    gw.wait_for_status("dead-1", "dead", Duration::from_secs(30)).await;

    for (method, path) in [
        (Method::GET, "/system/async/invocations"),
        (Method::GET, "/system/async/invocations/dead-1"),
        (Method::POST, "/system/async/invocations/dead-1/retry"),
    ] {
        let url = format!("{}{path}", gw.url);
        assert_eq!(gw.send(gw.http.request(method.clone(), &url)).await.0, 401, "{method} {path}");
        let wrong = gw.http.request(method.clone(), &url).basic_auth("admin", Some("wrong"));
        assert_eq!(gw.send(wrong).await.0, 401, "{method} {path}");
    }

    let long_id = "x".repeat(10_000);
    for (path, want) in [
        ("/system/async/invocations?limit=1000000", 400),
        ("/system/async/invocations?limit=99999999999999999999999", 400),
        ("/system/async/invocations?limit=0", 400),
        ("/system/async/invocations?limit=abc", 400),
        ("/system/async/invocations?status=deadish", 400),
        ("/system/async/invocations?function=..%2F..%2Fetc", 400),
        ("/system/async/invocations?namespace=Kube%00System", 400),
        ("/system/async/invocations?sort=asc", 400),
        ("/system/async/invocations?status=dead&status=dead", 400),
        ("/system/async/invocations?limit=1000", 200),
        ("/system/async/invocations/..%2F..%2Fgateway.db", 400),
        ("/system/async/invocations/%2e%2e%2fgateway.db", 400),
        ("/system/async/invocations/a%20b", 400),
        (&format!("/system/async/invocations/{long_id}"), 400),
        ("/system/async/invocations/never-seen", 404),
        ("/system/async/invocations/dead-1", 200),
    ] {
        let (status, body) = gw.send(gw.system(Method::GET, path)).await;
        assert_eq!(status, want, "{}: {body}", &path[..path.len().min(80)]);
        assert!(status != 400 || !body.is_empty(), "{path}: a 400 says why");
    }
    for (path, want) in
        [("/system/async/invocations/never-seen/retry", 404), ("/system/async/invocations/..%2Fx/retry", 400)]
    {
        assert_eq!(gw.send(gw.system(Method::POST, path)).await.0, want, "{path}");
    }
    assert_eq!(gw.send(gw.system(Method::GET, "/system/async/invocations/dead-1/retry")).await.0, 405);

    // Twenty retries of one finished call at once: one queues it (its 2 s attempt keeps it busy
    // while the others arrive), the others are told it is no longer finished.
    gw.queue_call("worker/sleep?s=2", "slow-1", None).await;
    gw.wait_for_status("slow-1", "succeeded", Duration::from_secs(30)).await;
    let tries = (0..20).map(|_| gw.send(gw.system(Method::POST, "/system/async/invocations/slow-1/retry")));
    let answers = join_all(tries).await;
    let accepted = answers.iter().filter(|(s, _)| *s == 202).count();
    let refused = answers.iter().filter(|(s, b)| *s == 409 && b.contains("only succeeded and dead calls")).count();
    assert_eq!((accepted, refused), (1, 19), "{answers:?}");
    let record = gw.wait_for_status("slow-1", "succeeded", Duration::from_secs(30)).await;
    assert_eq!(record["attempts"].as_array().unwrap().len(), 2, "one more attempt, not twenty: {record:#}");

    // A call whose function is gone cannot be replayed.
    let delete = gw.system(Method::DELETE, "/system/functions").json(&json!({"functionName": "worker"}));
    assert_eq!(gw.send(delete).await.0, 200);
    let (status, body) = gw.send(gw.system(Method::POST, "/system/async/invocations/dead-1/retry")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("no longer exists"), "{body}");
}

#[tokio::test]
async fn bad_async_annotations_are_refused_at_deploy_and_update_by_name() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let bad: [(&str, &str); 12] = [
        ("com.openfaas.retry.attempts", "0"),
        ("com.openfaas.retry.attempts", "1e3"),
        ("com.openfaas.retry.attempts", "99999999999999999999"),
        ("com.openfaas.retry.codes", "429;503"),
        ("com.openfaas.retry.codes", "200"),
        ("com.openfaas.retry.min_wait", "10"),
        ("com.openfaas.retry.min_wait", "1000h"),
        ("com.openfaas.retry.max_wait", "later"),
        ("com.openfaas.queue", "../../queues"),
        ("com.openfaas.queue", ""),
        ("com.rfaas.queue.max_inflight", "0"),
        ("com.rfaas.queue.max_inflight", "many"),
    ];
    for (annotation, value) in bad {
        let mut d = echo_fn("annotated", &image);
        d["annotations"] = json!({ annotation: value });
        let (status, body) = gw.deploy(&d).await;
        assert_eq!(status, 400, "{annotation}={value}: {body}");
        assert!(body.contains(annotation), "{annotation}={value}: {body}");
        let (status, _) = gw.send(gw.system(Method::GET, "/system/function/annotated")).await;
        assert_eq!(status, 404, "a refused deploy leaves nothing behind");
    }
    let mut d = echo_fn("annotated", &image);
    d["annotations"] = json!({"com.openfaas.retry.min_wait": "10s", "com.openfaas.retry.max_wait": "5s"});
    let (status, body) = gw.deploy(&d).await;
    assert_eq!(status, 400, "{body}");

    let good = json!({"com.openfaas.retry.attempts": "30", "com.openfaas.retry.codes": "429",
                      "com.openfaas.retry.min_wait": "5s", "com.openfaas.retry.max_wait": "1m",
                      "com.openfaas.queue": "slow-fns", "com.rfaas.queue.max_inflight": "2"});
    d["annotations"] = good.clone();
    assert_eq!(gw.deploy(&d).await.0, 202);
    d["annotations"] = json!({"com.openfaas.retry.codes": "5xx"});
    let (status, body) = gw.update(&d).await;
    assert_eq!(status, 400, "{body}");
    let status: Value = gw.describe("annotated").await;
    assert_eq!(status["annotations"], good, "a refused update keeps the function as it was");
}
