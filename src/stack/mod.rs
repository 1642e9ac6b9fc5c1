//! stack.yml: finding it, substituting `${VAR}`, decoding, validating and selecting functions.
//!
//! [`load`] is the one entry point every command uses. It reads the whole file (or URL), checks all
//! of it, and only returns a [`Stack`] when nothing is wrong, so no command starts work on a stack
//! that would fail half-way.

pub mod decode;
pub mod envsubst;
pub mod filter;
pub mod image;
pub mod limits;
pub mod rules;
pub mod schema;
pub mod yaml_tree;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use decode::{Diagnostic, Severity};
pub use filter::Selector;
pub use schema::{Function, StackFile};
use yaml_tree::{Mark, Node, Value};

/// How a command asked for its stack file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f/--yaml`: a path or an http(s) URL. `None` discovers `stack.yaml`, then `stack.yml`.
    pub file: Option<String>,
    /// `--envsubst` (default true).
    pub envsubst: bool,
    pub filter: Option<String>,
    pub regex: Option<String>,
}

/// A loaded, validated stack with only the selected functions.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The path or URL as the user gave it, for messages.
    pub source: String,
    pub file: StackFile,
    /// Environment from `environment_file` entries, merged in order, per function.
    pub file_environment: BTreeMap<String, BTreeMap<String, String>>,
    /// Warnings to show the user (unknown keys, unset variables), already formatted.
    pub warnings: Vec<String>,
}

impl Stack {
    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.file.functions.values()
    }

    /// `environment` < each `environment_file` in order, as faas-cli merges them.
    pub fn environment(&self, function: &Function) -> BTreeMap<String, String> {
        let mut env = function.environment.clone();
        if let Some(from_files) = self.file_environment.get(&function.name) {
            env.extend(from_files.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        env
    }
}

/// Why a stack could not be loaded. Every variant names the file or URL.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("no stack file found: neither ./stack.yaml nor ./stack.yml exists in {}", .0.display())]
    NotFound(PathBuf),
    #[error("cannot read stack file {path}: {source}")]
    Read { path: String, source: limits::ReadError },
    #[error("cannot fetch stack file {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("cannot fetch stack file: {0}")]
    Stalled(crate::http_client::Stalled),
    #[error("{file}: {problems}")]
    Invalid { file: String, problems: String },
    #[error(transparent)]
    Selector(#[from] filter::SelectorError),
    #[error("no functions matching {flag} were found in {file}")]
    NoMatch { flag: &'static str, file: String },
}

impl StackError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            StackError::NotFound(_) => Some("use -f/--yaml to name the stack file, or create one with `rfaas new`"),
            StackError::Invalid { .. } => Some("fix the lines above; nothing was built or deployed"),
            StackError::NoMatch { .. } => Some("check the function names in the stack file"),
            StackError::Stalled(stalled) => Some(stalled.hint()),
            _ => None,
        }
    }
}

impl crate::error::Hint for StackError {
    fn hint(&self) -> Option<String> {
        StackError::hint(self).map(str::to_string)
    }
}

/// Where the stack text comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    File(PathBuf),
    Url(String),
}

/// faas-cli's discovery: `-f` wins; otherwise `stack.yaml`, then `stack.yml`, in `cwd`.
pub fn discover(file: Option<&str>, cwd: &Path) -> Option<Source> {
    if let Some(f) = file.filter(|f| !f.is_empty()) {
        return Some(if is_url(f) { Source::Url(f.to_string()) } else { Source::File(cwd.join(f)) });
    }
    ["stack.yaml", "stack.yml"].iter().map(|n| cwd.join(n)).find(|p| p.is_file()).map(Source::File)
}

/// Whether a `-f` value names an http(s) URL rather than a file.
pub fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Finds, reads, substitutes, decodes, validates and filters the stack file.
pub async fn load(opts: &LoadOptions, cwd: &Path) -> Result<Stack, StackError> {
    let source = discover(opts.file.as_deref(), cwd).ok_or_else(|| StackError::NotFound(cwd.to_path_buf()))?;
    let (name, text) = read_source(&source, opts.file.as_deref()).await?;
    let lookup = |k: &str| std::env::var(k).ok();
    parse(&name, &text, opts, cwd, &lookup)
}

async fn read_source(source: &Source, given: Option<&str>) -> Result<(String, String), StackError> {
    match source {
        Source::File(path) => {
            let name = given
                .map(str::to_string)
                .unwrap_or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            // Named on the command line, so `-f <(...)` and `-f /dev/stdin` work; bounded all the same.
            let text = limits::read(path, limits::Accept::Streams)
                .map_err(|source| StackError::Read { path: name.clone(), source })?;
            Ok((name, text))
        }
        Source::Url(url) => Ok((url.clone(), fetch(url).await?)),
    }
}

/// faas-cli's deadline for a remote stack file (its head must come, and its body keep coming,
/// within [`crate::http_client::RESPONSE_TIMEOUT`]).
const REMOTE_STACK_TIMEOUT: Duration = Duration::from_secs(120);

async fn fetch(url: &str) -> Result<String, StackError> {
    use crate::http_client::{FetchError, RESPONSE_TIMEOUT, get_document};
    let fail = |reason: String| StackError::Fetch { url: url.to_string(), reason };
    let idle = Some(RESPONSE_TIMEOUT);
    let body = get_document(url, RESPONSE_TIMEOUT, idle, Some(REMOTE_STACK_TIMEOUT), limits::MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| match e {
            FetchError::Stalled(stalled) => StackError::Stalled(stalled),
            FetchError::TooLarge { size, .. } => fail(limits::too_large(size)),
            other => fail(other.to_string()),
        })?;
    String::from_utf8(body).map_err(|_| fail("the response is not UTF-8 text".to_string()))
}

/// Everything after reading: substitution, YAML, decoding, file checks and selection.
pub fn parse(
    name: &str,
    text: &str,
    opts: &LoadOptions,
    cwd: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Stack, StackError> {
    let mut warnings = Vec::new();
    let text = if opts.envsubst {
        let out =
            envsubst::substitute(text, lookup).map_err(|e| invalid(name, &[error_at(text, e.offset, e.message)]))?;
        for var in dedup(out.unset) {
            warnings.push(format!("{name}: ${{{var}}} is not set; an empty string was used"));
        }
        out.text
    } else {
        text.to_string()
    };
    let root = yaml_tree::parse(&text).map_err(|e| {
        invalid(
            name,
            &[Diagnostic { severity: Severity::Error, mark: e.mark, message: format!("YAML: {}", e.message) }],
        )
    })?;
    let (mut file, mut diagnostics) = decode::decode(root.as_ref());
    let selector = Selector::new(opts.filter.as_deref(), opts.regex.as_deref())?;
    file.functions.retain(|n, _| selector.matches(n));
    let file_environment = read_environment_files(&file, root.as_ref(), cwd, &mut diagnostics);
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Warning) {
        warnings.push(format!("{name}:{}:{}: {}", d.mark.line, d.mark.col, d.message));
    }
    let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(|d| d.severity == Severity::Error).collect();
    if !errors.is_empty() {
        return Err(invalid(name, &errors));
    }
    if let Selector::Matching { flag, .. } = selector
        && file.functions.is_empty()
    {
        return Err(StackError::NoMatch { flag, file: name.to_string() });
    }
    Ok(Stack { source: name.to_string(), file, file_environment, warnings })
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

fn error_at(text: &str, offset: usize, message: String) -> Diagnostic {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Diagnostic { severity: Severity::Error, mark: Mark { line, col }, message }
}

fn invalid(name: &str, errors: &[Diagnostic]) -> StackError {
    let mut problems = String::new();
    let count = errors.len();
    let _ = write!(problems, "{count} problem{} found", if count == 1 { "" } else { "s" });
    for d in errors {
        let _ = write!(problems, "\n  {name}:{}:{}: {}", d.mark.line, d.mark.col, d.message);
    }
    StackError::Invalid { file: name.to_string(), problems }
}

/// Reads each selected function's `environment_file` entries (paths relative to `cwd`, as in
/// faas-cli). A missing or malformed file is an error at the entry that names it.
fn read_environment_files(
    file: &StackFile,
    root: Option<&Node>,
    cwd: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in file.functions.values().filter(|f| !f.environment_file.is_empty()) {
        let marks = entry_marks(root, &f.name);
        let mut merged = BTreeMap::new();
        for (i, path) in f.environment_file.iter().enumerate() {
            let mark = marks.get(i).copied().unwrap_or(f.mark);
            match read_environment_file(&cwd.join(path)) {
                Ok(env) => merged.extend(env),
                Err(message) => diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    mark,
                    message: format!("environment_file \"{path}\": {message}"),
                }),
            }
        }
        out.insert(f.name.clone(), merged);
    }
    out
}

fn entry_marks(root: Option<&Node>, function: &str) -> Vec<Mark> {
    let node =
        root.and_then(|r| r.get("functions")).and_then(|f| f.get(function)).and_then(|f| f.get("environment_file"));
    match node.map(|n| &n.value) {
        Some(Value::Sequence(items)) => items.iter().map(|i| i.mark).collect(),
        _ => Vec::new(),
    }
}

/// One environment file: YAML with a single `environment:` mapping. Only a regular file is read
/// (the stack, maybe a remote one, names it: `/dev/zero` or a FIFO must not be).
pub fn read_environment_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text =
        limits::read(path, limits::Accept::RegularFiles).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let root = yaml_tree::parse(&text)
        .map_err(|e| format!("{}:{}:{}: {}", path.display(), e.mark.line, e.mark.col, e.message))?;
    let Some(env) = root.as_ref().and_then(|r| r.get("environment")) else {
        return Ok(BTreeMap::new());
    };
    let Value::Mapping(pairs) = &env.value else {
        return Err(format!("{}:{}:{}: `environment` must be a mapping", path.display(), env.mark.line, env.mark.col));
    };
    pairs
        .iter()
        .map(|(k, v)| {
            let key = k.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
            match v.as_scalar() {
                Some(s) if s.is_null() => Ok((key, String::new())),
                Some(s) => Ok((key, s.text.clone())),
                None => Err(format!(
                    "{}:{}:{}: `environment.{key}` must be a string",
                    path.display(),
                    v.mark.line,
                    v.mark.col
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
