//! Many orders at once: 200 orders racing for too little stock never oversell it and all end
//! COMPLETED or OUT_OF_STOCK with the database's counts adding up; and a gateway SIGKILLed while
//! 100 orders are in flight loses none of them: after the restart every order is final, each
//! charged and emailed once.

use std::time::Duration;

use futures_util::future::join_all;

use super::stack::{BATCH_TIMEOUT, OrderStack, database, order, wait_all_final};
use crate::food_delivery::services::{Mariadb, TestDatabase};

/// Places `n` orders at once, order `i` asking for `1 + i % 3` keyboards (KB-101); the ids.
async fn place_many(stack: &OrderStack, n: usize) -> Vec<String> {
    join_all((0..n).map(|i| {
        let quantity = 1 + (i % 3) as u32;
        async move { stack.place(&order(&[("KB-101", quantity), ("CB-404", 1)])).await }
    }))
    .await
}

/// The units of KB-101 the COMPLETED orders hold.
fn completed_units(db: &TestDatabase) -> u64 {
    db.count(
        "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.status = 'COMPLETED' AND i.sku = 'KB-101'",
    )
}

#[tokio::test]
async fn two_hundred_concurrent_orders_never_oversell_limited_stock() {
    let db = database(&Mariadb::shared());
    let stack = OrderStack::deploy(&db, &[]).await;
    const STOCK: u64 = 150; // the 200 orders ask for 399 units
    db.sql(&format!("UPDATE stock SET available = {STOCK} WHERE sku = 'KB-101'"));

    let ids = place_many(&stack, 200).await;
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), 200, "ids are unique");
    wait_all_final(&db, &stack.gw, 200, BATCH_TIMEOUT).await;

    let completed = db.count("SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'");
    let short = db.count("SELECT COUNT(*) FROM orders WHERE status = 'OUT_OF_STOCK'");
    assert_eq!(completed + short, 200, "{}", db.sql("SELECT status, COUNT(*) FROM orders GROUP BY status"));
    assert!(short > 0, "the stock ran out");
    // No oversell: what was sold is what left the shelf, and the shelf never went below zero.
    let available = db.count("SELECT available FROM stock WHERE sku = 'KB-101'");
    let reserved = db.count("SELECT reserved FROM stock WHERE sku = 'KB-101'");
    assert_eq!(available + reserved, STOCK);
    assert_eq!(reserved, completed_units(&db));
    // The stock left when an order was refused could not have filled it.
    let smallest_refused = db.count(
        "SELECT MIN(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.status = 'OUT_OF_STOCK' AND i.sku = 'KB-101'",
    );
    assert!(available < smallest_refused, "{available} units left, yet an order for {smallest_refused} was refused");
    // All or nothing: the CB-404 line moved with the KB-101 line.
    assert_eq!(db.count("SELECT reserved FROM stock WHERE sku = 'CB-404'"), completed);
    // Each function's rows add up.
    assert_eq!(db.count("SELECT COUNT(*) FROM reservations WHERE status = 'RESERVED'"), completed);
    assert_eq!(db.count("SELECT COUNT(*) FROM reservations WHERE status = 'REJECTED'"), short);
    assert_eq!(db.count("SELECT COUNT(*) FROM payments WHERE status = 'CAPTURED'"), completed);
    assert_eq!(db.count("SELECT COUNT(*) FROM shipments"), completed);
    assert_eq!(db.count("SELECT COUNT(*) FROM notifications WHERE kind = 'shipped'"), completed);
    let paid = db.count("SELECT COALESCE(SUM(amount_cents), 0) FROM payments");
    let owed = db.count("SELECT COALESCE(SUM(total_cents), 0) FROM orders WHERE status = 'COMPLETED'");
    assert_eq!(paid, owed);
}

#[tokio::test]
async fn every_order_reaches_a_final_state_after_a_gateway_sigkill() {
    let db = database(&Mariadb::shared());
    let mut stack = OrderStack::deploy(&db, &[]).await;
    // Slow payments keep orders in flight long enough to be cut in the middle.
    db.sql("UPDATE payment_settings SET latency_ms = 100");
    db.sql("UPDATE stock SET available = 1000 WHERE sku = 'KB-101'");

    let ids = place_many(&stack, 100).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while db.count("SELECT COUNT(*) FROM orders WHERE status IN ('PAYING', 'FULFILLING', 'NOTIFYING', 'COMPLETED')") < 5
    {
        assert!(std::time::Instant::now() < deadline, "no order got to payment:\n{}", stack.gw.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = db.count("SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'");
    stack.gw.kill9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack.gw.relaunch().await;
    assert!(before < 100, "the gateway was killed after every order was done");
    // The restarted gateway picks up the calls the killed one had accepted.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !stack.gw.log().contains("async call(s) waiting") {
        assert!(std::time::Instant::now() < deadline, "the restarted gateway found no calls:\n{}", stack.gw.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    wait_all_final(&db, &stack.gw, 100, BATCH_TIMEOUT).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'"),
        100,
        "{}",
        db.sql("SELECT status, failure_reason, COUNT(*) FROM orders GROUP BY status, failure_reason")
    );
    // At least once underneath, exactly once where it matters.
    assert_eq!(db.count("SELECT COUNT(*) FROM payments"), 100);
    assert_eq!(db.count("SELECT COUNT(*) FROM shipments"), 100);
    assert_eq!(db.count("SELECT COUNT(*) FROM notifications"), 100);
    let units: u64 = ids.iter().enumerate().map(|(i, _)| 1 + (i % 3) as u64).sum();
    assert_eq!(db.count("SELECT reserved FROM stock WHERE sku = 'KB-101'"), units);
    assert_eq!(db.count("SELECT available FROM stock WHERE sku = 'KB-101'"), 1000 - units);
}
