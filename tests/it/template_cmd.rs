//! `template pull` from a git repository made by the test (file:// URL and plain path),
//! `template store list|describe|pull` from a local store file, `template pull stack`, and a build
//! that pulls a missing template through the store. Nothing leaves the machine.

use std::path::Path;
use std::process::Command;

use crate::support::Rfaas;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A git repository with `template/<lang>/` for each lang, tagged `v1`; `message` goes in a file.
fn template_repo(langs: &[&str], message: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for lang in langs {
        let t = dir.path().join("template").join(lang);
        std::fs::create_dir_all(t.join("function")).unwrap();
        std::fs::write(t.join("template.yml"), format!("language: {lang}\nfprocess: cat\n")).unwrap();
        std::fs::write(t.join("Dockerfile"), "FROM debian:bookworm-slim\nCOPY . /app\n").unwrap();
        std::fs::write(t.join("function/handler.txt"), message).unwrap();
    }
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "templates"]);
    git(dir.path(), &["tag", "v1"]);
    dir
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn pull_from_a_git_url_writes_templates_and_meta() {
    let repo = template_repo(&["alpha", "beta"], "one");
    let rfaas = Rfaas::new();
    let url = file_url(repo.path());
    rfaas.run(&["template", "pull", &url]).success().stderr_has("Wrote 2 template(s) : [alpha beta]");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rfaas.path().join("template/alpha/meta.json")).unwrap()).unwrap();
    assert_eq!(meta["repository"], url);
    assert_eq!(meta["sha"].as_str().unwrap().len(), 40);

    rfaas
        .run(&["template", "pull", &url, "--overwrite=false"])
        .failure(1)
        .stderr_has("unable to overwrite the following: [alpha beta]")
        .stderr_has("hint: pass --overwrite");

    let pinned = format!("{url}#v1");
    rfaas.run(&["template", "pull", &pinned]).success().stderr_has("[alpha@v1 beta@v1]");
    let meta = std::fs::read_to_string(rfaas.path().join("template/beta@v1/meta.json")).unwrap();
    assert!(meta.contains("\"ref_name\": \"v1\""), "{meta}");
}

#[test]
fn pull_from_a_local_directory_and_bad_sources() {
    let repo = template_repo(&["gamma"], "two");
    let rfaas = Rfaas::new();
    let path = repo.path().display().to_string();
    rfaas.run(&["template", "pull", &path]).success().stderr_has("[gamma]");
    assert_eq!(std::fs::read_to_string(rfaas.path().join("template/gamma/function/handler.txt")).unwrap(), "two");
    rfaas.run(&["template", "pull", "no-such-dir"]).failure(1).stderr_has("invalid template repository");
    let missing = format!("file://{}/missing", repo.path().display());
    rfaas.run(&["template", "pull", &missing]).failure(1).stderr_has("git clone");
}

fn store(rfaas: &Rfaas, repo: &Path) -> String {
    let json = serde_json::json!([
        {"template": "alpha", "platform": "x86_64", "language": "Text", "source": "local",
         "description": "Alpha things", "repo": file_url(repo), "official": "true", "recommended": true},
        {"template": "beta", "platform": "x86_64", "language": "Text", "source": "local",
         "description": "Beta things", "repo": file_url(repo), "official": "false"},
        {"template": "arm-only", "platform": "arm64", "language": "Text", "source": "local",
         "description": "Not for this machine", "repo": file_url(repo), "official": "false"}
    ]);
    rfaas.file("store.json", &serde_json::to_string_pretty(&json).unwrap());
    rfaas.path().join("store.json").display().to_string()
}

#[test]
fn store_list_describe_and_pull_from_a_local_store() {
    let repo = template_repo(&["alpha", "beta"], "three");
    let rfaas = Rfaas::new();
    let url = store(&rfaas, repo.path());
    let list = rfaas.run(&["template", "store", "list", "--url", &url]);
    list.success().stdout_has("NAME   SOURCE  DESCRIPTION\nalpha  local   Alpha things\nbeta   local   Beta things");
    assert!(!list.stdout.contains("arm-only"));
    rfaas.run(&["template", "store", "ls", "--url", &url, "--official"]).success().stdout_has("alpha");
    let json = rfaas.run(&["template", "store", "ls", "--url", &url, "--json", "--platform", "arm64"]);
    let entries: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(entries[0]["template"], "arm-only");
    rfaas
        .run(&["template", "store", "describe", "beta", "--url", &url])
        .success()
        .stdout_has("Description:       Beta things")
        .stdout_has("Official:          [ ]");
    rfaas.run(&["template", "store", "pull", "alpha", "--url", &url]).success().stderr_has("[alpha beta]");
    assert!(rfaas.path().join("template/alpha/template.yml").is_file());
    rfaas.run(&["template", "store", "pull", "nope", "--url", &url]).failure(1).stderr_has("template nope not found");
}

#[test]
fn build_pulls_a_missing_template_from_the_store_or_the_stack_configuration() {
    let repo = template_repo(&["alpha", "beta"], "four");
    let mut rfaas = Rfaas::new();
    let url = store(&rfaas, repo.path());
    rfaas.env("OPENFAAS_TEMPLATE_STORE_URL", &url);
    rfaas.file("fn/handler.txt", "mine");
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  a:\n    lang: alpha\n    handler: ./fn\n    image: x/a\n  b:\n    lang: beta@v1\n    handler: ./fn\n    image: x/b\nconfiguration:\n  templates:\n    - name: beta@v1\n      source: {}#v1\n",
            file_url(repo.path())
        ),
    );
    rfaas.run(&["build", "--shrinkwrap"]).success().stderr_has("a shrink-wrapped").stderr_has("b shrink-wrapped");
    assert!(rfaas.path().join("template/alpha/template.yml").is_file(), "alpha comes from the store");
    assert!(rfaas.path().join("template/beta@v1/template.yml").is_file(), "beta@v1 from configuration.templates");
    assert!(!rfaas.path().join("template/beta").exists(), "only the configured template is written");
    assert_eq!(std::fs::read_to_string(rfaas.path().join("build/a/function/handler.txt")).unwrap(), "mine");

    std::fs::remove_dir_all(rfaas.path().join("template")).unwrap();
    rfaas.run(&["template", "pull", "stack"]).success().stderr_has("Wrote template beta@v1");
    assert!(rfaas.path().join("template/beta@v1/template.yml").is_file());
}
