//! Build problems found before Docker is touched: all reported at once, with the stack file and
//! line, and nothing built (no ./build/ written).

use crate::support::Rfaas;

fn project() -> Rfaas {
    let mut rfaas = Rfaas::new();
    rfaas.file("store.json", "[]");
    let store = rfaas.path().join("store.json").display().to_string();
    rfaas.env("OPENFAAS_TEMPLATE_STORE_URL", &store);
    rfaas.run(&["new", "good", "--lang", "python3-http", "-q"]).success();
    rfaas
}

#[test]
fn every_problem_is_listed_and_nothing_is_built() {
    let rfaas = project();
    rfaas.file(
        "stack.yaml",
        "version: 1.0
provider:
  name: openfaas
functions:
  good:
    lang: python3-http
    handler: ./good
    image: rfaas-it/good
  missing:
    lang: python3-http
    handler: ./nope
    image: rfaas-it/missing
  alien:
    lang: cobol-http
    handler: ./good
    image: rfaas-it/alien
  opts:
    lang: python3-http
    handler: ./good
    image: rfaas-it/opts
    build_options: [turbo]
  secret:
    lang: python3-http
    handler: ./good
    image: rfaas-it/secret
    build_secrets:
      token: ./token.txt
configuration:
  copy: [../outside]
",
    );
    let run = rfaas.run(&["build"]);
    run.failure(1)
        .stderr_has("nothing was built")
        .stderr_has("stack.yaml:9: function missing: handler folder ./nope does not exist")
        .stderr_has("stack.yaml:13: function alien: unknown language \"cobol-http\"")
        .stderr_has("template cobol-http not found in the template store")
        .stderr_has("function opts: build option \"turbo\" is not available for python3-http")
        .stderr_has("available: dev")
        .stderr_has("function secret: build_secrets (token) need BuildKit")
        .stderr_has("forbidden path appears to be outside of the build context: \"../outside\"");
    assert!(!rfaas.path().join("build").exists(), "no build context may be written");
}

#[test]
fn copying_the_whole_project_is_refused() {
    let rfaas = project();
    let run = rfaas.run(&["build", "--copy-extra", "."]);
    run.failure(1).stderr_has("forbidden path appears to equal the entire project");
}

#[test]
fn parallel_must_be_positive() {
    let rfaas = project();
    rfaas.run(&["build", "--parallel", "0"]).failure(2).stderr_has("the --parallel flag must be greater than 0");
}

#[test]
fn skip_build_and_missing_lang_are_not_errors() {
    let rfaas = project();
    rfaas.file(
        "stack.yaml",
        "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  prebuilt:\n    image: rfaas-it/x\n    skip_build: true\n  nolang:\n    image: rfaas-it/y\n",
    );
    rfaas
        .run(&["build", "--shrinkwrap"])
        .success()
        .stderr_has("Skipping build of: prebuilt")
        .stderr_has("Please provide a valid language for your function: nolang");
}

#[test]
fn functions_can_be_given_by_flags_without_a_stack_file() {
    let rfaas = project();
    std::fs::remove_file(rfaas.path().join("stack.yaml")).unwrap();
    let args = ["build", "--shrinkwrap", "--name", "solo", "--lang", "python3-http", "--handler", "./good"];
    rfaas.run(&[&args[..], &["--image", "rfaas-it/solo"]].concat()).success().stderr_has("solo shrink-wrapped");
    rfaas.run(&args).failure(1).stderr_has("--name, --image, --handler and --lang are all required");
}
