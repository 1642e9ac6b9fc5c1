//! `template pull`: fetch a template repository (git CLI, or a local directory) and copy its
//! `template/<lang>/` folders into `./template/`, each with a `meta.json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{LOCAL_DIR, copy};

/// faas-cli's default template repository.
pub const DEFAULT_REPOSITORY: &str = "https://github.com/openfaas/templates.git";

/// How a pull behaves.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Replace templates that already exist in `./template/`.
    pub overwrite: bool,
    /// Keep the temporary clone and say where it is.
    pub debug: bool,
    /// Write only this template (`name` or `name@ref`), as `./template/<only>`.
    pub only: Option<String>,
}

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(
        "invalid template repository \"{0}\": give a git URL (https://, git://, ssh://, file://, git@host:path) or an existing directory"
    )]
    BadSource(String),
    #[error("a local template directory cannot be pinned with #{reference}: {path}")]
    RefOnLocalPath { path: String, reference: String },
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("no templates found in {0}: a template repository has template/<lang>/template.yml")]
    NoTemplates(String),
    #[error("template {name} not found in {source_repo}")]
    NotFound { name: String, source_repo: String },
    #[error("unable to overwrite the following: [{}]", .0.join(" "))]
    Conflicts(Vec<String>),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl PullError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PullError::Conflicts(_) => Some("pass --overwrite to replace them"),
            PullError::Git { .. } => {
                Some("check the repository URL and ref; private repositories need git credentials")
            }
            _ => None,
        }
    }
}

impl crate::error::Hint for PullError {
    fn hint(&self) -> Option<String> {
        PullError::hint(self).map(str::to_string)
    }
}

/// What a pull wrote.
#[derive(Debug, Default)]
pub struct Pulled {
    /// Template names written under `./template/`.
    pub written: Vec<String>,
    /// With `debug`: the clone that was kept for inspection.
    pub kept: Option<PathBuf>,
}

/// A fetched repository: where its files are and what to record in `meta.json`.
struct Checkout {
    root: PathBuf,
    repository: String,
    reference: String,
    sha: String,
    /// The clone's temporary directory, removed on drop.
    _temp: Option<tempfile::TempDir>,
    /// The clone's directory when `--debug` keeps it.
    kept: Option<PathBuf>,
}

/// Pulls `source` (`URL[#ref]` or a directory) into `cwd/template/`; returns the names written.
pub fn pull(source: &str, cwd: &Path, opts: &PullOptions) -> Result<Pulled, PullError> {
    let checkout = fetch(source, cwd, opts.debug)?;
    let kept = checkout.kept.clone();
    let available = list_templates(&checkout.root.join(LOCAL_DIR))?;
    if available.is_empty() {
        return Err(PullError::NoTemplates(checkout.repository.clone()));
    }
    let wanted: Vec<(String, String)> = match &opts.only {
        Some(name) => {
            let base = name.split('@').next().unwrap_or(name).to_string();
            if !available.contains(&base) {
                return Err(PullError::NotFound { name: base, source_repo: checkout.repository.clone() });
            }
            vec![(base, name.clone())]
        }
        None => available
            .into_iter()
            .map(|lang| {
                let target =
                    if checkout.reference.is_empty() { lang.clone() } else { format!("{lang}@{}", checkout.reference) };
                (lang, target)
            })
            .collect(),
    };
    let written = write_templates(&checkout, &wanted, cwd, opts.overwrite)?;
    Ok(Pulled { written, kept })
}

fn write_templates(
    checkout: &Checkout,
    wanted: &[(String, String)],
    cwd: &Path,
    overwrite: bool,
) -> Result<Vec<String>, PullError> {
    let (mut written, mut conflicts) = (Vec::new(), Vec::new());
    for (lang, target) in wanted {
        let dest = cwd.join(LOCAL_DIR).join(target);
        if dest.exists() {
            if !overwrite {
                conflicts.push(target.clone());
                continue;
            }
            fs_err::remove_dir_all(&dest)?;
        }
        copy::copy_dir(&checkout.root.join(LOCAL_DIR).join(lang), &dest, &[])?;
        let meta = serde_json::json!({
            "repository": checkout.repository,
            "ref_name": checkout.reference,
            "sha": checkout.sha,
            "written_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        let text = serde_json::to_string_pretty(&meta).map_err(std::io::Error::other)?;
        fs_err::write(dest.join("meta.json"), text + "\n")?;
        written.push(target.clone());
    }
    if !conflicts.is_empty() {
        return Err(PullError::Conflicts(conflicts));
    }
    Ok(written)
}

/// Names of the directories under `dir` that hold a `template.yml`, sorted.
fn list_templates(dir: &Path) -> std::io::Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.path().join("template.yml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn is_git_url(s: &str) -> bool {
    let re = regex::Regex::new(r"^((git|ssh|https?|file)://|[\w.-]+@[\w.-]+:)").expect("valid regex");
    re.is_match(s)
}

fn fetch(source: &str, cwd: &Path, debug: bool) -> Result<Checkout, PullError> {
    let (repo, reference) = match source.split_once('#') {
        Some((r, f)) => (r, f.to_string()),
        None => (source, String::new()),
    };
    let local = cwd.join(repo);
    if !is_git_url(repo) && local.is_dir() {
        if !reference.is_empty() {
            return Err(PullError::RefOnLocalPath { path: repo.to_string(), reference });
        }
        let sha = git(&local, &["rev-parse", "HEAD"]).unwrap_or_default();
        return Ok(Checkout { root: local, repository: repo.to_string(), reference, sha, _temp: None, kept: None });
    }
    if !is_git_url(repo) {
        return Err(PullError::BadSource(source.to_string()));
    }
    let temp = tempfile::Builder::new().prefix("rfaas-template-").tempdir()?;
    let dir = temp.path().join("repo");
    let dir_arg = dir.display().to_string();
    if let Some(sha) = reference.strip_prefix("sha-") {
        git(cwd, &["clone", "-q", "--", repo, &dir_arg])?;
        git(&dir, &["checkout", "-q", sha])?;
    } else if reference.is_empty() {
        git(cwd, &["clone", "-q", "--depth=1", "--", repo, &dir_arg])?;
    } else {
        git(cwd, &["clone", "-q", "--depth=1", "-b", &reference, "--", repo, &dir_arg])?;
    }
    let sha = git(&dir, &["rev-parse", "HEAD"])?;
    let (temp, kept) = if debug { (None, Some(temp.keep())) } else { (Some(temp), None) };
    Ok(Checkout { root: dir, repository: repo.to_string(), reference, sha, _temp: temp, kept })
}

fn git(dir: &Path, args: &[&str]) -> Result<String, PullError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| PullError::Git { args: args.join(" "), stderr: format!("cannot run git: {e}") })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(PullError::Git { args: args.join(" "), stderr });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(langs: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for lang in langs {
            copy::write_file(&dir.path().join(format!("template/{lang}/template.yml")), b"language: x\n", 0o644)
                .unwrap();
        }
        dir
    }

    #[test]
    fn local_directory_pull_writes_meta_and_respects_overwrite() {
        let repo = repo_with(&["a", "b"]);
        let cwd = tempfile::tempdir().unwrap();
        let src = repo.path().display().to_string();
        let opts = PullOptions { overwrite: true, ..Default::default() };
        assert_eq!(pull(&src, cwd.path(), &opts).unwrap().written, vec!["a", "b"]);
        assert!(cwd.path().join("template/a/meta.json").is_file());
        let keep = PullOptions { overwrite: false, ..Default::default() };
        let err = pull(&src, cwd.path(), &keep).unwrap_err();
        assert_eq!(err.to_string(), "unable to overwrite the following: [a b]");
        let only = PullOptions { overwrite: true, only: Some("b@1.0".into()), ..Default::default() };
        assert_eq!(pull(&src, cwd.path(), &only).unwrap().written, vec!["b@1.0"]);
    }

    #[test]
    fn bad_sources_are_rejected() {
        let cwd = tempfile::tempdir().unwrap();
        let opts = PullOptions::default();
        assert!(matches!(pull("nowhere", cwd.path(), &opts), Err(PullError::BadSource(_))));
        let repo = repo_with(&["a"]);
        let pinned = format!("{}#v1", repo.path().display());
        assert!(matches!(pull(&pinned, cwd.path(), &opts), Err(PullError::RefOnLocalPath { .. })));
        assert!(is_git_url("git@github.com:o/r.git") && is_git_url("file:///tmp/x") && !is_git_url("./x"));
    }
}
