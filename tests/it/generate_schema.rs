//! `generate` output (from stacks and from every function-store entry) validated against the
//! Function CRD's `openAPIV3Schema` (../shared/reference/openfaas.com_functions.crd.yaml): what
//! OpenFaaS on Kubernetes accepts.
//!
//! The schema is made strict first: every object schema that lists `properties` and says nothing
//! about others gets `additionalProperties: false`. Kubernetes prunes unknown fields of a
//! structural schema (and `kubectl apply --validate=strict` refuses them), so a misspelt field
//! would be silently dropped there; here it fails.

use std::path::Path;

use serde_json::Value;

use crate::generate::copy_tree;
use crate::support::{Rfaas, reference_file, serve_bytes};

fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(strict);
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

fn function_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(reference_file("openfaas.com_functions.crd.yaml")).unwrap();
    let crd: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let crd: Value = serde_json::to_value(crd).unwrap();
    assert_eq!(crd["spec"]["names"]["kind"], "Function");
    let version = crd["spec"]["versions"].as_array().unwrap().iter().find(|v| v["name"] == "v1").expect("v1").clone();
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    jsonschema::validator_for(&schema).expect("the CRD schema compiles")
}

/// Every `---` document of `yaml`, as JSON.
fn documents(yaml: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| serde_json::to_value(serde_yaml::Value::deserialize(doc).unwrap()).unwrap())
        .collect()
}

#[track_caller]
fn assert_valid(validator: &jsonschema::Validator, yaml: &str, expected_docs: usize) {
    let docs = documents(yaml);
    assert_eq!(docs.len(), expected_docs, "{yaml}");
    for doc in docs {
        assert_eq!((doc["apiVersion"].as_str(), doc["kind"].as_str()), (Some("openfaas.com/v1"), Some("Function")));
        let errors: Vec<String> =
            validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{} does not match the Function CRD: {errors:#?}\n{yaml}", doc["metadata"]["name"]);
    }
}

#[test]
fn the_strict_schema_rejects_what_kubernetes_would_drop_or_refuse() {
    // Proof the check can fail: a number where a string is due, a misspelt field, no image.
    let validator = function_validator();
    let good = serde_json::json!({"apiVersion": "openfaas.com/v1", "kind": "Function", "metadata": {"name": "a"},
        "spec": {"name": "a", "image": "i", "environment": {"A": "1"}}});
    assert!(validator.is_valid(&good));
    for bad in [
        serde_json::json!({"spec": {"name": "a", "image": "i", "environment": {"A": 1}}}),
        serde_json::json!({"spec": {"name": "a", "image": "i", "readonlyRootFilesystem": true}}),
        serde_json::json!({"spec": {"name": "a"}}),
        serde_json::json!({"spec": {"name": "a", "image": "i", "limits": {"memory": "1Mi", "gpu": "1"}}}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[test]
fn generate_from_stacks_matches_the_function_crd() {
    let validator = function_validator();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden/generate");
    for (case, docs, args) in [("crd", 3, vec![]), ("digest", 1, vec!["--tag", "digest"])] {
        let r = Rfaas::new();
        copy_tree(&golden.join(case), r.path());
        let mut argv = vec!["generate"];
        argv.extend(args);
        assert_valid(&validator, &r.run(&argv).success().stdout, docs);
    }
}

#[test]
fn generate_from_store_matches_the_function_crd_for_every_store_function() {
    let validator = function_validator();
    let store_text = std::fs::read(reference_file("store-functions.json")).unwrap();
    let store: Value = serde_json::from_slice(&store_text).unwrap();
    let url = format!("{}/functions.json", serve_bytes(200, store_text));
    let r = Rfaas::new();
    let mut checked = 0;
    for f in store["functions"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        for arch in f["images"].as_object().unwrap().keys() {
            let run = r.run(&["generate", "--from-store", name, "--arch", arch, "--url", &url]);
            assert_valid(&validator, &run.success().stdout, 1);
            checked += 1;
        }
    }
    assert!(checked > 60, "every function on every platform ({checked})");
    // With every store-only flag.
    let run = r.run(&[
        "generate",
        "--from-store",
        "sleep",
        "--url",
        &url,
        "--name",
        "napper",
        "--label",
        "team=web",
        "--annotation",
        "topic=cron",
        "--arch",
        "arm64",
        "-n",
        "fns",
    ]);
    let yaml = run.success().stdout.clone();
    assert_valid(&validator, &yaml, 1);
    let doc = &documents(&yaml)[0];
    assert_eq!(doc["metadata"], serde_json::json!({"name": "napper", "namespace": "fns"}));
    assert_eq!(doc["spec"]["image"], "ghcr.io/openfaas/sleep:latest");
    assert_eq!(doc["spec"]["labels"], serde_json::json!({"team": "web"}));
    assert_eq!(doc["spec"]["annotations"], serde_json::json!({"topic": "cron"}));
    assert_eq!(doc["spec"]["environment"], serde_json::json!({"write_timeout": "60s"}));
}

#[test]
fn generate_from_store_errors_are_clear() {
    let store_text = std::fs::read(reference_file("store-functions.json")).unwrap();
    let url = format!("{}/functions.json", serve_bytes(200, store_text));
    let r = Rfaas::new();
    r.run(&["generate", "--from-store", "nope", "--url", &url]).failure(1).stderr_has("unable to find 'nope' in store");
    r.run(&["generate", "--from-store", "colorise", "--url", &url, "--arch", "armhf"])
        .failure(1)
        .stderr_has("image for armhf not found in store for 'colorise'; options: x86_64");
    r.run(&["generate", "--from-store", "figlet", "--url", &url, "--tag", "digest"])
        .failure(1)
        .stderr_has("digest tag format is not supported for store functions");
    r.run(&["generate", "--from-store", "figlet", "--url", "http://127.0.0.1:9/x.json"])
        .failure(1)
        .stderr_has("cannot read the function store");
    r.run(&["generate", "--from-store", "figlet", "--url", &url, "--label", "novalue"])
        .failure(1)
        .stderr_has("--label");
    r.run(&["generate", "--from-store", "figlet", "--url", &url, "--name", "Bad_Name"])
        .failure(1)
        .stderr_has("Bad_Name");
}
