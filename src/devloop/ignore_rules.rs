//! Which changed files `--watch` ignores.
//!
//! Always ignored, relative to the watched folder: anything under `.git`, `build` or `template`
//! (the build writes `./build/<fn>/`; a handler folder that is the project folder also holds
//! `./template/`), and editor swap and backup files (`*.swp`, `*.swx`, `*~`). When the project
//! folder has a `.gitignore`, its patterns are ignored too, for files under the project folder.
//! faas-cli refuses to watch without a `.gitignore`; rfaas uses one when it is there and does
//! not need it.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Folder names whose whole contents are ignored wherever they appear under a watched folder.
const IGNORED_FOLDERS: [&str; 3] = [".git", "build", "template"];
/// File name endings editors use for swap and backup files.
const IGNORED_SUFFIXES: [&str; 3] = [".swp", ".swx", "~"];

/// The ignore rules of one project folder.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    project: PathBuf,
    gitignore: Option<Gitignore>,
}

impl IgnoreRules {
    /// The built-in rules plus `<project>/.gitignore` when it exists.
    pub fn load(project: &Path) -> anyhow::Result<IgnoreRules> {
        let path = project.join(".gitignore");
        if !path.is_file() {
            return Ok(IgnoreRules { project: project.to_path_buf(), gitignore: None });
        }
        let mut builder = GitignoreBuilder::new(project);
        if let Some(e) = builder.add(&path) {
            anyhow::bail!("cannot read {}: {e}", path.display());
        }
        let gitignore = builder.build().map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Ok(IgnoreRules { project: project.to_path_buf(), gitignore: Some(gitignore) })
    }

    /// Whether a change to `path`, found under the watched folder `root`, is ignored. With
    /// `gitignore` false only the built-in rules apply (a template folder, which projects usually
    /// list in `.gitignore`, is still watched).
    pub fn ignores(&self, root: &Path, path: &Path, gitignore: bool) -> bool {
        let relative = path.strip_prefix(root).unwrap_or(path);
        if Self::in_ignored_folder(relative, path.is_dir()) || Self::editor_file(path) {
            return true;
        }
        match (&self.gitignore, path.strip_prefix(&self.project)) {
            (Some(g), Ok(under_project)) if gitignore && !under_project.as_os_str().is_empty() => {
                g.matched_path_or_any_parents(under_project, path.is_dir()).is_ignore()
            }
            _ => false,
        }
    }

    /// True when a folder on the way to `relative` (or `relative` itself, for a folder) is one of
    /// [`IGNORED_FOLDERS`].
    fn in_ignored_folder(relative: &Path, is_dir: bool) -> bool {
        let folders = relative.parent().into_iter().flat_map(Path::components);
        let own = is_dir.then(|| relative.components().next_back()).flatten();
        folders.chain(own).any(|c| IGNORED_FOLDERS.iter().any(|f| c.as_os_str() == *f))
    }

    /// The predicate a hot reload uses to leave files out of what it copies from `handler_dir`.
    pub fn for_handler<'a>(&'a self, handler_dir: &'a Path) -> impl Fn(&Path) -> bool + Sync + 'a {
        move |path: &Path| {
            let full = if path.is_absolute() { path.to_path_buf() } else { handler_dir.join(path) };
            self.ignores(handler_dir, &full, true)
        }
    }

    fn editor_file(path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_apply_without_a_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let rules = IgnoreRules::load(dir.path()).unwrap();
        let root = dir.path().join("orders");
        for ignored in ["build/orders/handler.py", ".git/index", "template/python3-http/index.py", ".handler.py.swp"] {
            assert!(rules.ignores(&root, &root.join(ignored), true), "{ignored}");
        }
        assert!(rules.ignores(&root, &root.join("handler.py~"), true));
        for kept in ["handler.py", "lib/util.py", "requirements.txt", "builder.py"] {
            assert!(!rules.ignores(&root, &root.join(kept), true), "{kept}");
        }
    }

    #[test]
    fn gitignore_patterns_apply_under_the_project_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "*.log\nsecrets/\n").unwrap();
        let rules = IgnoreRules::load(dir.path()).unwrap();
        let root = dir.path().join("orders");
        assert!(rules.ignores(&root, &root.join("debug.log"), true));
        assert!(rules.ignores(&root, &root.join("secrets/key"), true));
        assert!(!rules.ignores(&root, &root.join("debug.log"), false));
        assert!(!rules.ignores(&root, &root.join("handler.py"), true));
        let outside = Path::new("/elsewhere/shared");
        assert!(!rules.ignores(outside, &outside.join("debug.log"), true));
    }

    #[test]
    fn a_template_folder_is_watched_as_its_own_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "template\nbuild\n").unwrap();
        let rules = IgnoreRules::load(dir.path()).unwrap();
        let root = dir.path().join("template").join("python3-http");
        assert!(!rules.ignores(&root, &root.join("index.py"), false));
        assert!(rules.ignores(&root, &root.join("index.py.swp"), false));
    }
}
