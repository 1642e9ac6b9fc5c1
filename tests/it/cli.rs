//! The command-line surface: help with examples, version, completion, bad flags and exit codes.

use crate::support::Rfaas;

#[test]
fn no_arguments_prints_help_and_succeeds() {
    let run = Rfaas::new().run(&[]);
    run.success().stdout_has("Usage: rfaas").stdout_has("generate");
}

#[test]
fn every_command_help_shows_examples() {
    let rfaas = Rfaas::new();
    let commands = [
        "generate",
        "completion",
        "version",
        "login",
        "logout",
        "deploy",
        "list",
        "describe",
        "remove",
        "invoke",
        "logs",
        "secret",
        "namespace",
        "ready",
    ];
    for cmd in commands {
        rfaas.run(&[cmd, "--help"]).success().stdout_has("Examples:").stdout_has(&format!("rfaas {cmd}"));
    }
}

#[test]
fn unknown_flag_is_a_usage_error_with_exit_2() {
    Rfaas::new().run(&["generate", "--nope"]).failure(2).stderr_has("unexpected argument '--nope'");
}

#[test]
fn unknown_command_is_a_usage_error() {
    Rfaas::new().run(&["frobnicate"]).failure(2).stderr_has("unrecognized subcommand 'frobnicate'");
}

#[test]
fn bad_flag_value_names_the_value() {
    Rfaas::new().run(&["generate", "--tag", "bad"]).failure(2).stderr_has("unknown image tag format: 'bad'");
}

#[test]
fn gateway_connection_limits_must_be_positive() {
    let rfaas = Rfaas::new();
    let state = rfaas.path().join("never-created");
    let state = state.to_str().unwrap();
    for (flag, value, says) in [
        ("--max-connections", "0", "0 is not in 1..="),
        ("--idle-timeout", "0s", "must be more than 0"),
        ("--header-read-timeout", "0", "must be more than 0"),
        ("--header-read-timeout", "soon", "invalid duration \"soon\""),
        ("--wake-timeout", "0s", "must be more than 0"),
        ("--scale-down-window", "0", "must be more than 0"),
        ("--pause-before-remove", "later", "invalid duration \"later\""),
        ("--max-replicas", "0", "0 is not in 1..=1000"),
        ("--max-replicas", "1001", "1001 is not in 1..=1000"),
    ] {
        rfaas.run(&["gateway", "--state-dir", state, flag, value]).failure(2).stderr_has(says).stderr_has(flag);
        rfaas.run(&["gateway", "start", "--state-dir", state, flag, value]).failure(2).stderr_has(says);
    }
    assert!(!std::path::Path::new(state).exists(), "nothing is created for a usage error");
}

#[test]
fn version_prints_client_version() {
    let rfaas = Rfaas::new();
    rfaas.run(&["version"]).success().stdout_has(&format!("version: {}", env!("CARGO_PKG_VERSION")));
    let run = rfaas.run(&["version", "--short-version"]);
    assert_eq!(run.success().stdout.trim(), env!("CARGO_PKG_VERSION"));
    let run = rfaas.run(&["version", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&run.success().stdout).expect("json");
    assert_eq!(v["cli"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn completion_scripts_for_each_shell() {
    let rfaas = Rfaas::new();
    rfaas.run(&["completion", "bash"]).success().stdout_has("_rfaas()");
    rfaas.run(&["completion", "zsh"]).success().stdout_has("#compdef rfaas");
    rfaas.run(&["completion", "--shell", "fish"]).success().stdout_has("complete -c rfaas");
    rfaas.run(&["completion", "powershell"]).failure(2);
    rfaas.run(&["completion"]).failure(2);
}

#[test]
fn aliases_work_like_faas_cli() {
    let rfaas = Rfaas::new();
    for alias in [["ls", "--help"], ["rm", "--help"], ["delete", "--help"], ["ns", "--help"]] {
        rfaas.run(&alias).success();
    }
    rfaas.run(&["secret", "ls", "--help"]).success();
    rfaas.run(&["namespace", "rm", "--help"]).success();
}

#[test]
fn invoke_rejects_an_invalid_method_instead_of_exiting_0() {
    Rfaas::new().run(&["invoke", "fn", "-m", "BREW"]).failure(2).stderr_has("invalid value 'BREW'");
}

#[test]
fn sign_needs_a_key() {
    Rfaas::new().run(&["invoke", "fn", "--sign", "X-Sig"]).failure(2).stderr_has("--key");
}

#[test]
fn output_json_is_the_same_as_json() {
    let rfaas = Rfaas::new();
    let a: serde_json::Value =
        serde_json::from_str(&rfaas.run(&["version", "--output", "json"]).success().stdout).unwrap();
    let b: serde_json::Value = serde_json::from_str(&rfaas.run(&["version", "-j"]).success().stdout).unwrap();
    assert_eq!(a["cli"], b["cli"]);
    rfaas.run(&["version", "--output", "yaml"]).failure(2).stderr_has("invalid value 'yaml'");
}

/// A reader that has gone gives rfaas a write error (EPIPE), not death by SIGPIPE (exit 141):
/// std's start-up ignored SIGPIPE, and rfaas's own `main` (src/main.rs) now does.
#[test]
fn a_reader_gone_before_the_output_is_no_death_by_sigpipe() {
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            r#"(sleep 0.3; "$0" --help; echo "rc=$?" >&2) | (exec <&-; sleep 0.05)"#,
            env!("CARGO_BIN_EXE_rfaas"),
        ])
        .output()
        .expect("run sh");
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "rc=0", "the reader closed the pipe before the help");
}
