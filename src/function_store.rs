//! The OpenFaaS function store: a JSON list of ready-made functions with one image per platform,
//! for `store list|describe|deploy` and `generate --from-store`.
//!
//! The layouts are faas-cli's (its tabwriter with one space of padding), so scripts that cut
//! columns keep working; maps faas-cli prints in random order are sorted here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// faas-cli's default function store.
pub const DEFAULT_STORE_URL: &str = "https://raw.githubusercontent.com/openfaas/store/master/functions.json";
/// faas-cli's deadline for fetching the store.
const STORE_TIMEOUT: Duration = Duration::from_secs(60);
/// `store list` shortens titles to this many characters with `--verbose=false`.
const MAX_DESCRIPTION_LEN: usize = 40;

/// One store function, with the store's JSON names, serialized in faas-cli's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreFunction {
    pub icon: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    pub title: String,
    pub description: String,
    pub name: String,
    pub fprocess: String,
    pub repo_url: String,
    #[serde(rename = "readOnlyRootFilesystem")]
    pub read_only_root_filesystem: bool,
    pub environment: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub images: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Store {
    #[serde(default)]
    functions: Vec<StoreFunction>,
}

impl StoreFunction {
    /// The image for `platform` (compared ignoring case, as faas-cli filters).
    pub fn image(&self, platform: &str) -> Option<&str> {
        self.images.iter().find(|(k, _)| k.eq_ignore_ascii_case(platform)).map(|(_, v)| v.as_str())
    }
}

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the function store {url}: {reason}")]
    Read { url: String, reason: String },
    #[error("cannot read the function store: {0}")]
    Stalled(crate::http_client::Stalled),
    #[error("the function store {url} is not valid store JSON: {source}")]
    Parse { url: String, source: serde_json::Error },
    #[error("function '{name}' not found for platform '{platform}'")]
    NotFound { name: String, platform: String },
    #[error("unable to find '{0}' in store")]
    NotInStore(String),
    #[error("image for {arch} not found in store for '{name}'; options: {}", options.join(", "))]
    NoImage { name: String, arch: String, options: Vec<String> },
}

impl crate::error::Hint for StoreError {
    fn hint(&self) -> Option<String> {
        match self {
            StoreError::Stalled(stalled) => Some(stalled.hint().to_string()),
            StoreError::Read { .. } | StoreError::Parse { .. } => {
                Some("check --url (or OPENFAAS_STORE): it must serve the store's functions.json".to_string())
            }
            StoreError::NotInStore(_) => Some("`rfaas store list` shows the store's function names".to_string()),
            StoreError::NoImage { .. } => Some("pick one of the options with --arch".to_string()),
            StoreError::NotFound { .. } => {
                Some("`rfaas store list` shows the functions for this platform; --platform picks another".to_string())
            }
        }
    }
}

/// Reads the store from an http(s) URL (60 s, as faas-cli), a `file://` URL or a path, at most
/// 16 MiB of it (the limit for any document a user names).
pub async fn fetch(url: &str, cwd: &Path) -> Result<Vec<StoreFunction>, StoreError> {
    use crate::http_client::{ReadDocumentError, read_document};
    let url = url.trim_end_matches('/');
    let text = read_document(url, cwd, STORE_TIMEOUT).await.map_err(|e| match e {
        ReadDocumentError::Stalled(stalled) => StoreError::Stalled(stalled),
        ReadDocumentError::Failed(reason) => StoreError::Read { url: url.to_string(), reason },
    })?;
    let store: Store =
        serde_json::from_str(&text).map_err(|source| StoreError::Parse { url: url.to_string(), source })?;
    Ok(store.functions)
}

/// The functions that have an image for `platform`, in store order.
pub fn for_platform(functions: &[StoreFunction], platform: &str) -> Vec<StoreFunction> {
    functions.iter().filter(|f| f.image(platform).is_some()).cloned().collect()
}

/// The function whose name or title is `name`, among those for `platform`.
pub fn find(functions: &[StoreFunction], name: &str, platform: &str) -> Result<StoreFunction, StoreError> {
    for_platform(functions, platform)
        .into_iter()
        .find(|f| f.name == name || f.title == name)
        .ok_or_else(|| StoreError::NotFound { name: name.to_string(), platform: platform.to_string() })
}

/// What `generate --from-store` asks for besides the store.
#[derive(Debug, Clone, Default)]
pub struct GenerateRequest<'a> {
    /// The store function's name (not its title, as in faas-cli).
    pub function: &'a str,
    /// The Function's name instead of the store's.
    pub name: Option<&'a str>,
    pub arch: &'a str,
    /// Added to the store's, winning over them.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

/// The Function spec of a store entry, as faas-cli builds it: the image for `arch`, the store's
/// environment plus `fprocess` (unless the environment sets it), labels and annotations always
/// present (so `{}` when empty).
pub fn function_spec(
    functions: &[StoreFunction],
    req: &GenerateRequest,
) -> Result<crate::kubernetes::FunctionSpec, StoreError> {
    let item = functions
        .iter()
        .find(|f| f.name == req.function)
        .ok_or_else(|| StoreError::NotInStore(req.function.to_string()))?;
    let image = item.images.get(req.arch).ok_or_else(|| StoreError::NoImage {
        name: item.name.clone(),
        arch: req.arch.to_string(),
        options: item.images.keys().cloned().collect(),
    })?;
    let mut environment = item.environment.clone().unwrap_or_default();
    if !item.fprocess.is_empty() {
        environment.entry("fprocess".to_string()).or_insert_with(|| item.fprocess.clone());
    }
    let merged = |store: &Option<BTreeMap<String, String>>, flags: &[(String, String)]| {
        let mut out = store.clone().unwrap_or_default();
        out.extend(flags.iter().cloned());
        out
    };
    Ok(crate::kubernetes::FunctionSpec {
        name: req.name.unwrap_or(&item.name).to_string(),
        image: image.clone(),
        environment,
        labels: Some(merged(&item.labels, &req.labels)),
        annotations: Some(merged(&item.annotations, &req.annotations)),
        ..Default::default()
    })
}

/// Every platform the store has images for, in first-seen order.
pub fn platforms(functions: &[StoreFunction]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in functions {
        for k in f.images.keys() {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// Go's `text/tabwriter` with padding 1: each tab-terminated cell padded to its column's widest
/// cell plus one space, over a block of consecutive lines that have that column; the text after
/// the last tab is not padded.
fn tabwrite(lines: &[String]) -> String {
    let cells: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut start = 0;
    while start < cells.len() {
        // A block: consecutive lines with the same number of terminated cells (enough for the
        // layouts here, where blocks never share a column with a different-shaped neighbour).
        let n = cells[start].len();
        let mut end = start;
        while end < cells.len() && cells[end].len() == n {
            end += 1;
        }
        let widths: Vec<usize> = (0..n.saturating_sub(1))
            .map(|col| cells[start..end].iter().map(|c| c[col].chars().count()).max().unwrap_or(0) + 1)
            .collect();
        for line in &cells[start..end] {
            for (col, cell) in line.iter().enumerate() {
                match widths.get(col) {
                    Some(w) => out.push_str(&format!("{cell:<w$}")),
                    None => out.push_str(cell),
                }
            }
            out.push('\n');
        }
        start = end;
    }
    out
}

/// `store list`'s table: a blank line, `FUNCTION AUTHOR DESCRIPTION`, one row per function (the
/// DESCRIPTION column shows the title, as faas-cli does), a blank line.
pub fn render_list(functions: &[StoreFunction], verbose: bool) -> String {
    let mut lines = vec![String::new(), "FUNCTION\tAUTHOR\tDESCRIPTION".to_string()];
    for f in functions {
        let author = if f.author.is_empty() { "unknown" } else { &f.author };
        let title = if !verbose && f.title.chars().count() > MAX_DESCRIPTION_LEN {
            format!("{}...", f.title.chars().take(MAX_DESCRIPTION_LEN - 3).collect::<String>())
        } else {
            f.title.clone()
        };
        lines.push(format!("{}\t{author}\t{title}", f.name));
    }
    lines.push(String::new());
    tabwrite(&lines)
}

/// `store describe`'s layout.
pub fn render_item(f: &StoreFunction, platform: &str) -> String {
    let mut lines =
        vec![format!("Title:\t{}", f.title), format!("Author:\t{}", f.author), "Description:\t".to_string()];
    lines.extend(wrap(&f.description, 80));
    lines.push(String::new());
    lines.push(format!("Image:\t{}", f.image(platform).unwrap_or_default()));
    lines.push(format!("Process:\t{}", f.fprocess));
    lines.push(format!("Repo URL:\t{}", f.repo_url));
    let mut section = |title: &str, map: &Option<BTreeMap<String, String>>, always: bool| match map {
        Some(m) if always || !m.is_empty() => {
            lines.push(format!("{title}:"));
            lines.extend(m.iter().map(|(k, v)| format!("- \t{k}:\t{v}")));
            lines.push(String::new());
        }
        _ => {}
    };
    section("Environment", &f.environment, false);
    // faas-cli prints Labels whenever the store has the key, even empty.
    section("Labels", &f.labels, true);
    section("Annotations", &f.annotations, false);
    tabwrite(&lines)
}

/// Greedy word wrap at `width` columns; a word longer than that gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Vec<StoreFunction> {
        let text = r#"{"version":"0.2.1","functions":[
            {"title":"NodeInfo","name":"nodeinfo","author":"openfaas","description":"Get info","images":{"x86_64":"ghcr.io/openfaas/nodeinfo:latest","arm64":"a"}},
            {"title":"A very long title that goes on and on and on","name":"long","images":{"X86_64":"img"},"environment":{"b":"2","a":"1"},"labels":{}},
            {"title":"armonly","name":"arm","images":{"armhf":"x"}}]}"#;
        serde_json::from_str::<Store>(text).unwrap().functions
    }

    #[test]
    fn list_is_laid_out_as_faas_cli_tabwriter_does() {
        let fs = for_platform(&store(), "x86_64");
        assert_eq!(fs.len(), 2, "the platform match ignores case");
        assert_eq!(
            render_list(&fs, true),
            "\nFUNCTION AUTHOR   DESCRIPTION\nnodeinfo openfaas NodeInfo\nlong     unknown  A very long title that goes on and on and on\n\n"
        );
        assert!(render_list(&fs, false).contains("long     unknown  A very long title that goes on and on...\n"));
    }

    #[test]
    fn describe_sorts_maps_and_wraps_the_description() {
        let f = find(&store(), "long", "x86_64").unwrap();
        let text = render_item(&f, "x86_64");
        assert!(text.starts_with("Title:       A very long"), "{text}");
        assert!(text.contains("Description: \n\n\nImage:    img\nProcess:  \nRepo URL: \n"), "{text}");
        assert!(text.contains("Environment:\n-  a: 1\n-  b: 2\n\nLabels:\n\n"), "{text}");
        assert_eq!(wrap(&"word ".repeat(30), 80).len(), 2);
        assert!(matches!(find(&store(), "arm", "x86_64"), Err(StoreError::NotFound { .. })));
        assert_eq!(find(&store(), "NodeInfo", "x86_64").unwrap().name, "nodeinfo", "by title too");
        assert_eq!(platforms(&store()), ["arm64", "x86_64", "X86_64", "armhf"]);
    }
}
