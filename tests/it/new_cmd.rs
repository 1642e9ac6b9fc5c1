//! `rfaas new`: the handler folder from the template, the stack file written or appended, and
//! `.gitignore` kept up to date.

use crate::support::Rfaas;

#[test]
fn new_writes_the_handler_stack_and_gitignore() {
    let mut rfaas = Rfaas::new();
    rfaas.env("OPENFAAS_PREFIX", " 127.0.0.1:5000/team ");
    rfaas.file(".gitignore", "target\nbuild/\n");
    let run = rfaas.run(&["new", "hello", "--lang", "python3-http", "--memory-limit", "128Mi", "--cpu-request", "50m"]);
    run.success().stderr_has("Function created in folder: ./hello").stderr_has("Notes:");
    assert!(rfaas.path().join("hello/handler.py").is_file());
    let stack = std::fs::read_to_string(rfaas.path().join("stack.yaml")).unwrap();
    assert_eq!(
        stack,
        "version: 1.0\nprovider:\n  name: openfaas\n  gateway: http://127.0.0.1:8080\nfunctions:\n  hello:\n    lang: python3-http\n    handler: ./hello\n    image: 127.0.0.1:5000/team/hello:latest\n    limits:\n      memory: 128Mi\n    requests:\n      cpu: 50m\n"
    );
    assert_eq!(
        std::fs::read_to_string(rfaas.path().join(".gitignore")).unwrap(),
        "target\nbuild/\ntemplate\n.secrets\n"
    );

    rfaas.run(&["new", "hello", "--lang", "node18"]).failure(1).stderr_has("Folder: ./hello already exists");
    rfaas.run(&["new", "second", "--lang", "node18"]).failure(1).stderr_has("Try \"rfaas new --append stack.yaml\"");
    rfaas.run(&["new", "second", "--lang", "node18", "--append", "stack.yaml", "-q"]).success();
    let stack = std::fs::read_to_string(rfaas.path().join("stack.yaml")).unwrap();
    assert!(stack.ends_with(
        "  second:\n    lang: node18\n    handler: ./second\n    image: 127.0.0.1:5000/team/second:latest\n"
    ));
    rfaas.run(&["generate"]).success().stdout_has("name: second");
}

#[test]
fn new_rejects_bad_names_and_needs_a_lang_without_a_terminal() {
    let rfaas = Rfaas::new();
    rfaas.run(&["new", "Bad_Name", "--lang", "node18"]).failure(1).stderr_has("can only contain a-z, 0-9 and dashes");
    rfaas.run(&["new", "fn"]).failure(1).stderr_has("--lang is required").stderr_has("golang-http");
    rfaas.run(&["new", "fn", "--lang", "cobol"]).failure(1).stderr_has("unknown language \"cobol\"");
    rfaas
        .run(&["new", "--list"])
        .success()
        .stdout_has("Languages available as templates:\n- dockerfile\n- golang-http\n- node18\n- python3-http");
}
