//! `template.yml`: the keys faas-cli's `LanguageTemplate` has.

use std::path::Path;

use serde::Deserialize;

use crate::stack::{limits, yaml_tree};

/// The folder a template's starter handler lives in when `handler_folder` is not set.
pub const DEFAULT_HANDLER_FOLDER: &str = "function";

/// One `build_options` entry: a name a stack can select and the packages it adds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BuildOption {
    pub name: String,
    pub packages: Vec<String>,
}

/// A parsed `template.yml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LanguageTemplate {
    pub language: String,
    pub fprocess: String,
    pub build_options: Vec<BuildOption>,
    pub welcome_message: String,
    pub handler_folder: String,
    pub mount_ssh: bool,
}

impl LanguageTemplate {
    /// Parses `text`; `origin` names the file in the error. The text is first built as a
    /// [`yaml_tree`] so that a pulled template gets the same limits (size, depth, aliases) as
    /// every other user YAML; serde then decodes it.
    pub fn parse(text: &str, origin: &str) -> Result<LanguageTemplate, SpecError> {
        let fail = |message: String| SpecError { origin: origin.to_string(), message };
        if yaml_tree::parse(text).map_err(|e| fail(format!("{}:{}: {}", e.mark.line, e.mark.col, e.message)))?.is_none()
        {
            return Ok(LanguageTemplate::default());
        }
        serde_yaml::from_str(text).map_err(|e| fail(e.to_string()))
    }

    /// Reads and parses `dir/template.yml`, which must be a regular file.
    pub fn read(dir: &Path) -> Result<LanguageTemplate, SpecError> {
        let path = dir.join("template.yml");
        let text = limits::read(&path, limits::Accept::RegularFiles)
            .map_err(|e| SpecError { origin: path.display().to_string(), message: e.to_string() })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Where the handler goes inside the build context (`function` unless the template says).
    pub fn handler_folder(&self) -> &str {
        let folder = self.handler_folder.trim_matches('/');
        if folder.is_empty() { DEFAULT_HANDLER_FOLDER } else { folder }
    }

    /// The packages of the named build option, or `None` when the template has no such option.
    pub fn build_option(&self, name: &str) -> Option<&[String]> {
        self.build_options.iter().find(|o| o.name == name).map(|o| o.packages.as_slice())
    }
}

/// `template.yml` could not be read or parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid template file {origin}: {message}")]
pub struct SpecError {
    pub origin: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let t = LanguageTemplate::parse(
            "language: python3-http\nfprocess: python index.py\nwelcome_message: hi\nhandler_folder: src\nmount_ssh: true\nbuild_options:\n  - name: dev\n    packages: [make, gcc]\n",
            "t.yml",
        )
        .unwrap();
        assert_eq!(t.language, "python3-http");
        assert_eq!(t.handler_folder(), "src");
        assert!(t.mount_ssh);
        assert_eq!(t.build_option("dev"), Some(&["make".to_string(), "gcc".to_string()][..]));
        assert_eq!(t.build_option("prod"), None);
    }

    #[test]
    fn defaults_and_errors() {
        let t = LanguageTemplate::parse("language: dockerfile\n", "t.yml").unwrap();
        assert_eq!(t.handler_folder(), "function");
        assert!(LanguageTemplate::parse("", "t.yml").unwrap().language.is_empty());
        let err = LanguageTemplate::parse("build_options: 3", "x/template.yml").unwrap_err();
        assert!(err.to_string().starts_with("invalid template file x/template.yml"), "{err}");
    }
}
