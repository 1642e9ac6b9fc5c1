//! secret create/update/list/remove: value sources, --replace, errors, and values never printed.

use super::{Session, json};

/// The secret as the function sees it at /var/openfaas/secrets/<name>.
async fn seen_by_function(s: &Session, name: &str) -> String {
    let response = s.gw.http.get(format!("{}/function/echo/secret?name={name}", s.gw.url)).send().await.unwrap();
    assert_eq!(response.status(), 200, "secret {name}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn secrets_from_stdin_file_and_literal_reach_functions_and_are_never_printed() {
    let mut s = Session::logged_in().await;
    let values = ["value-from-stdin", "value-from-file", "value-literal", "value-replaced", "value-updated"];

    s.run_stdin(&["secret", "create", "s-stdin"], b"  value-from-stdin \n")
        .success()
        .stderr_has("Created: 201 Created");
    s.file("secret.txt", "value-from-file\n");
    s.run(&["secret", "create", "s-file", "--from-file", "secret.txt"]).success();
    let debug = s.run_env(&["secret", "create", "s-literal", "--from-literal", "value-literal"], "FAAS_DEBUG", "1");
    debug.success().stderr_has("POST ");
    s.deploy_echo("echo", &["--secret", "s-stdin", "--secret", "s-file", "--secret", "s-literal"]);
    assert_eq!(seen_by_function(&s, "s-stdin").await, "value-from-stdin", "trimmed by default");
    assert_eq!(seen_by_function(&s, "s-file").await, "value-from-file\n", "a file is stored byte-exact");
    assert_eq!(seen_by_function(&s, "s-literal").await, "value-literal");

    // 409 without --replace is an error with a hint; with it, the secret is updated.
    s.run(&["secret", "create", "s-file", "--from-literal", "value-replaced"])
        .failure(1)
        .stderr_has("secret with the name \"s-file\" already exists")
        .stderr_has("hint: use --replace");
    s.run(&["secret", "create", "s-file", "--from-literal", "value-replaced", "--replace"])
        .success()
        .stderr_has("Secret s-file already exists, updating...")
        .stderr_has("Updated: 200 OK");
    assert_eq!(seen_by_function(&s, "s-file").await, "value-replaced");
    s.run_stdin(&["secret", "update", "s-literal", "--trim=false"], b"value-updated\n")
        .success()
        .stderr_has("Updated: 200 OK");
    assert_eq!(seen_by_function(&s, "s-literal").await, "value-updated\n");
    s.run(&["secret", "u", "missing", "--from-literal", "x"]).failure(1).stderr_has("secret missing not found");

    // Bad input never reaches the gateway.
    s.run(&["secret", "create", "Bad_Name", "--from-literal", "x"])
        .failure(1)
        .stderr_has("invalid secret name \"Bad_Name\"");
    s.run(&["secret", "create", "empty"]).failure(1).stderr_has("the value for secret \"empty\" is empty");
    s.run(&["secret", "create", "two", "--from-literal", "x", "--from-file", "secret.txt"]).failure(2);

    let list = s.run(&["secret", "list"]);
    assert_eq!(list.success().stdout, "NAME\ns-file\ns-literal\ns-stdin\n");
    let listed = json(s.run(&["secret", "ls", "--json"]).success());
    assert_eq!(listed[0], serde_json::json!({"name": "s-file", "namespace": "openfaas-fn"}));
    assert_eq!(listed.as_array().unwrap().len(), 3);

    s.run(&["secret", "remove", "s-stdin"]).success().stderr_has("Removed.. OK.");
    s.run(&["secret", "rm", "s-stdin"]).failure(1).stderr_has("unable to find secret: s-stdin");
    assert_eq!(s.run(&["secret", "list", "-n", "openfaas-fn"]).success().stdout, "NAME\ns-file\ns-literal\n");

    for value in values {
        assert!(!s.transcript.contains(value), "{value} was printed:\n{}", s.transcript);
    }
}
