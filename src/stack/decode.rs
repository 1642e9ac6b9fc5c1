//! Turns a positioned YAML tree into a [`StackFile`], collecting every problem with its position.
//!
//! Decoding does not stop at the first problem: all errors are reported together, so a user fixes
//! a stack file in one pass. Unknown keys are warnings with a did-you-mean suggestion (faas-cli
//! silently ignores them); keys starting with `x-` are extension fields used for YAML anchors and
//! are never warned about.

use std::collections::BTreeMap;

use super::rules::{did_you_mean, dns_label_problem, dns_subdomain_problem, is_quantity};
use super::schema::{Configuration, Function, Provider, Resources, StackFile, TemplateSource, keys};
use super::yaml_tree::{Mark, Node, Value};

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the stack file, at a line and column.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub mark: Mark,
    pub message: String,
}

/// Decodes `root` (None for an empty file) and returns the stack with all diagnostics found.
pub fn decode(root: Option<&Node>) -> (StackFile, Vec<Diagnostic>) {
    let mut d = Decoder::default();
    let stack = d.stack(root);
    (stack, d.diagnostics)
}

#[derive(Default)]
struct Decoder {
    diagnostics: Vec<Diagnostic>,
}

impl Decoder {
    fn error(&mut self, mark: Mark, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic { severity: Severity::Error, mark, message: message.into() });
    }

    fn warn(&mut self, mark: Mark, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic { severity: Severity::Warning, mark, message: message.into() });
    }

    fn wrong_type(&mut self, node: &Node, path: &str, want: &str) {
        let found = node.kind_name();
        self.error(node.mark, format!("`{path}` must be {want}, but it is {found}"));
    }

    /// The entries of a mapping node, warning about keys not in `known`. Null counts as empty.
    fn entries<'n>(&mut self, node: &'n Node, path: &str, known: &[&str]) -> Vec<(&'n str, &'n Node)> {
        let Value::Mapping(pairs) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, path, "a mapping");
            }
            return Vec::new();
        };
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let Some(key) = k.as_scalar().map(|s| s.text.as_str()) else {
                self.error(k.mark, format!("keys under `{path}` must be plain words"));
                continue;
            };
            if !known.is_empty() && !known.contains(&key) {
                if !key.starts_with("x-") {
                    let hint = match did_you_mean(key, known) {
                        Some(s) => format!(" (did you mean \"{s}\"?)"),
                        None => format!(" (known keys: {})", known.join(", ")),
                    };
                    let location =
                        if path.is_empty() { "at the top level".to_string() } else { format!("in `{path}`") };
                    self.warn(k.mark, format!("unknown key \"{key}\" {location} is ignored{hint}"));
                }
                continue;
            }
            out.push((key, v));
        }
        out
    }

    fn string(&mut self, node: &Node, path: &str) -> String {
        match node.as_scalar() {
            Some(s) if s.is_null() => String::new(),
            Some(s) => s.text.clone(),
            None => {
                self.wrong_type(node, path, "a string");
                String::new()
            }
        }
    }

    fn opt_string(&mut self, node: &Node, path: &str) -> Option<String> {
        if node.is_null() { None } else { Some(self.string(node, path)) }
    }

    fn bool(&mut self, node: &Node, path: &str) -> bool {
        match node.as_scalar().map(|s| s.text.as_str()) {
            Some("true" | "True" | "TRUE") => true,
            Some("false" | "False" | "FALSE" | "" | "~" | "null") => false,
            Some(other) => {
                self.error(node.mark, format!("`{path}` must be true or false, but it is \"{other}\""));
                false
            }
            None => {
                self.wrong_type(node, path, "true or false");
                false
            }
        }
    }

    fn list(&mut self, node: &Node, path: &str) -> Vec<String> {
        match &node.value {
            Value::Sequence(items) => {
                items.iter().enumerate().map(|(i, item)| self.string(item, &format!("{path}[{i}]"))).collect()
            }
            _ if node.is_null() => Vec::new(),
            _ => {
                self.wrong_type(node, path, "a list of strings");
                Vec::new()
            }
        }
    }

    fn map(&mut self, node: &Node, path: &str) -> BTreeMap<String, String> {
        let entries = self.entries(node, path, &[]);
        entries.into_iter().map(|(k, v)| (k.to_string(), self.string(v, &format!("{path}.{k}")))).collect()
    }

    fn stack(&mut self, root: Option<&Node>) -> StackFile {
        let mut stack = StackFile::default();
        let Some(root) = root else {
            self.error(Mark { line: 1, col: 1 }, provider_message(""));
            return stack;
        };
        if !matches!(root.value, Value::Mapping(_)) {
            self.wrong_type(root, "(document)", "a mapping");
            return stack;
        }
        let mut saw_provider = false;
        for (key, node) in self.entries(root, "", keys::ROOT) {
            match key {
                "version" => stack.version = self.version(node),
                "provider" => {
                    saw_provider = true;
                    stack.provider = self.provider(node);
                }
                "functions" => stack.functions = self.functions(node),
                _ => stack.configuration = self.configuration(node),
            }
        }
        if !saw_provider {
            self.error(root.mark, provider_message(""));
        }
        stack
    }

    fn version(&mut self, node: &Node) -> Option<String> {
        let version = self.string(node, "version");
        if version != "1.0" {
            self.error(node.mark, format!("[1.0] are the only valid versions for the stack file - found: {version}"));
        }
        Some(version)
    }

    fn provider(&mut self, node: &Node) -> Provider {
        let mut provider = Provider::default();
        for (key, v) in self.entries(node, "provider", keys::PROVIDER) {
            match key {
                "name" => provider.name = self.string(v, "provider.name"),
                _ => provider.gateway = self.opt_string(v, "provider.gateway").filter(|g| !g.is_empty()),
            }
        }
        if provider.name != "openfaas" {
            let mark = node.get("name").map_or(node.mark, |n| n.mark);
            self.error(mark, provider_message(&provider.name));
        }
        provider
    }

    fn configuration(&mut self, node: &Node) -> Configuration {
        let mut config = Configuration::default();
        for (key, v) in self.entries(node, "configuration", keys::CONFIGURATION) {
            match key {
                "templates" => config.templates = self.templates(v),
                _ => config.copy = self.list(v, "configuration.copy"),
            }
        }
        config
    }

    fn templates(&mut self, node: &Node) -> Vec<TemplateSource> {
        let Value::Sequence(items) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, "configuration.templates", "a list of {name, source} entries");
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("configuration.templates[{i}]");
            let mut t = TemplateSource::default();
            for (key, v) in self.entries(item, &path, keys::TEMPLATE) {
                match key {
                    "name" => t.name = self.string(v, &format!("{path}.name")),
                    _ => t.source = self.opt_string(v, &format!("{path}.source")).filter(|s| !s.is_empty()),
                }
            }
            if t.name.is_empty() {
                self.error(item.mark, format!("`{path}.name` is required"));
            }
            out.push(t);
        }
        out
    }

    fn functions(&mut self, node: &Node) -> BTreeMap<String, Function> {
        let Value::Mapping(pairs) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, "functions", "a mapping of function names to functions");
            }
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (k, v) in pairs {
            let name = k.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
            if let Some(problem) = dns_label_problem(&name) {
                self.error(k.mark, format!("function name \"{name}\" {problem}"));
            }
            let f = self.function(&name, k.mark, v);
            out.insert(name, f);
        }
        out
    }

    fn function(&mut self, name: &str, mark: Mark, node: &Node) -> Function {
        let mut f = Function { name: name.to_string(), mark, ..Function::default() };
        let base = format!("functions.{name}");
        for (key, v) in self.entries(node, &base, keys::FUNCTION) {
            let path = format!("{base}.{key}");
            match key {
                "lang" => f.lang = self.opt_string(v, &path).filter(|s| !s.is_empty()),
                "handler" => f.handler = self.opt_string(v, &path).filter(|s| !s.is_empty()),
                "image" => f.image = self.string(v, &path),
                "fprocess" => f.fprocess = self.opt_string(v, &path).filter(|s| !s.is_empty()),
                "environment" => f.environment = self.map(v, &path),
                "secrets" => f.secrets = self.secrets(v, &path),
                "skip_build" => f.skip_build = self.bool(v, &path),
                "constraints" => f.constraints = (!v.is_null()).then(|| self.list(v, &path)),
                "environment_file" => f.environment_file = self.list(v, &path),
                "labels" => f.labels = (!v.is_null()).then(|| self.map(v, &path)),
                "annotations" => f.annotations = (!v.is_null()).then(|| self.map(v, &path)),
                "limits" => f.limits = self.resources(v, &path),
                "requests" => f.requests = self.resources(v, &path),
                "readonly_root_filesystem" => f.readonly_root_filesystem = self.bool(v, &path),
                "build_options" => f.build_options = self.list(v, &path),
                "namespace" => f.namespace = self.namespace(v, &path),
                "build_args" => f.build_args = self.map(v, &path),
                "platforms" => f.platforms = self.opt_string(v, &path),
                _ => f.build_secrets = self.map(v, &path),
            }
        }
        f
    }

    fn secrets(&mut self, node: &Node, path: &str) -> Vec<String> {
        let secrets = self.list(node, path);
        if let Value::Sequence(items) = &node.value {
            for (secret, item) in secrets.iter().zip(items) {
                if let Some(problem) = dns_subdomain_problem(secret) {
                    self.error(item.mark, format!("secret name \"{secret}\" {problem}"));
                }
            }
        }
        secrets
    }

    fn namespace(&mut self, node: &Node, path: &str) -> Option<String> {
        let ns = self.opt_string(node, path).filter(|s| !s.is_empty())?;
        if let Some(problem) = dns_label_problem(&ns) {
            self.error(node.mark, format!("namespace \"{ns}\" {problem}"));
        }
        Some(ns)
    }

    fn resources(&mut self, node: &Node, path: &str) -> Option<Resources> {
        if node.is_null() {
            return None;
        }
        let mut r = Resources::default();
        for (key, v) in self.entries(node, path, keys::RESOURCES) {
            let value = self.string(v, &format!("{path}.{key}"));
            if !value.is_empty() && !is_quantity(&value) {
                self.error(
                    v.mark,
                    format!(
                        "`{path}.{key}` is \"{value}\", which is not a Kubernetes quantity (examples: 128Mi, 1Gi, 500m, 0.5)"
                    ),
                );
            }
            match key {
                "memory" => r.memory = Some(value),
                _ => r.cpu = Some(value),
            }
        }
        Some(r)
    }
}

fn provider_message(given: &str) -> String {
    format!("['openfaas'] is the only valid \"provider.name\" for the OpenFaaS CLI, but you gave: {given}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::yaml_tree::parse;

    fn decode_text(text: &str) -> (StackFile, Vec<Diagnostic>) {
        let root = parse(text).expect("yaml parses");
        decode(root.as_ref())
    }

    fn errors(text: &str) -> Vec<(usize, usize, String)> {
        decode_text(text)
            .1
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.mark.line, d.mark.col, d.message))
            .collect()
    }

    const HEAD: &str = "provider:\n  name: openfaas\nfunctions:\n";

    #[test]
    fn full_function_decodes_every_key() {
        let text = format!(
            "{HEAD}  fn1:\n    lang: python3-http\n    handler: ./fn1\n    image: reg/fn1:0.1\n    fprocess: python index.py\n    environment:\n      A: 1\n      B: true\n      C: 1.50\n      D:\n    secrets: [api-key]\n    skip_build: true\n    constraints: []\n    environment_file: [env.yml]\n    labels: {{com.openfaas.scale.min: 2}}\n    annotations:\n      topic: cron-function\n    limits: {{memory: 128Mi, cpu: 200m}}\n    requests: {{memory: 64Mi}}\n    readonly_root_filesystem: true\n    build_options: [dev]\n    namespace: dev\n    build_args: {{ADDITIONAL_PACKAGE: git}}\n    platforms: linux/amd64\n    build_secrets: {{token: ./token.txt}}\n"
        );
        let (stack, diags) = decode_text(&text);
        assert!(diags.is_empty(), "{diags:?}");
        let f = &stack.functions["fn1"];
        assert_eq!(f.lang.as_deref(), Some("python3-http"));
        assert_eq!(f.environment["A"], "1");
        assert_eq!(f.environment["B"], "true");
        assert_eq!(f.environment["C"], "1.50");
        assert_eq!(f.environment["D"], "");
        assert_eq!(f.secrets, vec!["api-key"]);
        assert!(f.skip_build && f.readonly_root_filesystem);
        assert_eq!(f.constraints, Some(vec![]));
        assert_eq!(f.labels.as_ref().unwrap()["com.openfaas.scale.min"], "2");
        assert_eq!(f.limits.as_ref().unwrap().memory.as_deref(), Some("128Mi"));
        assert_eq!(f.requests.as_ref().unwrap().cpu, None);
        assert_eq!(f.namespace.as_deref(), Some("dev"));
        assert_eq!(f.build_secrets["token"], "./token.txt");
        assert_eq!(f.mark.line, 4);
    }

    #[test]
    fn provider_rules() {
        for bad in ["provider:\n  name: faas\n", "provider:\n  name: OpenFaaS\n", "functions: {}\n"] {
            let errs = errors(bad);
            assert_eq!(errs.len(), 1, "{bad}: {errs:?}");
            assert!(errs[0].2.contains("is the only valid \"provider.name\""));
        }
        assert_eq!(errors("provider:\n  name: faas\n")[0].0, 2);
        assert!(errors("").len() == 1);
    }

    #[test]
    fn version_rules() {
        assert!(errors("version: 1.0\nprovider: {name: openfaas}\n").is_empty());
        let errs = errors("version: 1\nprovider: {name: openfaas}\n");
        assert_eq!(errs, vec![(1, 10, "[1.0] are the only valid versions for the stack file - found: 1".into())]);
        assert_eq!(errors("version: 2.0\nprovider: {name: openfaas}\n").len(), 1);
    }

    #[test]
    fn unknown_keys_warn_with_position_and_suggestion() {
        let (_, diags) = decode_text(&format!("{HEAD}  fn1:\n    image: x\n    enviroment:\n      A: b\n"));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, Severity::Warning);
        assert_eq!((diags[0].mark.line, diags[0].mark.col), (6, 5));
        assert!(diags[0].message.contains("did you mean \"environment\""), "{}", diags[0].message);
        let (_, diags) = decode_text("x-common: &c {a: b}\nprovider: {name: openfaas}\n");
        assert!(diags.is_empty());
    }

    #[test]
    fn type_errors_name_the_field_and_position() {
        let errs = errors(&format!("{HEAD}  fn1:\n    secrets: notalist\n"));
        assert_eq!(errs, vec![(5, 14, "`functions.fn1.secrets` must be a list of strings, but it is a scalar".into())]);
        let errs = errors(&format!("{HEAD}  fn1:\n    environment: [a]\n"));
        assert!(errs[0].2.contains("`functions.fn1.environment` must be a mapping"));
        let errs = errors(&format!("{HEAD}  fn1:\n    skip_build: yes please\n"));
        assert!(errs[0].2.contains("must be true or false"));
    }

    #[test]
    fn all_errors_are_reported_together() {
        let errs = errors(&format!(
            "{HEAD}  Bad_Name:\n    image: x\n  ok:\n    limits: {{memory: 128MB}}\n    secrets: [\"../etc\"]\n"
        ));
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].2.starts_with("function name \"Bad_Name\""));
        assert!(errs[1].2.contains("128MB"));
        assert!(errs[2].2.contains("secret name \"../etc\""));
    }

    #[test]
    fn empty_function_body_is_an_empty_function() {
        let (stack, diags) = decode_text(&format!("{HEAD}  a:\n"));
        assert!(diags.is_empty());
        assert_eq!(stack.functions["a"].image, "");
    }

    #[test]
    fn absent_and_empty_maps_differ() {
        let (stack, _) = decode_text(&format!("{HEAD}  a:\n    labels: {{}}\n  b:\n    image: x\n"));
        assert_eq!(stack.functions["a"].labels, Some(BTreeMap::new()));
        assert_eq!(stack.functions["b"].labels, None);
    }

    #[test]
    fn configuration_templates_and_copy() {
        let (stack, diags) = decode_text(
            "provider: {name: openfaas}\nconfiguration:\n  templates:\n    - name: golang-middleware\n      source: https://example.invalid/t#1.0\n    - name: node18\n  copy: [common]\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(stack.configuration.templates.len(), 2);
        assert_eq!(stack.configuration.templates[1].source, None);
        assert_eq!(stack.configuration.copy, vec!["common"]);
    }
}
