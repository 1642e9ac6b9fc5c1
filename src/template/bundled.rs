//! The templates shipped inside the rfaas binary: the repository's `templates/` directory,
//! embedded at compile time so an installed rfaas builds functions without pulling anything.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Directories that may exist in a developer's checkout but never belong in a template.
const SKIPPED: &[&str] = &["node_modules", "__pycache__", ".pytest_cache"];

/// The bundled template for `lang`, if there is one with a `template.yml`.
pub fn get(lang: &str) -> Option<&'static Dir<'static>> {
    if lang.is_empty() || lang.contains(['/', '\\']) || lang.starts_with('.') {
        return None;
    }
    TEMPLATES.get_dir(lang).filter(|d| d.get_file(d.path().join("template.yml")).is_some())
}

/// Names of all bundled templates, sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = TEMPLATES
        .dirs()
        .filter(|d| d.get_file(d.path().join("template.yml")).is_some())
        .filter_map(|d| d.path().file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// One embedded file: its path relative to the template root, contents and a Unix mode.
pub struct BundledFile {
    pub rel: PathBuf,
    pub contents: &'static [u8],
    pub mode: u32,
}

/// Every file under `dir` (recursively), with paths relative to `dir`.
pub fn files(dir: &'static Dir<'static>) -> Vec<BundledFile> {
    let mut out = Vec::new();
    collect(dir, dir.path(), &mut out);
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn collect(dir: &'static Dir<'static>, root: &Path, out: &mut Vec<BundledFile>) {
    for sub in dir.dirs() {
        let skipped = sub.path().file_name().is_some_and(|n| SKIPPED.iter().any(|s| n == *s));
        if !skipped {
            collect(sub, root, out);
        }
    }
    for file in dir.files() {
        let rel = file.path().strip_prefix(root).unwrap_or(file.path()).to_path_buf();
        // include_dir keeps no modes: scripts (a `#!` first line) are executable, the rest 0644.
        let mode = if file.contents().starts_with(b"#!") { 0o755 } else { 0o644 };
        out.push(BundledFile { rel, contents: file.contents(), mode });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_templates_are_embedded() {
        let names = names();
        for lang in ["dockerfile", "golang-http", "node18", "python3-http"] {
            assert!(names.contains(&lang.to_string()), "{lang} missing from {names:?}");
            assert!(files(get(lang).unwrap()).iter().any(|f| f.rel == Path::new("template.yml")));
        }
        assert!(get("README.md").is_none() && get("../x").is_none() && get("nope").is_none());
    }
}
