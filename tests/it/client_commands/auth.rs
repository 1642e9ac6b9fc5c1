//! login, logout and what commands do without credentials or without a gateway.

use std::os::unix::fs::PermissionsExt;

use base64::Engine;

use super::{Session, closed_gateway};

#[tokio::test]
async fn login_saves_faas_cli_config_then_commands_authenticate_and_logout_forgets() {
    let mut s = Session::start().await;
    let url = s.gw.url.clone();
    let image = s.image.clone();

    // Without credentials every API command fails with a hint to log in, and nothing is deployed.
    for args in [
        vec!["list"],
        vec!["describe", "fn"],
        vec!["deploy", "--image", &image, "--name", "fn"],
        vec!["secret", "list"],
        vec!["namespace", "list"],
        vec!["logs", "fn", "--tail=false"],
        vec!["ready", "fn", "--attempts", "50", "--interval", "1s"],
    ] {
        let started = std::time::Instant::now();
        s.run(&args)
            .failure(1)
            .stderr_has(&format!("unauthorized access to {url}"))
            .stderr_has("hint: run `rfaas login");
        assert!(started.elapsed().as_secs() < 10, "{args:?} gave up only after {:?}", started.elapsed());
    }
    assert!(s.deployed().await.is_empty());
    // version still prints the client's part, and says why the rest is missing.
    let version = s.run(&["version"]);
    version.success().stdout_has("CLI:").stderr_has("unauthorized access").stderr_has("run `rfaas login");
    assert!(!version.stdout.contains("Gateway"), "{}", version.stdout);

    // A wrong password: exit 1, nothing written.
    s.run_stdin(&["login", "-g", &url, "--password-stdin"], b"not-the-password\n")
        .failure(1)
        .stderr_has("unable to login, either username or password is incorrect");
    assert!(!s.config_path().exists());

    // The right one: faas-cli's config.yml layout, mode 0600.
    let password = s.gw.password.clone();
    s.run_stdin(&["login", "-g", &url, "-u", "admin", "--password-stdin"], format!("{password}\n").as_bytes())
        .success()
        .stderr_has(&format!("credentials saved for admin {url}"));
    let token = base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"));
    let config = std::fs::read_to_string(s.config_path()).unwrap();
    assert_eq!(config, format!("auths:\n  - gateway: {url}\n    auth: basic\n    token: {token}\n"));
    assert_eq!(std::fs::metadata(s.config_path()).unwrap().permissions().mode() & 0o777, 0o600);
    s.run(&["list"]).success().stdout_has("Function");

    // FAAS_DEBUG shows the requests with the credentials redacted.
    let debug = s.run_env(&["list"], "FAAS_DEBUG", "1");
    debug.success().stderr_has(&format!("GET {url}/system/functions")).stderr_has("authorization: Basic REDACTED");
    assert!(!debug.stderr.contains(&token));

    s.run(&["logout"]).success().stderr_has(&format!("credentials removed for {url}"));
    s.run(&["list"]).failure(1).stderr_has("hint: run `rfaas login");
    s.run(&["logout"]).failure(1).stderr_has(&format!("no auth config found for {url}"));

    // login --local reads the credentials from the gateway's state directory.
    let state_dir = s.gw.dir.display().to_string();
    s.run(&["login", "--local", "--state-dir", &state_dir])
        .success()
        .stderr_has(&format!("credentials saved for admin {url}"));
    s.run(&["list"]).success();
    let elsewhere = s.path().join("no-gateway-here").display().to_string();
    s.run(&["login", "--local", "--state-dir", &elsewhere])
        .failure(1)
        .stderr_has("no local gateway is running")
        .stderr_has("hint: start it with `rfaas gateway start`");

    assert!(!s.transcript.contains(&password), "the password was printed:\n{}", s.transcript);
}

#[tokio::test]
async fn an_unreachable_gateway_fails_every_command_with_a_hint() {
    let mut s = Session::start().await;
    let nowhere = closed_gateway();
    let image = s.image.clone();
    s.file(
        "stack.yml",
        &format!("provider: {{name: openfaas, gateway: {nowhere}}}\nfunctions:\n  fn:\n    image: {image}\n"),
    );
    for args in [
        vec!["deploy"],
        vec!["deploy", "--image", &image, "--name", "fn", "-g", &nowhere],
        vec!["list"],
        vec!["describe", "fn"],
        vec!["remove", "fn"],
        vec!["invoke", "fn"],
        vec!["logs", "fn"],
        vec!["secret", "list", "-g", &nowhere],
        vec!["namespace", "list", "-g", &nowhere],
    ] {
        s.run(&args)
            .failure(1)
            .stderr_has(&format!("cannot reach the gateway at {nowhere}"))
            .stderr_has("hint: is the gateway running?");
    }
    s.run(&["ready", "--attempts", "2", "--interval", "100ms"])
        .failure(1)
        .stderr_has(&format!("gateway {nowhere} not ready after"));
    // version still prints the client's part.
    let version = s.run(&["version"]);
    version.success().stdout_has("CLI:");
    assert!(!version.stdout.contains("Gateway"), "{}", version.stdout);
}
