//! `rfaas generate` output compared byte for byte with what faas-cli prints for the same stack.
//!
//! Each folder under tests/it/golden/generate/ holds a stack, the extra files it needs, `args`
//! (flags, one line) and `expected.yaml`, derived from faas-cli's generate.go and yaml.v3 rules.

use std::path::Path;

use crate::support::Rfaas;

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read golden dir") {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "args" || name == "expected.yaml" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn golden(case: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden/generate").join(case);
    let rfaas = Rfaas::new();
    copy_tree(&dir, rfaas.path());
    let args_text = std::fs::read_to_string(dir.join("args")).unwrap();
    let mut args = vec!["generate"];
    args.extend(args_text.split_whitespace());
    let run = rfaas.run(&args);
    run.success();
    let expected = std::fs::read_to_string(dir.join("expected.yaml")).unwrap();
    assert_eq!(run.stdout, expected, "golden case {case}");
}

#[test]
fn openfaas_function_crds() {
    golden("crd");
}

#[test]
fn knative_services() {
    golden("knative");
}

#[test]
fn digest_tag_hashes_the_handler() {
    golden("digest");
}

#[test]
fn filter_limits_the_documents() {
    let rfaas = Rfaas::new();
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden/generate/crd"), rfaas.path());
    let run = rfaas.run(&["generate", "--filter", "a*"]);
    assert_eq!(run.success().stdout.matches("kind: Function").count(), 1);
    assert!(run.stdout.contains("name: alpha"));
}

#[test]
fn stack_without_functions_prints_nothing() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", "provider:\n  name: openfaas\n");
    let run = rfaas.run(&["generate"]);
    assert_eq!(run.success().stdout, "");
}

#[test]
fn unsupported_api_is_an_error() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", "provider:\n  name: openfaas\nfunctions:\n  a:\n    image: a\n");
    rfaas.run(&["generate", "--api", "apps/v1"]).failure(1).stderr_has("unsupported --api \"apps/v1\"");
}
