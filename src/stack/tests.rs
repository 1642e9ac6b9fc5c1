//! Whole-file loading tests: substitution, YAML errors, selection and environment files together.

use std::path::Path;

use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "TAG" => Some("0.2".into()),
        "GW" => Some("http://gw.example:8080".into()),
        _ => None,
    }
}

fn opts() -> LoadOptions {
    LoadOptions { envsubst: true, ..LoadOptions::default() }
}

fn load_text(text: &str, opts: &LoadOptions) -> Result<Stack, StackError> {
    parse("stack.yml", text, opts, Path::new("/nonexistent"), &env)
}

fn invalid_problems(err: StackError) -> String {
    match err {
        StackError::Invalid { problems, .. } => problems,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

const THREE: &str = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  zeta:\n    image: z\n  alpha:\n    image: a\n  mid:\n    image: m\n";

#[test]
fn functions_come_out_sorted_whatever_the_file_order() {
    let stack = load_text(THREE, &opts()).unwrap();
    let names: Vec<&str> = stack.functions().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["alpha", "mid", "zeta"]);
}

#[test]
fn substitution_applies_to_the_whole_file_including_gateway_and_keys() {
    let text = "provider:\n  name: openfaas\n  gateway: ${GW}\nfunctions:\n  fn1:\n    image: reg/fn1:${TAG}\n    environment:\n      LITERAL: $TAG\n      ESCAPED: $${TAG}\n";
    let stack = load_text(text, &opts()).unwrap();
    assert_eq!(stack.file.provider.gateway.as_deref(), Some("http://gw.example:8080"));
    let f = &stack.file.functions["fn1"];
    assert_eq!(f.image, "reg/fn1:0.2");
    assert_eq!(f.environment["LITERAL"], "$TAG");
    assert_eq!(f.environment["ESCAPED"], "${TAG}");
}

#[test]
fn envsubst_false_keeps_the_text() {
    let text = "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: reg/fn1:${TAG}\n";
    let stack = load_text(text, &LoadOptions { envsubst: false, ..opts() }).unwrap();
    assert_eq!(stack.file.functions["fn1"].image, "reg/fn1:${TAG}");
}

#[test]
fn required_variable_message_is_an_error_with_line_and_column() {
    let text = "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: ${REGISTRY:?set REGISTRY first}/fn1\n";
    let problems = invalid_problems(load_text(text, &opts()).unwrap_err());
    assert!(problems.contains("stack.yml:4:12: REGISTRY: set REGISTRY first"), "{problems}");
}

#[test]
fn unset_variable_is_a_warning() {
    let text = "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: ${NOPE}x\n";
    let stack = load_text(text, &opts()).unwrap();
    assert_eq!(stack.warnings, vec!["stack.yml: ${NOPE} is not set; an empty string was used".to_string()]);
}

#[test]
fn yaml_syntax_errors_have_file_line_and_column() {
    let text = "provider:\n  name: openfaas\nfunctions:\n  fn1:\n    image: [unclosed\n";
    let problems = invalid_problems(load_text(text, &opts()).unwrap_err());
    assert!(problems.starts_with("1 problem found\n  stack.yml:"), "{problems}");
    assert!(problems.contains("YAML:"), "{problems}");
}

#[test]
fn duplicate_keys_are_errors() {
    let text = "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: a\n  fn1:\n    image: b\n";
    let problems = invalid_problems(load_text(text, &opts()).unwrap_err());
    assert!(problems.contains("stack.yml:5:3: YAML: mapping key \"fn1\" already defined at line 3"), "{problems}");
}

#[test]
fn anchors_and_merge_keys_work() {
    let text = "x-common: &common\n  labels:\n    team: a\n  environment:\n    LOG: debug\nprovider: {name: openfaas}\nfunctions:\n  fn1:\n    <<: *common\n    image: a\n";
    let stack = load_text(text, &opts()).unwrap();
    let f = &stack.file.functions["fn1"];
    assert_eq!(f.labels.as_ref().unwrap()["team"], "a");
    assert_eq!(f.environment["LOG"], "debug");
    assert!(stack.warnings.is_empty(), "{:?}", stack.warnings);
}

#[test]
fn filter_and_regex_select_functions() {
    let stack = load_text(THREE, &LoadOptions { filter: Some("*a".into()), ..opts() }).unwrap();
    assert_eq!(stack.file.functions.keys().collect::<Vec<_>>(), vec!["alpha", "zeta"]);
    let stack = load_text(THREE, &LoadOptions { regex: Some("^m".into()), ..opts() }).unwrap();
    assert_eq!(stack.file.functions.keys().collect::<Vec<_>>(), vec!["mid"]);
}

#[test]
fn selecting_nothing_is_an_error() {
    let err = load_text(THREE, &LoadOptions { filter: Some("nope".into()), ..opts() }).unwrap_err();
    assert_eq!(err.to_string(), "no functions matching --filter were found in stack.yml");
    let err =
        load_text(THREE, &LoadOptions { filter: Some("a".into()), regex: Some("b".into()), ..opts() }).unwrap_err();
    assert_eq!(err.to_string(), "pass in a regex or a filter, not both");
}

#[test]
fn no_functions_key_is_valid_and_empty() {
    let stack = load_text("provider: {name: openfaas}\n", &opts()).unwrap();
    assert!(stack.file.functions.is_empty());
}

#[test]
fn errors_in_filtered_out_functions_still_fail_the_stack() {
    let text = "provider: {name: openfaas}\nfunctions:\n  good:\n    image: a\n  Bad:\n    image: b\n";
    let err = load_text(text, &LoadOptions { filter: Some("good".into()), ..opts() }).unwrap_err();
    assert!(invalid_problems(err).contains("function name \"Bad\""));
}

#[test]
fn environment_files_merge_in_order_relative_to_cwd() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), "environment:\n  A: from-a\n  B: from-a\n").unwrap();
    std::fs::write(dir.path().join("b.yml"), "environment:\n  B: from-b\n  N: 1.50\n").unwrap();
    let text = "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: x\n    environment:\n      A: yaml\n      C: yaml\n    environment_file:\n      - a.yml\n      - b.yml\n";
    let stack = parse("stack.yml", text, &opts(), dir.path(), &env).unwrap();
    let merged = stack.environment(&stack.file.functions["fn1"]);
    assert_eq!(merged["A"], "from-a");
    assert_eq!(merged["B"], "from-b");
    assert_eq!(merged["C"], "yaml");
    assert_eq!(merged["N"], "1.50");
}

#[test]
fn missing_environment_file_is_an_error_at_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: x\n    environment_file:\n      - missing.yml\n";
    let err = parse("stack.yml", text, &opts(), dir.path(), &env).unwrap_err();
    let problems = invalid_problems(err);
    assert!(problems.contains("stack.yml:6:9: environment_file \"missing.yml\": cannot read"), "{problems}");
}

#[test]
fn discovery_prefers_stack_yaml_then_stack_yml_and_f_wins() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(discover(None, dir.path()), None);
    std::fs::write(dir.path().join("stack.yml"), "").unwrap();
    assert_eq!(discover(None, dir.path()), Some(Source::File(dir.path().join("stack.yml"))));
    std::fs::write(dir.path().join("stack.yaml"), "").unwrap();
    assert_eq!(discover(None, dir.path()), Some(Source::File(dir.path().join("stack.yaml"))));
    assert_eq!(discover(Some("other.yml"), dir.path()), Some(Source::File(dir.path().join("other.yml"))));
    assert_eq!(
        discover(Some("https://example.invalid/s.yml"), dir.path()),
        Some(Source::Url("https://example.invalid/s.yml".into()))
    );
}
