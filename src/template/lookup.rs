//! Which template a function's `lang` means: `./template/<lang>/` first, then the templates
//! bundled in rfaas, then the stack's `configuration.templates`, then the template store.

use std::path::Path;

use super::pull::{self, PullError, PullOptions};
use super::spec::{LanguageTemplate, SpecError};
use super::store::{self, StoreError};
use super::{LOCAL_DIR, Origin, Template, bundled};
use crate::stack::schema::TemplateSource;

/// Where to look beyond the local and bundled templates.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    /// The stack's `configuration.templates` (empty with `--disable-stack-pull`).
    pub stack_templates: &'a [TemplateSource],
    /// Template store URL or file.
    pub store_url: &'a str,
    /// Replace existing templates when pulling.
    pub overwrite: bool,
}

/// Why no template could be found for a language.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("unknown language \"{lang}\": no ./template/{lang}/template.yml, no bundled template{}", store_note(.store))]
    Unknown { lang: String, store: Option<String> },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("cannot pull template \"{lang}\" from {source_repo}: {error}")]
    Pull { lang: String, source_repo: String, error: PullError },
}

fn store_note(store: &Option<String>) -> String {
    match store {
        Some(problem) => format!(", and {problem}"),
        None => String::new(),
    }
}

/// A template already on this machine: `cwd/template/<lang>` or bundled.
pub fn find_local(lang: &str, cwd: &Path) -> Result<Option<Template>, SpecError> {
    let dir = cwd.join(LOCAL_DIR).join(lang);
    if !lang.is_empty() && dir.join("template.yml").is_file() {
        let spec = LanguageTemplate::read(&dir)?;
        return Ok(Some(Template { lang: lang.to_string(), spec, origin: Origin::Local(dir) }));
    }
    let Some(dir) = bundled::get(lang) else { return Ok(None) };
    let text = dir.get_file(dir.path().join("template.yml")).and_then(|f| f.contents_utf8()).unwrap_or_default();
    let spec = LanguageTemplate::parse(text, &format!("bundled {lang}/template.yml"))?;
    Ok(Some(Template { lang: lang.to_string(), spec, origin: Origin::Bundled(dir) }))
}

/// Every language available without pulling: `./template/*` and the bundled ones, sorted.
pub fn available(cwd: &Path) -> Vec<String> {
    let mut names = bundled::names();
    if let Ok(entries) = std::fs::read_dir(cwd.join(LOCAL_DIR)) {
        for entry in entries.flatten() {
            if entry.path().join("template.yml").is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Finds the template for `lang`, pulling it from the stack configuration or the store if needed.
pub async fn resolve(lang: &str, cwd: &Path, sources: &Sources<'_>) -> Result<Template, LookupError> {
    if let Some(t) = find_local(lang, cwd)? {
        return Ok(t);
    }
    let configured = sources.stack_templates.iter().find(|t| t.name == lang);
    let store_problem = match configured.and_then(|t| t.source.as_deref()) {
        Some(source) => {
            pull_one(lang, source, cwd, sources)?;
            None
        }
        None => match from_store(lang, cwd, sources).await {
            Ok(()) => None,
            Err(StoreLookup::Store(e)) => Some(e.to_string()),
            Err(StoreLookup::Pull(e)) => return Err(e),
        },
    };
    find_local(lang, cwd)?.ok_or_else(|| LookupError::Unknown { lang: lang.to_string(), store: store_problem })
}

/// Pulls one `configuration.templates` entry: from its `source`, or from the store without one.
pub async fn pull_entry(entry: &TemplateSource, cwd: &Path, sources: &Sources<'_>) -> Result<(), LookupError> {
    match entry.source.as_deref() {
        Some(source) => pull_one(&entry.name, source, cwd, sources),
        None => match from_store(&entry.name, cwd, sources).await {
            Ok(()) => Ok(()),
            Err(StoreLookup::Store(e)) => {
                Err(LookupError::Unknown { lang: entry.name.clone(), store: Some(e.to_string()) })
            }
            Err(StoreLookup::Pull(e)) => Err(e),
        },
    }
}

fn pull_one(lang: &str, source: &str, cwd: &Path, sources: &Sources) -> Result<(), LookupError> {
    let opts = PullOptions { overwrite: sources.overwrite, only: Some(lang.to_string()), debug: false };
    pull::pull(source, cwd, &opts).map(|_| ()).map_err(|error| LookupError::Pull {
        lang: lang.to_string(),
        source_repo: source.to_string(),
        error,
    })
}

enum StoreLookup {
    Store(StoreError),
    Pull(LookupError),
}

async fn from_store(lang: &str, cwd: &Path, sources: &Sources<'_>) -> Result<(), StoreLookup> {
    let entries = store::fetch(sources.store_url, cwd).await.map_err(StoreLookup::Store)?;
    let (source, name, reference) = store::parse_name(lang);
    let entry = store::find(&entries, source, name, store::host_platform()).ok_or_else(|| {
        StoreLookup::Store(StoreError::NotFound { name: name.to_string(), url: sources.store_url.to_string() })
    })?;
    let repo = store::pull_source(entry, reference);
    let opts = PullOptions { overwrite: sources.overwrite, only: Some(lang.to_string()), debug: false };
    pull::pull(&repo, cwd, &opts).map(|_| ()).map_err(|error| {
        StoreLookup::Pull(LookupError::Pull { lang: lang.to_string(), source_repo: repo.clone(), error })
    })
}
