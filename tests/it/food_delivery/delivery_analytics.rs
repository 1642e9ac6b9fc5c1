//! delivery-analytics through the gateway against real Redis: scoring, duplicates (also when
//! posted concurrently), driver and platform statistics, health, and a JSON 400 naming the field
//! for every kind of bad input.

use serde_json::{Value, json};

use super::services::RedisDb;
use super::stack::FoodStack;

const FN: &str = "delivery-analytics";

fn env(redis: &RedisDb) -> Vec<(String, String)> {
    [
        ("REDIS_HOST", "127.0.0.1".to_string()),
        ("REDIS_PORT", redis.port.to_string()),
        ("REDIS_DB", redis.db.to_string()),
        // Not the default, to see the stack's substitution reach the function.
        ("DELIVERY_TTL_SECONDS", "3600".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[tokio::test]
async fn delivery_analytics_scores_deliveries_and_serves_statistics() {
    let redis = RedisDb::claim_shared();
    let mut stack = FoodStack::start(&env(&redis)).await;
    stack.deploy(&[FN], &[]);

    let health = stack.get(FN, "/health").await;
    assert_eq!(health.ok()["redis"], "up");
    let logs = stack.logs(FN);
    assert!(logs.contains("handler_concurrency=2)"), "the stack's handler_concurrency reaches the runtime: {logs}");

    scores_the_readme_payloads(&mut stack, &redis);
    rejects_bad_deliveries(&stack).await;

    let expected = json!({
        "success": true, "driverId": "drv-7", "deliveries": 2, "averageScore": 88.2, "onTimeCount": 1,
        "onTimeRate": 0.5, "totalDistanceKm": 6.5, "averageDeliveryTimeSeconds": 1710.0,
        "averageRating": 4.0, "ratingCount": 1,
    });
    for path in ["/stats/driver?driverId=drv-7", "/stats/driver/drv-7"] {
        let stats = stack.get(FN, path).await;
        assert!(stats.ok()["lastDeliveryAt"].is_string(), "{stats:?}");
        assert_eq!(without(&stats.body, "lastDeliveryAt"), expected, "{path}");
    }
    stack.get(FN, "/stats/driver?driverId=drv-unknown").await.error(404, "drv-unknown");
    stack.get(FN, "/stats/driver").await.error(400, "driverId");
    stack.get(FN, "/stats/driver?driverId=").await.error(400, "driverId");
    stack.get(FN, "/stats/driver?driverId=bad%20id").await.error(400, "driverId");

    concurrent_duplicates_count_once(&stack).await;

    let platform = stack.get(FN, "/stats/platform").await;
    let platform = platform.ok();
    assert_eq!((platform["drivers"].as_u64(), platform["deliveries"].as_u64()), (Some(2), Some(3)), "{platform}");
    assert_eq!(redis.cli(&["SCARD", "platform:drivers"]).trim(), "2");

    extreme_values_are_refused_or_scored(&stack).await;

    stack.get(FN, "/nowhere").await.error(404, "/nowhere");
    stack.call(reqwest::Method::DELETE, FN, "/health").await.error(405, "DELETE");
    stack.get(FN, "/").await.error(405, "GET");
}

/// The README's payloads through `rfaas invoke`, as the README runs them: the worked example,
/// the same delivery again, the required fields only, and the invalid one.
fn scores_the_readme_payloads(stack: &mut FoodStack, redis: &RedisDb) {
    let scored = stack.invoke_json(FN, "delivery-analytics.json");
    assert_eq!(scored["score"], 76.5);
    assert_eq!(scored["components"], json!({"onTime": 0.8571, "speed": 0.5571, "rating": 0.75}));
    assert_eq!((scored["onTime"].as_bool(), scored["delaySeconds"].as_f64()), (Some(false), Some(300.0)));
    assert_eq!(scored["duplicate"], false);
    let ttl: i64 = redis.cli(&["TTL", "delivery:del-5001"]).trim().parse().expect("ttl");
    assert!((3000..=3600).contains(&ttl), "DELIVERY_TTL_SECONDS=3600 reaches the function: ttl {ttl}");

    // Posting the same delivery again answers the stored result and counts nothing twice.
    let again = stack.invoke_json(FN, "delivery-analytics.json");
    assert_eq!((again["duplicate"].as_bool(), &again["recordedAt"]), (Some(true), &scored["recordedAt"]));

    // Required fields only: no rating, no distance -> the on-time component alone.
    let minimal = stack.invoke_json(FN, "delivery-minimal.json");
    assert_eq!(minimal["score"], 100.0);
    assert_eq!(minimal["components"], json!({"onTime": 1.0, "speed": null, "rating": null}));

    let invalid = stack.invoke_payload(FN, "delivery-invalid.json");
    invalid.failure(1).stderr_has("400").stderr_has("actualDeliveryTime");
}

/// Every invalid body gets a JSON 400 naming the field, and changes no aggregate.
async fn rejects_bad_deliveries(stack: &FoodStack) {
    let valid = json!({"deliveryId": "del-x", "orderId": "ord-x", "driverId": "drv-x",
                       "estimatedDeliveryTime": 600, "actualDeliveryTime": 700});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let mut missing = valid.clone();
    missing.as_object_mut().expect("object").remove("driverId");
    let cases = [
        (missing, "driverId"),
        (with("deliveryId", json!("")), "deliveryId"),
        (with("deliveryId", json!(true)), "deliveryId"),
        (with("orderId", json!("spaces are not allowed")), "orderId"),
        (with("driverId", json!("x".repeat(129))), "driverId"),
        (with("estimatedDeliveryTime", json!("600")), "estimatedDeliveryTime"),
        (with("estimatedDeliveryTime", json!(0)), "estimatedDeliveryTime"),
        (with("actualDeliveryTime", json!(-5)), "actualDeliveryTime"),
        (with("distanceKm", json!(-0.5)), "distanceKm"),
        (with("customerRating", json!(6)), "customerRating"),
        (with("customerRating", json!(0.5)), "customerRating"),
        (json!([valid.clone()]), "body"),
    ];
    for (body, field) in cases {
        stack.post(FN, "/", &body).await.error(400, field);
    }
    for (content_type, raw) in [("application/json", "{not json"), ("application/json", ""), ("text/plain", "12")] {
        stack.post_raw(FN, "/", content_type, raw).await.error(400, "body");
    }
    stack.get(FN, "/stats/driver?driverId=drv-x").await.error(404, "drv-x");
}

/// Values no delivery has. Without limits, Redis' HINCRBYFLOAT refused sums that overflow to
/// infinity (a 500, after MULTI/EXEC had applied the other commands), and a pace that underflows
/// to 0 divided by zero.
async fn extreme_values_are_refused_or_scored(stack: &FoodStack) {
    let base = json!({"orderId": "ord-x", "driverId": "drv-huge", "estimatedDeliveryTime": 600,
                      "actualDeliveryTime": 700, "distanceKm": 2});
    for (i, field) in
        ["actualDeliveryTime", "actualDeliveryTime", "estimatedDeliveryTime", "distanceKm"].iter().enumerate()
    {
        let mut body = base.clone();
        body["deliveryId"] = json!(format!("del-huge-{i}"));
        body[field] = json!(1e308);
        stack.post(FN, "/", &body).await.error(400, field);
    }
    stack.get(FN, "/stats/driver/drv-huge").await.error(404, "drv-huge");
    let mut tiny = base.clone();
    tiny["deliveryId"] = json!("del-tiny");
    tiny["actualDeliveryTime"] = json!(5e-324);
    tiny["distanceKm"] = json!(1000);
    let scored = stack.post(FN, "/", &tiny).await;
    assert_eq!(scored.ok()["components"]["speed"], 1.0);
}

/// Ten concurrent posts of one new delivery: one records it, nine see the duplicate (the Lua
/// script checks and writes atomically), and the driver's count goes up by one.
async fn concurrent_duplicates_count_once(stack: &FoodStack) {
    let body = json!({"deliveryId": "del-race", "orderId": "ord-race", "driverId": "drv-race",
                      "estimatedDeliveryTime": 900, "actualDeliveryTime": 800, "customerRating": 5});
    let posts = (0..10).map(|_| stack.post(FN, "/", &body));
    let replies = futures_util::future::join_all(posts).await;
    let fresh = replies.iter().filter(|r| r.ok()["duplicate"] == false).count();
    assert_eq!(fresh, 1, "{replies:?}");
    let stats = stack.get(FN, "/stats/driver?driverId=drv-race").await;
    assert_eq!(stats.ok()["deliveries"], 1);
}

fn without(value: &Value, key: &str) -> Value {
    let mut value = value.clone();
    value.as_object_mut().expect("object").remove(key);
    value
}
