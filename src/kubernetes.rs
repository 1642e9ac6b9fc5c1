//! Kubernetes manifests from a stack, byte-identical to `faas-cli generate`.
//!
//! `openfaas.com/v1` gives one `Function` custom resource per function (the CRD in
//! `openfaas.com_functions.crd.yaml`); `serving.knative.dev/v1` gives Knative `Service`s. Documents
//! are sorted by function name, each starts with `---`, and `fprocess` is left out, as faas-cli does.

use std::collections::BTreeMap;
use std::path::Path;

use crate::go_yaml::{self, Doc};
use crate::stack::image::{TagFormat, image_name};
use crate::stack::schema::Resources;
use crate::stack::{Function, Stack};

pub const OPENFAAS_API: &str = "openfaas.com/v1";
pub const KNATIVE_API: &str = "serving.knative.dev/v1";

/// What `generate` needs besides the stack.
#[derive(Debug, Clone)]
pub struct GenerateOptions<'a> {
    pub api: &'a str,
    pub namespace: &'a str,
    pub tag: TagFormat,
}

/// Why manifests could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("unsupported --api \"{0}\": use {OPENFAAS_API} or {KNATIVE_API}")]
    Api(String),
    #[error("function {function}: {source}")]
    Tag { function: String, source: crate::stack::image::TagError },
}

/// One function as `generate` writes it, from a stack or from the function store.
#[derive(Debug, Clone, Default)]
pub struct FunctionSpec {
    pub name: String,
    pub image: String,
    pub environment: BTreeMap<String, String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub limits: Option<Resources>,
    pub requests: Option<Resources>,
    pub constraints: Option<Vec<String>>,
    pub secrets: Vec<String>,
    pub readonly_root_filesystem: bool,
}

impl FunctionSpec {
    /// The spec of a stack function, its image tagged by `opts.tag`.
    pub fn from_stack(stack: &Stack, f: &Function, opts: &GenerateOptions, cwd: &Path) -> Result<Self, GenerateError> {
        let image = image_name(opts.tag, &f.image, f.handler.as_deref(), cwd)
            .map_err(|source| GenerateError::Tag { function: f.name.clone(), source })?;
        Ok(FunctionSpec {
            name: f.name.clone(),
            image,
            environment: stack.environment(f),
            labels: f.labels.clone(),
            annotations: f.annotations.clone(),
            limits: f.limits.clone(),
            requests: f.requests.clone(),
            constraints: f.constraints.clone(),
            secrets: f.secrets.clone(),
            readonly_root_filesystem: f.readonly_root_filesystem,
        })
    }
}

/// All documents for the stack's functions, concatenated.
pub fn generate(stack: &Stack, opts: &GenerateOptions, cwd: &Path) -> Result<String, GenerateError> {
    validate(opts)?;
    let specs =
        stack.functions().map(|f| FunctionSpec::from_stack(stack, f, opts, cwd)).collect::<Result<Vec<_>, _>>()?;
    Ok(render(&specs, opts))
}

/// Checks `--api`.
pub fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    if opts.api != OPENFAAS_API && opts.api != KNATIVE_API {
        return Err(GenerateError::Api(opts.api.to_string()));
    }
    Ok(())
}

/// The documents for `specs`, in the order given (the stack's is sorted by name).
pub fn render(specs: &[FunctionSpec], opts: &GenerateOptions) -> String {
    let mut out = String::new();
    for f in specs {
        let doc = if opts.api == KNATIVE_API { knative_service(f, opts) } else { function_resource(f, opts) };
        out.push_str("---\n");
        out.push_str(&go_yaml::to_string(&doc));
    }
    out
}

fn metadata(name: &str, namespace: &str, annotations: Option<Doc>) -> Doc {
    let mut fields = vec![("name".to_string(), Doc::str(name))];
    if !namespace.is_empty() {
        fields.push(("namespace".into(), Doc::str(namespace)));
    }
    if let Some(a) = annotations {
        fields.push(("annotations".into(), a));
    }
    Doc::Map(fields)
}

fn resources(r: &Resources) -> Doc {
    Doc::Map(vec![
        ("memory".into(), Doc::str(r.memory.clone().unwrap_or_default())),
        ("cpu".into(), Doc::str(r.cpu.clone().unwrap_or_default())),
    ])
}

fn function_resource(f: &FunctionSpec, opts: &GenerateOptions) -> Doc {
    let mut spec = vec![("name".to_string(), Doc::str(&f.name)), ("image".into(), Doc::str(&f.image))];
    let env = &f.environment;
    if !env.is_empty() {
        spec.push(("environment".into(), Doc::string_map(env)));
    }
    if let Some(labels) = &f.labels {
        spec.push(("labels".into(), Doc::string_map(labels)));
    }
    if let Some(annotations) = &f.annotations {
        spec.push(("annotations".into(), Doc::string_map(annotations)));
    }
    if let Some(limits) = &f.limits {
        spec.push(("limits".into(), resources(limits)));
    }
    if let Some(requests) = &f.requests {
        spec.push(("requests".into(), resources(requests)));
    }
    if let Some(constraints) = &f.constraints {
        spec.push(("constraints".into(), Doc::string_seq(constraints)));
    }
    if !f.secrets.is_empty() {
        spec.push(("secrets".into(), Doc::string_seq(&f.secrets)));
    }
    if f.readonly_root_filesystem {
        spec.push(("readOnlyRootFilesystem".into(), Doc::Bool(true)));
    }
    Doc::Map(vec![
        ("apiVersion".into(), Doc::str(opts.api)),
        ("kind".into(), Doc::str("Function")),
        ("metadata".into(), metadata(&f.name, opts.namespace, None)),
        ("spec".into(), Doc::Map(spec)),
    ])
}

fn knative_service(f: &FunctionSpec, opts: &GenerateOptions) -> Doc {
    let annotations = f.annotations.as_ref().filter(|a| !a.is_empty()).map(Doc::string_map);
    let mut container = vec![("image".to_string(), Doc::str(&f.image))];
    let env: Vec<Doc> = f
        .environment
        .iter()
        .map(|(k, v)| Doc::Map(vec![("name".into(), Doc::str(k)), ("value".into(), Doc::str(v))]))
        .collect();
    if !env.is_empty() {
        container.push(("env".into(), Doc::Seq(env)));
    }
    let mounts: Vec<Doc> = f
        .secrets
        .iter()
        .map(|s| {
            Doc::Map(vec![
                ("name".into(), Doc::str(s)),
                ("mountPath".into(), Doc::str(format!("/var/openfaas/secrets/{s}"))),
                ("readOnly".into(), Doc::Bool(true)),
            ])
        })
        .collect();
    if !mounts.is_empty() {
        container.push(("volumeMounts".into(), Doc::Seq(mounts)));
    }
    let mut template_spec = vec![("containers".to_string(), Doc::Seq(vec![Doc::Map(container)]))];
    let volumes: Vec<Doc> = f
        .secrets
        .iter()
        .map(|s| {
            Doc::Map(vec![
                ("name".into(), Doc::str(s)),
                ("secret".into(), Doc::Map(vec![("secretName".into(), Doc::str(s))])),
            ])
        })
        .collect();
    if !volumes.is_empty() {
        template_spec.push(("volumes".into(), Doc::Seq(volumes)));
    }
    Doc::Map(vec![
        ("apiVersion".into(), Doc::str(opts.api)),
        ("kind".into(), Doc::str("Service")),
        ("metadata".into(), metadata(&f.name, opts.namespace, annotations)),
        ("spec".into(), Doc::Map(vec![("template".into(), Doc::Map(vec![("spec".into(), Doc::Map(template_spec))]))])),
    ])
}
