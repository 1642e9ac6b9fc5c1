//! `chart export`. Helm cannot be installed on this machine, so the missing-helm path is tested
//! for real, and the splitting is driven by a stand-in `helm` script on PATH that records its
//! arguments and prints what `helm template` prints.

use std::os::unix::fs::PermissionsExt;

use crate::support::Rfaas;

const RENDERED: &str = "---
# Source: openfaas/crds/functions.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: functions.openfaas.com
---
# Source: openfaas/templates/gateway-svc.yaml
apiVersion: v1
kind: Service
metadata:
  name: gateway
  namespace: openfaas
spec:
  ports:
  - port: 8080
";

fn with_helm(r: &mut Rfaas, script: &str) {
    let bin = r.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helm = bin.join("helm");
    std::fs::write(&helm, script).unwrap();
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    r.env("PATH", &path);
}

#[test]
fn without_helm_on_path_the_error_says_what_to_install() {
    let mut r = Rfaas::new();
    std::fs::create_dir_all(r.path().join("empty-bin")).unwrap();
    let path = r.path().join("empty-bin").display().to_string();
    r.env("PATH", &path);
    r.file("chart/openfaas/Chart.yaml", "name: openfaas\n");
    r.run(&["chart", "export"])
        .failure(1)
        .stderr_has("error: helm is required but was not found in PATH")
        .stderr_has("hint: install Helm 3");
    assert!(!r.path().join("yaml").exists());
}

#[test]
fn helm_template_output_is_split_into_one_file_per_resource() {
    let mut r = Rfaas::new();
    let script = format!("#!/bin/sh\necho \"$@\" > \"$PWD/helm-args\"\ncat <<'YAML'\n{RENDERED}YAML\n");
    with_helm(&mut r, &script);
    r.run(&["chart", "export"]).failure(1).stderr_has("chart directory not found: chart/openfaas");
    r.file("chart/openfaas/Chart.yaml", "name: openfaas\n");
    r.file("yaml/stale/old.yaml", "kind: Old\n");
    let run = r.run(&["chart", "export", "--values", "v.yaml", "--set", "a=b", "-n", "ofs"]);
    run.success()
        .stderr_has("Running: helm template openfaas chart/openfaas --include-crds -f v.yaml --set a=b --namespace ofs")
        .stderr_has("wrote 00_customresourcedefinition/functions.openfaas.com.yaml")
        .stderr_has("Exported 2 resources to ./yaml");
    let args = std::fs::read_to_string(r.path().join("helm-args")).unwrap();
    assert_eq!(args.trim(), "template openfaas chart/openfaas --include-crds -f v.yaml --set a=b --namespace ofs");
    let svc = std::fs::read_to_string(r.path().join("yaml/service/gateway.yaml")).unwrap();
    assert!(svc.starts_with("# Source: openfaas/templates/gateway-svc.yaml\napiVersion: v1\nkind: Service\n"), "{svc}");
    assert!(r.path().join("yaml/00_customresourcedefinition/functions.openfaas.com.yaml").is_file());
    assert!(!r.path().join("yaml/stale").exists(), "the output folder is replaced, as faas-cli does");
    r.run(&["chart", "export", "--crds=false"]).success();
    assert!(std::fs::read_to_string(r.path().join("helm-args")).unwrap().trim().ends_with("chart/openfaas"));
    r.run(&["chart", "export", "-o", "."]).failure(1).stderr_has("refusing to replace .");
    r.run(&["chart", "export", "../escape"]).failure(1).stderr_has("invalid chart name");
}

#[test]
fn a_failing_helm_is_reported_and_nothing_is_replaced() {
    let mut r = Rfaas::new();
    with_helm(&mut r, "#!/bin/sh\necho 'Error: values.yaml: parse error' >&2\nexit 1\n");
    r.file("chart/openfaas/Chart.yaml", "name: openfaas\n");
    r.file("yaml/service/keep.yaml", "kind: Service\n");
    r.run(&["chart", "export"]).failure(1).stderr_has("helm template failed").stderr_has("values.yaml: parse error");
    assert!(r.path().join("yaml/service/keep.yaml").is_file());
}
