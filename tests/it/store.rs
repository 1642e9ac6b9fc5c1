//! `store list|describe|deploy` against the real OpenFaaS function store file
//! (../shared/reference/store-functions.json) served from loopback, and `store deploy` to the
//! real gateway.

use serde_json::Value;

use crate::client_commands::Session;
use crate::support::{Rfaas, reference_file, serve_bytes};

fn store_json() -> Vec<u8> {
    std::fs::read(reference_file("store-functions.json")).unwrap()
}

/// The store served on loopback; returns its URL.
fn serve_store() -> String {
    format!("{}/functions.json", serve_bytes(200, store_json()))
}

/// The store's functions that have an image for `platform`, parsed independently of rfaas.
fn names_for(platform: &str) -> Vec<String> {
    let store: Value = serde_json::from_slice(&store_json()).unwrap();
    store["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["images"].get(platform).is_some())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_shows_the_platform_functions_in_faas_cli_layout() {
    let url = serve_store();
    let r = Rfaas::new();
    let run = r.run(&["store", "list", "--url", &url, "--platform", "x86_64"]);
    run.success();
    let lines: Vec<&str> = run.stdout.split('\n').collect();
    assert_eq!(lines[0], "", "a blank line first, as faas-cli prints");
    assert!(lines[1].starts_with("FUNCTION "), "{}", run.stdout);
    let listed: Vec<&str> = lines[2..].iter().filter(|l| !l.is_empty()).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(listed, names_for("x86_64"));
    // Columns line up: the AUTHOR column starts at the same offset on every row.
    let at = lines[1].find("AUTHOR").unwrap();
    assert!(lines[2..].iter().filter(|l| !l.is_empty()).all(|l| l[..at].ends_with(' ') && !l[at..].starts_with(' ')));
    assert!(run.stdout.contains("nodeinfo"));
    assert!(run.stdout.ends_with("\n\n"));

    let arm = r.run(&["store", "ls", "-u", &url, "-p", "armhf"]);
    let armhf = names_for("armhf");
    assert!(armhf.len() < names_for("x86_64").len());
    assert!(!arm.success().stdout.contains("colorise"), "x86_64-only functions are not listed for armhf");
    let json: Value =
        serde_json::from_str(&r.run(&["store", "list", "-u", &url, "-p", "armhf", "--json"]).stdout).unwrap();
    let names: Vec<&str> = json.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, armhf);
    assert!(json[0].get("readOnlyRootFilesystem").is_some() && json[0].get("repo_url").is_some());

    let none = r.run(&["store", "list", "-u", &url, "-p", "riscv64"]);
    none.success().stdout_has("No functions found in the store for platform 'riscv64', try one of the following: ");
    let short = r.run(&["store", "list", "-u", &url, "-p", "x86_64", "--verbose=false"]);
    assert!(short.success().stdout.lines().all(|l| l.chars().count() < 80));
}

#[test]
fn openfaas_store_env_is_the_default_url_and_the_flag_wins() {
    let url = serve_store();
    let mut r = Rfaas::new();
    r.env("OPENFAAS_STORE", &url);
    r.run(&["store", "list", "-p", "x86_64"]).success().stdout_has("figlet");
    r.run(&["store", "list", "-p", "x86_64", "--url", "http://127.0.0.1:9/functions.json"])
        .failure(1)
        .stderr_has("cannot read the function store http://127.0.0.1:9/functions.json");
}

#[test]
fn describe_by_name_or_title_with_json() {
    let url = serve_store();
    let r = Rfaas::new();
    let text = r.run(&["store", "describe", "sleep", "-u", &url, "-p", "x86_64"]);
    text.success()
        .stdout_has("Title:       sleep\n")
        .stdout_has("Image:    ghcr.io/openfaas/sleep:latest\n")
        .stdout_has("Environment:\n-  write_timeout: 60s\n");
    r.run(&["store", "inspect", "NodeInfo", "-u", &url, "-p", "x86_64"])
        .success()
        .stdout_has("ghcr.io/openfaas/nodeinfo");
    let json: Value = serde_json::from_str(&r.run(&["store", "inspect", "sleep", "-u", &url, "-j"]).stdout).unwrap();
    assert_eq!(json["readOnlyRootFilesystem"], true);
    assert_eq!(json["environment"]["write_timeout"], "60s");
    r.run(&["store", "describe", "no-such-fn", "-u", &url, "-p", "x86_64"])
        .failure(1)
        .stderr_has("function 'no-such-fn' not found for platform 'x86_64'")
        .stderr_has("hint: `rfaas store list`");
    r.run(&["store", "describe", "colorise", "-u", &url, "-p", "armhf"])
        .failure(1)
        .stderr_has("function 'colorise' not found for platform 'armhf'");
}

#[test]
fn a_bad_or_unreachable_store_fails_clearly() {
    let r = Rfaas::new();
    // Nothing listens on port 9 of loopback.
    r.run(&["store", "list", "-u", "http://127.0.0.1:9/functions.json"])
        .failure(1)
        .stderr_has("cannot read the function store http://127.0.0.1:9/functions.json")
        .stderr_has("hint:");
    let html = format!("{}/functions.json", serve_bytes(200, b"<html>not json</html>".to_vec()));
    r.run(&["store", "list", "-u", &html]).failure(1).stderr_has("is not valid store JSON");
    let wrong_shape = format!("{}/functions.json", serve_bytes(200, br#"{"functions": "nope"}"#.to_vec()));
    r.run(&["store", "list", "-u", &wrong_shape]).failure(1).stderr_has("is not valid store JSON");
    let missing = format!("{}/functions.json", serve_bytes(404, b"gone".to_vec()));
    r.run(&["store", "list", "-u", &missing]).failure(1).stderr_has("404");
    let huge = format!("{}/functions.json", serve_bytes(200, vec![b' '; 17 * 1024 * 1024]));
    r.run(&["store", "list", "-u", &huge]).failure(1).stderr_has("cannot read the function store");
    r.run(&["store", "deploy", "figlet", "-u", &html, "-g", "http://127.0.0.1:9"])
        .failure(1)
        .stderr_has("is not valid store JSON");
}

/// Tags the echo image as `image` (idempotent), since store images cannot be pulled here.
async fn tag_as(echo: &str, image: &str) {
    let docker = crate::support::gateway::docker().await;
    let (repo, tag) = image.rsplit_once(':').unwrap();
    let options = bollard::query_parameters::TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
    docker.tag_image(echo, Some(options)).await.unwrap();
}

#[tokio::test]
async fn store_deploy_deploys_the_store_image_with_its_settings_to_the_gateway() {
    let url = serve_store();
    let mut s = Session::logged_in().await;
    tag_as(&s.image, "ghcr.io/openfaas/sleep:latest").await;
    let run = s.run(&[
        "store", "deploy", "sleep", "-u", &url, "-p", "x86_64", "--name", "napper", "-e", "extra=1", "--label",
        "team=web", "--wait",
    ]);
    run.success().stdout_has("Deployed. 202 Accepted.").stderr_has("napper is ready");
    let d = s.describe("napper");
    assert_eq!(d["image"], "ghcr.io/openfaas/sleep:latest");
    assert_eq!(d["envVars"]["write_timeout"], "60s", "the store's environment");
    assert_eq!(d["envVars"]["extra"], "1");
    assert_eq!(d["labels"]["team"], "web");
    assert_eq!(d["readOnlyRootFilesystem"], true);
    assert_eq!(s.gw.invoke_until_ok("napper", std::time::Duration::from_secs(30)).await, 200);
    s.run(&["store", "deploy", "no-such-fn", "-u", &url, "-p", "x86_64"])
        .failure(1)
        .stderr_has("function 'no-such-fn' not found for platform 'x86_64'");
    assert_eq!(s.deployed().await, ["napper"], "nothing else was deployed");
}
