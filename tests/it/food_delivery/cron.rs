//! The gateway's built-in cron connector drives auto-close-orders: deployed with a two-second
//! schedule, old orders get closed without the test invoking anything, and the function sees
//! each call as a cron-connector one (`X-Topic: cron-function` -> `trigger: cron` in its log).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::services::{Mariadb, TestDatabase};
use super::stack::FoodStack;

const FN: &str = "auto-close-orders";

fn insert_old_orders(db: &TestDatabase, prefix: &str, count: u32) {
    db.sql(&format!(
        "INSERT INTO orders (id, customer_id, status, total, delivered_at)
         SELECT CONCAT('{prefix}-', seq), 'cust-cron', 'DELIVERED', 5, NOW() - INTERVAL 3 HOUR
         FROM seq_1_to_{count}"
    ));
}

/// Polls until no order is DELIVERED any more; fails after `timeout`.
async fn wait_until_all_closed(db: &TestDatabase, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let open = db.count("SELECT COUNT(*) FROM orders WHERE status = 'DELIVERED'");
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{open} orders still DELIVERED after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_gateway_cron_closes_orders_without_an_invocation() {
    let db = TestDatabase::create(&Mariadb::shared());
    insert_old_orders(&db, "cron-a", 40);
    let mut stack = FoodStack::start(&db.stack_env()).await;
    stack.create_db_secret(&db.password);
    // The stack's own annotations (topic: cron-function), with a schedule a test can wait for.
    stack.deploy(&[FN], &["--annotation", "schedule=@every 2s"]);
    let (status, body) = stack.gw.send(stack.gw.system(Method::GET, &format!("/system/function/{FN}/schedule"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON")["schedule"], "@every 2s");

    wait_until_all_closed(&db, Duration::from_secs(20)).await;
    // And it keeps firing: orders that turn up later are closed by a later tick.
    insert_old_orders(&db, "cron-b", 5);
    wait_until_all_closed(&db, Duration::from_secs(20)).await;

    assert_eq!(db.count("SELECT COUNT(*) FROM orders WHERE closed_by = 'auto-close'"), 45);
    assert_eq!(db.value("SELECT SUM(closed_count) FROM auto_close_runs WHERE dry_run = 0 AND status = 'ok'"), "45");
    assert!(db.count("SELECT COUNT(*) FROM auto_close_runs") >= 2, "one run per tick");

    // Every run came from the cron connector: the function logs its trigger from X-Topic.
    let logs = stack.logs(FN);
    let runs: Vec<&str> = logs.lines().filter(|l| l.contains("auto-close-orders: run ")).collect();
    assert!(!runs.is_empty(), "no run in the function's log:\n{logs}");
    assert!(runs.iter().all(|l| l.contains("(cron)")), "a run not triggered by cron:\n{logs}");
    assert!(runs.iter().any(|l| l.contains("(cron): 40 orders")), "the first tick closed all 40:\n{logs}");
    let gateway = stack.gw.log();
    assert!(gateway.contains(&format!("cron {FN}.openfaas-fn: status 200")), "{gateway}");
}
