//! `rfaas push` against the registry from tests/env/setup.sh, with credentials written by
//! `rfaas registry-login` into a throw-away DOCKER_CONFIG, and the failures users meet.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::engine;
use crate::environment::test_env;
use crate::support::Rfaas;

/// A one-function dockerfile-language project whose image is `image`.
fn project(image: &str) -> Rfaas {
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  pushed:\n    lang: dockerfile\n    handler: ./pushed\n    image: {image}\n"
        ),
    );
    rfaas.file("pushed/Dockerfile", "FROM debian:bookworm-slim\nCOPY msg.txt /msg.txt\n");
    rfaas.file("pushed/msg.txt", image);
    rfaas
}

/// Writes ./creds/config.json with `registry-login` and points DOCKER_CONFIG at it.
fn login(rfaas: &mut Rfaas, server: &str, password: &str) {
    let user = test_env()["RFAAS_TEST_REGISTRY_USER"].clone();
    rfaas.stdin(password.as_bytes());
    let args = ["registry-login", "--server", server, "-u", &user, "--password-stdin", "--config-dir", "creds"];
    rfaas.run(&args).success().stderr_has("Wrote creds/config.json");
    let dir = rfaas.path().join("creds").display().to_string();
    rfaas.env("DOCKER_CONFIG", &dir);
}

#[tokio::test]
async fn push_uses_registry_login_credentials_and_the_manifest_is_served() {
    let env = test_env();
    engine::docker().await;
    let (registry, user, password) =
        (&env["RFAAS_TEST_REGISTRY"], &env["RFAAS_TEST_REGISTRY_USER"], &env["RFAAS_TEST_REGISTRY_PASSWORD"]);
    let tag = engine::unique("t");
    let image = format!("{registry}/{}/pushed:{tag}", engine::PREFIX);
    let _cleanup = engine::Images(vec![image.clone()]);
    let mut rfaas = project(&image);
    rfaas.run(&["build"]).success();
    login(&mut rfaas, registry, password);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(rfaas.path().join("creds/config.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    rfaas.run(&["push"]).success().stderr_has(&format!("pushed {image} sha256:"));

    let url = format!("http://{registry}/v2/{}/pushed/manifests/{tag}", engine::PREFIX);
    let reply = reqwest::Client::new()
        .get(&url)
        .basic_auth(user, Some(password))
        .header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "{url}");
    let digest = reply.headers()["docker-content-digest"].to_str().unwrap().to_string();
    let manifest: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert!(!manifest["layers"].as_array().unwrap().is_empty());
    // Leave the shared registry as it was (its storage allows deletes).
    let delete = format!("http://{registry}/v2/{}/pushed/manifests/{digest}", engine::PREFIX);
    let _ = reqwest::Client::new().delete(&delete).basic_auth(user, Some(password)).send().await;
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let env = test_env();
    engine::docker().await;
    let registry = &env["RFAAS_TEST_REGISTRY"];
    let image = format!("{registry}/{}/denied:{}", engine::PREFIX, engine::unique("t"));
    let _cleanup = engine::Images(vec![image.clone()]);
    let mut rfaas = project(&image);
    rfaas.run(&["build"]).success();
    login(&mut rfaas, registry, "not-the-password");
    rfaas
        .run(&["push"])
        .failure(1)
        .stderr_has(&format!("{registry} refused the push of {image}"))
        .stderr_has("error: failed to push 1 of 1 images: pushed")
        .stderr_has("hint: log in to");
}

/// A second registry on a free port, started by this test only (the shared one is never stopped).
fn start_registry(dir: &std::path::Path, port: u16) -> Child {
    let config = format!(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.join("data").display()
    );
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let bin = ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("docker-registry installed by tests/env/setup.sh: run `sudo bash tests/env/setup.sh`");
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    let child = Command::new(bin).args(["serve", "config.yml"]).current_dir(dir).stderr(log).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "second registry did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[tokio::test]
async fn a_stopped_registry_is_a_clear_error() {
    engine::docker().await;
    let port = engine::free_port();
    let image = format!("127.0.0.1:{port}/{}/gone:{}", engine::PREFIX, engine::unique("t"));
    let _cleanup = engine::Images(vec![image.clone()]);
    let rfaas = project(&image);
    rfaas.run(&["build"]).success();
    let dir = tempfile::tempdir().unwrap();
    let mut registry = start_registry(dir.path(), port);
    registry.kill().unwrap();
    registry.wait().unwrap();
    rfaas
        .run(&["push"])
        .failure(1)
        .stderr_has(&format!("cannot reach the registry 127.0.0.1:{port}"))
        .stderr_has("hint: is the registry at");
}

#[test]
fn images_without_a_prefix_are_refused_and_skip_build_is_skipped() {
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yaml",
        "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  bare:\n    lang: dockerfile\n    handler: ./bare\n    image: bare\n  prebuilt:\n    image: x/prebuilt\n    skip_build: true\n",
    );
    rfaas
        .run(&["push"])
        .failure(1)
        .stderr_has("Skipping prebuilt")
        .stderr_has("unable to push one or more of your functions to Docker Hub")
        .stderr_has("  - bare has image bare:latest")
        .stderr_has("You must provide a username or registry prefix");
}
