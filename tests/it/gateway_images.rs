//! Images the gateway does not have yet: pulled from the htpasswd registry of tests/env/setup.sh
//! with the credentials in the gateway's DOCKER_CONFIG, and every way a pull fails (refused or
//! missing credentials, no such image, registry down) leaving the function kept but unavailable,
//! with the reason in the deploy response (424), `describe` and `ready`.

use std::time::Duration;

use bollard::query_parameters::{PushImageOptions, RemoveImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::engine;
use crate::environment::test_env;
use crate::support::Rfaas;
use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images};

/// `127.0.0.1:5000/rfaas-it/<name>:<unique tag>` holding the echo image, pushed with the test
/// credentials and then removed locally, so only a pull can bring it back.
async fn pushed_echo(name: &str) -> String {
    let env = test_env();
    let docker = docker().await;
    let (echo, _) = echo_images().await;
    let repo = format!("{}/{}/{name}", env["RFAAS_TEST_REGISTRY"], engine::PREFIX);
    let tag = engine::unique("t");
    let options = TagImageOptionsBuilder::default().repo(&repo).tag(&tag).build();
    docker.tag_image(&echo, Some(options)).await.expect("tag the echo image");
    let creds = bollard::auth::DockerCredentials {
        username: Some(env["RFAAS_TEST_REGISTRY_USER"].clone()),
        password: Some(env["RFAAS_TEST_REGISTRY_PASSWORD"].clone()),
        serveraddress: Some(env["RFAAS_TEST_REGISTRY"].clone()),
        ..Default::default()
    };
    let options = PushImageOptions { tag: Some(tag.clone()), ..Default::default() };
    let mut push = docker.push_image(&repo, Some(options), Some(creds));
    while let Some(step) = push.next().await {
        let info = step.unwrap_or_else(|e| panic!("push {repo}:{tag}: {e}"));
        assert!(info.error_detail.is_none(), "push {repo}:{tag}: {:?}", info.error_detail);
    }
    let image = format!("{repo}:{tag}");
    remove_local(&image).await;
    image
}

/// Removes the local tag `image` (its layers stay, shared with the echo image).
async fn remove_local(image: &str) {
    let options = RemoveImageOptionsBuilder::default().noprune(true).build();
    let _ = docker().await.remove_image(image, Some(options), None).await;
    assert!(docker().await.inspect_image(image).await.is_err(), "{image} still local");
}

/// A DOCKER_CONFIG directory whose config.json holds `password` for the test registry (no
/// `auths` entry at all when `None`).
fn docker_config(rfaas: &Rfaas, password: Option<&str>) -> String {
    use base64::Engine;
    let env = test_env();
    let auths = match password {
        Some(p) => {
            let auth =
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{p}", env["RFAAS_TEST_REGISTRY_USER"]));
            json!({ env["RFAAS_TEST_REGISTRY"].clone(): {"auth": auth} })
        }
        None => json!({}),
    };
    let dir = rfaas.path().join(format!("docker-config-{}", password.map_or(0, str::len)));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("config.json"), json!({ "auths": auths }).to_string()).expect("write config.json");
    dir.display().to_string()
}

/// A gateway reading registry credentials from `config_dir`, and a client logged in to it.
async fn gateway_with_config(rfaas: &mut Rfaas, config_dir: &str) -> TestGateway {
    let gw = TestGateway::start_with_env(&["--health-timeout", "20s"], &[("DOCKER_CONFIG", config_dir)]).await;
    let openfaas_config = rfaas.path().join("openfaas-config").display().to_string();
    rfaas.env("OPENFAAS_CONFIG", &openfaas_config).env("OPENFAAS_URL", &gw.url);
    rfaas.stdin(format!("{}\n", gw.password).as_bytes());
    rfaas.run(&["login", "--password-stdin"]).success();
    gw
}

fn describe_json(rfaas: &Rfaas, name: &str) -> Value {
    let run = rfaas.run(&["describe", name, "--output", "json"]);
    run.success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("describe --output json: {e}\n{}", run.stdout))
}

#[tokio::test]
async fn a_private_image_is_pulled_with_the_docker_config_credentials() {
    let image = pushed_echo("private").await;
    let _cleanup = engine::Images(vec![image.clone()]);
    let mut rfaas = Rfaas::new();
    let config = docker_config(&rfaas, Some(&test_env()["RFAAS_TEST_REGISTRY_PASSWORD"]));
    let gw = gateway_with_config(&mut rfaas, &config).await;

    let (status, body) = gw.deploy(&echo_fn("private", &image)).await;
    assert_eq!(status, 202, "{body}\n{}", gw.log());
    let reply = gw.invoke("private").await;
    assert_eq!(reply.status(), 200);
    assert!(docker().await.inspect_image(&image).await.is_ok(), "the pull left {image} in the engine");
    let described = describe_json(&rfaas, "private");
    assert_eq!(described["availableReplicas"], 1, "{described}");
    assert!(described.get("reason").is_none(), "{described}");
    assert!(!gw.log().contains(&test_env()["RFAAS_TEST_REGISTRY_PASSWORD"]), "the password reached the log");
}

#[tokio::test]
async fn refused_or_missing_credentials_leave_the_function_unavailable_with_the_reason() {
    let image = pushed_echo("denied").await;
    let _cleanup = engine::Images(vec![image.clone()]);
    let mut rfaas = Rfaas::new();
    let config = docker_config(&rfaas, Some("not-the-password"));
    let gw = gateway_with_config(&mut rfaas, &config).await;
    let registry = test_env()["RFAAS_TEST_REGISTRY"].clone();

    let (status, body) = gw.deploy(&echo_fn("denied", &image)).await;
    assert_eq!(status, 424, "{body}");
    let refused = format!("cannot pull image {image}: {registry} refused the credentials from {config}/config.json");
    assert!(body.starts_with(&refused), "{body}");
    assert!(body.contains(&format!("docker login {registry}")) && body.contains("the gateway keeps trying"), "{body}");
    assert!(!body.contains("not-the-password"), "{body}");

    // Kept, unavailable, and saying why: describe (text and JSON) and ready.
    let described = describe_json(&rfaas, "denied");
    assert_eq!((described["replicas"].as_u64(), described["availableReplicas"].as_u64()), (Some(1), None));
    assert!(described["reason"].as_str().is_some_and(|r| r.starts_with(&refused)), "{described}");
    rfaas.run(&["describe", "denied"]).success().stdout_has(&format!("Reason              {refused}"));
    rfaas
        .run(&["ready", "denied", "--attempts", "2", "--interval", "100ms"])
        .failure(1)
        .stderr_has("function denied not ready after")
        .stderr_has(&refused);
    assert_eq!(gw.invoke("denied").await.status(), 503);

    // No credentials for the registry at all: the reason says none were found, and where.
    let mut anonymous = Rfaas::new();
    let empty = docker_config(&anonymous, None);
    let gw2 = gateway_with_config(&mut anonymous, &empty).await;
    let (status, body) = gw2.deploy(&echo_fn("anonymous", &image)).await;
    assert_eq!(status, 424, "{body}");
    let none = format!("refused the credentials (none for {registry} in {empty}/config.json)");
    assert!(body.contains(&none), "{body}");
}

#[tokio::test]
async fn a_missing_image_or_registry_is_a_424_and_an_update_keeps_the_old_replicas() {
    let (echo, _) = echo_images().await;
    let env = test_env();
    let mut rfaas = Rfaas::new();
    let config = docker_config(&rfaas, Some(&env["RFAAS_TEST_REGISTRY_PASSWORD"]));
    let gw = gateway_with_config(&mut rfaas, &config).await;
    let registry = &env["RFAAS_TEST_REGISTRY"];

    let missing = format!("{registry}/{}/never-pushed:{}", engine::PREFIX, engine::unique("t"));
    let (status, body) = gw.deploy(&echo_fn("missing", &missing)).await;
    assert_eq!(status, 424, "{body}");
    assert!(body.starts_with(&format!("cannot pull image {missing}: it does not exist in {registry}")), "{body}");

    let down = format!("127.0.0.1:{}/{}/down:1", engine::free_port(), engine::PREFIX);
    let (status, body) = gw.deploy(&echo_fn("down", &down)).await;
    assert_eq!(status, 424, "{body}");
    assert!(body.starts_with(&format!("cannot pull image {down}: cannot reach the registry 127.0.0.1:")), "{body}");

    // An invalid reference is still refused before anything is stored: by rfaas (whitespace),
    // or by the engine (Docker: "repository name must be lowercase", Podman: "invalid reference
    // format").
    for (name, bad) in [("invalid", "Not A Reference"), ("upper", "UPPER/Case:1")] {
        let (status, body) = gw.deploy(&echo_fn(name, bad)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.starts_with(&format!("invalid image reference {bad:?}: ")), "{body}");
        let (status, _) = gw.send(gw.system(reqwest::Method::GET, &format!("/system/function/{name}"))).await;
        assert_eq!(status, 404);
    }

    // A rolling update to an image that cannot be pulled: the old replica keeps serving.
    assert_eq!(gw.deploy(&echo_fn("kept", &echo)).await.0, 202);
    let (status, body) = gw.update(&echo_fn("kept", &missing)).await;
    assert_eq!(status, 424, "{body}");
    assert_eq!(gw.invoke_until_ok("kept", Duration::from_secs(5)).await, 200);
    let described = describe_json(&rfaas, "kept");
    assert_eq!(described["availableReplicas"], 1, "{described}");
    assert!(described["reason"].as_str().is_some_and(|r| r.contains("does not exist")), "{described}");

    // Fixed by another update: the reason goes away.
    assert_eq!(gw.update(&echo_fn("kept", &echo)).await.0, 200);
    assert!(describe_json(&rfaas, "kept").get("reason").is_none());
}

#[tokio::test]
async fn concurrent_deploys_of_one_absent_image_share_the_pull_and_a_huge_reference_is_a_400() {
    let image = pushed_echo("shared").await;
    let _cleanup = engine::Images(vec![image.clone()]);
    let mut rfaas = Rfaas::new();
    let config = docker_config(&rfaas, Some(&test_env()["RFAAS_TEST_REGISTRY_PASSWORD"]));
    let gw = gateway_with_config(&mut rfaas, &config).await;

    let names = ["shared-a", "shared-b", "shared-c", "shared-d"];
    let deploys = names.iter().map(|n| {
        let body = echo_fn(n, &image);
        let gw = &gw;
        async move { gw.deploy(&body).await }
    });
    for (name, (status, body)) in names.iter().zip(futures_util::future::join_all(deploys).await) {
        assert_eq!(status, 202, "{name}: {body}\n{}", gw.log());
        assert_eq!(gw.invoke(name).await.status(), 200, "{name}");
    }

    let huge = format!("{}/{}:1", test_env()["RFAAS_TEST_REGISTRY"], "a".repeat(100_000));
    let (status, body) = gw.deploy(&echo_fn("huge", &huge)).await;
    assert_eq!(status, 400, "{}", &body[..body.len().min(300)]);
    assert!(body.starts_with("invalid image reference \""), "{}", &body[..body.len().min(300)]);
    assert!(body.len() < 1000, "the reference is not echoed whole: {} bytes", body.len());
    let (status, _) = gw.send(gw.system(reqwest::Method::GET, "/system/function/huge")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_gateway_started_with_pull_never_runs_only_local_images() {
    let image = pushed_echo("never").await;
    let _cleanup = engine::Images(vec![image.clone()]);
    let (echo, _) = echo_images().await;
    let rfaas = Rfaas::new();
    let config = docker_config(&rfaas, Some(&test_env()["RFAAS_TEST_REGISTRY_PASSWORD"]));
    let gw = TestGateway::start_with_env(&["--pull", "never"], &[("DOCKER_CONFIG", &config)]).await;

    // Pullable with the credentials, but this gateway does not pull: a 424 saying so, and the
    // image is still not in the engine.
    let (status, body) = gw.deploy(&echo_fn("absent", &image)).await;
    assert_eq!(status, 424, "{body}");
    let refused = format!("image {image} is not in the engine, and this gateway does not pull images (--pull never)");
    assert!(body.starts_with(&refused), "{body}");
    assert!(body.contains("restart the gateway with --pull missing"), "{body}");
    assert!(docker().await.inspect_image(&image).await.is_err(), "--pull never pulled {image}");

    // A local image runs as usual.
    assert_eq!(gw.deploy(&echo_fn("local", &echo)).await.0, 202, "{}", gw.log());
    assert_eq!(gw.invoke("local").await.status(), 200);

    // An unknown policy is refused by the command line.
    rfaas.run(&["gateway", "--pull", "always"]).failure(2).stderr_has("invalid value 'always' for '--pull <PULL>'");
}
