//! What `deploy` would change: each stack function, as `deploy` would send it, against the
//! function deployed on the gateway, attribute by attribute (faas-cli 0.18's `diff`).
//!
//! Attributes are flattened to `field → value`: `image`, `fprocess`,
//! `readonly_root_filesystem`, `env.K`, `secret.S`, `constraint.C`, `label.K`, `annotation.K`,
//! `limits.cpu|memory`, `requests.cpu|memory`. A field only the gateway has is ignored for
//! `fprocess` (the template's default) and, in `local` mode, for `env.*` (the default mode);
//! `remote` mode ignores `env.*` only the stack has. Functions deployed but absent from the stack
//! are not reported.

use std::collections::{BTreeMap, BTreeSet};

use crate::openfaas::types::{FunctionDeployment, FunctionResources, FunctionStatus};

/// How environment variables present on one side only are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EnvMode {
    /// Ignore variables only the deployed function has.
    #[default]
    Local,
    /// Ignore variables only the stack has.
    Remote,
    /// Report every difference.
    All,
}

/// One differing attribute: the stack's value and the deployed value (`None` where absent).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub field: String,
    pub stack: Option<String>,
    pub deployed: Option<String>,
}

/// The differences of one function, keyed `name` or `name.namespace`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FunctionDiff {
    pub function: String,
    pub changes: Vec<Change>,
}

/// `name.namespace`, or `name` without a namespace.
pub fn key(name: &str, namespace: &str) -> String {
    if namespace.is_empty() || name.contains('.') { name.to_string() } else { format!("{name}.{namespace}") }
}

/// Compares every wanted deployment with the deployed functions; only functions with changes
/// are returned, sorted by key.
pub fn diff(wanted: &[FunctionDeployment], deployed: &[FunctionStatus], mode: EnvMode) -> Vec<FunctionDiff> {
    let mut by_key: BTreeMap<String, &FunctionStatus> = BTreeMap::new();
    for f in deployed {
        by_key.entry(f.name.clone()).or_insert(f);
        if !f.namespace.is_empty() {
            by_key.insert(key(&f.name, &f.namespace), f);
        }
    }
    let mut out: Vec<FunctionDiff> = wanted
        .iter()
        .filter_map(|w| {
            let k = key(&w.service, &w.namespace);
            let changes = match by_key.get(&k) {
                None => vec![Change {
                    field: "function".into(),
                    stack: Some("defined in stack.yaml".into()),
                    deployed: Some("not deployed".into()),
                }],
                Some(d) => compare(&from_deployment(w), &from_status(d), mode),
            };
            (!changes.is_empty()).then_some(FunctionDiff { function: k, changes })
        })
        .collect();
    out.sort_by(|a, b| a.function.cmp(&b.function));
    out
}

fn compare(stack: &BTreeMap<String, String>, deployed: &BTreeMap<String, String>, mode: EnvMode) -> Vec<Change> {
    let fields: BTreeSet<&String> = stack.keys().chain(deployed.keys()).collect();
    fields
        .into_iter()
        .filter_map(|field| {
            let (s, d) = (stack.get(field), deployed.get(field));
            if s == d || ignored(field, s.is_some(), d.is_some(), mode) {
                return None;
            }
            Some(Change { field: field.clone(), stack: s.cloned(), deployed: d.cloned() })
        })
        .collect()
}

fn ignored(field: &str, in_stack: bool, deployed: bool, mode: EnvMode) -> bool {
    if field == "fprocess" {
        return !in_stack && deployed;
    }
    if !field.starts_with("env.") {
        return false;
    }
    match mode {
        EnvMode::Local => !in_stack && deployed,
        EnvMode::Remote => in_stack && !deployed,
        EnvMode::All => false,
    }
}

/// The attributes of one side, flattened.
struct Attributes<'a> {
    image: &'a str,
    fprocess: &'a str,
    readonly: bool,
    env: &'a BTreeMap<String, String>,
    secrets: &'a [String],
    constraints: &'a [String],
    labels: Option<&'a BTreeMap<String, String>>,
    annotations: Option<&'a BTreeMap<String, String>>,
    limits: Option<&'a FunctionResources>,
    requests: Option<&'a FunctionResources>,
}

fn from_deployment(d: &FunctionDeployment) -> BTreeMap<String, String> {
    flatten(Attributes {
        image: &d.image,
        fprocess: &d.env_process,
        readonly: d.read_only_root_filesystem,
        env: &d.env_vars,
        secrets: &d.secrets,
        constraints: &d.constraints,
        labels: d.labels.as_ref(),
        annotations: d.annotations.as_ref(),
        limits: d.limits.as_ref(),
        requests: d.requests.as_ref(),
    })
}

fn from_status(s: &FunctionStatus) -> BTreeMap<String, String> {
    flatten(Attributes {
        image: &s.image,
        fprocess: &s.env_process,
        readonly: s.read_only_root_filesystem,
        env: &s.env_vars,
        secrets: &s.secrets,
        constraints: &s.constraints,
        labels: s.labels.as_ref(),
        annotations: s.annotations.as_ref(),
        limits: s.limits.as_ref(),
        requests: s.requests.as_ref(),
    })
}

fn flatten(a: Attributes) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if !a.image.is_empty() {
        m.insert("image".to_string(), a.image.to_string());
    }
    if !a.fprocess.is_empty() {
        m.insert("fprocess".to_string(), a.fprocess.to_string());
    }
    m.insert("readonly_root_filesystem".to_string(), a.readonly.to_string());
    let present = || "present".to_string();
    m.extend(a.env.iter().map(|(k, v)| (format!("env.{k}"), v.clone())));
    m.extend(a.secrets.iter().map(|s| (format!("secret.{s}"), present())));
    m.extend(a.constraints.iter().map(|c| (format!("constraint.{c}"), present())));
    m.extend(a.labels.into_iter().flatten().map(|(k, v)| (format!("label.{k}"), v.clone())));
    m.extend(a.annotations.into_iter().flatten().map(|(k, v)| (format!("annotation.{k}"), v.clone())));
    for (prefix, r) in [("limits", a.limits), ("requests", a.requests)] {
        let Some(r) = r else { continue };
        if !r.cpu.is_empty() {
            m.insert(format!("{prefix}.cpu"), r.cpu.clone());
        }
        if !r.memory.is_empty() {
            m.insert(format!("{prefix}.memory"), r.memory.clone());
        }
    }
    m
}

/// One function's differences side by side, as faas-cli lays them out: a `stack.yaml | deployed`
/// header, `- field: value` on the left and `+ field: value` on the right, columns at least 40
/// wide, then a blank line.
pub fn render(d: &FunctionDiff) -> String {
    let field_width =
        d.changes.iter().map(|c| c.field.len() + 1).chain(std::iter::once("image:".len())).max().unwrap_or(6);
    let cell = |marker: &str, field: &str, value: &Option<String>| match value {
        Some(v) => format!("{marker} {:<field_width$} {v}", format!("{field}:")),
        None => String::new(),
    };
    let rows: Vec<(String, String)> =
        d.changes.iter().map(|c| (cell("-", &c.field, &c.stack), cell("+", &c.field, &c.deployed))).collect();
    let left = rows.iter().map(|(l, _)| l.len()).chain([40, "stack.yaml".len()]).max().unwrap_or(40);
    let right = rows.iter().map(|(_, r)| r.len()).chain([40, "deployed".len()]).max().unwrap_or(40);
    let mut out = format!("{}\n", d.function);
    out.push_str(&format!("  {:<left$} | {:<right$}\n", "stack.yaml", "deployed"));
    out.push_str(&format!("  {}-+-{}\n", "-".repeat(left), "-".repeat(right)));
    for (l, r) in rows {
        out.push_str(&format!("  {l:<left$} | {r:<right$}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> FunctionDeployment {
        FunctionDeployment {
            service: "fn1".into(),
            image: "reg/fn1:0.2".into(),
            env_vars: BTreeMap::from([("A".into(), "1".into()), ("LOCAL".into(), "x".into())]),
            secrets: vec!["api-key".into()],
            labels: Some(BTreeMap::from([("team".into(), "a".into())])),
            limits: Some(FunctionResources { memory: "128Mi".into(), cpu: String::new() }),
            ..Default::default()
        }
    }

    fn deployed() -> FunctionStatus {
        let mut s: FunctionStatus =
            serde_json::from_value(serde_json::json!({"name": "fn1", "image": "reg/fn1:0.1"})).unwrap();
        s.namespace = "openfaas-fn".into();
        s.env_process = "python index.py".into();
        s.env_vars = BTreeMap::from([("A".into(), "2".into()), ("REMOTE".into(), "y".into())]);
        s.labels = Some(BTreeMap::from([("team".into(), "a".into())]));
        s.limits = Some(FunctionResources { memory: "128Mi".into(), cpu: String::new() });
        s
    }

    fn fields(d: &[FunctionDiff]) -> Vec<&str> {
        d[0].changes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn env_modes_choose_which_one_sided_variables_count() {
        let (w, d) = (vec![wanted()], vec![deployed()]);
        assert_eq!(fields(&diff(&w, &d, EnvMode::Local)), ["env.A", "env.LOCAL", "image", "secret.api-key"]);
        assert_eq!(fields(&diff(&w, &d, EnvMode::Remote)), ["env.A", "env.REMOTE", "image", "secret.api-key"]);
        assert_eq!(
            fields(&diff(&w, &d, EnvMode::All)),
            ["env.A", "env.LOCAL", "env.REMOTE", "image", "secret.api-key"]
        );
    }

    #[test]
    fn the_same_function_has_no_diff_and_a_missing_one_says_so() {
        let mut same = deployed();
        same.image = "reg/fn1:0.2".into();
        same.env_vars = wanted().env_vars;
        same.secrets = vec!["api-key".into()];
        assert!(diff(&[wanted()], &[same], EnvMode::All).is_empty());
        let mut other = wanted();
        other.service = "other".into();
        let d = diff(&[other], &[deployed()], EnvMode::Local);
        assert_eq!(d[0].changes[0].deployed.as_deref(), Some("not deployed"));
    }

    #[test]
    fn a_namespaced_function_is_matched_by_name_and_namespace() {
        let mut w = wanted();
        w.namespace = "openfaas-fn".into();
        let d = diff(&[w], &[deployed()], EnvMode::Local);
        assert_eq!(d[0].function, "fn1.openfaas-fn");
        assert_ne!(d[0].changes[0].field, "function");
    }

    #[test]
    fn rendering_lays_out_two_columns() {
        let d = FunctionDiff {
            function: "fn1".into(),
            changes: vec![Change { field: "image".into(), stack: Some("a:1".into()), deployed: Some("a:2".into()) }],
        };
        let text = render(&d);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "fn1");
        assert_eq!(lines[1], format!("  {:<40} | {:<40}", "stack.yaml", "deployed"));
        assert_eq!(lines[2], format!("  {}-+-{}", "-".repeat(40), "-".repeat(40)));
        assert_eq!(lines[3], format!("  {:<40} | {:<40}", "- image: a:1", "+ image: a:2"));
    }
}
