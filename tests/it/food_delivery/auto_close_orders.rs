//! auto-close-orders through the gateway against a real MariaDB database: runs with
//! `{dryRun, thresholdHours, batchSize}`, manual close, statistics, health and JSON errors, and
//! two concurrent runs over 1,000 old orders closing each order exactly once.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::services::{Mariadb, TestDatabase};
use super::stack::{FoodStack, UNSCHEDULED};

const FN: &str = "auto-close-orders";

async fn deploy(db: &TestDatabase, env: &[(&str, &str)]) -> FoodStack {
    let mut vars = db.stack_env();
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut stack = FoodStack::start(&vars).await;
    stack.create_db_secret(&db.password);
    stack.deploy(&[FN], &UNSCHEDULED);
    stack
}

fn ids(run: &Value) -> Vec<&str> {
    run["closedOrderIds"].as_array().expect("closedOrderIds").iter().map(|v| v.as_str().expect("id")).collect()
}

#[tokio::test]
async fn auto_close_orders_runs_closes_by_hand_and_reports() {
    let db = TestDatabase::create(&Mariadb::shared());
    // seed.sql: ord-1001 delivered 3 h ago, ord-1002 30 min ago, ord-1003 5 h ago, ord-1004
    // PENDING, ord-1005 CANCELLED.
    db.load("seed.sql");
    let mut stack = deploy(&db, &[("BATCH_SIZE", "50")]).await;
    assert_eq!(stack.get(FN, "/health").await.ok()["database"], "up");

    let stats = stack.get(FN, "/stats").await;
    let stats = stats.ok();
    assert_eq!(stats["ordersByStatus"]["DELIVERED"], 3);
    assert_eq!(
        (&stats["totalOrders"], &stats["eligibleForAutoClose"], &stats["lastRun"]),
        (&json!(5), &json!(2), &Value::Null)
    );

    runs_close_old_delivered_orders(&mut stack, &db).await;
    closes_by_hand_only_delivered_orders(&stack, &db).await;

    let stats = stack.get(FN, "/stats").await;
    let stats = stats.ok();
    assert_eq!((&stats["ordersByStatus"]["COMPLETED"], &stats["eligibleForAutoClose"]), (&json!(3), &json!(0)));
    let last = &stats["lastRun"];
    assert_eq!((&last["closedCount"], &last["dryRun"], &last["status"]), (&json!(0), &json!(false), &json!("ok")));
    let runs = "SELECT GROUP_CONCAT(CONCAT(closed_count, ':', status) ORDER BY id) FROM auto_close_runs";
    assert_eq!(db.value(runs), "2:ok,1:ok,1:ok,0:ok,0:ok");

    rejects_bad_run_options(&stack).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM auto_close_runs"), 5, "a rejected request started a run");

    stack.get(FN, "/").await.error(405, "GET");
    stack.get(FN, "/nowhere").await.error(404, "/nowhere");
}

/// A dry run, a run with options, one with the defaults, an empty one and a cron-style one
/// (five runs recorded in auto_close_runs).
async fn runs_close_old_delivered_orders(stack: &mut FoodStack, db: &TestDatabase) {
    // A dry run (the README's payload) reports, oldest delivery first, and changes nothing.
    let dry = stack.invoke_json(FN, "auto-close-orders.json");
    assert_eq!((&dry["dryRun"], &dry["closedCount"], &dry["batches"]), (&json!(true), &json!(2), &json!(1)));
    assert_eq!(ids(&dry), ["ord-1003", "ord-1001"]);
    assert_eq!(db.count("SELECT COUNT(*) FROM orders WHERE status = 'DELIVERED'"), 3);

    let older = stack.post(FN, "/", &json!({"thresholdHours": 4, "batchSize": 10})).await;
    let older = older.ok();
    assert_eq!((ids(older), &older["batchSize"], &older["trigger"]), (vec!["ord-1003"], &json!(10), &json!("http")));
    let closed =
        "SELECT CONCAT(status, ' ', closed_by, ' ', completed_at IS NOT NULL) FROM orders WHERE id = 'ord-1003'";
    assert_eq!(db.value(closed), "COMPLETED auto-close 1");

    // `{}` means the defaults: AUTO_CLOSE_TIME_HOURS (2) and BATCH_SIZE (50, set at deploy).
    let run = stack.invoke_json(FN, "auto-close.json");
    assert_eq!((ids(&run), &run["thresholdHours"], &run["batchSize"]), (vec!["ord-1001"], &json!(2.0), &json!(50)));
    assert_eq!((&run["complete"], &run["closedOrderIdsTruncated"]), (&json!(true), &json!(false)));
    let empty = stack.post_raw(FN, "/", "text/plain", "").await;
    assert_eq!((&empty.ok()["closedCount"], &empty.body["batches"]), (&json!(0), &json!(0)));

    // X-Topic marks a cron-connector call.
    let cron = stack.rfaas(&["invoke", FN, "-H", "X-Topic: cron-function"], b"");
    assert_eq!(serde_json::from_str::<Value>(&cron.success().stdout).expect("JSON")["trigger"], "cron");
}

async fn closes_by_hand_only_delivered_orders(stack: &FoodStack, db: &TestDatabase) {
    let manual = stack.post(FN, "/manual-close/ord-1002", &json!({})).await;
    assert_eq!((&manual.ok()["closedBy"], &manual.body["status"]), (&json!("manual"), &json!("COMPLETED")));
    assert_eq!(db.value("SELECT CONCAT(status, ' ', closed_by) FROM orders WHERE id = 'ord-1002'"), "COMPLETED manual");
    for (order, status) in [("ord-1002", "COMPLETED"), ("ord-1004", "PENDING"), ("ord-1005", "CANCELLED")] {
        let conflict = stack.post(FN, &format!("/manual-close/{order}"), &json!({})).await;
        assert_eq!(conflict.error(409, order)["status"], status);
    }
    stack.post(FN, "/manual-close/ord-0000", &json!({})).await.error(404, "ord-0000");
    stack.post(FN, "/manual-close/bad%20id", &json!({})).await.error(400, "orderId");
    stack.get(FN, "/manual-close/ord-1002").await.error(405, "GET");
}

async fn rejects_bad_run_options(stack: &FoodStack) {
    for (body, field) in [
        (json!({"batchSize": 0}), "batchSize"),
        (json!({"batchSize": 2.5}), "batchSize"),
        (json!({"batchSize": 10001}), "batchSize"),
        (json!({"batchSize": "10"}), "batchSize"),
        (json!({"thresholdHours": 0}), "thresholdHours"),
        (json!({"thresholdHours": -1}), "thresholdHours"),
        (json!({"thresholdHours": "2"}), "thresholdHours"),
        (json!({"thresholdHours": 1e9}), "thresholdHours"),
        (json!({"dryRun": "yes"}), "dryRun"),
        (json!([]), "body"),
    ] {
        stack.post(FN, "/", &body).await.error(400, field);
    }
    stack.post_raw(FN, "/", "application/json", "{\"dryRun\": ").await.error(400, "body");
}

#[tokio::test]
async fn two_concurrent_runs_close_1000_orders_exactly_once() {
    let db = TestDatabase::create(&Mariadb::shared());
    let stack = deploy(&db, &[]).await;
    // Small batches make each run a hundred transactions long, so the two runs interleave. Should
    // one run still finish before the other starts (a loaded machine), the round proves less:
    // try again with fresh orders, up to three times.
    for round in 1..=3 {
        db.sql(&format!(
            "INSERT INTO orders (id, customer_id, status, total, delivered_at)
             SELECT CONCAT('r{round}-', seq), 'cust-bulk', 'DELIVERED', 10,
                    NOW() - INTERVAL 3 HOUR - INTERVAL seq SECOND
             FROM seq_1_to_1000"
        ));
        let body = json!({"batchSize": 10});
        let (a, b) = tokio::join!(stack.post(FN, "/", &body), stack.post(FN, "/", &body));
        let (a, b) = (a.ok(), b.ok());
        let counts = [a["closedCount"].as_u64().expect("count"), b["closedCount"].as_u64().expect("count")];
        assert_eq!(counts[0] + counts[1], 1000, "{a}\n{b}");
        let (ids_a, ids_b): (BTreeSet<&str>, BTreeSet<&str>) =
            (ids(a).into_iter().collect(), ids(b).into_iter().collect());
        assert_eq!((ids_a.len() as u64, ids_b.len() as u64), (counts[0], counts[1]), "each run lists what it closed");
        assert!(ids_a.is_disjoint(&ids_b), "both runs closed {:?}", ids_a.intersection(&ids_b).collect::<Vec<_>>());
        let all: BTreeSet<String> = ids_a.union(&ids_b).map(|s| s.to_string()).collect();
        assert_eq!(all, (1..=1000).map(|i| format!("r{round}-{i}")).collect::<BTreeSet<_>>());
        assert!(a["complete"] == true && b["complete"] == true);

        let closed = format!(
            "SELECT COUNT(*) FROM orders
             WHERE id LIKE 'r{round}-%' AND status = 'COMPLETED' AND closed_by = 'auto-close'"
        );
        assert_eq!(db.count(&closed), 1000);
        assert_eq!(db.count("SELECT COUNT(*) FROM orders WHERE status = 'DELIVERED'"), 0);
        let runs = db.value(
            "SELECT SUM(closed_count) FROM (SELECT closed_count FROM auto_close_runs ORDER BY id DESC LIMIT 2) AS last",
        );
        assert_eq!(runs, "1000");
        if counts[0] > 0 && counts[1] > 0 {
            return;
        }
    }
    panic!("in three rounds one run always finished before the other began: nothing ran concurrently");
}
