//! The food-delivery stack as a user runs it: images built by `rfaas build` (once per test run),
//! a gateway of the test's own (`support::gateway`), and `rfaas login`, `secret create`,
//! `deploy --wait`, `invoke` and `logs` against it, with the stack's `${VAR:-default}` variables
//! pointing the functions at the test's database and Redis DB. HTTP-level assertions go through
//! [`Reply`].

use std::sync::OnceLock;

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use crate::support::gateway::{TestGateway, docker};
use crate::support::{Rfaas, Run};

pub const STACK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/food-delivery");
/// Image names `rfaas-it/food-delivery/<fn>:e2e`, apart from the developer's `localhost:5000/...:latest`.
const REGISTRY: &str = "rfaas-it";
const TAG: &str = "e2e";

/// Flags that keep auto-close-orders off the gateway's cron: the stack schedules it every five
/// minutes, and a run the test did not start would close orders under its assertions.
pub const UNSCHEDULED: [&str; 2] = ["--annotation", "topic=none"];

/// `rfaas build -f stack.yaml` in the stack folder (handlers are found relative to the working
/// directory, as with faas-cli). Done once per test binary: unchanged images are skipped, so this
/// costs a second after the first run; a failure fails every test with the build's output.
fn build_images() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| crate::support::build_stack_images(STACK_DIR, REGISTRY, TAG));
    if let Err(e) = built {
        panic!("{e}");
    }
}

/// A gateway with the stack's images available and the `rfaas` CLI logged in to it.
pub struct FoodStack {
    pub gw: TestGateway,
    cli: Rfaas,
}

impl FoodStack {
    /// Builds the images (once), starts a gateway and logs in with `--password-stdin`. `env` are
    /// the variables the stack file substitutes (MYSQL_DATABASE, REDIS_DB, ...).
    pub async fn start(env: &[(String, String)]) -> FoodStack {
        docker().await;
        build_images();
        let gw = TestGateway::start().await;
        let mut cli = Rfaas::new();
        cli.env("REGISTRY", REGISTRY).env("TAG", TAG);
        for (key, value) in env {
            cli.env(key, value);
        }
        let mut stack = FoodStack { gw, cli };
        let password = stack.gw.password.clone();
        stack.rfaas(&["login", "--password-stdin"], password.as_bytes()).success();
        stack
    }

    /// `rfaas <args> -g <this gateway>` with `stdin`.
    pub fn rfaas(&mut self, args: &[&str], stdin: &[u8]) -> Run {
        let url = self.gw.url.clone();
        let mut all = args.to_vec();
        all.extend(["-g", &url]);
        self.cli.stdin(stdin).run(&all)
    }

    /// `rfaas secret create food-db-password` with the password on stdin, as the README says.
    pub fn create_db_secret(&mut self, password: &str) {
        self.rfaas(&["secret", "create", "food-db-password"], password.as_bytes()).success();
    }

    /// `rfaas deploy -f stack.yaml --regex '^(<functions>)$' --wait` plus `extra` flags.
    pub fn deploy(&mut self, functions: &[&str], extra: &[&str]) {
        let stack = format!("{STACK_DIR}/stack.yaml");
        let only = format!("^({})$", functions.join("|"));
        let mut args = vec!["deploy", "-f", &stack, "--regex", &only, "--wait"];
        args.extend(extra);
        let run = self.rfaas(&args, b"");
        run.success();
        for function in functions {
            run.stderr_has(&format!("{function} is ready"));
        }
    }

    /// `rfaas invoke <function> --content-type application/json` with a file of payloads/.
    pub fn invoke_payload(&mut self, function: &str, payload: &str) -> Run {
        let path = format!("{STACK_DIR}/payloads/{payload}");
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        self.rfaas(&["invoke", function, "--content-type", "application/json"], &body)
    }

    /// [`FoodStack::invoke_payload`], which must exit 0; what it printed, as JSON.
    pub fn invoke_json(&mut self, function: &str, payload: &str) -> Value {
        let run = self.invoke_payload(function, payload);
        run.success();
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("rfaas invoke printed no JSON ({e}): {}", run.stdout))
    }

    /// The function's log so far (`rfaas logs --tail=false`).
    pub fn logs(&mut self, function: &str) -> String {
        self.rfaas(&["logs", function, "--tail=false"], b"").success().stdout.clone()
    }

    pub fn url(&self, function: &str, path: &str) -> String {
        format!("{}/function/{function}{path}", self.gw.url)
    }

    pub async fn get(&self, function: &str, path: &str) -> Reply {
        Reply::of(self.gw.http.get(self.url(function, path))).await
    }

    pub async fn post(&self, function: &str, path: &str, body: &Value) -> Reply {
        Reply::of(self.gw.http.post(self.url(function, path)).json(body)).await
    }

    /// A POST with a body that may not be JSON at all.
    pub async fn post_raw(&self, function: &str, path: &str, content_type: &str, body: &str) -> Reply {
        let request = self.gw.http.post(self.url(function, path)).header("content-type", content_type);
        Reply::of(request.body(body.to_string())).await
    }

    pub async fn call(&self, method: Method, function: &str, path: &str) -> Reply {
        Reply::of(self.gw.http.request(method, self.url(function, path))).await
    }
}

/// A response: status, content type, and the body as JSON (`Null` when it is not JSON, which
/// the stack's contract never allows; the raw text is kept for failure messages).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn of(request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, content_type, body, text }
    }

    /// Asserts a 200 with a JSON body saying `success: true`; returns the body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "want 200, got {} {}", self.content_type, self.text);
        assert_eq!(self.body["success"], true, "{}", self.text);
        &self.body
    }

    /// Asserts the stack's error contract: `status`, a JSON body
    /// `{"success": false, "error": "<message naming the field>", "timestamp": "<ISO-8601>"}`.
    #[track_caller]
    pub fn error(&self, status: u16, naming: &str) -> &Value {
        assert_eq!(self.status, status, "want {status} naming {naming:?}, got {} {}", self.content_type, self.text);
        assert!(self.content_type.starts_with("application/json"), "not JSON: {} {}", self.content_type, self.text);
        assert_eq!(self.body["success"], false, "{}", self.text);
        let error = self.body["error"].as_str().unwrap_or_else(|| panic!("no error message: {}", self.text));
        assert!(error.contains(naming), "error {error:?} does not name {naming:?}");
        let timestamp = self.body["timestamp"].as_str().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(), "timestamp {timestamp:?} is not ISO-8601");
        &self.body
    }
}
