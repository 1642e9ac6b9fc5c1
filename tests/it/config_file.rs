//! login/logout and config.yml: faas-cli's location rules, layout, and mode 0600.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Rfaas, serve};

/// A gateway stand-in that accepts only admin/s3cr3t on GET /system/functions.
fn gateway() -> String {
    serve(|req| {
        let ok = req.method == "GET"
            && req.path == "/system/functions"
            && req.header("authorization") == Some("Basic YWRtaW46czNjcjN0");
        if ok { (200, "[]".into()) } else { (401, "invalid credentials".into()) }
    })
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).expect("file exists").permissions().mode() & 0o777
}

#[test]
fn login_writes_faas_cli_config_with_mode_0600_and_logout_removes_it() {
    let gw = gateway();
    let mut rfaas = Rfaas::new();
    rfaas.stdin(b"s3cr3t\n");
    rfaas.run(&["login", "-g", &gw, "--password-stdin"]).success().stderr_has("credentials saved for admin");
    let path = rfaas.home().join(".openfaas/config.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("auths:\n  - gateway: {gw}\n    auth: basic\n    token: YWRtaW46czNjcjN0\n"));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);

    rfaas.run(&["logout", "-g", &gw]).success().stderr_has(&format!("credentials removed for {gw}"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "auths: []\n");
    rfaas.run(&["logout", "-g", &gw]).failure(1).stderr_has("no auth config found for");
}

#[test]
fn login_keeps_other_entries_written_by_faas_cli() {
    let gw = gateway();
    let mut rfaas = Rfaas::new();
    rfaas.file(
        "home/.openfaas/config.yml",
        "auths:\n- gateway: https://other.example\n  auth: oauth2\n  token: abc\n  options:\n  - name: client_id\n    value: x\n",
    );
    rfaas.stdin(b"s3cr3t");
    rfaas.run(&["login", "-g", &gw, "-s"]).success();
    let text = std::fs::read_to_string(rfaas.home().join(".openfaas/config.yml")).unwrap();
    assert!(text.starts_with("auths:\n  - gateway: https://other.example\n    auth: oauth2\n    token: abc\n    options:\n      - name: client_id\n        value: x\n"), "{text}");
    assert!(text.contains(&format!("  - gateway: {gw}\n    auth: basic\n")), "{text}");
}

#[test]
fn wrong_password_fails_without_writing_or_printing_it() {
    let gw = gateway();
    let mut rfaas = Rfaas::new();
    rfaas.stdin(b"wrong-password-123");
    let run = rfaas.run(&["login", "-g", &gw, "--password-stdin"]);
    run.failure(1).stderr_has("unable to login, either username or password is incorrect");
    assert!(!run.stderr.contains("wrong-password-123") && !run.stdout.contains("wrong-password-123"));
    assert!(!rfaas.home().join(".openfaas/config.yml").exists());
}

#[test]
fn empty_password_is_rejected() {
    let mut rfaas = Rfaas::new();
    rfaas.stdin(b"   \n");
    rfaas.run(&["login", "--password-stdin"]).failure(1).stderr_has("must provide a non-empty password");
    rfaas.run(&["login", "-p", "x", "--password-stdin"]).failure(2);
}

#[test]
fn openfaas_config_and_ci_choose_the_location() {
    let gw = gateway();
    let mut rfaas = Rfaas::new();
    rfaas.env("OPENFAAS_CONFIG", &rfaas.path().join("cfg").display().to_string()).stdin(b"s3cr3t");
    rfaas.run(&["login", "-g", &gw, "-s"]).success();
    assert_eq!(mode(&rfaas.path().join("cfg/config.yml")), 0o600);

    let mut ci = Rfaas::new();
    ci.env("CI", "true").stdin(b"s3cr3t");
    ci.run(&["login", "-g", &gw, "-s"]).success();
    assert_eq!(mode(&ci.path().join(".openfaas/config.yml")), 0o600);
    assert!(!ci.home().join(".openfaas").exists());
}

#[test]
fn gateway_comes_from_openfaas_url_and_is_normalised() {
    let gw = gateway();
    let mut rfaas = Rfaas::new();
    rfaas.env("OPENFAAS_URL", &format!("{}/", gw.trim_start_matches("http://").to_uppercase())).stdin(b"s3cr3t");
    rfaas.run(&["login", "-s"]).success();
    let text = std::fs::read_to_string(rfaas.home().join(".openfaas/config.yml")).unwrap();
    assert!(text.contains(&format!("gateway: {gw}\n")), "{text}");
}

#[test]
fn unreachable_gateway_gives_a_hint() {
    let mut rfaas = Rfaas::new();
    rfaas.stdin(b"pw");
    rfaas
        .run(&["login", "-g", "http://127.0.0.1:9", "-s"])
        .failure(1)
        .stderr_has("cannot reach the gateway at http://127.0.0.1:9")
        .stderr_has("hint: is the gateway running?");
}

#[test]
fn login_warns_about_plain_http_like_every_other_command_and_not_for_loopback() {
    let gw = gateway();
    let port = gw.rsplit(':').next().unwrap();
    // 0.0.0.0 reaches this machine's own listener but is not a loopback name, so it counts as a
    // remote plain-HTTP gateway, the case the warning exists for.
    let remote_looking = format!("http://0.0.0.0:{port}");
    let mut rfaas = Rfaas::new();
    rfaas.stdin(b"s3cr3t\n");
    let warning = "you are not using an encrypted connection to the gateway, consider using HTTPS";
    rfaas.run(&["login", "-g", &remote_looking, "--password-stdin"]).success().stderr_has(warning);
    rfaas.run(&["list", "-g", &remote_looking]).success().stderr_has(warning);
    let local = rfaas.run(&["login", "-g", &gw, "--password-stdin"]);
    local.success();
    assert!(!local.stderr.contains(warning), "{}", local.stderr);
}
