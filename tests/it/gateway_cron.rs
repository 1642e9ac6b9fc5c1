//! The built-in cron connector: `@every` schedules fire with cron-connector's request shape and
//! never overlap a run still going; bad schedules fail the deploy; redeploy unschedules.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

#[tokio::test]
async fn cron_functions_fire_without_overlapping_and_follow_redeploys() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let mut bad = echo_fn("bad", &image);
    bad["annotations"] = json!({"topic": "cron-function", "schedule": "*/5 * * *"});
    let (status, body) = gw.deploy(&bad).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid schedule"), "{body}");
    bad["annotations"] = json!({"topic": "cron-function"});
    assert_eq!(gw.deploy(&bad).await.0, 400, "a schedule is required");

    let mut tick = echo_fn("tick", &image);
    tick["annotations"] = json!({"topic": "cron-function", "schedule": "@every 2s"});
    tick["envVars"] = json!({"CRON_SLEEP": "3"});
    assert_eq!(gw.deploy(&tick).await.0, 202);
    let (status, body) = gw.send(gw.system(Method::GET, "/system/function/tick/schedule")).await;
    assert_eq!(status, 200);
    let schedule: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(schedule["schedule"], "@every 2s");
    assert!(chrono::DateTime::parse_from_rfc3339(schedule["nextRun"].as_str().unwrap()).is_ok());

    tokio::time::sleep(Duration::from_millis(9500)).await;
    let seen: Vec<Value> = gw.invoke("tick/seen").await.json().await.unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    for call in &seen {
        let headers: std::collections::BTreeMap<String, String> = call["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(headers.get("x-topic").map(String::as_str), Some("cron-function"));
        assert_eq!(headers.get("x-connector").map(String::as_str), Some("cron-connector"));
        assert_eq!(
            (call["method"].as_str(), call["path"].as_str(), call["body"].as_str()),
            (Some("POST"), Some("/"), Some(""))
        );
    }
    for pair in seen.windows(2) {
        assert!(pair[1]["start"].as_f64() >= pair[0]["end"].as_f64(), "runs overlapped: {seen:?}");
    }
    assert!(gw.log().contains("previous run still going"));
    // The metrics count the same runs and skips.
    let runs = gw.metric("rfaas_cron_runs_total{code=\"200\",function_name=\"tick.openfaas-fn\"}").await;
    assert!(runs.is_some_and(|n| n >= 1.0 && n >= seen.len() as f64 - 1.0), "{runs:?} runs, {} seen", seen.len());
    let skipped = gw.metric("rfaas_cron_skipped_total{function_name=\"tick.openfaas-fn\"}").await;
    assert!(skipped.is_some_and(|n| n >= 1.0), "{skipped:?}");

    // Redeploy without the annotation: unscheduled.
    assert_eq!(gw.update(&echo_fn("tick", &image)).await.0, 200);
    assert_eq!(gw.send(gw.system(Method::GET, "/system/function/tick/schedule")).await.0, 404);
}

#[tokio::test]
async fn a_schedule_that_can_never_fire_is_refused_naming_function_and_schedule() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    for schedule in ["0 0 30 2 *", "0 12 31 4,6,9,11 *"] {
        let mut never = echo_fn("never", &image);
        never["annotations"] = json!({"topic": "cron-function", "schedule": schedule});
        let expected = format!(
            "function never: invalid schedule {schedule:?}: it never fires (no date has that day of the month in those months)\n"
        );
        assert_eq!(gw.deploy(&never).await, (400, expected));
    }
    assert_eq!(gw.send(gw.system(Method::GET, "/system/functions")).await, (200, "[]".to_string()));
    // A leap day is rare, not never.
    let mut leap = echo_fn("leap", &image);
    leap["annotations"] = json!({"topic": "cron-function", "schedule": "0 0 29 2 *"});
    assert_eq!(gw.deploy(&leap).await.0, 202);
    let (_, body) = gw.send(gw.system(Method::GET, "/system/function/leap/schedule")).await;
    let next = serde_json::from_str::<Value>(&body).unwrap()["nextRun"].as_str().unwrap().to_string();
    assert!(next.contains("-02-29T00:00:00"), "{next}");
}
