//! Bad stack input: every error names the file, line and column, exits 1 and prints a hint.

use crate::support::{Rfaas, serve};

const OK: &str = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  fn1:\n    image: reg/fn1:0.1\n";

#[test]
fn missing_stack_file_explains_discovery() {
    Rfaas::new()
        .run(&["generate"])
        .failure(1)
        .stderr_has("no stack file found: neither ./stack.yaml nor ./stack.yml exists")
        .stderr_has("hint: use -f/--yaml");
}

#[test]
fn named_file_that_does_not_exist() {
    Rfaas::new().run(&["generate", "-f", "nope.yml"]).failure(1).stderr_has("cannot read stack file nope.yml");
}

#[test]
fn stack_yaml_is_preferred_over_stack_yml() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", &OK.replace("fn1", "from-yml"));
    rfaas.file("stack.yaml", &OK.replace("fn1", "from-yaml"));
    rfaas.run(&["generate"]).success().stdout_has("name: from-yaml");
}

#[test]
fn all_problems_are_listed_with_positions() {
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yml",
        "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  Bad_Name:\n    image: x\n  ok:\n    limits:\n      memory: 128MB\n    secrets: notalist\n",
    );
    let run = rfaas.run(&["generate"]);
    run.failure(1)
        .stderr_has("error: stack.yml: 3 problems found")
        .stderr_has("stack.yml:5:3: function name \"Bad_Name\" must consist of lower-case letters")
        .stderr_has("stack.yml:9:15: `functions.ok.limits.memory` is \"128MB\"")
        .stderr_has("stack.yml:10:14: `functions.ok.secrets` must be a list of strings")
        .stderr_has("hint: fix the lines above");
    assert!(run.stdout.is_empty(), "nothing half-done on stdout: {}", run.stdout);
}

#[test]
fn unknown_key_is_a_warning_with_suggestion_and_still_succeeds() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", &format!("{OK}    enviroment:\n      A: b\n"));
    rfaas
        .run(&["generate"])
        .success()
        .stderr_has("warning: stack.yml:7:5: unknown key \"enviroment\" in `functions.fn1` is ignored (did you mean \"environment\"?)");
}

#[test]
fn required_variable_fails_with_its_message() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", &OK.replace("reg/fn1:0.1", "${REGISTRY:?set REGISTRY, e.g. ghcr.io/acme}/fn1"));
    rfaas.run(&["generate"]).failure(1).stderr_has("stack.yml:6:12: REGISTRY: set REGISTRY, e.g. ghcr.io/acme");
    let mut rfaas = rfaas;
    rfaas.env("REGISTRY", "ghcr.io/acme");
    rfaas.run(&["generate"]).success().stdout_has("image: ghcr.io/acme/fn1:latest");
}

#[test]
fn envsubst_false_leaves_variables() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", &OK.replace("0.1", "${TAG:-0.2}"));
    rfaas.run(&["generate"]).success().stdout_has("image: reg/fn1:0.2");
    rfaas.run(&["generate", "--envsubst=false"]).success().stdout_has("image: reg/fn1:${TAG:-0.2}");
}

#[test]
fn provider_name_is_checked() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", &OK.replace("name: openfaas", "name: faas"));
    rfaas.run(&["generate"]).failure(1).stderr_has("stack.yml:3:9: ['openfaas'] is the only valid \"provider.name\"");
}

#[test]
fn filter_and_regex_together_fail() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", OK);
    rfaas
        .run(&["generate", "--filter", "a", "--regex", "b"])
        .failure(1)
        .stderr_has("pass in a regex or a filter, not both");
    rfaas.run(&["generate", "--filter", "zz*"]).failure(1).stderr_has("no functions matching --filter were found");
}

#[test]
fn remote_stack_file_status_is_checked() {
    let base = serve(|req| match req.path.as_str() {
        "/stack.yml" => (200, OK.to_string()),
        _ => (404, "404 page not found".to_string()),
    });
    let rfaas = Rfaas::new();
    rfaas.run(&["generate", "-f", &format!("{base}/stack.yml")]).success().stdout_has("name: fn1");
    rfaas
        .run(&["generate", "-f", &format!("{base}/missing.yml")])
        .failure(1)
        .stderr_has(&format!("cannot fetch stack file {base}/missing.yml: the server answered HTTP 404 Not Found"));
}
