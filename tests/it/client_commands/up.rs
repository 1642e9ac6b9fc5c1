//! up: `--local` starts rfaas's gateway on a free port (`--local-port 0`), builds the bundled
//! python3-http template, creates secrets from `.secrets/`, deploys and waits (again with `-n`);
//! then `up -g URL --skip-push` updates the function through the ordinary build → deploy path.
//! Without a stack file, `up` builds and deploys the one function its flags describe.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::Session;
use crate::engine::{self, Images};
use crate::support::Rfaas;

/// Stops the background gateway `up --local` started and removes its function containers.
pub struct LocalGateway(pub PathBuf);

impl Drop for LocalGateway {
    fn drop(&mut self) {
        let _ = std::process::Command::new(env!("CARGO_BIN_EXE_rfaas"))
            .args(["gateway", "stop", "--state-dir"])
            .arg(&self.0)
            .output();
        let Ok(id) = std::fs::read_to_string(self.0.join("gateway-id")) else { return };
        let filter = format!("label=com.rfaas.gateway={}", id.trim());
        let Ok(out) = std::process::Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output() else {
            return;
        };
        for container in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = std::process::Command::new("docker").args(["rm", "-f", container]).output();
        }
    }
}

pub fn gateway_url(state_dir: &Path) -> String {
    let text = std::fs::read_to_string(state_dir.join("gateway.json")).expect("gateway.json");
    let file: serde_json::Value = serde_json::from_str(&text).expect("json");
    file["url"].as_str().expect("url").to_string()
}

const HANDLER: &str = "def handle(event, context):
    with open(\"/var/openfaas/secrets/hello-key\") as f:
        return {\"statusCode\": 200, \"body\": \"GREETING \" + f.read()}
";

#[tokio::test]
async fn up_local_builds_creates_secrets_deploys_and_up_updates() {
    engine::docker().await;
    let image = format!("{}/up-hello:{}", engine::PREFIX, engine::unique("t"));
    let _images = Images(vec![image.clone()]);
    let mut rfaas = Rfaas::new();
    let config_dir = rfaas.path().join("openfaas-config");
    rfaas.env("OPENFAAS_CONFIG", &config_dir.display().to_string()).stdin(b"");
    let state_dir = rfaas.path().join("gateway-state");
    let _gateway = LocalGateway(state_dir.clone());
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hello:\n    lang: python3-http\n    handler: ./hello\n    image: {image}\n    secrets:\n      - hello-key\n"
        ),
    );
    rfaas.file("hello/handler.py", &HANDLER.replace("GREETING", "v1"));
    // Replaces the template's starter test, which expects the starter handler's answer.
    rfaas.file("hello/handler_test.py", "def test_nothing():\n    pass\n");
    rfaas.file("hello/requirements.txt", "");
    rfaas.file(".secrets/hello-key", "from-dot-secrets\n");

    let run = rfaas.run(&["up", "--local", "--state-dir", "gateway-state", "--local-port", "0"]);
    run.success();
    let url = gateway_url(&state_dir);
    assert!(!url.ends_with(":8080") && !url.ends_with(":0"), "{url}");
    run.stderr_has(&format!("hello built {image}"))
        .stderr_has("Skipping push")
        .stderr_has("Created secret hello-key from .secrets/hello-key")
        .stderr_has("hello is ready")
        .stdout_has(&format!("URL:    {url}/function/hello\n"))
        .stdout_has(&format!("rfaas invoke hello -g {url} --content-type application/json"));
    // The credentials were saved like `login --local`, so the other commands just work.
    let config = std::fs::read_to_string(config_dir.join("config.yml")).unwrap();
    assert!(config.contains(&format!("  - gateway: {url}\n    auth: basic\n")), "{config}");
    assert_eq!(rfaas.run(&["secret", "list", "-g", &url]).success().stdout, "NAME\nhello-key\n");
    assert_eq!(rfaas.run(&["invoke", "hello", "-g", &url]).success().stdout, "v1 from-dot-secrets");

    // Again into another namespace on the running gateway: the secret is created there too.
    rfaas.run(&["namespace", "create", "dev", "-g", &url]).success();
    rfaas
        .run(&["up", "--local", "--state-dir", "gateway-state", "-n", "dev"])
        .success()
        .stderr_has("hello unchanged, skipping build")
        .stderr_has("Created secret hello-key from .secrets/hello-key")
        .stdout_has(&format!("URL:    {url}/function/hello.dev\n"));
    assert_eq!(rfaas.run(&["secret", "list", "-g", &url, "-n", "dev"]).success().stdout, "NAME\nhello-key\n");
    assert_eq!(rfaas.run(&["invoke", "hello", "-g", &url, "-n", "dev"]).success().stdout, "v1 from-dot-secrets");

    // The same stack through `up -g URL --skip-push`: build (the handler changed) and update.
    rfaas.file("hello/handler.py", &HANDLER.replace("GREETING", "v2"));
    rfaas
        .run(&["up", "-g", &url, "--skip-push", "--wait"])
        .success()
        .stderr_has(&format!("hello built {image}"))
        .stderr_has("Function hello already exists, attempting rolling-update.")
        .stdout_has("Deployed. 200 OK.");
    assert_eq!(rfaas.run(&["invoke", "hello", "-g", &url]).success().stdout, "v2 from-dot-secrets");
    rfaas.run(&["remove", "-g", &url]).success();
    rfaas.run(&["remove", "-g", &url, "-n", "dev"]).success();
}

#[tokio::test]
async fn up_without_a_stack_file_deploys_the_function_its_flags_describe() {
    let mut s = Session::logged_in().await;
    let image = format!("{}/up-flags:{}", engine::PREFIX, engine::unique("t"));
    let _images = Images(vec![image.clone()]);
    s.file("solo/Dockerfile", &format!("FROM {}\n", s.image));
    let function = ["--name", "solo", "--image", &image, "--lang", "dockerfile", "--handler", "./solo"];
    let deployed = ["--fprocess", "python3 server.py", "--memory-limit", "128Mi", "--cpu-request", "50m"];
    let up = [&["up", "--skip-push", "--wait"][..], &function, &deployed].concat();
    s.run(&up).success().stderr_has(&format!("solo built {image}")).stderr_has("solo is ready");

    let d = s.describe("solo");
    assert_eq!(d["image"], image.as_str());
    assert_eq!(
        (&d["envProcess"], &d["limits"], &d["requests"]),
        (&json!("python3 server.py"), &json!({"memory": "128Mi"}), &json!({"cpu": "50m"}))
    );
    s.run(&["invoke", "solo"]).success();

    // Half a description is refused before anything is built.
    s.run(&["up", "--skip-push", "--name", "other", "--image", &image])
        .failure(1)
        .stderr_has("without a stack file, --name, --image, --handler and --lang are all required");
    assert_eq!(s.run(&["list", "-q"]).success().stdout, "solo\n");
    s.run(&["remove", "solo"]).success();
}
