//! `rfaas async list|describe|retry` against rfaas's gateway, one without the API, and bad input.

use std::time::Duration;

use super::{Session, json};
use crate::support::{Rfaas, serve};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn async_commands_list_describe_and_replay_a_dead_call() {
    let mut s = Session::logged_in().await;
    s.deploy_echo(
        "payment",
        &[
            "--annotation",
            "com.openfaas.retry.attempts=2",
            "--annotation",
            "com.openfaas.retry.codes=500",
            "--annotation",
            "com.openfaas.retry.min_wait=100ms",
        ],
    );
    s.gw.queue_call("payment/status?code=500", "order-42:payment", None).await;
    s.gw.queue_call("payment/echo", "order-43:payment", None).await;
    s.gw.wait_for_status("order-42:payment", "dead", WAIT).await;
    s.gw.wait_for_status("order-43:payment", "succeeded", WAIT).await;

    let run = s.run(&["async", "list", "--status", "dead"]);
    let rows: Vec<Vec<String>> =
        run.success().stdout.lines().map(|l| l.split('\t').map(|c| c.trim().to_string()).collect()).collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert_eq!(rows[0][..5], ["Call ID", "Function", "Status", "Attempts", "Code"]);
    assert_eq!(rows[1][..5], ["order-42:payment", "payment.openfaas-fn", "dead", "2", "500"]);

    let all =
        json(s.run(&["async", "list", "--function", "payment", "-n", "openfaas-fn", "--output", "json"]).success());
    let ids: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["callId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["order-43:payment", "order-42:payment"], "newest first");
    assert_eq!(json(s.run(&["async", "ls", "--limit", "1", "--json"]).success()).as_array().unwrap().len(), 1);
    assert_eq!(json(s.run(&["async", "list", "-n", "elsewhere", "--output", "json"]).success()), serde_json::json!([]));

    let text = s.run(&["async", "describe", "order-42:payment"]).success().stdout.clone();
    for line in ["Call ID:      order-42:payment", "Status:       dead", "Response:     500, "] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    assert_eq!(text.lines().skip_while(|l| *l != "Attempts:").count(), 4, "a header and two attempts:\n{text}");
    let record = json(s.run(&["async", "describe", "order-42:payment", "--output", "json"]).success());
    assert_eq!((record["status"].as_str(), record["attempts"].as_array().unwrap().len()), (Some("dead"), 2));

    s.run(&["async", "retry", "order-42:payment"]).success().stderr_has("async call order-42:payment queued again");
    let record = s.gw.wait_for_status("order-42:payment", "dead", WAIT).await;
    assert_eq!(record["attempts"].as_array().unwrap().len(), 4, "two more attempts: {record:#}");

    s.gw.queue_call("payment/sleep?s=3", "order-44:payment", None).await;
    s.run(&["async", "retry", "order-44:payment"])
        .failure(1)
        .stderr_has("only succeeded and dead calls can be retried");
    s.run(&["async", "describe", "order-99"])
        .failure(1)
        .stderr_has("no async call order-99 on")
        .stderr_has("unknown, or pruned");
    s.run(&["async", "retry", "order-99"]).failure(1).stderr_has("no async call order-99 on");
    s.run(&["async", "describe", "../../etc/passwd"]).failure(1).stderr_has("invalid call id");
    s.run(&["async", "list", "--status", "lost"]).failure(2).stderr_has("unknown status \"lost\"");
    s.run(&["async", "list", "--limit", "0"]).failure(2);
    s.run(&["async", "list", "--limit", "1001"]).failure(2);
    s.run(&["async", "list", "--function", "Bad_Name"]).failure(1).stderr_has("invalid function name");
}

#[tokio::test]
async fn async_commands_need_credentials() {
    let mut s = Session::start().await;
    s.run(&["async", "list"]).failure(1).stderr_has("unauthorized").stderr_has("rfaas login");
}

#[test]
fn another_gateway_is_told_to_have_no_async_api() {
    let url = serve(|_| (404, "404 page not found\n".to_string()));
    let rfaas = Rfaas::new();
    for args in [vec!["async", "list"], vec!["async", "describe", "c1"], vec!["async", "retry", "c1"]] {
        let mut full = args.clone();
        full.extend(["-g", url.as_str()]);
        rfaas
            .run(&full)
            .failure(1)
            .stderr_has("has no async records API (GET /system/async/invocations answered 404)")
            .stderr_has("hint: only rfaas's own gateway keeps async records");
    }
    let help = rfaas.run(&["async", "--help"]);
    help.success().stdout_has("rfaas async list --status dead").stdout_has("OpenFaaS and faasd have no such API");
}
