//! The dev loop: `rfaas up --local --watch` and `rfaas local-run --watch` as a user runs them,
//! against the real engine and the real local gateway (started by `up --local` on a free port,
//! in the test's own state directory). Each test edits files the way an editor saves them and
//! reads the function's answers and rfaas's output.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::client_commands::up::{LocalGateway, gateway_url};
use crate::engine::{self, Images};
use crate::support::Rfaas;

/// How long a first build of a template may take on a cold, busy engine.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// A running `rfaas … --watch`, its stdout and stderr going to one file.
struct Watching {
    child: Child,
    log: PathBuf,
}

impl Watching {
    fn spawn(rfaas: &Rfaas, args: &[&str]) -> Watching {
        let log = rfaas.path().join("watch.log");
        let file = std::fs::File::create(&log).unwrap();
        let child =
            rfaas.command(args).stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file).spawn().unwrap();
        Watching { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the output has `text` after byte `from`; panics with the output otherwise.
    async fn wait_for(&mut self, text: &str, from: usize, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let log = self.log();
            if log.get(from..).is_some_and(|tail| tail.contains(text)) {
                return log;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("rfaas exited ({status}) before printing {text:?}:\n{log}");
            }
            assert!(Instant::now() < deadline, "no {text:?} within {limit:?}:\n{log}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGINT and waits for the exit; returns the exit code and the whole output.
    fn interrupt(&mut self) -> (i32, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code().unwrap_or(-1), self.log());
            }
            assert!(Instant::now() < deadline, "rfaas did not stop within 60 s of SIGINT:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves `contents` to `path` as editors do: a new file renamed over the old one.
fn save(dir: &Path, rel: &str, contents: &str) {
    let path = dir.join(rel);
    let temp = path.with_extension("rfaas-it-tmp");
    std::fs::write(&temp, contents).unwrap();
    std::fs::rename(&temp, &path).unwrap();
}

/// POSTs to the function until it answers `expected` (200); panics with the last answer.
async fn answers(url: &str, expected: &str, limit: Duration, watch: &Watching) -> Duration {
    let started = Instant::now();
    let client = reqwest::Client::new();
    let mut last = String::new();
    while started.elapsed() < limit {
        if let Ok(r) = client.post(url).body("x").send().await {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            if status == 200 && body == expected {
                return started.elapsed();
            }
            last = format!("{status}: {body}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} never answered {expected:?} within {limit:?} (last: {last}):\n{}", watch.log());
}

fn python_handler(answer: &str) -> String {
    format!("def handle(event, context):\n    return {{\"statusCode\": 200, \"body\": \"{answer}\"}}\n")
}

/// A stack of python3-http functions, each answering `<name>-v1`.
fn python_project(names: &[&str], image_tag: &str) -> (Rfaas, Vec<String>) {
    let mut yaml = String::from("version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n");
    let mut images = Vec::new();
    let rfaas = Rfaas::new();
    for name in names {
        let image = format!("{}/{name}:{image_tag}", engine::PREFIX);
        yaml.push_str(&format!("  {name}:\n    lang: python3-http\n    handler: ./{name}\n    image: {image}\n"));
        rfaas.file(&format!("{name}/handler.py"), &python_handler(&format!("{name}-v1")));
        // Replaces the template's starter test, which expects the starter handler's answer.
        rfaas.file(&format!("{name}/handler_test.py"), "def test_nothing():\n    pass\n");
        images.push(image);
    }
    rfaas.file("stack.yaml", &yaml);
    (rfaas, images)
}

/// `up --local --watch` on a free port; returns the watcher and the gateway URL once it watches.
async fn up_watch(rfaas: &Rfaas) -> (Watching, String) {
    let mut watch =
        Watching::spawn(rfaas, &["up", "--local", "--state-dir", "gateway-state", "--local-port", "0", "--watch"]);
    watch.wait_for("Watching ", 0, BUILD_LIMIT).await;
    (watch, gateway_url(&rfaas.path().join("gateway-state")))
}

async fn container_ids(function: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["ps", "-q", "--no-trunc", "--filter", &format!("label=com.rfaas.function={function}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect()
}

fn image_id(image: &str) -> String {
    let out = std::process::Command::new("docker").args(["image", "inspect", "-f", "{{.Id}}", image]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Saves `contents` as `name`'s `file` and waits until `function` answers `answer` and the watch
/// says it reloaded the one replica in place (its container is the same).
async fn hot_edit(
    rfaas: &Rfaas,
    watch: &mut Watching,
    function: &str,
    name: &str,
    file: &str,
    contents: &str,
    answer: &str,
) {
    let containers = container_ids(name).await;
    let mark = watch.log().len();
    save(rfaas.path(), &format!("{name}/{file}"), contents);
    answers(function, answer, Duration::from_secs(30), watch).await;
    watch.wait_for(&format!("{file} changed: reloaded {name} in 1 replica ("), mark, Duration::from_secs(5)).await;
    assert_eq!(container_ids(name).await, containers, "the hot path restarted the replica");
}

#[tokio::test]
async fn up_watch_hot_reloads_a_python_handler_and_keeps_the_old_code_on_a_syntax_error() {
    engine::docker().await;
    let name = engine::unique("hot").replace('-', "");
    let (mut rfaas, images) = python_project(&[&name], "latest");
    let _images = Images(images);
    rfaas.env("OPENFAAS_CONFIG", &rfaas.path().join("openfaas-config").display().to_string());
    let _gateway = LocalGateway(rfaas.path().join("gateway-state"));
    let (mut watch, url) = up_watch(&rfaas).await;
    let function = format!("{url}/function/{name}");
    answers(&function, &format!("{name}-v1"), Duration::from_secs(30), &watch).await;
    hot_edit(&rfaas, &mut watch, &function, &name, "handler.py", &python_handler("v2"), "v2").await;

    let mark = watch.log().len();
    save(rfaas.path(), &format!("{name}/handler.py"), "def handle(event, context)\n    return 1\n");
    let log = watch.wait_for("does not load", mark, Duration::from_secs(30)).await;
    assert!(log[mark..].contains("handler.py:1"), "no file and line in:\n{}", &log[mark..]);
    answers(&function, "v2", Duration::from_secs(1), &watch).await;

    save(rfaas.path(), &format!("{name}/handler.py"), &python_handler("v3"));
    answers(&function, "v3", Duration::from_secs(30), &watch).await;
    let (code, log) = watch.interrupt();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("Stopped watching."), "{log}");
    // The last good version stays deployed.
    answers(&function, "v3", Duration::from_secs(5), &watch).await;
}

#[tokio::test]
async fn up_watch_rebuilds_only_the_function_whose_requirements_or_stack_entry_changed() {
    engine::docker().await;
    let alpha = engine::unique("alpha").replace('-', "");
    let beta = engine::unique("beta").replace('-', "");
    let (mut rfaas, images) = python_project(&[&alpha, &beta], "latest");
    let _images = Images(images.clone());
    rfaas.env("OPENFAAS_CONFIG", &rfaas.path().join("openfaas-config").display().to_string());
    // `[Watch]` lines: what each batch of events was taken to mean, should this fail.
    rfaas.env("FAAS_DEBUG", "1");
    let _gateway = LocalGateway(rfaas.path().join("gateway-state"));
    let (mut watch, url) = up_watch(&rfaas).await;
    let (alpha_url, beta_url) = (format!("{url}/function/{alpha}"), format!("{url}/function/{beta}"));
    answers(&beta_url, &format!("{beta}-v1"), Duration::from_secs(30), &watch).await;
    let beta_containers = container_ids(&beta).await;
    let (alpha_image, beta_image) = (image_id(&images[0]), image_id(&images[1]));

    // A new dependency: alpha is rebuilt (pip installs it) and redeployed; beta is left alone.
    let mark = watch.log().len();
    rfaas.file(&format!("{alpha}/requirements.txt"), "six==1.16.0\n");
    save(
        rfaas.path(),
        &format!("{alpha}/handler.py"),
        "import six\n\n\ndef handle(event, context):\n    return {\"statusCode\": 200, \"body\": \"six \" + six.__version__}\n",
    );
    answers(&alpha_url, "six 1.16.0", BUILD_LIMIT, &watch).await;
    let log = watch.wait_for(&format!("Updated {alpha} in"), mark, Duration::from_secs(30)).await;
    let after = &log[mark..];
    assert!(after.contains(&format!("requirements.txt changed: rebuilding {alpha}")), "{after}");
    assert!(!after.contains(&format!("{beta} built")) && !after.contains(&format!("{beta} unchanged")), "{after}");
    assert_ne!(image_id(&images[0]), alpha_image, "alpha's image was not rebuilt");
    assert_eq!(image_id(&images[1]), beta_image, "beta's image changed");
    assert_eq!(container_ids(&beta).await, beta_containers, "beta was restarted");

    // A stack file that does not parse is reported and the last good one kept.
    let stack = std::fs::read_to_string(rfaas.path().join("stack.yaml")).unwrap();
    let mark = watch.log().len();
    save(rfaas.path(), "stack.yaml", &format!("{stack}  broken: [\n"));
    watch.wait_for("The stack file does not load", mark, Duration::from_secs(30)).await;
    answers(&beta_url, &format!("{beta}-v1"), Duration::from_secs(1), &watch).await;

    // An environment variable for beta: beta alone is redeployed (no build), alpha keeps running.
    let alpha_containers = container_ids(&alpha).await;
    save(
        rfaas.path(),
        &format!("{beta}/handler.py"),
        "import os\n\n\ndef handle(event, context):\n    return {\"statusCode\": 200, \"body\": os.environ.get(\"GREETING\", \"none\")}\n",
    );
    answers(&beta_url, "none", Duration::from_secs(60), &watch).await;
    let mark = watch.log().len();
    let with_env = stack.replace(
        &format!("    handler: ./{beta}\n"),
        &format!("    handler: ./{beta}\n    environment:\n      GREETING: hello\n"),
    );
    save(rfaas.path(), "stack.yaml", &with_env);
    answers(&beta_url, "hello", Duration::from_secs(120), &watch).await;
    let log = watch.wait_for(&format!("The stack file changed: redeploy {beta}"), mark, Duration::from_secs(5)).await;
    assert!(!log[mark..].contains(&format!("{alpha} built")), "{}", &log[mark..]);
    assert_eq!(container_ids(&alpha).await, alpha_containers, "alpha was restarted");

    let (code, log) = watch.interrupt();
    assert_eq!(code, 0, "{log}");
}

#[tokio::test]
async fn up_watch_hot_reloads_a_node18_handler() {
    engine::docker().await;
    let name = engine::unique("node").replace('-', "");
    let image = format!("{}/{name}:latest", engine::PREFIX);
    let _images = Images(vec![image.clone()]);
    let mut rfaas = Rfaas::new();
    rfaas.env("OPENFAAS_CONFIG", &rfaas.path().join("openfaas-config").display().to_string());
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  {name}:\n    lang: node18\n    handler: ./{name}\n    image: {image}\n"
        ),
    );
    let handler = |answer: &str| {
        format!("'use strict';\nmodule.exports = async (event, context) => context.status(200).succeed('{answer}');\n")
    };
    rfaas.file(&format!("{name}/handler.js"), &handler("node-v1"));
    // Replaces the template's starter test, which expects the starter handler's answer.
    rfaas.file(&format!("{name}/handler.test.js"), "require('node:test')('nothing', () => {});\n");
    rfaas.file(
        &format!("{name}/package.json"),
        "{\"name\": \"fn\", \"version\": \"1.0.0\", \"scripts\": {\"test\": \"node --test\"}}\n",
    );
    let _gateway = LocalGateway(rfaas.path().join("gateway-state"));
    let (mut watch, url) = up_watch(&rfaas).await;
    let function = format!("{url}/function/{name}");
    answers(&function, "node-v1", Duration::from_secs(30), &watch).await;
    hot_edit(&rfaas, &mut watch, &function, &name, "handler.js", &handler("node-v2"), "node-v2").await;
    let (code, log) = watch.interrupt();
    assert_eq!(code, 0, "{log}");
}

#[tokio::test]
async fn local_run_watch_serves_an_edit_and_sigint_removes_the_container() {
    engine::docker().await;
    let name = engine::unique("lrw").replace('-', "");
    let (rfaas, images) = python_project(&[&name], "latest");
    let _images = Images(images);
    let port = engine::free_port();
    let port_env = format!("port={port}");
    let mut watch =
        Watching::spawn(&rfaas, &["local-run", &name, "--watch", "--network", "host", "-e", &port_env, "--quiet"]);
    watch.wait_for("Watching ", 0, BUILD_LIMIT).await;
    let url = format!("http://127.0.0.1:{port}/");
    answers(&url, &format!("{name}-v1"), Duration::from_secs(60), &watch).await;
    save(rfaas.path(), &format!("{name}/handler.py"), &python_handler("local-v2"));
    answers(&url, "local-v2", Duration::from_secs(30), &watch).await;
    watch.wait_for(&format!("handler.py changed: reloaded {name} in 1 replica ("), 0, Duration::from_secs(5)).await;
    let (code, log) = watch.interrupt();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains(&format!("{name} stopped and removed")), "{log}");
    let docker = engine::docker().await;
    assert!(docker.inspect_container(&name, None).await.is_err(), "the container is left:\n{log}");
}

#[test]
fn watch_is_refused_where_it_cannot_work() {
    let rfaas = Rfaas::new();
    rfaas.run(&["up", "--watch"]).failure(1).stderr_has("--watch needs a stack file");
    rfaas.file("stack.yaml", "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  a:\n    image: x/a\n");
    rfaas
        .run(&["local-run", "--watch", "--build=false"])
        .failure(1)
        .stderr_has("cannot be combined with --build=false");
    rfaas.run(&["up", "--watch", "--shrinkwrap"]).failure(2).stderr_has("cannot be used with");
}

#[tokio::test]
async fn up_watch_against_a_remote_gateway_rebuilds_pushes_and_redeploys() {
    let env = crate::environment::test_env();
    let (registry, user, password) =
        (&env["RFAAS_TEST_REGISTRY"], &env["RFAAS_TEST_REGISTRY_USER"], &env["RFAAS_TEST_REGISTRY_PASSWORD"]);
    // Not rfaas's local gateway for this project: its own state directory, reached by URL.
    let gateway = crate::support::gateway::TestGateway::start().await;
    let name = engine::unique("remote").replace('-', "");
    let image = format!("{registry}/{}/{name}:latest", engine::PREFIX);
    let _images = Images(vec![image.clone()]);
    let mut rfaas = Rfaas::new();
    rfaas.env("OPENFAAS_CONFIG", &rfaas.path().join("openfaas-config").display().to_string());
    rfaas.env("FAAS_DEBUG", "1");
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\n  gateway: {}\nfunctions:\n  {name}:\n    lang: python3-http\n    handler: ./{name}\n    image: {image}\n",
            gateway.url
        ),
    );
    rfaas.file(&format!("{name}/handler.py"), &python_handler("remote-v1"));
    rfaas.file(&format!("{name}/handler_test.py"), "def test_nothing():\n    pass\n");
    rfaas.stdin(password.as_bytes());
    let login = ["registry-login", "--server", registry, "-u", user, "--password-stdin", "--config-dir", "creds"];
    rfaas.run(&login).success();
    rfaas.env("DOCKER_CONFIG", &rfaas.path().join("creds").display().to_string());
    rfaas.stdin(gateway.password.as_bytes());
    rfaas.run(&["login", "-g", &gateway.url, "--password-stdin"]).success();

    let mut watch = Watching::spawn(&rfaas, &["up", "--watch"]);
    watch.wait_for("Watching ", 0, BUILD_LIMIT).await;
    let function = format!("{}/function/{name}", gateway.url);
    answers(&function, "remote-v1", Duration::from_secs(60), &watch).await;
    let mark = watch.log().len();
    save(rfaas.path(), &format!("{name}/handler.py"), &python_handler("remote-v2"));
    answers(&function, "remote-v2", BUILD_LIMIT, &watch).await;
    let log = watch.wait_for(&format!("Updated {name} in"), mark, Duration::from_secs(30)).await;
    let after = &log[mark..];
    // No hot reload reaches a remote gateway's replicas: faas-cli's rebuild, push and redeploy.
    assert!(after.contains(&format!("handler.py changed: rebuilding {name}")), "{after}");
    assert!(after.contains(&format!("pushed {image}")), "{after}");
    assert!(!after.contains("reloaded"), "{after}");
    let (code, log) = watch.interrupt();
    assert_eq!(code, 0, "{log}");
    // The last good version stays deployed.
    answers(&function, "remote-v2", Duration::from_secs(5), &watch).await;
}
