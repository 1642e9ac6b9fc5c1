//! The order pipeline as a user runs it: images built by `rfaas build` (once per test binary), a
//! gateway of the test's own, `rfaas login`, `secret create` and `deploy --wait` against it, with
//! the stack's `${VAR:-default}` variables pointing the functions at the test's database and at
//! that gateway (GATEWAY_URL: the functions queue each next step there).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::food_delivery::services::{Mariadb, TestDatabase};
use crate::support::gateway::{TestGateway, docker};
use crate::support::{Rfaas, Run};

pub const STACK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/order-pipeline");
/// Image names `rfaas-it/order-pipeline/<fn>:e2e`, apart from the developer's `localhost:5000/...`.
const REGISTRY: &str = "rfaas-it";
const TAG: &str = "e2e";
pub const FUNCTIONS: [&str; 6] = ["order-api", "order-validator", "inventory", "payment", "fulfilment", "notification"];
/// How long one order may take to reach its final state, and a batch of orders all of theirs:
/// far more than they take (seconds), for a CI machine that runs every suite at once.
pub const ORDER_TIMEOUT: Duration = Duration::from_secs(120);
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(300);
/// The statuses an order ends in.
pub const FINAL: [&str; 5] = ["COMPLETED", "REJECTED", "OUT_OF_STOCK", "PAYMENT_FAILED", "FAILED"];

/// `rfaas build -f stack.yaml` in the stack folder, once per test binary (unchanged images are
/// skipped); a failure fails every test with the build's output.
fn build_images() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| crate::support::build_stack_images(STACK_DIR, REGISTRY, TAG));
    if let Err(e) = built {
        panic!("{e}");
    }
}

/// The catalogue the tests order from: `(sku, price in cents, stock)`.
pub const CATALOGUE: [(&str, u32, u32); 3] = [("KB-101", 8900, 50), ("MS-202", 2900, 200), ("CB-404", 900, 1000)];

/// A test's database: the stack's schema, the catalogue above, and the payment simulation's
/// settings row (failure rate 0, latency 0).
pub fn database(server: &Mariadb) -> TestDatabase {
    let db = TestDatabase::create_for(server, "orders_it", STACK_DIR);
    let products: Vec<String> = CATALOGUE.iter().map(|(s, p, _)| format!("('{s}', '{s}', {p}, TRUE)")).collect();
    let stock: Vec<String> = CATALOGUE.iter().map(|(s, _, n)| format!("('{s}', {n})")).collect();
    db.sql(&format!(
        "INSERT INTO products (sku, name, price_cents, active) VALUES {}, ('OLD-1', 'old', 100, FALSE);
         INSERT INTO stock (sku, available) VALUES {}, ('OLD-1', 5);
         INSERT INTO payment_settings (id, failure_rate, latency_ms) VALUES (1, 0, 0);",
        products.join(", "),
        stock.join(", ")
    ));
    db
}

/// The deployed stack and the CLI logged in to its gateway.
pub struct OrderStack {
    pub gw: TestGateway,
    cli: Rfaas,
}

impl OrderStack {
    /// Builds the images (once), starts a gateway on a port it keeps across restarts, logs in,
    /// creates the two secrets and deploys the six functions with `env` on top of the test's
    /// database settings.
    pub async fn deploy(db: &TestDatabase, env: &[(&str, &str)]) -> OrderStack {
        docker().await;
        build_images();
        let gw = TestGateway::start_on_fixed_port(&[], &[]).await;
        let mut cli = Rfaas::new();
        cli.env("REGISTRY", REGISTRY).env("TAG", TAG).env("GATEWAY_URL", &gw.url);
        for (key, value) in db.stack_env() {
            cli.env(&key, &value);
        }
        for (key, value) in env {
            cli.env(key, value);
        }
        let mut stack = OrderStack { gw, cli };
        let password = stack.gw.password.clone();
        stack.rfaas(&["login", "--password-stdin"], password.as_bytes()).success();
        stack.rfaas(&["secret", "create", "orders-db-password"], db.password.as_bytes()).success();
        stack
            .rfaas(&["secret", "create", "orders-callback-key"], crate::food_delivery::services::unique().as_bytes())
            .success();
        let file = format!("{STACK_DIR}/stack.yaml");
        let run = stack.rfaas(&["deploy", "-f", &file, "--wait"], b"");
        run.success();
        for function in FUNCTIONS {
            run.stderr_has(&format!("{function} is ready"));
        }
        stack
    }

    /// `rfaas <args> -g <this gateway>` with `stdin`.
    pub fn rfaas(&mut self, args: &[&str], stdin: &[u8]) -> Run {
        let url = self.gw.url.clone();
        let mut all = args.to_vec();
        all.extend(["-g", &url]);
        self.cli.stdin(stdin).run(&all)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/function/order-api{path}", self.gw.url)
    }

    /// `(status, JSON body)` of a request to order-api (`Null` when the body is not JSON).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.gw.http.get(self.url(path))).await
    }

    /// POST /orders; panics unless it is accepted (202); the order id.
    pub async fn place(&self, order: &Value) -> String {
        let (status, body) = self.send(self.gw.http.post(self.url("/orders")).json(order)).await;
        assert_eq!(status, 202, "POST /orders: {body}\n{}", self.gw.log());
        assert_eq!(body["status"], "VALIDATING", "{body}");
        body["orderId"].as_str().expect("orderId").to_string()
    }

    /// GET /orders/{id}: the order (panics unless 200).
    pub async fn order(&self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/orders/{id}")).await;
        assert_eq!(status, 200, "GET /orders/{id}: {body}");
        body["order"].clone()
    }

    /// Waits until the order is in a final state; returns it.
    pub async fn wait_final(&self, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let order = self.order(id).await;
            if order["final"] == true {
                return order;
            }
            assert!(Instant::now() < deadline, "{id} is not final after {timeout:?}: {order:#}\n{}", self.gw.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// An order of `items` (`(sku, quantity)`) from a customer that passes every check.
pub fn order(items: &[(&str, u32)]) -> Value {
    let items: Vec<Value> = items.iter().map(|(sku, n)| json!({"sku": sku, "quantity": n})).collect();
    json!({
        "customer": {"id": "cust-42", "name": "Grace Hopper", "email": "grace@example.com"},
        "items": items,
        "shippingAddress": {"line1": "1 Harbour Way", "city": "Hamburg", "postalCode": "20457", "country": "DE"},
        "paymentMethod": {"type": "card"}
    })
}

/// Waits until no order of `db` is outside a final state (polling the database, which is
/// cheaper than asking order-api for each); fails with the stragglers and the gateway log.
pub async fn wait_all_final(db: &TestDatabase, gw: &TestGateway, expected: usize, timeout: Duration) {
    let finals = FINAL.map(|s| format!("'{s}'")).join(", ");
    let deadline = Instant::now() + timeout;
    loop {
        let total = db.count("SELECT COUNT(*) FROM orders");
        let open = db.count(&format!("SELECT COUNT(*) FROM orders WHERE status NOT IN ({finals})"));
        if total as usize == expected && open == 0 {
            return;
        }
        if Instant::now() > deadline {
            let stuck = db.sql(&format!("SELECT id, status FROM orders WHERE status NOT IN ({finals}) LIMIT 10"));
            panic!("{open} of {total} orders are not final after {timeout:?}:\n{stuck}\n{}", gw.log());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
