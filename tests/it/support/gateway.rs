//! The real `rfaas gateway` as a child process with its own state directory, real Docker, and
//! the test function image (`support/echo/`), built once from `debian:bookworm-slim`.
//! Dropping a [`TestGateway`] kills the process and removes every container it labelled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

const HINT: &str = "run `sudo bash tests/env/setup.sh` to start the Docker engine and test services";
const DOCKERFILE: &str = include_str!("echo/Dockerfile");
const SERVER: &str = include_str!("echo/server.py");

/// A Docker client, or a failed test that says how to start Docker.
pub async fn docker() -> bollard::Docker {
    let docker = bollard::Docker::connect_with_local_defaults()
        .unwrap_or_else(|e| panic!("cannot create a Docker client ({e}): {HINT}"));
    let docker = docker.negotiate_version().await.unwrap_or_else(|e| panic!("Docker is not answering ({e}): {HINT}"));
    docker.ping().await.unwrap_or_else(|e| panic!("Docker is not answering ({e}): {HINT}"));
    docker
}

static IMAGES: tokio::sync::OnceCell<(String, String)> = tokio::sync::OnceCell::const_new();

/// The echo image and a second version of it (`ECHO_VERSION=2`), built once per content hash.
pub async fn echo_images() -> (String, String) {
    IMAGES
        .get_or_init(|| async {
            use md5::Digest;
            let docker = docker().await;
            let hash = hex::encode(md5::Md5::digest(format!("{DOCKERFILE}\n{SERVER}")));
            let v1 = format!("rfaas-test/echo:{}", &hash[..12]);
            let v2 = format!("rfaas-test/echo-v2:{}", &hash[..12]);
            if docker.inspect_image(&v1).await.is_err() {
                build(&docker, &v1, &[("Dockerfile", DOCKERFILE), ("server.py", SERVER)]).await;
            }
            if docker.inspect_image(&v2).await.is_err() {
                let dockerfile = format!("FROM {v1}\nENV ECHO_VERSION=2\n");
                build(&docker, &v2, &[("Dockerfile", &dockerfile)]).await;
            }
            (v1, v2)
        })
        .await
        .clone()
}

/// An image with a file and no command (no CMD, no ENTRYPOINT), which Docker cannot run.
pub async fn image_without_command() -> String {
    let docker = docker().await;
    let tag = "rfaas-test/no-command:1";
    if docker.inspect_image(tag).await.is_err() {
        build(&docker, tag, &[("Dockerfile", "FROM scratch\nCOPY Dockerfile /\n")]).await;
    }
    tag.to_string()
}

/// Builds `tag` from `files` (a Dockerfile and what it copies) on the host network.
pub async fn build(docker: &bollard::Docker, tag: &str, files: &[(&str, &str)]) {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, text.as_bytes()).expect("tar");
    }
    let context = tar.into_inner().expect("tar");
    let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .networkmode("host")
        .rm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(step) = stream.next().await {
        match step {
            Ok(info) => {
                if let Some(detail) = info.error_detail {
                    panic!("building {tag} failed: {detail:?}");
                }
            }
            Err(e) => panic!("building {tag} failed: {e}"),
        }
    }
}

/// A deployment of the echo image.
pub fn echo_fn(name: &str, image: &str) -> Value {
    json!({"service": name, "image": image, "labels": {}, "annotations": {}})
}

/// A running gateway.
pub struct TestGateway {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    child: Option<Child>,
    /// The `--port` of every launch (0: a free one each time).
    port: u16,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    pub url: String,
    pub password: String,
    pub http: reqwest::Client,
}

impl TestGateway {
    pub async fn start() -> TestGateway {
        TestGateway::start_with(&[]).await
    }

    /// Starts `rfaas gateway --port 0` with extra flags.
    pub async fn start_with(extra: &[&str]) -> TestGateway {
        TestGateway::start_with_env(extra, &[]).await
    }

    /// Starts `rfaas gateway --port 0` with extra flags and environment variables.
    pub async fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> TestGateway {
        TestGateway::start_on(0, extra, env).await
    }

    /// Starts the gateway on a port that was free a moment ago and keeps it across
    /// [`TestGateway::relaunch`], as a gateway on a fixed port does: for functions that are
    /// told the gateway's URL and call it back.
    pub async fn start_on_fixed_port(extra: &[&str], env: &[(&str, &str)]) -> TestGateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        TestGateway::start_on(port, extra, env).await
    }

    async fn start_on(port: u16, extra: &[&str], env: &[(&str, &str)]) -> TestGateway {
        docker().await;
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("state");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        let mut gw = TestGateway {
            _tmp: tmp,
            dir,
            child: None,
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            url: String::new(),
            password: String::new(),
            http,
        };
        gw.launch().await;
        gw
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.parent().expect("parent").join("gateway.log")
    }

    /// The gateway's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    async fn launch(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_rfaas"))
            .args(["gateway", "--port", &self.port.to_string(), "--state-dir"])
            .arg(&self.dir)
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("run rfaas gateway");
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(file) = read_gateway_file(&self.dir)
                && file["pid"] == pid
            {
                let url = file["url"].as_str().expect("url").to_string();
                if self.http.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
                    self.url = url;
                    self.password = std::fs::read_to_string(self.dir.join("basic-auth-password"))
                        .expect("password file")
                        .trim()
                        .to_string();
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("gateway exited with {status}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gateway did not start:\n{}", self.log());
    }

    /// The gateway's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs the gateway (containers keep running).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the gateway again (after [`TestGateway::kill9`]).
    pub async fn relaunch(&mut self) {
        self.launch().await;
    }

    /// SIGKILL, then start again on the same state directory.
    pub async fn restart_after_kill9(&mut self) {
        self.kill9();
        self.launch().await;
    }

    /// A request to a `/system` path with the gateway's credentials.
    pub fn system(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).basic_auth("admin", Some(&self.password))
    }

    /// `(status, body)` of a request.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    pub async fn deploy(&self, body: &Value) -> (u16, String) {
        self.send(self.system(reqwest::Method::POST, "/system/functions").json(body)).await
    }

    pub async fn update(&self, body: &Value) -> (u16, String) {
        self.send(self.system(reqwest::Method::PUT, "/system/functions").json(body)).await
    }

    /// `GET /system/function/{name}` as JSON (panics unless 200).
    pub async fn describe(&self, name: &str) -> Value {
        let (status, body) = self.send(self.system(reqwest::Method::GET, &format!("/system/function/{name}"))).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("json")
    }

    /// The value of one series in `/metrics` (`name{labels}` exactly as exposed), if present.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self.http.get(format!("{}/metrics", self.url)).send().await.ok()?.text().await.ok()?;
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// `POST /function/<path>`.
    pub async fn invoke(&self, path: &str) -> reqwest::Response {
        self.http.post(format!("{}/function/{path}", self.url)).send().await.expect("gateway answers")
    }

    /// Invokes until the status is 200 or `timeout` passes; returns the last status.
    pub async fn invoke_until_ok(&self, path: &str, timeout: Duration) -> u16 {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.invoke(path).await.status().as_u16();
            if status == 200 || Instant::now() > deadline {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `POST /async-function/<path>` named `call_id`, with a callback when given; panics unless 202.
    pub async fn queue_call(&self, path: &str, call_id: &str, callback: Option<&str>) {
        let mut request = self
            .http
            .post(format!("{}/async-function/{path}", self.url))
            .header("X-Call-Id", call_id)
            .body(call_id.to_string());
        if let Some(url) = callback {
            request = request.header("X-Callback-Url", url);
        }
        let (status, body) = self.send(request).await;
        assert_eq!(status, 202, "queueing {path} as {call_id}: {body}");
    }

    /// `GET /system/async/invocations?<query>` as JSON (panics unless 200).
    pub async fn invocations(&self, query: &str) -> Value {
        let (status, body) =
            self.send(self.system(reqwest::Method::GET, &format!("/system/async/invocations?{query}"))).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("json")
    }

    /// `GET /system/async/invocations/{call_id}` as JSON; `None` when it is 404.
    pub async fn invocation(&self, call_id: &str) -> Option<Value> {
        let (status, body) =
            self.send(self.system(reqwest::Method::GET, &format!("/system/async/invocations/{call_id}"))).await;
        match status {
            200 => Some(serde_json::from_str(&body).expect("json")),
            404 => None,
            _ => panic!("GET invocation {call_id}: {status} {body}"),
        }
    }

    /// Waits until the record of `call_id` has `status`; panics with the record and the log if it
    /// does not within `timeout`.
    pub async fn wait_for_status(&self, call_id: &str, status: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let record = self.invocation(call_id).await;
            if record.as_ref().is_some_and(|r| r["status"] == status) {
                return record.expect("record");
            }
            if Instant::now() > deadline {
                panic!("{call_id} is not {status} after {timeout:?}: {record:#?}\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERMs the gateway and waits for it to exit (a clean stop).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: a signal to the child process this helper started.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// The containers of this gateway (`com.rfaas.gateway=<id>`), by function name.
    pub async fn containers(&self) -> Vec<(String, String)> {
        let Some(id) = gateway_id(&self.dir) else { return Vec::new() };
        list_containers(&docker().await, &id).await
    }
}

fn read_gateway_file(dir: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("gateway.json")).ok()?).ok()
}

fn gateway_id(dir: &Path) -> Option<String> {
    if let Ok(id) = std::fs::read_to_string(dir.join("gateway-id")) {
        return Some(id.trim().to_string());
    }
    let db = rusqlite::Connection::open_with_flags(dir.join("gateway.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()?;
    db.query_row("SELECT value FROM meta WHERE key = 'gateway_id'", [], |r| r.get(0)).ok()
}

/// `(function name, container id)` of running or stopped containers labelled with `id`.
async fn list_containers(docker: &bollard::Docker, id: &str) -> Vec<(String, String)> {
    let filters = HashMap::from([("label".to_string(), vec![format!("com.rfaas.gateway={id}")])]);
    let options =
        bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = docker.list_containers(Some(options)).await.unwrap_or_default();
    list.into_iter().filter_map(|c| Some((c.labels?.get("com.rfaas.function")?.clone(), c.id?))).collect()
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.kill9();
        let Some(id) = gateway_id(&self.dir) else { return };
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Runtime::new() else { return };
            rt.block_on(async move {
                let Ok(docker) = bollard::Docker::connect_with_local_defaults() else { return };
                let Ok(docker) = docker.negotiate_version().await else { return };
                for (_, container) in list_containers(&docker, &id).await {
                    let options =
                        bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
                    let _ = docker.remove_container(&container, Some(options)).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
