//! order-api's input through the gateway: every bad order is a 400 naming its field (or a 413),
//! never a 500, and leaves nothing behind; an unknown order is a 404; ids and query values that
//! try path traversal or SQL are refused or matched literally; a forged step result is a 403.

use serde_json::{Value, json};

use super::stack::{OrderStack, database, order};
use crate::food_delivery::services::Mariadb;

/// Asserts the stack's error contract: `status`, JSON `{"success": false, "error": ...}` naming
/// `naming`.
#[track_caller]
fn refused(reply: &(u16, Value), status: u16, naming: &str) {
    let (got, body) = reply;
    assert_eq!(*got, status, "want {status} naming {naming:?}, got {got} {body}");
    assert_eq!(body["success"], false, "{body}");
    let error = body["error"].as_str().unwrap_or_else(|| panic!("no error in {body}"));
    assert!(error.contains(naming), "error {error:?} does not name {naming:?}");
    assert!(body["timestamp"].is_string(), "{body}");
}

#[tokio::test]
async fn bad_orders_are_refused_by_field_and_leave_nothing_behind() {
    let db = database(&Mariadb::shared());
    let stack = OrderStack::deploy(&db, &[]).await;
    let post = |body: Vec<u8>| {
        stack.send(stack.gw.http.post(stack.url("/orders")).header("content-type", "application/json").body(body))
    };

    // Malformed bodies.
    for (body, naming) in [
        (b"{".to_vec(), "not valid JSON"),
        (b"".to_vec(), "empty"),
        (b"[]".to_vec(), "must be a JSON object"),
        (b"\"order\"".to_vec(), "must be a JSON object"),
        (vec![0xff, 0xfe, 0x00], "not UTF-8"),
        (b"{\"customer\": NaN}".to_vec(), "not valid JSON"),
        ([b"[".repeat(5000), b"]".repeat(5000)].concat(), "nested deeper than"),
    ] {
        refused(&post(body).await, 400, naming);
    }
    // Huge bodies: 65 KiB of valid JSON is over order-api's limit; 4 MiB too.
    let padded = json!({"customer": {"id": "c", "name": "x".repeat(70_000), "email": "a@b.co"}});
    refused(&post(padded.to_string().into_bytes()).await, 413, "larger than the limit");
    refused(&post(vec![b' '; 4 << 20]).await, 413, "larger than the limit");

    // Wrong types and values, each named.
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let with = |key: &str, value: Value| {
        let mut o = order(&[("KB-101", 1)]);
        o[key] = value;
        o
    };
    cases.push((with("items", json!("KB-101")), "items must be an array"));
    cases.push((with("items", json!([])), "items must hold at least one item"));
    cases
        .push((with("items", json!([{"sku": "KB-101", "quantity": "2"}])), "items[0].quantity must be a whole number"));
    cases.push((with("items", json!([{"sku": "KB-101", "quantity": 2.5}])), "items[0].quantity"));
    cases.push((with("items", json!([{"sku": "KB-101", "quantity": -3}])), "items[0].quantity must be from 1"));
    cases.push((with("items", json!([{"sku": "KB-101", "quantity": 1e300}])), "items[0].quantity"));
    cases.push((with("items", json!([{"sku": "KB-101", "quantity": 99_999_999_999_999_999u64}])), "items[0].quantity"));
    cases.push((with("items", json!([{"sku": "../../etc/passwd", "quantity": 1}])), "items[0].sku"));
    cases.push((with("items", json!([{"sku": "KB-101' OR '1'='1", "quantity": 1}])), "items[0].sku"));
    cases.push((with("customer", json!("grace")), "customer must be an object"));
    cases.push((with("customer", json!({"id": "c", "name": "G", "email": "grace"})), "customer.email"));
    cases.push((with("customer", json!({"id": "c\u{0}", "name": "G", "email": "g@example.com"})), "customer.id"));
    cases.push((with("customer", json!({"name": "G", "email": "g@example.com"})), "customer.id is required"));
    cases.push((
        with("shippingAddress", json!({"line1": "x", "city": "y", "postalCode": "z", "country": 49})),
        "shippingAddress.country must be a string",
    ));
    cases.push((with("paymentMethod", json!({"type": "gold"})), "paymentMethod.type must be one of"));
    cases.push((with("paymentMethod", json!(null)), "paymentMethod is required"));
    for (body, naming) in cases {
        let reply = post(body.to_string().into_bytes()).await;
        refused(&reply, 400, naming);
        assert!(reply.1["fields"].is_array(), "{}", reply.1);
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM orders"), 0, "no refused order was stored");

    // SQL metacharacters in free text are data, stored as sent.
    let mut sneaky = order(&[("KB-101", 1)]);
    sneaky["customer"]["name"] = json!("Robert'); DROP TABLE orders; --");
    sneaky["shippingAddress"]["line1"] = json!("1 \\\" OR 1=1; -- Street 💥");
    let id = stack.place(&sneaky).await;
    let stored = stack.order(&id).await;
    assert_eq!(stored["customer"]["name"], "Robert'); DROP TABLE orders; --");
    assert_eq!(stored["shippingAddress"]["line1"], "1 \\\" OR 1=1; -- Street 💥");
    assert_eq!(db.count("SELECT COUNT(*) FROM orders"), 1);

    // Ids and query values.
    refused(&stack.get("/orders/ord-0000000000000000").await, 404, "order ord-0000000000000000 not found");
    for bad in ["..%2F..%2Fetc%2Fpasswd", "ord-1'%20OR%20'1'='1", "%00", "ORD-0000000000000000", &"a".repeat(300)] {
        let reply = stack.get(&format!("/orders/{bad}")).await;
        assert!(matches!(reply.0, 400 | 404), "GET /orders/{bad}: {reply:?}");
        assert_eq!(reply.1["success"], false, "{reply:?}");
    }
    refused(&stack.get("/orders?status=COMPLETED'%20OR%201=1").await, 400, "is not an order status");
    refused(&stack.get("/orders?limit=100000").await, 400, "limit must be a whole number from 1 to 500");
    refused(&stack.get("/orders?limit=-1").await, 400, "limit");
    refused(&stack.send(stack.gw.http.delete(stack.url("/orders"))).await, 405, "not allowed");

    // A step result that order-api did not sign changes nothing.
    let forged = stack.gw.http.post(stack.url(&format!("/orders/{id}/steps/pay?round=3&sig={}", "a".repeat(64))));
    refused(
        &stack.send(forged.header("X-Call-Id", "x").header("X-Call-Attempts", "1").body("{}")).await,
        403,
        "not signed",
    );
    let forged = stack.gw.http.post(stack.url(&format!("/orders/{id}/steps/pay/apply")));
    refused(&stack.send(forged.body("{\"callStatus\": \"succeeded\"}")).await, 400, "round");
}
