//! namespace list/get/create/update/remove, ready (gateway and function), version.

use std::time::{Duration, Instant};

use super::{Session, closed_gateway, json};

#[tokio::test]
async fn namespace_commands_manage_namespaces_that_functions_and_secrets_use() {
    let mut s = Session::logged_in().await;
    assert_eq!(s.run(&["namespace", "list"]).success().stdout, "Namespaces:\n - openfaas-fn\n");

    // create adds the openfaas=1 label the gateway requires.
    s.run(&["namespace", "create", "dev", "-l", "team=a", "--annotation", "owner=me"])
        .success()
        .stderr_has("Namespace dev created.");
    s.run(&["ns", "create", "dev"]).failure(1).stderr_has("namespace dev already exists");
    s.run(&["ns", "create", "qa", "-l", "team"]).failure(1).stderr_has("--label needs KEY=VALUE, but got \"team\"");
    assert_eq!(s.run(&["ns", "ls"]).success().stdout, "Namespaces:\n - openfaas-fn\n - dev\n");
    assert_eq!(json(s.run(&["namespace", "list", "--json"]).success()), serde_json::json!(["openfaas-fn", "dev"]));
    assert_eq!(
        s.run(&["namespace", "get", "dev"]).success().stdout,
        "Name: dev\nLabels:\n  openfaas: 1\n  team: a\nAnnotations:\n  openfaas: 1\n  owner: me\n"
    );
    s.run(&["namespace", "update", "dev", "-l", "team=b"]).success().stderr_has("Namespace dev updated.");
    s.run(&["namespace", "get", "dev"]).success().stdout_has("  team: b\n");
    s.run(&["namespace", "update", "qa"]).failure(1).stderr_has("namespace qa not found");
    s.run(&["namespace", "get", "qa"]).failure(1).stderr_has("namespace qa not found");

    // Secrets and functions live in it.
    s.run(&["secret", "create", "dev-key", "-n", "dev", "--from-literal", "v"]).success();
    s.run(&["secret", "create", "dev-key", "-n", "qa", "--from-literal", "v"])
        .failure(1)
        .stderr_has("namespace not valid: qa");
    assert_eq!(s.run(&["secret", "list", "-n", "dev"]).success().stdout, "NAME\ndev-key\n");
    s.deploy_echo("echo", &["-n", "dev", "--secret", "dev-key"]);
    assert_eq!(s.run(&["list", "-q", "-n", "dev"]).success().stdout, "echo\n");
    assert_eq!(s.run(&["list", "-q"]).success().stdout, "");
    s.run(&["describe", "echo"]).failure(1).stderr_has("no such function: echo");
    let url = s.gw.url.clone();
    s.run(&["describe", "echo", "-n", "dev"])
        .success()
        .stdout_has(&format!("URL                 {url}/function/echo.dev\n"));
    assert_eq!(json(s.run(&["invoke", "echo", "-n", "dev", "-m", "GET"]).success())["method"], "GET");

    s.run(&["namespace", "remove", "dev"]).failure(1).stderr_has("still has functions");
    s.run(&["remove", "echo", "-n", "dev"]).success();
    s.run(&["namespace", "rm", "dev"]).success().stderr_has("Namespace dev removed.");
    s.run(&["namespace", "delete", "dev"]).failure(1).stderr_has("namespace dev not found");
    assert_eq!(s.run(&["namespace", "list"]).success().stdout, "Namespaces:\n - openfaas-fn\n");
}

#[tokio::test]
async fn ready_waits_for_the_gateway_and_functions_and_version_reports_all_three() {
    let mut s = Session::logged_in().await;
    let url = s.gw.url.clone();
    s.run(&["ready"]).success().stderr_has(&format!("gateway {url} is ready"));
    let nowhere = closed_gateway();
    s.run(&["ready", "-g", &nowhere, "--attempts", "2", "--interval", "100ms"])
        .failure(1)
        .stderr_has(&format!("gateway {nowhere} not ready after"));

    let started = Instant::now();
    s.run(&["ready", "missing", "--attempts", "2", "--interval", "100ms"])
        .failure(1)
        .stderr_has("function missing not ready after")
        .stderr_has("(2 attempts)");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Deployed without --wait, then waited for.
    let image = s.image.clone();
    s.run(&["deploy", "--image", &image, "--name", "echo"]).success();
    s.run(&["ready", "echo", "--attempts", "150", "--interval", "200ms"]).success().stderr_has("echo is ready");
    s.run(&["describe", "echo"]).success().stdout_has("Status              Ready");

    let version = env!("CARGO_PKG_VERSION");
    let text = s.run(&["version"]);
    for part in [
        "CLI:\n commit:  ".to_string(),
        format!(" version: {version}\n"),
        format!("Gateway\n uri:     {url}\n version: {version}\n"),
        "Provider\n name:          rfaas\n orchestration: docker\n".to_string(),
    ] {
        text.success().stdout_has(&part);
    }
    let v = json(s.run(&["version", "--json"]).success());
    assert_eq!(v["cli"]["version"], version);
    assert_eq!(v["gateway"]["uri"], url.as_str());
    assert_eq!(v["gateway"]["version"], version);
    assert_eq!(
        (v["provider"]["name"].as_str(), v["provider"]["orchestration"].as_str()),
        (Some("rfaas"), Some("docker"))
    );
    assert!(v["provider"]["sha"].is_string());
    assert_eq!(s.run(&["version", "--short-version"]).success().stdout, format!("{version}\n"));
}
