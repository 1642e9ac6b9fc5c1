//! Failures the queue rides out. A payment provider that stays down: the payment call is retried
//! by the function's `com.openfaas.retry.*` policy, then dead (visible in `rfaas async list
//! --status dead`), the order ends PAYMENT_FAILED with its stock given back; once the provider
//! is back, `rfaas async retry` of that call completes the order. And MariaDB stopped while
//! orders are in flight: every step's call is retried, and the orders complete after it is back.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::stack::{BATCH_TIMEOUT, ORDER_TIMEOUT, OrderStack, database, order, wait_all_final};
use crate::food_delivery::services::{Mariadb, OwnMariadb};

#[tokio::test]
async fn a_payment_that_stays_failed_is_dead_lettered_then_retried_to_completion() {
    let db = database(&Mariadb::shared());
    let retries =
        [("PAYMENT_RETRY_ATTEMPTS", "3"), ("PAYMENT_RETRY_MIN_WAIT", "200ms"), ("PAYMENT_RETRY_MAX_WAIT", "400ms")];
    let mut stack = OrderStack::deploy(&db, &retries).await;
    db.sql("UPDATE payment_settings SET failure_rate = 1");

    let id = stack.place(&order(&[("KB-101", 4)])).await;
    let failed = stack.wait_final(&id, ORDER_TIMEOUT).await;
    assert_eq!(failed["status"], "PAYMENT_FAILED", "{failed:#}");
    let reason = failed["failureReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("status 503 after 3 attempt(s)") && reason.contains("payment provider unavailable"),
        "{reason}"
    );
    // The stock went back, and the customer was told.
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'KB-101'"), "50/0");
    assert_eq!(db.value(&format!("SELECT status FROM reservations WHERE order_id = '{id}'")), "RELEASED");
    assert_eq!(
        db.count(&format!("SELECT COUNT(*) FROM payment_attempts WHERE order_id = '{id}' AND outcome = 'failed'")),
        3
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM payments"), 0);
    let steps: Vec<(String, String)> = failed["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["event"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        steps.contains(&("pay".into(), "dead".into())) && steps.contains(&("release".into(), "succeeded".into())),
        "{steps:?}"
    );

    // The dead call, as the CLI shows it.
    let dead: Value = serde_json::from_str(
        &stack.rfaas(&["async", "list", "--status", "dead", "--output", "json"], b"").success().stdout,
    )
    .expect("json");
    let dead = dead.as_array().expect("array");
    assert_eq!(dead.len(), 1, "{dead:#?}");
    let call = dead[0]["callId"].as_str().unwrap().to_string();
    assert!(call.starts_with(&format!("{id}.pay.")), "{call}");
    assert_eq!(dead[0]["function"], "payment");
    let codes: Vec<&Value> = dead[0]["attempts"].as_array().unwrap().iter().map(|a| &a["statusCode"]).collect();
    assert_eq!(codes, [503, 503, 503]);
    let table = stack.rfaas(&["async", "list", "--status", "dead"], b"").success().stdout.clone();
    assert!(table.contains(&call) && table.contains("payment"), "{table}");

    // The provider recovers; the operator replays the dead call.
    db.sql("UPDATE payment_settings SET failure_rate = 0");
    stack.rfaas(&["async", "retry", &call], b"").success();
    let deadline = Instant::now() + ORDER_TIMEOUT;
    let done = loop {
        let now = stack.order(&id).await;
        if now["status"] == "COMPLETED" {
            break now;
        }
        assert!(Instant::now() < deadline, "{id} did not complete after the retry: {now:#}\n{}", stack.gw.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["paymentStatus"], "CAPTURED");
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'KB-101'"), "46/4");
    assert_eq!(
        db.value(&format!("SELECT CONCAT(status, ' ', amount_cents) FROM payments WHERE order_id = '{id}'")),
        "CAPTURED 35600"
    );
    let record: Value =
        serde_json::from_str(&stack.rfaas(&["async", "describe", &call, "--output", "json"], b"").success().stdout)
            .expect("json");
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["attempts"].as_array().unwrap().len(), 4, "{record:#}");
    assert!(
        stack.rfaas(&["async", "list", "--status", "dead", "--output", "json"], b"").success().stdout.trim() == "[]"
    );
}

#[tokio::test]
async fn orders_in_flight_complete_after_a_mariadb_outage() {
    let mut mariadb = OwnMariadb::launch();
    let db = database(&mariadb.server);
    let stack = OrderStack::deploy(&db, &[]).await;
    db.sql("UPDATE payment_settings SET latency_ms = 200");

    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(stack.place(&order(&[("MS-202", 1)])).await);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.count("SELECT COUNT(*) FROM orders WHERE status IN ('PAYING', 'FULFILLING', 'NOTIFYING', 'COMPLETED')")
        == 0
    {
        assert!(Instant::now() < deadline, "no order got to payment:\n{}", stack.gw.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mariadb.stop();

    // While it is down: order-api says so, the gateway is fine, and new orders are refused (503).
    let (status, health) = stack.get("/health/detailed").await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["checks"]["database"]["status"], "down");
    assert_eq!(health["checks"]["gateway"]["status"], "up");
    let (status, refused) = stack.send(stack.gw.http.post(stack.url("/orders")).json(&order(&[("MS-202", 1)]))).await;
    assert_eq!((status, refused["error"].as_str()), (503, Some("database unavailable")), "{refused}");
    // The steps in flight are being retried by the queue.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let retrying = stack.gw.invocations("status=failed&limit=200").await;
        if !retrying.as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no call is waiting to be retried:\n{}", stack.gw.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    mariadb.start();

    wait_all_final(&db, &stack.gw, 10, BATCH_TIMEOUT).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'"),
        10,
        "{}",
        db.sql("SELECT id, status, failure_reason FROM orders")
    );
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'MS-202'"), "190/10");
    assert_eq!(db.count("SELECT COUNT(*) FROM payments"), 10);
    // Some call took more than one attempt to get through.
    let all = stack.gw.invocations("limit=500").await;
    let retried =
        all.as_array().unwrap().iter().filter(|r| r["attempts"].as_array().is_some_and(|a| a.len() > 1)).count();
    assert!(retried > 0, "no call was retried");
    for id in &ids {
        assert_eq!(stack.order(id).await["status"], "COMPLETED");
    }
}
