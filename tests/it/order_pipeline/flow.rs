//! One order through every step: placed with POST /orders, validated, reserved, paid, shipped
//! and notified, each step an async call whose callback order-api applies; the order's step
//! history, the database rows each function wrote, the invocation records in the gateway, and
//! the health routes.

use std::time::Duration;

use serde_json::Value;

use super::stack::{ORDER_TIMEOUT, OrderStack, database, order};
use crate::food_delivery::services::Mariadb;

/// The steps of a completed order in the order they were queued.
const STEPS: [&str; 5] = ["validate", "reserve", "pay", "fulfil", "notify"];

#[tokio::test]
async fn one_order_goes_through_every_step_to_completed() {
    let db = database(&Mariadb::shared());
    let mut stack = OrderStack::deploy(&db, &[]).await;

    let id = stack.place(&order(&[("KB-101", 2), ("CB-404", 3)])).await;
    let done = stack.wait_final(&id, ORDER_TIMEOUT).await;
    assert_eq!(done["status"], "COMPLETED", "{done:#}");
    assert_eq!(done["totalCents"], 2 * 8900 + 3 * 900);
    assert_eq!(done["paymentStatus"], "CAPTURED");
    assert!(done["shipment"]["trackingNumber"].as_str().is_some_and(|t| t.starts_with("SIM")), "{done:#}");
    assert!(done["completedAt"].is_string());
    assert_eq!(done["customer"]["email"], "grace@example.com");

    // The history: each step queued once and answered once, in order.
    let steps = done["steps"].as_array().expect("steps");
    let of = |event: &str| -> Vec<&str> {
        steps.iter().filter(|s| s["event"] == event).map(|s| s["step"].as_str().unwrap()).collect()
    };
    assert_eq!(of("queued"), STEPS, "{steps:#?}");
    assert_eq!(of("succeeded"), STEPS, "{steps:#?}");
    assert_eq!(steps.len(), 10, "{steps:#?}");
    for step in steps.iter().filter(|s| s["event"] == "succeeded") {
        assert_eq!(step["functionStatus"], 200);
        assert!(step["callId"].as_str().unwrap().starts_with(&format!("{id}.")));
    }

    // What each function wrote, in its own tables.
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'KB-101'"), "48/2");
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'CB-404'"), "997/3");
    assert_eq!(db.value(&format!("SELECT status FROM reservations WHERE order_id = '{id}'")), "RESERVED");
    assert_eq!(
        db.value(&format!("SELECT CONCAT(status, ' ', amount_cents) FROM payments WHERE order_id = '{id}'")),
        "CAPTURED 20500"
    );
    assert_eq!(db.count(&format!("SELECT COUNT(*) FROM shipments WHERE order_id = '{id}'")), 1);
    assert_eq!(
        db.value(&format!("SELECT CONCAT(kind, ' ', recipient) FROM notifications WHERE order_id = '{id}'")),
        "shipped grace@example.com"
    );
    let email = stack.rfaas(&["logs", "notification", "--tail=false"], b"").success().stdout.clone();
    assert!(email.contains(&format!("email to grace@example.com: 'Your order {id} is on its way'")), "{email}");

    // The gateway carried it all: every step and every callback's apply is a succeeded call.
    let records: Value = serde_json::from_str(
        &stack.rfaas(&["async", "list", "--output", "json", "--limit", "100"], b"").success().stdout,
    )
    .expect("json");
    let records = records.as_array().expect("array");
    for (step, function) in [
        ("validate", "order-validator"),
        ("reserve", "inventory"),
        ("pay", "payment"),
        ("fulfil", "fulfilment"),
        ("notify", "notification"),
    ] {
        let call =
            records.iter().find(|r| r["callId"].as_str().is_some_and(|c| c.starts_with(&format!("{id}.{step}."))));
        let call = call.unwrap_or_else(|| panic!("no {step} call in {records:#?}"));
        assert_eq!((call["function"].as_str(), call["status"].as_str()), (Some(function), Some("succeeded")));
        assert!(
            call["callbackUrl"].as_str().unwrap().contains(&format!("/function/order-api/orders/{id}/steps/{step}?"))
        );
    }
    let applies = records.iter().filter(|r| r["function"] == "order-api" && r["status"] == "succeeded").count();
    assert_eq!(applies, 5, "{records:#?}");

    // Listing and health.
    let (status, list) = stack.get("/orders?status=COMPLETED&limit=10").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["orders"][0]["orderId"], id.as_str());
    assert_eq!(stack.get("/orders?status=PAYING").await.1["count"], 0);
    let (status, health) = stack.get("/health").await;
    assert_eq!((status, health["database"].as_str()), (200, Some("up")), "{health}");
    let (status, detailed) = stack.get("/health/detailed").await;
    assert_eq!(status, 200, "{detailed}");
    assert_eq!(detailed["checks"]["database"]["status"], "up");
    assert_eq!(detailed["checks"]["gateway"]["status"], "up");
    assert_eq!(detailed["checks"]["callbackKey"]["status"], "present");
}

#[tokio::test]
async fn business_refusals_end_the_order_and_are_explained() {
    let db = database(&Mariadb::shared());
    let stack = OrderStack::deploy(&db, &[]).await;

    let unknown = stack.place(&order(&[("NOPE-1", 1)])).await;
    let retired = stack.place(&order(&[("OLD-1", 1)])).await;
    let too_many = stack.place(&order(&[("KB-101", 21)])).await;
    db.sql("UPDATE stock SET available = 1 WHERE sku = 'MS-202'");
    let short = stack.place(&order(&[("MS-202", 2), ("CB-404", 1)])).await;
    for (id, status, reason) in [
        (&unknown, "REJECTED", "sku NOPE-1 is not in the catalogue"),
        (&retired, "REJECTED", "no longer sold"),
        (&too_many, "REJECTED", "at most 20 per order"),
        (&short, "OUT_OF_STOCK", "sku MS-202: not enough stock for 2"),
    ] {
        let done = stack.wait_final(id, ORDER_TIMEOUT).await;
        assert_eq!(done["status"], status, "{done:#}");
        assert!(done["failureReason"].as_str().is_some_and(|r| r.contains(reason)), "{done:#}");
        assert_eq!(done["paymentStatus"], "NONE", "nothing was charged");
    }
    // All or nothing: the CB-404 line of the short order was not taken either.
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'CB-404'"), "1000/0");
    assert_eq!(db.value("SELECT CONCAT(available, '/', reserved) FROM stock WHERE sku = 'MS-202'"), "1/0");
    assert_eq!(db.count("SELECT COUNT(*) FROM payments"), 0);
    // Each customer is told (after the final state, so wait for the emails).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db.count("SELECT COUNT(*) FROM notifications") < 4 {
        assert!(std::time::Instant::now() < deadline, "{}", db.sql("SELECT * FROM notifications"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM notifications WHERE kind = 'rejected'"), 3);
    assert_eq!(db.count("SELECT COUNT(*) FROM notifications WHERE kind = 'out_of_stock'"), 1);
}
