//! `build --shrinkwrap` writes `./build/<fn>/` exactly like faas-cli: compared file by file
//! (contents and executable bits) with tests/it/golden/shrinkwrap/expected. Set
//! `UPDATE_GOLDEN=1` to rewrite the expected tree after a deliberate change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::Rfaas;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/golden/shrinkwrap");

/// Relative path → (contents, executable) for every file under `root`.
fn tree(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let exec = entry.metadata().unwrap().permissions().mode() & 0o111 != 0;
            let rel = entry.path().strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, (std::fs::read(entry.path()).unwrap(), exec));
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, (bytes, exec)) in tree(from) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, bytes).unwrap();
        if exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

#[test]
fn shrinkwrap_matches_the_golden_tree() {
    let rfaas = Rfaas::new();
    copy_tree(&Path::new(GOLDEN).join("project"), rfaas.path());
    let run = rfaas.run(&["build", "--shrinkwrap"]);
    run.success().stderr_has("api shrink-wrapped to build/api").stderr_has("web shrink-wrapped to build/web");
    let actual = tree(&rfaas.path().join("build"));
    let expected_dir = Path::new(GOLDEN).join("expected/build");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        copy_tree(&rfaas.path().join("build"), &expected_dir);
    }
    let expected = tree(&expected_dir);
    let names = |t: &BTreeMap<PathBuf, (Vec<u8>, bool)>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&actual), names(&expected), "file lists differ");
    for (rel, (bytes, exec)) in &expected {
        let (got, got_exec) = &actual[rel];
        assert_eq!(String::from_utf8_lossy(got), String::from_utf8_lossy(bytes), "{} differs", rel.display());
        assert_eq!(got_exec, exec, "{} executable bit differs", rel.display());
    }
}

#[test]
fn shrinkwrap_of_a_bundled_template_has_the_template_and_the_handler() {
    let rfaas = Rfaas::new();
    rfaas.run(&["new", "hello", "--lang", "python3-http", "-q"]).success();
    rfaas.file("hello/build/old.txt", "x").file("hello/extra/data.txt", "y");
    rfaas.run(&["build", "--shrinkwrap"]).success();
    let build = rfaas.path().join("build/hello");
    for file in ["Dockerfile", "index.py", "template.yml", "function/handler.py", "function/extra/data.txt"] {
        assert!(build.join(file).is_file(), "{file} missing from build/hello");
    }
    assert!(!build.join("function/build").exists());
}
