//! The template store: a JSON list of templates and the repositories that hold them, read from
//! an http(s) URL or a local file.

use std::cmp::Ordering;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// faas-cli's default template store.
pub const DEFAULT_STORE_URL: &str = "https://raw.githubusercontent.com/openfaas/store/master/templates.json";

/// One store entry, with the JSON names the store uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreEntry {
    pub template: String,
    pub platform: String,
    pub language: String,
    pub source: String,
    pub description: String,
    pub repo: String,
    /// `"true"` in the store's JSON; a JSON boolean is accepted too.
    #[serde(deserialize_with = "string_or_bool")]
    pub official: String,
    pub recommended: bool,
}

impl StoreEntry {
    pub fn is_official(&self) -> bool {
        self.official.eq_ignore_ascii_case("true")
    }
}

fn string_or_bool<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// faas-cli's deadline for fetching the store.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the template store {url}: {reason}")]
    Read { url: String, reason: String },
    #[error("cannot read the template store: {0}")]
    Stalled(crate::http_client::Stalled),
    #[error("the template store {url} is not valid JSON: {source}")]
    Parse { url: String, source: serde_json::Error },
    #[error("template {name} not found in the template store {url}")]
    NotFound { name: String, url: String },
}

impl StoreError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            StoreError::Stalled(stalled) => Some(stalled.hint()),
            _ => None,
        }
    }
}

impl crate::error::Hint for StoreError {
    fn hint(&self) -> Option<String> {
        StoreError::hint(self).map(str::to_string)
    }
}

/// Reads the store from an http(s) URL (5 s, as faas-cli), a `file://` URL or a path, at most
/// 16 MiB of it (the limit for any document a user names).
pub async fn fetch(url: &str, cwd: &Path) -> Result<Vec<StoreEntry>, StoreError> {
    use crate::http_client::{ReadDocumentError, read_document};
    let text = read_document(url, cwd, STORE_TIMEOUT).await.map_err(|e| match e {
        ReadDocumentError::Stalled(stalled) => StoreError::Stalled(stalled),
        ReadDocumentError::Failed(reason) => StoreError::Read { url: url.to_string(), reason },
    })?;
    serde_json::from_str(&text).map_err(|source| StoreError::Parse { url: url.to_string(), source })
}

/// Filters for `template store list`.
#[derive(Debug, Clone, Default)]
pub struct Selection<'a> {
    pub platform: &'a str,
    pub official: bool,
    pub recommended: bool,
}

/// The entries for the platform (and flags), recommended first, then official, then by name.
pub fn select(entries: &[StoreEntry], sel: &Selection) -> Vec<StoreEntry> {
    let mut out: Vec<StoreEntry> = entries
        .iter()
        .filter(|e| e.platform.eq_ignore_ascii_case(sel.platform))
        .filter(|e| !sel.official || e.is_official())
        .filter(|e| !sel.recommended || e.recommended)
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        b.recommended
            .cmp(&a.recommended)
            .then_with(|| b.is_official().cmp(&a.is_official()))
            .then_with(|| a.template.cmp(&b.template))
            .then(Ordering::Equal)
    });
    out
}

/// `name`, `name@ref` or `source/name` → (source, name, ref).
pub fn parse_name(spec: &str) -> (Option<&str>, &str, Option<&str>) {
    let (rest, reference) = match spec.split_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (spec, None),
    };
    match rest.split_once('/') {
        Some((source, name)) => (Some(source), name, reference),
        None => (None, rest, reference),
    }
}

/// The entry called `name` (optionally from `source`), preferring the given platform.
pub fn find<'a>(entries: &'a [StoreEntry], source: Option<&str>, name: &str, platform: &str) -> Option<&'a StoreEntry> {
    let matching = |e: &&StoreEntry| e.template == name && source.is_none_or(|s| e.source == s);
    entries
        .iter()
        .filter(matching)
        .find(|e| e.platform.eq_ignore_ascii_case(platform))
        .or_else(|| entries.iter().find(matching))
}

/// The `template pull` source for an entry: `repo[#ref]`.
pub fn pull_source(entry: &StoreEntry, reference: Option<&str>) -> String {
    match reference {
        Some(r) if !r.is_empty() => format!("{}#{r}", entry.repo),
        _ => entry.repo.clone(),
    }
}

/// The store platform name for this machine, as faas-cli spells it.
pub fn host_platform() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "arm" => "armhf",
        _ => "x86_64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<StoreEntry> {
        serde_json::from_str(
            r#"[{"template":"b","platform":"x86_64","source":"openfaas","repo":"r1","official":"true"},
                {"template":"a","platform":"x86_64","source":"other","repo":"r2","official":"false"},
                {"template":"c","platform":"x86_64","source":"openfaas","repo":"r3","official":true,"recommended":true},
                {"template":"a","platform":"arm64","source":"other","repo":"r4"}]"#,
        )
        .unwrap()
    }

    #[test]
    fn sorts_recommended_then_official_then_name() {
        let sel = Selection { platform: "x86_64", ..Default::default() };
        let names: Vec<_> = select(&entries(), &sel).into_iter().map(|e| e.template).collect();
        assert_eq!(names, ["c", "b", "a"]);
        let official = Selection { platform: "x86_64", official: true, ..Default::default() };
        assert_eq!(select(&entries(), &official).len(), 2);
    }

    #[test]
    fn names_and_lookup() {
        assert_eq!(parse_name("golang-http@1.0"), (None, "golang-http", Some("1.0")));
        assert_eq!(parse_name("openfaas/node22"), (Some("openfaas"), "node22", None));
        let e = entries();
        assert_eq!(find(&e, None, "a", "arm64").unwrap().repo, "r4");
        assert_eq!(find(&e, Some("other"), "a", "x86_64").unwrap().repo, "r2");
        assert_eq!(pull_source(&e[0], Some("v2")), "r1#v2");
    }
}
