//! What a batch of changed files means for each function.
//!
//! A [`Layout`] says where each function's files are: its handler folder, its local template
//! folder (`./template/<lang>`, when the template is not a bundled one) and the stack inputs (the
//! stack file and the `environment_file`s it names). [`classify`] sorts a batch of paths into:
//! - handler source changes, which a hot reload may apply without a build (only files that
//!   still exist: an editor's temporary file renamed over the real one is not a change, and a
//!   deleted file stays in running replicas until the next rebuild);
//! - rebuild reasons: a dependency manifest ([`DEPENDENCY_FILES`]) or a template file changed;
//! - a stack change, after which [`build_changes`] says which functions' build inputs changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::ignore_rules::IgnoreRules;
use super::watcher::{WatchSet, canonical};
use crate::stack::{Function, Stack};

/// Files that change what the image installs: a change rebuilds the image, because the
/// dependencies are installed at build time.
pub const DEPENDENCY_FILES: [&str; 5] = ["requirements.txt", "package.json", "package-lock.json", "go.mod", "go.sum"];

/// Where one function's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFiles {
    pub name: String,
    /// The handler folder, canonical; `None` for a function with no handler (image only).
    pub handler: Option<PathBuf>,
    /// `./template/<lang>`, canonical, when it exists.
    pub template: Option<PathBuf>,
}

/// Where every function's files are, and the files the stack is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The project folder (where `.gitignore`, `./template` and `./build` are), canonical.
    pub project: PathBuf,
    /// The stack file and its `environment_file`s, canonical (empty for a stack read from a URL).
    pub stack_inputs: BTreeSet<PathBuf>,
    pub functions: Vec<FunctionFiles>,
}

impl Layout {
    /// The layout of `stack`, read from `stack_file` (`None` for a URL) in the project `cwd`.
    pub fn of(stack: &Stack, stack_file: Option<&Path>, cwd: &Path) -> Layout {
        let project = canonical(cwd);
        let mut stack_inputs: BTreeSet<PathBuf> = stack_file.map(canonical).into_iter().collect();
        stack_inputs.extend(stack.functions().flat_map(|f| f.environment_file.iter().map(|e| canonical(&cwd.join(e)))));
        let functions = stack
            .functions()
            .map(|f| FunctionFiles {
                name: f.name.clone(),
                handler: f.handler.as_deref().filter(|h| !h.is_empty()).map(|h| canonical(&cwd.join(h))),
                template: f
                    .lang
                    .as_deref()
                    .filter(|l| !l.is_empty() && !crate::template::is_dockerfile(l))
                    .map(|l| cwd.join(crate::template::LOCAL_DIR).join(l))
                    .filter(|dir| dir.is_dir())
                    .map(|dir| canonical(&dir)),
            })
            .collect();
        Layout { project, stack_inputs, functions }
    }

    /// The folders to watch: the stack inputs' folders flat, handlers and templates recursively.
    pub fn watch_set(&self) -> WatchSet {
        let flat = self.stack_inputs.iter().filter_map(|p| p.parent().map(Path::to_path_buf)).collect();
        let recursive = self
            .functions
            .iter()
            .flat_map(|f| f.handler.iter().chain(f.template.iter()))
            .filter(|dir| dir.is_dir())
            .cloned()
            .collect();
        WatchSet { flat, recursive }
    }
}

/// What changed for one function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionChange {
    /// Changed handler source files (not dependency manifests), relative to the handler folder.
    pub handler: BTreeSet<PathBuf>,
    /// Why the image must be rebuilt, e.g. `requirements.txt changed`; `None` when a hot reload
    /// may do.
    pub rebuild: Option<String>,
}

impl FunctionChange {
    /// `handler.py`, `handler.py and lib.py`, or `3 files`, for status lines.
    pub fn describe_handler(&self) -> String {
        let names: Vec<String> = self.handler.iter().map(|p| p.display().to_string()).collect();
        match names.as_slice() {
            [] => "nothing".to_string(),
            [one] => one.clone(),
            [a, b] => format!("{a} and {b}"),
            more => format!("{} files", more.len()),
        }
    }
}

/// A batch sorted per function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The stack file or one of its environment files changed.
    pub stack: bool,
    pub functions: BTreeMap<String, FunctionChange>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        !self.stack && self.functions.is_empty()
    }
}

impl FunctionFiles {
    /// The template folder when `path` is a file in it that `rules` do not ignore.
    fn template_of(&self, path: &Path, rules: &IgnoreRules) -> Option<&Path> {
        self.template.as_deref().filter(|t| path.starts_with(t) && !rules.ignores(t, path, false))
    }

    /// The handler folder when `path` is a file in it (not the folder itself) that `rules` do not
    /// ignore.
    fn handler_of(&self, path: &Path, rules: &IgnoreRules) -> Option<&Path> {
        self.handler.as_deref().filter(|h| path.starts_with(h) && path != *h && !rules.ignores(h, path, true))
    }
}

impl Layout {
    /// True when a change of `path` can mean something: a stack input, or a file in a handler or
    /// template folder that `rules` do not ignore. Any other file in a watched folder (a log
    /// written beside the stack file, an editor's swap file) neither starts nor prolongs a batch.
    pub fn concerns(&self, path: &Path, rules: &IgnoreRules) -> bool {
        self.stack_inputs.contains(path)
            || self
                .functions
                .iter()
                .any(|f| f.template_of(path, rules).is_some() || f.handler_of(path, rules).is_some())
    }
}

/// Sorts `paths` into changes per function, leaving out what `rules` ignore.
pub fn classify(paths: &BTreeSet<PathBuf>, layout: &Layout, rules: &IgnoreRules) -> Changes {
    let mut changes = Changes::default();
    for path in paths {
        if layout.stack_inputs.contains(path) {
            changes.stack = true;
            continue;
        }
        for f in &layout.functions {
            if let Some(template) = f.template_of(path, rules) {
                let change = changes.functions.entry(f.name.clone()).or_default();
                change.rebuild.get_or_insert_with(|| format!("the template's {} changed", relative(path, template)));
                continue;
            }
            let Some(handler) = f.handler_of(path, rules) else { continue };
            let change = changes.functions.entry(f.name.clone()).or_default();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if DEPENDENCY_FILES.contains(&name.as_str()) {
                change.rebuild.get_or_insert_with(|| format!("{} changed", relative(path, handler)));
            } else if path.exists() {
                change.handler.insert(PathBuf::from(relative(path, handler)));
            }
        }
    }
    changes
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// What a new version of the stack file changes for building: functions added, removed, and
/// those whose build inputs differ (all of them when the stack's `configuration` changed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub rebuild: Vec<String>,
}

/// Compares the build inputs of every function of `old` and `new`.
pub fn build_changes(old: &Stack, new: &Stack) -> BuildChanges {
    let everything = old.file.configuration != new.file.configuration;
    let mut out = BuildChanges::default();
    for f in new.functions() {
        match old.file.functions.get(&f.name) {
            None => out.added.push(f.name.clone()),
            Some(before) if everything || BuildInputs::of(before) != BuildInputs::of(f) => {
                out.rebuild.push(f.name.clone());
            }
            Some(_) => {}
        }
    }
    out.removed = old.file.functions.keys().filter(|k| !new.file.functions.contains_key(*k)).cloned().collect();
    out
}

/// The stack keys of a function that go into its image.
#[derive(PartialEq)]
struct BuildInputs<'a> {
    lang: &'a Option<String>,
    handler: &'a Option<String>,
    image: &'a str,
    build_args: &'a BTreeMap<String, String>,
    build_options: &'a [String],
    build_secrets: &'a BTreeMap<String, String>,
    skip_build: bool,
    platforms: &'a Option<String>,
}

impl BuildInputs<'_> {
    fn of(f: &Function) -> BuildInputs<'_> {
        BuildInputs {
            lang: &f.lang,
            handler: &f.handler,
            image: &f.image,
            build_args: &f.build_args,
            build_options: &f.build_options,
            build_secrets: &f.build_secrets,
            skip_build: f.skip_build,
            platforms: &f.platforms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, Layout, IgnoreRules) {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        for folder in ["orders", "billing", "template/python3-http"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        let layout = Layout {
            project: root.clone(),
            stack_inputs: BTreeSet::from([root.join("stack.yaml"), root.join("env.yml")]),
            functions: vec![
                FunctionFiles {
                    name: "orders".into(),
                    handler: Some(root.join("orders")),
                    template: Some(root.join("template/python3-http")),
                },
                FunctionFiles { name: "billing".into(), handler: Some(root.join("billing")), template: None },
            ],
        };
        let rules = IgnoreRules::load(&root).unwrap();
        (dir, layout, rules)
    }

    /// The paths of `rel`, written as files so that they exist.
    fn paths(layout: &Layout, rel: &[&str]) -> BTreeSet<PathBuf> {
        rel.iter()
            .map(|r| {
                let path = layout.project.join(r);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, "x").unwrap();
                path
            })
            .collect()
    }

    #[test]
    fn handler_sources_are_hot_and_manifests_rebuild_only_their_function() {
        let (_dir, layout, rules) = project();
        let c = classify(&paths(&layout, &["orders/handler.py", "orders/lib/db.py"]), &layout, &rules);
        assert!(!c.stack);
        assert_eq!(c.functions.keys().collect::<Vec<_>>(), ["orders"]);
        assert_eq!(c.functions["orders"].rebuild, None);
        assert_eq!(c.functions["orders"].describe_handler(), "handler.py and lib/db.py");
        let c = classify(&paths(&layout, &["billing/requirements.txt", "billing/handler.py"]), &layout, &rules);
        assert_eq!(c.functions.keys().collect::<Vec<_>>(), ["billing"]);
        assert_eq!(c.functions["billing"].rebuild.as_deref(), Some("requirements.txt changed"));
        let gone = BTreeSet::from([layout.project.join("orders/handler.py.tmp")]);
        let c =
            classify(&gone.iter().chain(&paths(&layout, &["orders/handler.py"])).cloned().collect(), &layout, &rules);
        assert_eq!(c.functions["orders"].describe_handler(), "handler.py");
    }

    #[test]
    fn template_files_rebuild_the_functions_using_it_and_stack_inputs_are_the_stack() {
        let (_dir, layout, rules) = project();
        let c = classify(&paths(&layout, &["template/python3-http/index.py", "env.yml"]), &layout, &rules);
        assert!(c.stack);
        assert_eq!(c.functions["orders"].rebuild.as_deref(), Some("the template's index.py changed"));
        assert!(!c.functions.contains_key("billing"));
    }

    #[test]
    fn ignored_files_and_other_folders_change_nothing() {
        let (_dir, layout, rules) = project();
        let written =
            paths(&layout, &["orders/.handler.py.swp", "orders/build/x", "README.md", "build/orders/handler.py"]);
        let c = classify(&written, &layout, &rules);
        assert!(c.is_empty(), "{c:?}");
        for path in &written {
            assert!(!layout.concerns(path, &rules), "{} concerns the watch", path.display());
        }
    }

    #[test]
    fn the_watch_is_concerned_with_stack_inputs_handler_and_template_files_only() {
        let (_dir, layout, rules) = project();
        for rel in ["stack.yaml", "env.yml", "orders/handler.py", "orders/lib/db.py", "template/python3-http/index.py"]
        {
            assert!(layout.concerns(&layout.project.join(rel), &rules), "{rel}");
        }
        for rel in ["run.log", "stack.yaml.swp", "orders", "orders/.handler.py.swp"] {
            assert!(!layout.concerns(&layout.project.join(rel), &rules), "{rel}");
        }
    }

    fn stack(yaml: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a", "b"] {
            std::fs::create_dir_all(dir.path().join(f)).unwrap();
        }
        let opts = crate::stack::LoadOptions::default();
        crate::stack::parse("stack.yaml", yaml, &opts, dir.path(), &|_| None).unwrap()
    }

    #[test]
    fn only_functions_whose_build_inputs_changed_are_rebuilt() {
        let head = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n";
        let old = stack(&format!(
            "{head}  a:\n    lang: python3-http\n    handler: ./a\n    image: a:latest\n  b:\n    lang: node18\n    handler: ./b\n    image: b:latest\n"
        ));
        let new = stack(&format!(
            "{head}  a:\n    lang: python3-http\n    handler: ./a\n    image: a:latest\n    environment:\n      X: \"1\"\n  b:\n    lang: node18\n    handler: ./b\n    image: b:latest\n    build_args:\n      V: \"2\"\n  c:\n    image: c:latest\n"
        ));
        let changes = build_changes(&old, &new);
        assert_eq!(changes, BuildChanges { added: vec!["c".into()], removed: vec![], rebuild: vec!["b".into()] });
        assert_eq!(build_changes(&new, &old).removed, ["c"]);
    }
}
