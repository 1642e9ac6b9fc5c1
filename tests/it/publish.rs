//! `rfaas publish` against the engine and the htpasswd registry from tests/env/setup.sh: one
//! build per platform, each pushed by the engine under its per-platform tag, one image index of
//! their digests per function; and the failures that must leave the function's tags as they were.
//!
//! The arm64 builds pull their base image from the multi-platform index setup.sh pushes
//! (`RFAAS_TEST_MULTIARCH_BASE`), and run under qemu-user-static.

use std::process::Command;

use serde_json::Value;

use crate::engine;
use crate::environment::test_env;
use crate::support::Rfaas;

const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const INDEX_ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// The multi-platform base image, or a panic telling how to get it. An env file written by an
/// older setup.sh lacks the key; then the name setup.sh gives it is used if the registry has it.
async fn multiarch_base() -> String {
    let env = test_env();
    if let Some(base) = env.get("RFAAS_TEST_MULTIARCH_BASE").filter(|b| !b.is_empty()) {
        return base.clone();
    }
    let (status, _, _) = manifest("rfaas-test/debian", "bookworm-slim-v2", INDEX_ACCEPT).await;
    assert_eq!(
        status, 200,
        "no multi-platform base image: run `sudo bash tests/env/setup.sh` (without RFAAS_TEST_ARM64=0)"
    );
    format!("{}/rfaas-test/debian:bookworm-slim-v2", env["RFAAS_TEST_REGISTRY"])
}

/// A one-function stack; `files` are (path, contents) under the project.
fn project(lang: &str, image: &str, files: &[(&str, &str)]) -> Rfaas {
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  multi:\n    lang: {lang}\n    handler: ./multi\n    image: {image}\n"
        ),
    );
    for (path, contents) in files {
        rfaas.file(path, contents);
    }
    rfaas
}

/// Writes a Docker config with `password` for the test registry and points DOCKER_CONFIG at it.
fn login(rfaas: &mut Rfaas, password: &str) {
    let env = test_env();
    rfaas.stdin(password.as_bytes());
    let args = [
        "registry-login",
        "--server",
        &env["RFAAS_TEST_REGISTRY"],
        "-u",
        &env["RFAAS_TEST_REGISTRY_USER"],
        "--password-stdin",
        "--config-dir",
        "creds",
    ];
    rfaas.run(&args).success();
    let dir = rfaas.path().join("creds").display().to_string();
    rfaas.env("DOCKER_CONFIG", &dir);
}

/// GET a manifest from the test registry: (status, digest header, body).
async fn manifest(repo: &str, reference: &str, accept: &str) -> (u16, String, Value) {
    let env = test_env();
    let url = format!("http://{}/v2/{repo}/manifests/{reference}", env["RFAAS_TEST_REGISTRY"]);
    let reply = reqwest::Client::new()
        .get(&url)
        .basic_auth(&env["RFAAS_TEST_REGISTRY_USER"], Some(&env["RFAAS_TEST_REGISTRY_PASSWORD"]))
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let digest = reply.headers().get("docker-content-digest").map(|d| d.to_str().unwrap().to_string());
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, digest.unwrap_or_default(), body)
}

/// Deletes a manifest by digest, leaving the shared registry as it was.
async fn delete_manifest(repo: &str, digest: &str) {
    let env = test_env();
    let url = format!("http://{}/v2/{repo}/manifests/{digest}", env["RFAAS_TEST_REGISTRY"]);
    let _ = reqwest::Client::new()
        .delete(&url)
        .basic_auth(&env["RFAAS_TEST_REGISTRY_USER"], Some(&env["RFAAS_TEST_REGISTRY_PASSWORD"]))
        .send()
        .await;
}

fn docker_cli(config_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").env("DOCKER_CONFIG", config_dir).args(args).output().expect("docker CLI");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn a_bad_platform_list_fails_before_anything_is_built() {
    let rfaas = project("dockerfile", "127.0.0.1:5000/x/multi:1", &[("multi/Dockerfile", "FROM scratch\n")]);
    let cases = [
        ("linux/x86_64", "x86_64 is amd64"),
        ("", "an empty entry"),
        ("linux/amd64,,linux/arm64", "an empty entry"),
        ("linux/amd64,linux/amd64", "listed twice"),
        ("windows/amd64", "only linux"),
        ("linux/arm64/v7", "does not exist for arm64"),
        ("../../etc/passwd", "invalid --platforms"),
    ];
    for (value, why) in cases {
        let run = rfaas.run(&["publish", "--platforms", value]);
        run.failure(1)
            .stderr_has("invalid --platforms")
            .stderr_has(why)
            .stderr_has("hint: give a comma-separated list");
    }
    assert!(!rfaas.path().join("build").exists(), "a build context was written");
}

#[test]
fn pro_only_flags_are_refused_with_a_reason() {
    let mut rfaas = project("dockerfile", "127.0.0.1:5000/x/multi:1", &[("multi/Dockerfile", "FROM scratch\n")]);
    rfaas
        .run(&["publish", "--remote-builder", "http://127.0.0.1:1/"])
        .failure(1)
        .stderr_has("--remote-builder is for OpenFaaS Pro");
    rfaas
        .run(&["publish", "--payload-secret", "secret.txt"])
        .failure(1)
        .stderr_has("--payload-secret is for OpenFaaS Pro");
    rfaas.env("OPENFAAS_REMOTE_BUILDER", "http://127.0.0.1:1/");
    rfaas.run(&["publish"]).failure(1).stderr_has("OpenFaaS Pro");
    assert!(!rfaas.path().join("build").exists());
}

#[test]
fn bad_tags_and_traversal_in_image_names_are_refused() {
    let rfaas = project("dockerfile", "127.0.0.1:5000/x/multi:1", &[("multi/Dockerfile", "FROM scratch\n")]);
    rfaas.run(&["publish", "--extra-tag", "../../x"]).failure(1).stderr_has("--extra-tag: invalid tag \"../../x\"");
    let rfaas = project("dockerfile", "127.0.0.1:5000/x/../../etc:1", &[("multi/Dockerfile", "FROM scratch\n")]);
    let run = rfaas.run(&["publish"]);
    run.failure(1);
    assert!(run.stderr.contains("../../etc"), "{}", run.stderr);
}

#[tokio::test]
async fn an_unreachable_registry_fails_before_building() {
    let docker = engine::docker().await;
    let port = engine::free_port();
    let image = format!("127.0.0.1:{port}/{}/multi:{}", engine::PREFIX, engine::unique("t"));
    let rfaas = project("dockerfile", &image, &[("multi/Dockerfile", "FROM debian:bookworm-slim\n")]);
    rfaas
        .run(&["publish", "--platforms", "linux/amd64,linux/arm64"])
        .failure(1)
        .stderr_has(&format!("cannot reach the registry 127.0.0.1:{port}"))
        .stderr_has("nothing was built")
        .stderr_has("hint: is the registry");
    for platform in ["linux-amd64", "linux-arm64"] {
        let (repo, tag) = image.rsplit_once(':').unwrap();
        assert!(docker.inspect_image(&format!("{repo}:{tag}-{platform}")).await.is_err(), "{platform} was built");
    }
}

#[tokio::test]
async fn wrong_credentials_fail_before_building() {
    let env = test_env();
    engine::docker().await;
    let image = format!("{}/{}/denied:{}", env["RFAAS_TEST_REGISTRY"], engine::PREFIX, engine::unique("t"));
    let mut rfaas = project("dockerfile", &image, &[("multi/Dockerfile", "FROM debian:bookworm-slim\n")]);
    login(&mut rfaas, "not-the-password");
    let run = rfaas.run(&["publish", "--platforms", "linux/amd64,linux/arm64"]);
    run.failure(1).stderr_has("refused the credentials").stderr_has("hint: log in to").stderr_has("nothing was built");
    assert!(!run.stderr.contains("not-the-password"), "the password leaked:\n{}", run.stderr);
}

#[tokio::test]
async fn a_platform_that_fails_leaves_no_index() {
    let env = test_env();
    engine::docker().await;
    let base = multiarch_base().await;
    let tag = engine::unique("t");
    let repo = format!("{}/half", engine::PREFIX);
    let image = format!("{}/{repo}:{tag}", env["RFAAS_TEST_REGISTRY"]);
    let (image_repo, _) = image.rsplit_once(':').unwrap();
    let _cleanup = engine::Images(vec![format!("{image_repo}:{tag}-linux-arm64"), image.clone()]);
    // Builds for arm64 (built first: the engine's own platform goes last), fails for amd64.
    let dockerfile = format!("FROM {base}\nRUN test \"$(uname -m)\" = aarch64\n");
    let mut rfaas = project("dockerfile", &image, &[("multi/Dockerfile", &dockerfile)]);
    login(&mut rfaas, &env["RFAAS_TEST_REGISTRY_PASSWORD"]);
    let run = rfaas.run(&["publish", "--platforms", "linux/amd64,linux/arm64", "--extra-tag", &format!("{tag}-x")]);
    // Each build really ran on its platform's base: arm64 passes the RUN step, amd64 fails it.
    run.failure(1).stderr_has("multi linux/arm64 built").stderr_has("multi linux/amd64 failed: Step 2/3 : RUN");
    run.stderr_has("multi: not published: linux/amd64:");
    run.stderr_has("their tags in the registry were left as they were");
    for t in [tag.clone(), format!("{tag}-x")] {
        let (status, _, _) = manifest(&repo, &t, INDEX_ACCEPT).await;
        assert_eq!(status, 404, "tag {t} exists after a failed publish");
    }
    // The platform that built was pushed under its own tag only (as the README says).
    let (status, digest, _) = manifest(&repo, &format!("{tag}-linux-arm64"), MANIFEST_ACCEPT).await;
    if status == 200 {
        delete_manifest(&repo, &digest).await;
    }
}

/// A registry image `<prefix>/<name>:<unique tag>` for a two-platform publish: (tag, repository
/// path, image, and the cleanup of it and its per-platform tags).
fn two_platform_image(name: &str) -> (String, String, String, engine::Images) {
    let tag = engine::unique("t");
    let repo = format!("{}/{name}", engine::PREFIX);
    let image = format!("{}/{repo}:{tag}", test_env()["RFAAS_TEST_REGISTRY"]);
    let (image_repo, _) = image.rsplit_once(':').unwrap();
    let cleanup = engine::Images(vec![
        format!("{image_repo}:{tag}-linux-amd64"),
        format!("{image_repo}:{tag}-linux-arm64"),
        image.clone(),
    ]);
    (tag, repo, image, cleanup)
}

#[tokio::test]
async fn python3_http_for_amd64_and_arm64_runs_under_emulation() {
    let env = test_env();
    engine::docker().await;
    let base = multiarch_base().await;
    let (tag, repo, image, _cleanup) = two_platform_image("py-multi");
    let (image_repo, _) = image.rsplit_once(':').unwrap();
    let handler = "def handle(event, context):\n    return {\"statusCode\": 200, \"body\": \"Hello from OpenFaaS!\"}\n";
    let mut rfaas = project("python3-http", &image, &[("multi/handler.py", handler), ("multi/requirements.txt", "")]);
    login(&mut rfaas, &env["RFAAS_TEST_REGISTRY_PASSWORD"]);
    let run = rfaas.run(&[
        "publish",
        "--platforms",
        "linux/amd64,linux/arm64",
        "--build-arg",
        &format!("BASE_IMAGE={base}"),
        "--extra-tag",
        &format!("{tag}-stable"),
        "--quiet",
    ]);
    run.success().stdout_has(&format!("multi: published {image_repo}:{tag},{tag}-stable sha256:"));
    run.stdout_has("(linux/amd64, linux/arm64)");

    let (status, index_digest, index) = manifest(&repo, &tag, INDEX_ACCEPT).await;
    assert_eq!(status, 200, "{index}");
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    let manifests = index["manifests"].as_array().unwrap();
    let platforms: Vec<(String, String)> = manifests
        .iter()
        .map(|m| (m["platform"]["os"].as_str().unwrap().into(), m["platform"]["architecture"].as_str().unwrap().into()))
        .collect();
    assert_eq!(platforms, [("linux".into(), "amd64".into()), ("linux".into(), "arm64".into())]);
    let (_, extra_digest, _) = manifest(&repo, &format!("{tag}-stable"), INDEX_ACCEPT).await;
    assert_eq!(extra_digest, index_digest, "the extra tag names the same index");
    // Each platform's manifest is served by digest, with its config naming that architecture.
    let arm = manifests[1]["digest"].as_str().unwrap().to_string();
    let (status, _, arm_manifest) = manifest(&repo, &arm, MANIFEST_ACCEPT).await;
    assert_eq!(status, 200);
    assert!(!arm_manifest["layers"].as_array().unwrap().is_empty());
    assert_eq!(manifests[1]["mediaType"], arm_manifest["mediaType"], "the index names the stored manifest's type");

    // Pull the arm64 image back from the registry by digest and run it under emulation.
    let config = rfaas.path().join("creds");
    let by_digest = format!("{image_repo}@{arm}");
    let (ok, out) = docker_cli(&config, &["pull", "--platform", "linux/arm64", &by_digest]);
    assert!(ok, "{out}");
    let (ok, out) =
        docker_cli(&config, &["run", "--rm", "--platform", "linux/arm64", "--entrypoint", "uname", &by_digest, "-m"]);
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "aarch64");
    let _ = docker_cli(&config, &["image", "rm", "--no-prune", &by_digest]);

    // The engine's own platform also carries the plain tag locally.
    let docker = engine::docker().await;
    let local = docker.inspect_image(&image).await.expect("the amd64 build is tagged as the image");
    assert_eq!(local.architecture.as_deref(), Some("amd64"));
    for m in manifests {
        delete_manifest(&repo, m["digest"].as_str().unwrap()).await;
    }
    delete_manifest(&repo, &index_digest).await;
}

/// GET a blob from the test registry, as JSON (an image config).
async fn blob_json(repo: &str, digest: &str) -> Value {
    let env = test_env();
    let url = format!("http://{}/v2/{repo}/blobs/{digest}", env["RFAAS_TEST_REGISTRY"]);
    let reply = reqwest::Client::new()
        .get(&url)
        .basic_auth(&env["RFAAS_TEST_REGISTRY_USER"], Some(&env["RFAAS_TEST_REGISTRY_PASSWORD"]))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200, "{url}");
    reply.json().await.unwrap()
}

#[tokio::test]
async fn up_publish_for_two_platforms_pushes_one_index() {
    let env = test_env();
    engine::docker().await;
    let base = multiarch_base().await;
    let (tag, repo, image, _cleanup) = two_platform_image("up-multi");
    // The RUN step records the architecture it ran on, so each image says where it was built.
    let dockerfile = format!("FROM {base}\nRUN uname -m > /built-on\n");
    let mut rfaas = project("dockerfile", &image, &[("multi/Dockerfile", &dockerfile)]);
    login(&mut rfaas, &env["RFAAS_TEST_REGISTRY_PASSWORD"]);
    let run = rfaas.run(&["up", "--publish", "--platforms", "linux/amd64,linux/arm64", "--skip-deploy"]);
    run.success()
        .stdout_has(&format!("multi: published {image}"))
        .stdout_has("(linux/amd64, linux/arm64)")
        .stderr_has("multi linux/arm64 built")
        .stderr_has("multi linux/amd64 built");
    assert!(!run.stderr.contains("Deploying"), "--skip-deploy deployed:\n{}", run.stderr);

    let (status, index_digest, index) = manifest(&repo, &tag, INDEX_ACCEPT).await;
    assert_eq!(status, 200, "{index}");
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2, "{index}");
    let mut digests = Vec::new();
    for (entry, arch) in manifests.iter().zip(["amd64", "arm64"]) {
        assert_eq!(entry["platform"], serde_json::json!({"os": "linux", "architecture": arch}), "{index}");
        // The manifest the index names is the one the registry serves, and its config agrees.
        let digest = entry["digest"].as_str().unwrap().to_string();
        let (status, served, body) = manifest(&repo, &digest, MANIFEST_ACCEPT).await;
        assert_eq!((status, served.as_str()), (200, digest.as_str()));
        assert_eq!(entry["mediaType"], body["mediaType"]);
        let config = blob_json(&repo, body["config"]["digest"].as_str().unwrap()).await;
        assert_eq!((&config["os"], &config["architecture"]), (&Value::from("linux"), &Value::from(arch)));
        digests.push(digest);
    }
    for digest in digests {
        delete_manifest(&repo, &digest).await;
    }
    delete_manifest(&repo, &index_digest).await;
}

#[test]
fn up_platforms_needs_publish_and_pro_flags_are_refused() {
    let rfaas = project("dockerfile", "127.0.0.1:5000/x/multi:1", &[("multi/Dockerfile", "FROM scratch\n")]);
    rfaas
        .run(&["up", "--platforms", "linux/arm64"])
        .failure(1)
        .stderr_has("--platforms can only be given with --publish");
    rfaas.run(&["up", "--publish", "--platforms", "linux/x86_64"]).failure(1).stderr_has("x86_64 is amd64");
    rfaas.run(&["up", "--remote-builder", "http://127.0.0.1:1"]).failure(1).stderr_has("OpenFaaS Pro");
    rfaas.run(&["up", "--publish", "--skip-push"]).failure(2);
    assert!(!rfaas.path().join("build").exists());
}
