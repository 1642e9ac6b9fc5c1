//! The functions ride out restarts of their backing services: while Redis or MariaDB is down
//! the functions that need it answer a JSON 503 (and the others carry on), and once it is back
//! they answer 200 again without being redeployed. The test runs its own redis-server and
//! mariadbd so that stopping them disturbs no one.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::services::{OwnMariadb, OwnRedis, TestDatabase};
use super::stack::{FoodStack, Reply, UNSCHEDULED};

const ANALYTICS: &str = "delivery-analytics";
const COMPLETION: &str = "order-completion";
const AUTO_CLOSE: &str = "auto-close-orders";

fn delivery(id: &str) -> serde_json::Value {
    json!({"deliveryId": id, "orderId": "ord-1", "driverId": "drv-1",
           "estimatedDeliveryTime": 600, "actualDeliveryTime": 600})
}

fn completion(order: &str, customer: &str, price: f64) -> serde_json::Value {
    json!({"orderId": order, "customerId": customer, "customerEmail": "it@example.com",
           "items": [{"name": "x", "quantity": 1, "unitPrice": price}]})
}

/// GETs `path` until it answers 200 (the first request after a restart may still meet the
/// service warming up); fails after 20 s with the last reply.
async fn healthy_again(stack: &FoodStack, function: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = stack.get(function, "/health").await;
        if reply.status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "{function} still unhealthy: {reply:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[track_caller]
fn unavailable(reply: &Reply, service: &str) {
    reply.error(503, &format!("{service} unavailable"));
}

#[tokio::test]
async fn functions_answer_503_while_redis_or_mariadb_is_down_and_recover() {
    let mut redis = OwnRedis::launch();
    let mut mariadb = OwnMariadb::launch();
    let db = TestDatabase::create(&mariadb.server);
    db.load("seed.sql");
    let mut env = db.stack_env();
    env.extend([("REDIS_PORT".to_string(), redis.port.to_string()), ("REDIS_DB".to_string(), "0".to_string())]);
    let mut stack = FoodStack::start(&env).await;
    stack.create_db_secret(&db.password);
    stack.deploy(&[ANALYTICS, COMPLETION, AUTO_CLOSE], &UNSCHEDULED);
    for function in [ANALYTICS, COMPLETION, AUTO_CLOSE] {
        stack.get(function, "/health").await.ok();
    }
    stack.post(ANALYTICS, "/", &delivery("del-1")).await.ok();
    let receipt = stack.post(COMPLETION, "/", &completion("ord-1001", "cust-42", 25.5)).await;
    let receipt_id = receipt.ok()["receipt"]["receiptId"].clone();

    // Redis down: only delivery-analytics is affected.
    redis.stop();
    let health = stack.get(ANALYTICS, "/health").await;
    unavailable(&health, "redis");
    assert_eq!(health.body["redis"], "down");
    unavailable(&stack.post(ANALYTICS, "/", &delivery("del-2")).await, "redis");
    unavailable(&stack.get(ANALYTICS, "/stats/platform").await, "redis");
    unavailable(&stack.get(ANALYTICS, "/stats/driver?driverId=drv-1").await, "redis");
    stack.get(COMPLETION, "/health").await.ok();
    stack.get(AUTO_CLOSE, "/health").await.ok();

    redis.start();
    healthy_again(&stack, ANALYTICS).await;
    stack.post(ANALYTICS, "/", &delivery("del-2")).await.ok();
    // A restarted Redis without persistence starts empty: del-1 is gone, del-2 counted once.
    assert_eq!(stack.get(ANALYTICS, "/stats/platform").await.ok()["deliveries"], 1);

    // MariaDB down: both MySQL functions answer 503 on every route that needs it.
    mariadb.stop();
    let health = stack.get(COMPLETION, "/health").await;
    unavailable(&health, "database");
    assert_eq!(health.body["database"], "down");
    unavailable(&stack.post(COMPLETION, "/", &completion("ord-1003", "cust-7", 40.1)).await, "database");
    unavailable(&stack.get(COMPLETION, "/receipt/ord-1001").await, "database");
    let health = stack.get(AUTO_CLOSE, "/health").await;
    unavailable(&health, "database");
    assert_eq!(health.body["database"], "down");
    unavailable(&stack.post(AUTO_CLOSE, "/", &json!({})).await, "database");
    unavailable(&stack.post(AUTO_CLOSE, "/manual-close/ord-1002", &json!({})).await, "database");
    unavailable(&stack.get(AUTO_CLOSE, "/stats").await, "database");
    stack.get(ANALYTICS, "/health").await.ok();

    mariadb.start();
    healthy_again(&stack, COMPLETION).await;
    healthy_again(&stack, AUTO_CLOSE).await;
    let receipt = stack.get(COMPLETION, "/receipt/ord-1001").await;
    assert_eq!(receipt.ok()["receipt"]["receiptId"], receipt_id, "the receipt survived the restart");
    let completed = stack.post(COMPLETION, "/", &completion("ord-1003", "cust-7", 40.1)).await;
    assert_eq!(completed.ok()["pointsAwarded"], 400);
    // ord-1003 is completed now; of the seed's old DELIVERED orders none is left to close.
    let run = stack.post(AUTO_CLOSE, "/", &json!({})).await;
    assert_eq!(run.ok()["closedCount"], 0);
    let manual = stack.call(Method::POST, AUTO_CLOSE, "/manual-close/ord-1002").await;
    assert_eq!(manual.ok()["closedBy"], "manual");
    assert_eq!(db.count("SELECT COUNT(*) FROM orders WHERE status = 'COMPLETED'"), 3);
}
