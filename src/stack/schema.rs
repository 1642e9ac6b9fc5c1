//! The stack file's data model: every key faas-cli's `stack.Services` has, decoded and checked.
//!
//! Maps are `BTreeMap`s so functions, environment variables, labels and annotations always come out
//! in a stable, sorted order. Where faas-cli tells "absent" from "empty" (`labels`, `annotations`,
//! `constraints`, `limits`, `requests` are pointers there), an `Option` keeps the difference.

use std::collections::BTreeMap;

use super::yaml_tree::Mark;

/// The whole stack file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackFile {
    pub version: Option<String>,
    pub provider: Provider,
    pub functions: BTreeMap<String, Function>,
    pub configuration: Configuration,
}

/// `provider:`; `name` must be `openfaas`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provider {
    pub name: String,
    pub gateway: Option<String>,
}

/// `configuration:`: template sources and extra paths copied into every build context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Configuration {
    pub templates: Vec<TemplateSource>,
    pub copy: Vec<String>,
}

/// One `configuration.templates` entry; without `source` it comes from the template store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateSource {
    pub name: String,
    pub source: Option<String>,
}

/// `limits:` / `requests:`, Kubernetes quantities kept as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub memory: Option<String>,
    pub cpu: Option<String>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.memory.as_deref().unwrap_or("").is_empty() && self.cpu.as_deref().unwrap_or("").is_empty()
    }
}

/// One entry under `functions:`; `name` is its key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Function {
    pub name: String,
    pub lang: Option<String>,
    pub handler: Option<String>,
    pub image: String,
    pub fprocess: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    pub skip_build: bool,
    pub constraints: Option<Vec<String>>,
    pub environment_file: Vec<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub limits: Option<Resources>,
    pub requests: Option<Resources>,
    pub readonly_root_filesystem: bool,
    pub build_options: Vec<String>,
    pub namespace: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platforms: Option<String>,
    pub build_secrets: BTreeMap<String, String>,
    /// Where the function's key is written, for later error messages.
    pub mark: Mark,
}

/// The keys faas-cli knows at each level, for unknown-key warnings and suggestions.
pub mod keys {
    pub const ROOT: &[&str] = &["version", "provider", "functions", "configuration"];
    pub const PROVIDER: &[&str] = &["name", "gateway"];
    pub const CONFIGURATION: &[&str] = &["templates", "copy"];
    pub const TEMPLATE: &[&str] = &["name", "source"];
    pub const RESOURCES: &[&str] = &["memory", "cpu"];
    pub const FUNCTION: &[&str] = &[
        "lang",
        "handler",
        "image",
        "fprocess",
        "environment",
        "secrets",
        "skip_build",
        "constraints",
        "environment_file",
        "labels",
        "limits",
        "requests",
        "readonly_root_filesystem",
        "build_options",
        "annotations",
        "namespace",
        "build_args",
        "platforms",
        "build_secrets",
    ];
}
