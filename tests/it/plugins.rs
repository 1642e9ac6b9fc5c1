//! Running faas-cli plugins: `rfaas NAME ARGS` runs `~/.openfaas/plugins/NAME` (or `faas-NAME`).

use std::os::unix::fs::PermissionsExt;

use crate::support::Rfaas;

fn plugin(r: &Rfaas, file: &str, script: &str) {
    let dir = r.home().join(".openfaas/plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_plugin_runs_with_its_arguments_and_its_exit_code() {
    let r = Rfaas::new();
    plugin(&r, "hello", "#!/bin/sh\necho \"hello $*\"\necho to-stderr >&2\nexit 7\n");
    plugin(&r, "faas-pro", "#!/bin/sh\necho \"pro $1\"\n");
    let run = r.run(&["hello", "a", "--flag", "b c"]);
    run.failure(7).stdout_has("hello a --flag b c\n").stderr_has("to-stderr");
    r.run(&["pro", "x"]).success().stdout_has("pro x");
}

#[test]
fn plugins_never_shadow_built_ins_or_escape_the_plugin_folder() {
    let r = Rfaas::new();
    plugin(&r, "version", "#!/bin/sh\necho hijacked\n");
    let run = r.run(&["version", "--short-version"]);
    assert!(!run.success().stdout.contains("hijacked"));
    std::fs::write(r.home().join(".openfaas/outside"), "#!/bin/sh\necho escaped\n").unwrap();
    std::fs::set_permissions(r.home().join(".openfaas/outside"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = r.run(&["../outside"]);
    run.failure(2);
    assert!(!run.stdout.contains("escaped"));
    r.run(&["no-such-plugin"]).failure(2).stderr_has("unrecognized subcommand");
    // A plugin file that cannot be executed (bad interpreter) exits 127, as faas-cli does.
    plugin(&r, "broken", "#!/no/such/interpreter\n");
    r.run(&["broken"]).failure(127).stderr_has("cannot run the plugin");
}

/// A plugin image as a registry serves it: one gzipped tar layer holding `files`.
fn layer(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        // Written raw so hostile names (`../x`) reach the archive as they would from a registry.
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, *bytes).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A loopback registry serving `plugins/NAME:latest` as an image index (linux/amd64 and
/// linux/arm64) over manifests with one layer each; returns the `--registry` value.
fn registry(name: &str, amd64: Vec<u8>, corrupt: bool) -> String {
    use std::collections::HashMap;
    let mut paths: HashMap<String, Vec<u8>> = HashMap::new();
    let mut entries = Vec::new();
    for (arch, blob) in [("amd64", amd64), ("arm64", layer(&[(name, b"#!/bin/sh\necho arm\n", 0o755)]))] {
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&blob), "size": blob.len()}]
        }))
        .unwrap();
        let served = if corrupt { layer(&[("other", b"x", 0o644)]) } else { blob.clone() };
        paths.insert(format!("/v2/plugins/{name}/blobs/{}", sha256(&blob)), served);
        entries.push(serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&manifest), "size": manifest.len(), "platform": {"os": "linux", "architecture": arch}}));
        paths.insert(format!("/v2/plugins/{name}/manifests/{}", sha256(&manifest)), manifest);
    }
    let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}))
    .unwrap();
    paths.insert(format!("/v2/plugins/{name}/manifests/latest"), index);
    let url = crate::support::serve_paths(move |path| paths.get(path).map(|b| (200, b.clone())));
    format!("{}/plugins", url.trim_start_matches("http://"))
}

#[test]
fn plugin_get_pulls_the_image_for_the_platform_and_the_plugin_runs() {
    let r = Rfaas::new();
    let blob =
        layer(&[("hello", b"#!/bin/sh\necho \"hello from the plugin $1\"\n", 0o755), ("LICENSE", b"MIT", 0o644)]);
    let reg = registry("hello", blob, false);
    r.run(&["plugin", "get", "hello", "--registry", &reg, "--arch", "x86_64", "--os", "linux"])
        .success()
        .stderr_has("Fetching plugin: hello")
        .stderr_has("Usage:\n  rfaas hello");
    let path = r.home().join(".openfaas/plugins/hello");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
    r.run(&["hello", "world"]).success().stdout_has("hello from the plugin world");
    r.run(&["plugin", "get", "hello", "--registry", &reg, "--arch", "aarch64", "--path", "arm-plugins"]).success();
    assert!(std::fs::read_to_string(r.path().join("arm-plugins/hello")).unwrap().contains("echo arm"));
    r.run(&["plugin", "get", "hello", "--registry", &reg, "--arch", "riscv64"])
        .failure(1)
        .stderr_has("has no image for linux/riscv64");
}

#[test]
fn plugin_get_refuses_traversal_and_corrupt_or_missing_images() {
    let r = Rfaas::new();
    r.run(&["plugin", "get", "../evil", "--registry", "127.0.0.1:9/x"]).failure(1).stderr_has("invalid plugin name");
    // A layer whose entries try to leave the plugin folder writes nothing outside it.
    let hostile = layer(&[("../escaped", b"x", 0o755), ("sub/inner", b"x", 0o755), ("evil", b"#!/bin/sh\n", 0o755)]);
    let reg = registry("evil", hostile, false);
    r.run(&["plugin", "get", "evil", "--registry", &reg, "--arch", "amd64"]).success();
    let plugins = r.home().join(".openfaas/plugins");
    assert!(!r.home().join(".openfaas/escaped").exists() && !plugins.join("sub").exists());
    let bad = registry("corrupt", layer(&[("corrupt", b"x", 0o755)]), true);
    r.run(&["plugin", "get", "corrupt", "--registry", &bad, "--arch", "amd64"])
        .failure(1)
        .stderr_has("does not match its digest");
    assert!(!plugins.join("corrupt").exists());
    r.run(&["plugin", "get", "absent", "--registry", &reg, "--arch", "amd64"]).failure(1).stderr_has("HTTP 404");
    r.run(&["plugin", "get", "x", "--registry", "127.0.0.1:9/x"])
        .failure(1)
        .stderr_has("pulling 127.0.0.1:9/x/x:latest");
}

/// Started with stdout closed, rfaas opens `/dev/null` there before anything else (src/main.rs,
/// as std's start-up did), so the descriptor is not left closed, or taken by the next file rfaas
/// opens, when a plugin inherits it.
#[test]
fn a_plugin_started_with_stdout_closed_finds_dev_null_there() {
    let r = Rfaas::new();
    // Python, not sh: sh's own `>&2` would move its descriptor 1 while the command runs.
    let script = "#!/usr/bin/env python3\nimport os, sys\nsys.stderr.write(os.readlink('/proc/self/fd/1'))\n";
    plugin(&r, "fd-one", script);
    let out = std::process::Command::new("sh")
        .args(["-c", r#"exec "$0" fd-one >&-"#, env!("CARGO_BIN_EXE_rfaas")])
        .current_dir(r.path())
        .env("HOME", r.home())
        .output()
        .expect("run sh");
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "/dev/null");
    assert_eq!(out.status.code(), Some(0));
}
