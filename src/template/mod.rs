//! Function templates: `template.yml`, where a language's template comes from (local
//! `./template/`, the templates bundled in the binary, the stack's `configuration.templates`, the
//! template store), pulling them, and assembling a function's build context from one.

pub mod build_context;
pub mod bundled;
pub mod copy;
pub mod lookup;
pub mod pull;
pub mod spec;
pub mod store;

use std::path::{Path, PathBuf};

pub use spec::LanguageTemplate;

/// The language whose handler folder is the whole Docker build context.
pub const DOCKERFILE_LANG: &str = "dockerfile";

/// The directory, relative to the working directory, that pulled templates live in.
pub const LOCAL_DIR: &str = "template";

/// True for `lang: dockerfile` (any case), where the handler holds its own Dockerfile.
pub fn is_dockerfile(lang: &str) -> bool {
    lang.eq_ignore_ascii_case(DOCKERFILE_LANG)
}

/// Where a template's files are.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A directory on disk, usually `./template/<lang>`.
    Local(PathBuf),
    /// Embedded in the rfaas binary.
    Bundled(&'static include_dir::Dir<'static>),
}

/// A resolved template: its name, parsed `template.yml` and where its files are.
#[derive(Debug, Clone)]
pub struct Template {
    pub lang: String,
    pub spec: LanguageTemplate,
    pub origin: Origin,
}

impl Template {
    /// How to refer to the template in messages: `template/python3-http` or `bundled python3-http`.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Local(dir) => dir.display().to_string(),
            Origin::Bundled(_) => format!("bundled template {}", self.lang),
        }
    }

    /// Copies every file of the template under `sub` ("" for all) into `dest`, keeping modes.
    pub fn copy_into(&self, sub: &str, dest: &Path) -> std::io::Result<()> {
        match &self.origin {
            Origin::Local(dir) => copy::copy_dir(&dir.join(sub), dest, &[]),
            Origin::Bundled(dir) => {
                for file in bundled::files(dir) {
                    let rel = if sub.is_empty() { Some(file.rel.as_path()) } else { file.rel.strip_prefix(sub).ok() };
                    if let Some(rel) = rel {
                        copy::write_file(&dest.join(rel), file.contents, file.mode)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// True when the template has a directory `sub` (e.g. its starter handler folder).
    pub fn has_dir(&self, sub: &str) -> bool {
        match &self.origin {
            Origin::Local(dir) => dir.join(sub).is_dir(),
            Origin::Bundled(dir) => dir.get_dir(dir.path().join(sub)).is_some(),
        }
    }
}
