//! Assembling `./build/<fn>/`, the Docker build context, the way faas-cli does: the template's
//! files, the handler overlaid into the template's handler folder (top-level `build` and
//! `template` entries skipped), then `configuration.copy` / `--copy-extra` paths. For
//! `lang: dockerfile` the handler itself is the context.

use std::path::{Path, PathBuf};

use super::{Template, copy, is_dockerfile};

/// The directory all build contexts are written under, relative to the working directory.
pub const BUILD_DIR: &str = "build";

/// Handler entries that are never copied (faas-cli skips them; see its issue #803).
const SKIPPED_HANDLER_ENTRIES: &[&str] = &["build", "template"];

/// What to assemble for one function.
#[derive(Debug)]
pub struct ContextRequest<'a> {
    pub function: &'a str,
    pub lang: &'a str,
    /// The handler directory, absolute.
    pub handler: &'a Path,
    pub template: &'a Template,
    /// Checked copy paths, relative to `cwd` (see [`check_copy_path`]).
    pub copy: &'a [PathBuf],
    pub cwd: &'a Path,
}

/// Why a copy path was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CopyPathError {
    #[error("copy path \"{0}\" does not exist")]
    Missing(String),
    #[error("forbidden path appears to equal the entire project: \"{0}\"")]
    WholeProject(String),
    #[error("forbidden path appears to be outside of the build context: \"{0}\"")]
    Outside(String),
}

/// `./build/<fn>` under `cwd`.
pub fn build_dir(cwd: &Path, function: &str) -> PathBuf {
    cwd.join(BUILD_DIR).join(function)
}

/// Resolves a `configuration.copy` / `--copy-extra` entry: it must exist inside `cwd` and must not
/// be `cwd` itself. Returns the path relative to `cwd`.
pub fn check_copy_path(cwd: &Path, path: &str) -> Result<PathBuf, CopyPathError> {
    // First without touching the disk, so a path that is outside is called that even if it is missing.
    match lexical_relative(path) {
        None => return Err(CopyPathError::Outside(path.to_string())),
        Some(rel) if rel.as_os_str().is_empty() => return Err(CopyPathError::WholeProject(path.to_string())),
        Some(_) => {}
    }
    let root = cwd.canonicalize().map_err(|_| CopyPathError::Missing(path.to_string()))?;
    let resolved = cwd.join(path).canonicalize().map_err(|_| CopyPathError::Missing(path.to_string()))?;
    if resolved == root {
        return Err(CopyPathError::WholeProject(path.to_string()));
    }
    match resolved.strip_prefix(&root) {
        Ok(rel) => Ok(rel.to_path_buf()),
        Err(_) => Err(CopyPathError::Outside(path.to_string())),
    }
}

/// `path` relative to the project with `.` and `..` resolved by name; `None` when it leaves the
/// project (or is absolute, which is judged after resolving links instead).
fn lexical_relative(path: &str) -> Option<PathBuf> {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in Path::new(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => return Some(PathBuf::from(path)),
        }
    }
    Some(out)
}

/// Writes `./build/<fn>/` from scratch and returns its path.
pub fn assemble(req: &ContextRequest) -> std::io::Result<PathBuf> {
    let dir = build_dir(req.cwd, req.function);
    if dir.exists() {
        fs_err::remove_dir_all(&dir)?;
    }
    let target = if is_dockerfile(req.lang) {
        dir.clone()
    } else {
        let folder = dir.join(req.template.spec.handler_folder());
        fs_err::create_dir_all(&folder)?;
        req.template.copy_into("", &dir)?;
        folder
    };
    copy::copy_dir(req.handler, &target, SKIPPED_HANDLER_ENTRIES)?;
    for rel in req.copy {
        copy::copy_path(&req.cwd.join(rel), &target.join(rel))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_paths_must_stay_inside_the_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("common/sub")).unwrap();
        assert_eq!(check_copy_path(dir.path(), "./common/sub").unwrap(), PathBuf::from("common/sub"));
        assert_eq!(check_copy_path(dir.path(), "."), Err(CopyPathError::WholeProject(".".into())));
        assert_eq!(check_copy_path(dir.path(), "common/.."), Err(CopyPathError::WholeProject("common/..".into())));
        assert_eq!(check_copy_path(dir.path(), ".."), Err(CopyPathError::Outside("..".into())));
        assert_eq!(check_copy_path(dir.path(), "nope"), Err(CopyPathError::Missing("nope".into())));
        assert_eq!(check_copy_path(dir.path(), "../gone"), Err(CopyPathError::Outside("../gone".into())));
    }
}
