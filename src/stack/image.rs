//! Image names and `--tag` formats, as faas-cli computes them.
//!
//! The image gets `:latest` when its last path segment has no tag; then `--tag sha|branch|describe`
//! appends git metadata, and `--tag digest` replaces the tag with an md5 over the handler's files.

use std::path::Path;
use std::process::Command;

use md5::{Digest, Md5};

/// The `--tag` flag's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagFormat {
    #[default]
    Latest,
    Sha,
    Branch,
    Describe,
    Digest,
}

impl std::str::FromStr for TagFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_lowercase().as_str() {
            "" | "default" | "latest" => Ok(TagFormat::Latest),
            "sha" => Ok(TagFormat::Sha),
            "branch" => Ok(TagFormat::Branch),
            "describe" => Ok(TagFormat::Describe),
            "digest" => Ok(TagFormat::Digest),
            _ => Err(format!("unknown image tag format: '{s}' (use latest, sha, branch, describe or digest)")),
        }
    }
}

/// Why an image name could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error("cannot tag image with Git SHA as this is not a Git repository")]
    NotGit,
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("cannot hash handler folder {path}: {source}")]
    Hash { path: String, source: std::io::Error },
}

/// `image` with `:latest` added when it has no tag, as faas-cli does before anything else.
pub fn with_default_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') { image.to_string() } else { format!("{image}:latest") }
}

/// The final image name for `format`; `handler` is only read for `digest`, `cwd` for git formats.
pub fn image_name(format: TagFormat, image: &str, handler: Option<&str>, cwd: &Path) -> Result<String, TagError> {
    let image = with_default_tag(image);
    Ok(match format {
        TagFormat::Latest => image,
        TagFormat::Sha => format!("{image}-{}", git(cwd, &["rev-parse", "--short", "HEAD"])?),
        TagFormat::Branch => {
            let branch = git(cwd, &["rev-parse", "--symbolic-full-name", "--abbrev-ref", "HEAD"])?;
            format!("{image}-{branch}-{}", git(cwd, &["rev-parse", "--short", "HEAD"])?)
        }
        TagFormat::Describe => format!("{image}-{}", git(cwd, &["describe", "--tags", "--always"])?),
        TagFormat::Digest => {
            let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r);
            let dir = cwd.join(handler.unwrap_or("."));
            format!("{repo}:{}", handler_digest(&dir)?)
        }
    })
}

/// Runs git in `cwd`. Unlike faas-cli, any failure is an error rather than text in the tag.
fn git(cwd: &Path, args: &[&str]) -> Result<String, TagError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| TagError::Git { args: args.join(" "), stderr: e.to_string() })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if stderr.to_lowercase().contains("not a git repository") {
            return Err(TagError::NotGit);
        }
        return Err(TagError::Git { args: args.join(" "), stderr });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// md5 over the concatenated md5 hex digests of every regular file under `dir`, in path order.
pub fn handler_digest(dir: &Path) -> Result<String, TagError> {
    let hash_err = |source| TagError::Hash { path: dir.display().to_string(), source };
    let mut files = Vec::new();
    collect_files(dir, &mut files).map_err(hash_err)?;
    files.sort();
    let mut outer = Md5::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(hash_err)?;
        outer.update(hex::encode(Md5::digest(&bytes)).as_bytes());
    }
    Ok(hex::encode(outer.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tag_is_added_only_when_missing() {
        assert_eq!(with_default_tag("fn"), "fn:latest");
        assert_eq!(with_default_tag("reg:5000/team/fn"), "reg:5000/team/fn:latest");
        assert_eq!(with_default_tag("reg:5000/team/fn:0.1"), "reg:5000/team/fn:0.1");
    }

    #[test]
    fn tag_formats_parse_like_faas_cli() {
        assert_eq!("SHA".parse::<TagFormat>(), Ok(TagFormat::Sha));
        assert_eq!("".parse::<TagFormat>(), Ok(TagFormat::Latest));
        assert!("bad".parse::<TagFormat>().unwrap_err().starts_with("unknown image tag format: 'bad'"));
    }

    #[test]
    fn digest_replaces_the_tag_and_depends_on_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("h")).unwrap();
        std::fs::write(dir.path().join("h/a.py"), "print(1)").unwrap();
        let one = image_name(TagFormat::Digest, "reg/fn:0.1", Some("h"), dir.path()).unwrap();
        assert!(one.starts_with("reg/fn:") && one.len() == "reg/fn:".len() + 32, "{one}");
        std::fs::write(dir.path().join("h/a.py"), "print(2)").unwrap();
        assert_ne!(image_name(TagFormat::Digest, "reg/fn:0.1", Some("h"), dir.path()).unwrap(), one);
    }

    #[test]
    fn git_formats_fail_clearly_outside_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let err = image_name(TagFormat::Sha, "fn", None, dir.path()).unwrap_err();
        assert!(matches!(err, TagError::NotGit), "{err}");
    }

    #[test]
    fn git_formats_append_metadata_in_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let ok = Command::new("git").args(args).current_dir(dir.path()).output().unwrap().status.success();
            assert!(ok, "git {args:?}");
        };
        run(&["init", "-q", "-b", "main"]);
        run(&["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"]);
        let sha = git(dir.path(), &["rev-parse", "--short", "HEAD"]).unwrap();
        assert_eq!(image_name(TagFormat::Sha, "fn", None, dir.path()).unwrap(), format!("fn:latest-{sha}"));
        assert_eq!(image_name(TagFormat::Branch, "fn:1", None, dir.path()).unwrap(), format!("fn:1-main-{sha}"));
    }
}
