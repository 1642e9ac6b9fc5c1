//! deploy (stack and flags; --update, --replace, --wait), list, describe and remove.

use std::time::Duration;

use serde_json::json;

use super::{Session, eventually, json};

/// Two functions; `merged` uses every key that deploy sends.
fn stack(image: &str) -> String {
    format!(
        "version: 1.0
provider:
  name: openfaas
functions:
  merged:
    image: {image}
    skip_build: true
    environment:
      ECHO_A: stack
      ECHO_B: stack
      ECHO_C: stack
    environment_file:
      - env.yml
    labels:
      team: a
      tier: stack
    annotations:
      topic: demo
    secrets:
      - api-key
    limits:
      memory: 256Mi
      cpu: 500m
    requests:
      memory: 64Mi
    readonly_root_filesystem: true
  plain:
    image: {image}
    skip_build: true
"
    )
}

#[tokio::test]
async fn stack_deploy_merges_like_faas_cli_then_updates_replaces_and_removes() {
    let mut s = Session::logged_in().await;
    let url = s.gw.url.clone();
    s.file("stack.yml", &stack(&s.image));
    s.file("env.yml", "environment:\n  ECHO_B: file\n  ECHO_C: file\n");

    // A missing secret stops the deploy before anything reaches the gateway.
    s.run(&["deploy"])
        .failure(1)
        .stderr_has("secrets missing on")
        .stderr_has("api-key (used by merged)")
        .stderr_has("nothing was deployed");
    assert!(s.deployed().await.is_empty());

    s.run(&["secret", "create", "api-key", "--from-literal", "k1"]).success();
    s.run(&["secret", "create", "extra", "--from-literal", "k2"]).success();
    let flags = ["-e", "ECHO_C=flag", "--label", "tier=flag", "--annotation", "note=flag", "--secret", "extra"];
    let mut args = vec!["deploy", "--wait"];
    args.extend_from_slice(&flags);
    let run = s.run(&args);
    run.success()
        .stderr_has("Deploying: merged.")
        .stderr_has("merged is ready")
        .stdout_has("Deployed. 202 Accepted.")
        .stdout_has(&format!("URL: {url}/function/merged\n"))
        .stdout_has(&format!("URL: {url}/function/plain\n"));
    assert_eq!(s.deployed().await, ["merged", "plain"]);

    // environment < environment_file < -e; labels and annotations: stack < flags; --secret first.
    let d = s.describe("merged");
    assert_eq!(d["envVars"], json!({"ECHO_A": "stack", "ECHO_B": "file", "ECHO_C": "flag"}));
    assert_eq!(d["labels"], json!({"team": "a", "tier": "flag"}));
    assert_eq!(d["annotations"], json!({"topic": "demo", "note": "flag"}));
    assert_eq!(d["secrets"], json!(["extra", "api-key"]));
    assert_eq!(d["limits"], json!({"memory": "256Mi", "cpu": "500m"}));
    assert_eq!(d["requests"], json!({"memory": "64Mi"}));
    assert_eq!(d["readOnlyRootFilesystem"], true);
    assert_eq!(d["Status"], "Ready");
    // ... and the container really got that environment.
    let echo = json(s.run(&["invoke", "merged"]).success());
    assert_eq!(echo["env"]["ECHO_C"], "flag");
    assert_eq!(echo["env"]["ECHO_B"], "file");

    // Deploying again updates in place (PUT): the flags are gone now.
    s.run(&["deploy", "--filter", "merged"])
        .success()
        .stderr_has("Function merged already exists, attempting rolling-update.")
        .stdout_has("Deployed. 200 OK.");
    let d = s.describe("merged");
    assert_eq!(d["envVars"]["ECHO_C"], "file");
    assert_eq!(d["labels"], json!({"team": "a", "tier": "stack"}));
    assert_eq!(d["secrets"], json!(["api-key"]));

    // --replace deletes and creates again (POST: 202), without the rolling-update message.
    let created = s.describe("plain")["createdAt"].clone();
    let run = s.run(&["deploy", "--replace", "--filter", "plain", "--wait"]);
    run.success().stdout_has("Deployed. 202 Accepted.");
    assert!(!run.stderr.contains("already exists"), "{}", run.stderr);
    assert_ne!(s.describe("plain")["createdAt"], created);

    // --update=false only POSTs: an existing function is a failure.
    s.run(&["deploy", "--update=false", "--filter", "plain"])
        .failure(1)
        .stderr_has("answered HTTP 409")
        .stderr_has("failed to deploy: plain");

    // remove with no name removes the whole stack.
    s.run(&["remove"]).success().stderr_has("Deleting: merged.").stderr_has("Deleting: plain.");
    assert!(s.deployed().await.is_empty());
    s.run(&["remove"]).failure(1).stderr_has("no existing function to remove: merged");
}

#[tokio::test]
async fn flag_deploy_list_describe_and_remove() {
    let mut s = Session::logged_in().await;
    let url = s.gw.url.clone();
    let image = s.image.clone();

    s.run(&["deploy", "--name", "alpha"])
        .failure(1)
        .stderr_has("to deploy a function give --yaml/-f or both --image and --name");
    let alpha =
        ["-e", "ECHO_X=1", "--label", "l=1", "--annotation", "a=1", "--secret", "s1", "--memory-limit", "128Mi"];
    let mut args = vec!["deploy", "--image", &image, "--name", "alpha", "--wait"];
    args.extend_from_slice(&alpha);
    s.run(&args).failure(1).stderr_has("s1 (used by alpha)");
    assert!(s.deployed().await.is_empty());
    s.run_stdin(&["secret", "create", "s1"], b"v1").success();
    s.run(&args).success().stderr_has("alpha is ready").stdout_has(&format!("URL: {url}/function/alpha\n"));
    s.deploy_echo("beta", &[]);

    let d = s.describe("alpha");
    assert_eq!(
        (&d["envVars"], &d["labels"], &d["annotations"], &d["secrets"], &d["limits"]),
        (&json!({"ECHO_X": "1"}), &json!({"l": "1"}), &json!({"a": "1"}), &json!(["s1"]), &json!({"memory": "128Mi"}))
    );
    assert_eq!(d["image"], image.as_str());
    assert_eq!(d["URL"], format!("{url}/function/alpha.openfaas-fn"));
    assert_eq!(d["AsyncURL"], format!("{url}/async-function/alpha.openfaas-fn"));
    assert_eq!((d["InvocationCount"].as_u64(), d["availableReplicas"].as_u64()), (Some(0), Some(1)));
    let text = s.run(&["describe", "alpha"]);
    for line in [
        "Name                alpha".to_string(),
        "Status              Ready".to_string(),
        "Available Replicas  1".to_string(),
        format!("Image               {image}"),
        format!("URL                 {url}/function/alpha.openfaas-fn"),
        format!("Async URL           {url}/async-function/alpha.openfaas-fn"),
        "Environment:\n ECHO_X: 1".to_string(),
        "Secrets:\n - s1".to_string(),
    ] {
        text.success().stdout_has(&line);
    }
    s.run(&["describe", "nope"]).failure(1).stderr_has("no such function: nope");

    // Invocations: beta 3, alpha 1.
    for name in ["beta", "beta", "beta", "alpha"] {
        s.run(&["invoke", name]).success();
    }
    let counted = eventually(Duration::from_secs(10), || {
        let list = json(s.run(&["list", "--json"]).success());
        list.as_array().unwrap().iter().map(|f| f["invocationCount"].as_u64().unwrap_or(0)).sum::<u64>() == 4
    });
    assert!(counted, "invocations not counted");
    let table = s.run(&["list"]);
    let rows: Vec<Vec<String>> =
        table.success().stdout.lines().map(|l| l.split('\t').map(|c| c.trim().to_string()).collect()).collect();
    assert_eq!(rows, [vec!["Function", "Invocations", "Replicas"], vec!["alpha", "1", "1"], vec!["beta", "3", "1"]]);
    let by_invocations = s.run(&["ls", "--sort", "invocations", "-q"]);
    assert_eq!(by_invocations.success().stdout, "beta\nalpha\n");
    assert_eq!(s.run(&["list", "-q"]).success().stdout, "alpha\nbeta\n");
    let verbose = s.run(&["list", "-v"]);
    let header: Vec<String> =
        verbose.success().stdout.lines().next().unwrap().split('\t').map(|c| c.trim().to_string()).collect();
    assert_eq!(header, ["Function", "Image", "Invocations", "Replicas", "CreatedAt"]);
    let alpha_row = verbose.stdout.lines().nth(1).unwrap().to_string();
    assert!(alpha_row.starts_with("alpha") && alpha_row.contains(&image) && alpha_row.contains('Z'), "{alpha_row}");
    let list = json(s.run(&["list", "--json"]).success());
    assert_eq!(list[0]["name"], "alpha");
    assert_eq!(list[1]["invocationCount"], 3);

    // Any failure exits non-zero: an image the gateway cannot pull is a 424 (the function is kept).
    s.run(&["deploy", "--image", "rfaas-test/does-not-exist:1", "--name", "ghost"])
        .failure(1)
        .stderr_has("answered HTTP 424")
        .stderr_has("cannot pull image rfaas-test/does-not-exist:1")
        .stderr_has("failed to deploy: ghost");

    s.run(&["remove", "alpha"]).success().stderr_has("Removing old function.");
    s.run(&["rm", "alpha"]).failure(1).stderr_has("no existing function to remove: alpha");
    s.run(&["remove", "ghost"]).success();
    assert_eq!(s.deployed().await, ["beta"]);
}
