//! diff against the real gateway: no difference right after deploy (exit 0), then each kind of
//! change, a function not deployed, and the env modes (exit 1).

use super::Session;

fn stack(image: &str, env_a: &str, extra: &str) -> String {
    format!(
        "version: 1.0
provider:
  name: openfaas
functions:
  differ:
    image: {image}
    skip_build: true
    environment:
      ECHO_A: {env_a}
    labels:
      team: a
    limits:
      memory: 128Mi
{extra}"
    )
}

#[tokio::test]
async fn diff_shows_what_deploy_would_change() {
    let mut s = Session::logged_in().await;
    let (_, v2) = crate::support::gateway::echo_images().await;
    let v1 = s.image.clone();
    s.file("stack.yaml", &stack(&v1, "one", ""));
    s.run(&["deploy", "--wait"]).success();
    s.run(&["diff"]).success().stdout_has("YAML matches deployment, no differences found.");
    let same = s.run(&["diff", "--output", "json"]);
    let value: serde_json::Value = serde_json::from_str(&same.success().stdout).unwrap();
    assert_eq!(value, serde_json::json!({"differences": false, "functions": []}));

    let absent = "  absent:\n    image: rfaas-test/absent:1\n    skip_build: true\n";
    s.file("stack.yaml", &stack(&v2, "two", absent).replace("team: a", "team: b"));
    let run = s.run(&["diff"]);
    run.failure(1).stderr_has("differences found in 2 function(s): absent, differ");
    let out = &run.stdout;
    assert!(out.starts_with("absent\n"), "functions are sorted:\n{out}");
    for row in [
        "- function: defined in stack.yaml",
        "+ function: not deployed",
        &format!("- image:      {v2}"),
        &format!("+ image:      {v1}"),
        "- env.ECHO_A: two",
        "+ env.ECHO_A: one",
        "- label.team: b",
        "+ label.team: a",
    ] {
        assert!(out.contains(row), "no {row:?} in:\n{out}");
    }
    assert!(out.contains("  stack.yaml                               | deployed"), "{out}");
    assert!(!out.contains("limits.memory"), "an unchanged attribute is shown:\n{out}");

    // The same differences as JSON, with the same exit code and error line.
    let run = s.run(&["diff", "--output", "json"]);
    run.failure(1).stderr_has("differences found in 2 function(s): absent, differ");
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(value["differences"], true);
    let functions = value["functions"].as_array().unwrap();
    let names: Vec<&str> = functions.iter().map(|f| f["function"].as_str().unwrap()).collect();
    assert_eq!(names, ["absent", "differ"]);
    assert_eq!(
        functions[0]["changes"],
        serde_json::json!([{"field": "function", "stack": "defined in stack.yaml", "deployed": "not deployed"}])
    );
    let changes = functions[1]["changes"].as_array().unwrap();
    let change = |field: &str| changes.iter().find(|c| c["field"] == field).cloned();
    assert_eq!(change("image"), Some(serde_json::json!({"field": "image", "stack": v2, "deployed": v1})));
    assert_eq!(
        change("env.ECHO_A"),
        Some(serde_json::json!({"field": "env.ECHO_A", "stack": "two", "deployed": "one"}))
    );
    assert_eq!(change("label.team"), Some(serde_json::json!({"field": "label.team", "stack": "b", "deployed": "a"})));
    assert_eq!(change("limits.memory"), None, "an unchanged attribute is listed: {value}");
    s.run(&["diff", "--output", "yaml"]).failure(2).stderr_has("invalid value 'yaml'");

    // An env var only the stack has counts in local mode, not in remote mode.
    s.file("stack.yaml", &stack(&v1, "one", "").replace("      ECHO_A: one", "      ECHO_A: one\n      ONLY_HERE: x"));
    s.run(&["diff"]).failure(1).stdout_has("- env.ONLY_HERE: x");
    let only = s.run(&["diff", "--output", "json"]);
    let value: serde_json::Value = serde_json::from_str(&only.failure(1).stdout).unwrap();
    assert_eq!(
        value["functions"][0]["changes"][0],
        serde_json::json!({"field": "env.ONLY_HERE", "stack": "x", "deployed": null})
    );
    s.run(&["diff", "--env", "remote", "--output", "json"]).success().stdout_has("\"differences\": false");
    s.run(&["diff", "--env", "remote"]).success().stdout_has("no differences found");
    s.run(&["diff", "--env", "sideways"]).failure(2).stderr_has("invalid value 'sideways'");
}

#[tokio::test]
async fn diff_against_a_closed_gateway_is_an_error_not_a_difference() {
    let mut s = Session::logged_in().await;
    s.file("stack.yaml", &stack("rfaas-test/x:1", "one", ""));
    let gateway = super::closed_gateway();
    let run = s.run(&["diff", "-g", &gateway]);
    run.failure(1);
    assert!(!run.stdout.contains("differences"), "{}", run.stdout);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
}

#[tokio::test]
async fn describe_and_invoke_take_the_name_as_a_flag_and_invoke_auth_is_refused() {
    let mut s = Session::logged_in().await;
    s.deploy_echo("named", &[]);
    let run = s.run(&["describe", "--name", "named", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
    assert_eq!(value["name"], "named");
    s.run_stdin(&["invoke", "--name", "named"], b"hi").success().stdout_has("\"body\": \"hi\"");
    s.run(&["describe", "named", "--name", "other"]).failure(2);
    s.run(&["describe"]).failure(2);
    s.run_stdin(&["invoke", "named", "--auth"], b"x").failure(1).stderr_has("OpenFaaS Pro IAM");
}

#[tokio::test]
async fn deploy_handler_names_the_directory_a_digest_tag_is_taken_from() {
    use md5::Digest;
    let mut s = Session::logged_in().await;
    let content = "x = 1\n";
    s.file("h/handler.py", content);
    s.file("other/file.txt", "unrelated: not part of the digest");
    // rfaas's digest tag: md5 over the md5 hex digests of the handler's files, in path order.
    let inner = hex::encode(md5::Md5::digest(content.as_bytes()));
    let tag = hex::encode(md5::Md5::digest(inner.as_bytes()));
    let repo = format!("rfaas-it/tagged-{}", crate::engine::unique("d"));
    let tagged = format!("{repo}:{tag}");
    let out = std::process::Command::new("docker").args(["tag", &s.image, &tagged]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _cleanup = crate::engine::Images(vec![tagged.clone()]);
    s.run(&["deploy", "--image", &repo, "--name", "tagged", "--tag", "digest", "--handler", "./h", "--wait"]).success();
    assert_eq!(s.describe("tagged")["image"], tagged);
}
