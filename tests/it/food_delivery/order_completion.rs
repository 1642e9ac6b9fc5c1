//! order-completion through the gateway against a real MariaDB database: the completion
//! transaction (status, 10 loyalty points per whole currency unit, receipt, simulated email),
//! idempotency, also under 20 concurrent completions of one order, receipts, health, and JSON
//! errors: 400 naming the field, 404 unknown order, 409 conflicts.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::services::{Mariadb, TestDatabase};
use super::stack::FoodStack;

const FN: &str = "order-completion";

async fn deploy(db: &TestDatabase) -> FoodStack {
    let mut stack = FoodStack::start(&db.stack_env()).await;
    stack.create_db_secret(&db.password);
    stack.deploy(&[FN], &[]);
    stack
}

fn completion(order: &str, customer: &str, items: Value) -> Value {
    json!({"orderId": order, "customerId": customer, "customerEmail": "it@example.com", "items": items})
}

/// Waits for `needle` to appear in the function's log (the log stream lags a little behind).
async fn wait_for_log(stack: &mut FoodStack, function: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = stack.logs(function);
        if logs.contains(needle) || Instant::now() > deadline {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn order_completion_completes_orders_with_points_receipt_and_email() {
    let db = TestDatabase::create(&Mariadb::shared());
    db.load("seed.sql");
    let mut stack = deploy(&db).await;
    assert_eq!(stack.get(FN, "/health").await.ok()["database"], "up");

    let receipt = completes_the_readme_order_once(&mut stack, &db).await;
    let receipt_id = receipt["receiptId"].as_str().expect("receipt id");
    for id in [receipt_id, "ord-1001"] {
        assert_eq!(stack.get(FN, &format!("/receipt/{id}")).await.ok()["receipt"], receipt, "by {id}");
    }
    stack.get(FN, "/receipt/rcpt-unknown").await.error(404, "rcpt-unknown");
    stack.get(FN, "/receipt/bad%20id").await.error(400, "receipt id");

    points_are_ten_per_whole_currency_unit(&stack, &db).await;
    an_auto_closed_order_still_gets_its_receipt(&stack, &db).await;

    let awards = db.count("SELECT COUNT(*) FROM loyalty_transactions");
    refuses_unknown_and_conflicting_orders(&stack).await;
    rejects_bad_completions(&mut stack).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM loyalty_transactions"), awards, "a refused request awarded points");
    assert_eq!(db.value("SELECT status FROM orders WHERE id = 'ord-1004'"), "PENDING");

    // The simulated email: one log line per completed order, naming the order and nothing about
    // the customer.
    let logs = wait_for_log(&mut stack, FN, "simulated thank-you email for order ord-1001").await;
    assert_eq!(logs.matches("simulated thank-you email for order ord-1001").count(), 1, "{logs}");
    assert!(!logs.contains("it@example.com") && !logs.contains("alice@example.com"), "{logs}");

    stack.get(FN, "/").await.error(405, "GET");
    stack.get(FN, "/receipts").await.error(404, "/receipts");
    stack.get(FN, "/receipt/a/b").await.error(404, "/receipt/a/b");
}

/// The README's payload (ord-1001, 25.50) through `rfaas invoke`, twice: the first completes the
/// order in one transaction, the second returns the same receipt and awards nothing. Returns the
/// receipt.
async fn completes_the_readme_order_once(stack: &mut FoodStack, db: &TestDatabase) -> Value {
    let done = stack.invoke_json(FN, "order-completion.json");
    assert_eq!(
        (&done["alreadyCompleted"], &done["pointsAwarded"], &done["loyaltyBalance"], &done["status"]),
        (&json!(false), &json!(250), &json!(250), &json!("COMPLETED"))
    );
    assert_eq!(done["email"], json!({"sent": true, "simulated": true}));
    let receipt = &done["receipt"];
    assert_eq!(
        (&receipt["subtotal"], &receipt["total"], &receipt["pointsAwarded"]),
        (&json!(25.5), &json!(25.5), &json!(250))
    );
    assert_eq!(receipt["lines"][1], json!({"name": "Lemonade", "quantity": 2, "unitPrice": 3.25, "lineTotal": 6.5}));
    let receipt_id = receipt["receiptId"].as_str().expect("receipt id");

    let order =
        "SELECT CONCAT(status, ' ', closed_by, ' ', completed_at IS NOT NULL) FROM orders WHERE id = 'ord-1001'";
    assert_eq!(db.value(order), "COMPLETED completion 1");
    let balance = "SELECT points FROM loyalty_accounts WHERE customer_id = 'cust-42'";
    assert_eq!(db.value(balance), "250");
    let award = "SELECT CONCAT(customer_id, ' ', points) FROM loyalty_transactions WHERE order_id = 'ord-1001'";
    assert_eq!(db.value(award), "cust-42 250");
    let stored = "SELECT CONCAT(id, ' ', total, ' ', points) FROM receipts WHERE order_id = 'ord-1001'";
    assert_eq!(db.value(stored), format!("{receipt_id} 25.50 250"));

    let again = stack.invoke_json(FN, "order-completion.json");
    assert_eq!((&again["alreadyCompleted"], &again["pointsAwarded"]), (&json!(true), &json!(0)));
    assert_eq!(&again["receipt"], receipt);
    assert_eq!(db.value(balance), "250");
    receipt.clone()
}

async fn points_are_ten_per_whole_currency_unit(stack: &FoodStack, db: &TestDatabase) {
    db.sql(
        "INSERT INTO orders (id, customer_id, status, delivered_at) VALUES
         ('pts-1', 'cust-p', 'DELIVERED', NOW()), ('pts-2', 'cust-p', 'DELIVERED', NOW()),
         ('pts-3', 'cust-p', 'DELIVERED', NOW()), ('pts-4', 'cust-p', 'DELIVERED', NOW())",
    );
    // (order, items, points awarded, loyaltyBalance after): the balance comes back with the
    // upsert of the account, for a new account (pts-1), a growing one, and one left unchanged.
    let cases = [
        ("pts-1", json!([{"name": "mint", "quantity": 1, "unitPrice": 0.99}]), 0, 0),
        ("pts-2", json!([{"name": "soda", "quantity": 4, "unitPrice": 2.5}]), 100, 100),
        (
            "pts-3",
            json!([{"name": "menu", "quantity": 1, "unitPrice": 9.99},
                   {"name": "fries", "quantity": 2, "unitPrice": 5}]),
            190,
            290,
        ),
        ("pts-4", json!([{"name": "gum", "quantity": 1, "unitPrice": 0.5}]), 0, 290),
    ];
    for (order, items, points, balance) in cases {
        let reply = stack.post(FN, "/", &completion(order, "cust-p", items)).await;
        let body = reply.ok();
        assert_eq!(
            (&body["pointsAwarded"], &body["loyaltyBalance"]),
            (&json!(points), &json!(balance)),
            "{order}: {reply:?}"
        );
    }
    assert_eq!(db.value("SELECT points FROM loyalty_accounts WHERE customer_id = 'cust-p'"), "290");
    assert_eq!(db.value("SELECT SUM(points) FROM loyalty_transactions WHERE customer_id = 'cust-p'"), "290");
}

/// auto-close-orders completes orders without a receipt; completing one later still awards its
/// points and writes its receipt, and keeps `closed_by = 'auto-close'`.
async fn an_auto_closed_order_still_gets_its_receipt(stack: &FoodStack, db: &TestDatabase) {
    db.sql(
        "INSERT INTO orders (id, customer_id, status, delivered_at, completed_at, closed_by)
         VALUES ('auto-1', 'cust-a', 'COMPLETED', NOW() - INTERVAL 3 HOUR, NOW(), 'auto-close')",
    );
    let reply = stack
        .post(FN, "/", &completion("auto-1", "cust-a", json!([{"name": "x", "quantity": 3, "unitPrice": 4}])))
        .await;
    assert_eq!((&reply.ok()["alreadyCompleted"], &reply.body["pointsAwarded"]), (&json!(false), &json!(120)));
    assert_eq!(
        db.value("SELECT CONCAT(status, ' ', closed_by) FROM orders WHERE id = 'auto-1'"),
        "COMPLETED auto-close"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM receipts WHERE order_id = 'auto-1'"), 1);
}

/// 404 for an order that does not exist, 409 for a cancelled one or another customer's.
async fn refuses_unknown_and_conflicting_orders(stack: &FoodStack) {
    let one = |price: f64| json!([{"name": "x", "quantity": 1, "unitPrice": price}]);
    stack.post(FN, "/", &completion("ord-9999", "cust-42", one(1.0))).await.error(404, "ord-9999");
    let cancelled = stack.post(FN, "/", &completion("ord-1005", "cust-9", one(9.99))).await;
    assert_eq!(cancelled.error(409, "CANCELLED")["status"], "CANCELLED");
    stack.post(FN, "/", &completion("ord-1003", "cust-9", one(40.1))).await.error(409, "customerId");
}

/// Invalid bodies against ord-1004 (PENDING): each a JSON 400 naming the field.
async fn rejects_bad_completions(stack: &mut FoodStack) {
    let run = stack.invoke_payload(FN, "order-completion-invalid.json");
    run.failure(1).stderr_has("400").stderr_has("total 25.5 does not match the items");

    let valid = json!({"orderId": "ord-1004", "customerId": "cust-7", "customerEmail": "bob@example.com",
                       "items": [{"name": "Pasta", "quantity": 1, "unitPrice": 18.75}], "total": 18.75});
    let with = |pointer: &str, value: Value| {
        let mut body = valid.clone();
        *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
        body
    };
    let mut missing = valid.clone();
    missing.as_object_mut().expect("object").remove("orderId");
    // Within each item's limits, but more than the orders and receipts columns (DECIMAL(10,2))
    // can hold. A null total counts as absent: the items alone are too much.
    let mut huge = with("/items/0", json!({"name": "Caviar", "quantity": 10000, "unitPrice": 100000}));
    huge["total"] = Value::Null;
    let cases = [
        (missing, "orderId"),
        (with("/customerId", json!("has space")), "customerId"),
        (with("/customerEmail", json!("not-an-address")), "customerEmail"),
        (with("/items", json!([])), "items"),
        (with("/items", json!("Pasta")), "items"),
        (with("/items/0/quantity", json!(0)), "items[0].quantity"),
        (with("/items/0/quantity", json!(1.5)), "items[0].quantity"),
        (with("/items/0/unitPrice", json!(-1)), "items[0].unitPrice"),
        (with("/items/0/name", json!("")), "items[0].name"),
        (with("/total", json!("18.75")), "total"),
        (with("/total", json!(20)), "total"),
        (huge, "total"),
        (json!([valid.clone()]), "body"),
    ];
    for (body, field) in cases {
        stack.post(FN, "/", &body).await.error(400, field);
    }
    // Malformed JSON is the function's 400 too, not the template's plain-text body-parser error.
    for (content_type, raw) in [
        ("application/json", "{\"orderId\": "),
        ("application/json", "[1, 2"),
        ("text/plain", "not json"),
        ("application/x-www-form-urlencoded", "orderId=ord-1004"),
    ] {
        stack.post_raw(FN, "/", content_type, raw).await.error(400, "body");
    }
}

#[tokio::test]
async fn twenty_concurrent_completions_of_one_order_award_points_once() {
    let db = TestDatabase::create(&Mariadb::shared());
    db.sql(
        "INSERT INTO orders (id, customer_id, status, total, delivered_at)
         VALUES ('race-1', 'cust-r', 'DELIVERED', 33.99, NOW())",
    );
    let mut stack = deploy(&db).await;

    let body = completion("race-1", "cust-r", json!([{"name": "feast", "quantity": 1, "unitPrice": 33.99}]));
    let replies = futures_util::future::join_all((0..20).map(|_| stack.post(FN, "/", &body))).await;
    let receipts: std::collections::BTreeSet<&str> =
        replies.iter().map(|r| r.ok()["receipt"]["receiptId"].as_str().expect("receipt id")).collect();
    assert_eq!(receipts.len(), 1, "one receipt for all 20: {receipts:?}");
    let completed: Vec<&Value> = replies.iter().map(|r| &r.body).filter(|b| b["alreadyCompleted"] == false).collect();
    assert_eq!(completed.len(), 1, "exactly one request completes the order: {replies:?}");
    assert_eq!((&completed[0]["pointsAwarded"], &completed[0]["loyaltyBalance"]), (&json!(330), &json!(330)));
    let awarded: u64 = replies.iter().map(|r| r.body["pointsAwarded"].as_u64().expect("points")).sum();
    assert_eq!(awarded, 330);

    assert_eq!(db.value("SELECT points FROM loyalty_accounts WHERE customer_id = 'cust-r'"), "330");
    assert_eq!(db.count("SELECT COUNT(*) FROM loyalty_transactions WHERE order_id = 'race-1'"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM receipts WHERE order_id = 'race-1'"), 1);
    assert_eq!(db.value("SELECT status FROM orders WHERE id = 'race-1'"), "COMPLETED");
    let logs = wait_for_log(&mut stack, FN, "email for order race-1").await;
    assert_eq!(logs.matches("simulated thank-you email for order race-1").count(), 1, "one email: {logs}");
}
