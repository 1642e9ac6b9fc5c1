//! Turns a stack function plus `deploy` flags into the [`FunctionDeployment`] a gateway receives,
//! merging exactly as faas-cli does:
//!
//! * `envVars`: `environment` < each `environment_file` < `--env`;
//! * `secrets`: `--secret` flags first, then the stack's, duplicates removed;
//! * `labels`/`annotations`: the stack's, overridden by flags, always sent (`{}` when empty);
//! * `constraints`: the stack's when the key is present (even `[]`), else `--constraint`;
//! * `readOnlyRootFilesystem`: the stack's, or forced on by `--readonly`;
//! * namespace: `-n` > the stack's `namespace` > empty (the gateway's default).

use std::collections::BTreeMap;
use std::path::Path;

use super::types::{FunctionDeployment, FunctionResources};
use crate::stack::image::{TagError, TagFormat, image_name};
use crate::stack::schema::Resources;
use crate::stack::{Function, Stack};

/// The flags that change what is deployed.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub constraints: Vec<String>,
    pub readonly: bool,
    pub namespace: Option<String>,
    pub tag: TagFormat,
}

/// Splits `KEY=VALUE` flag values; the error names the flag and the value.
pub fn parse_pairs(flag: &str, values: &[String]) -> Result<Vec<(String, String)>, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => Ok((k.trim().to_string(), val.to_string())),
            _ => Err(format!("{flag} needs KEY=VALUE, but got \"{v}\"")),
        })
        .collect()
}

fn resources(r: &Option<Resources>) -> Option<FunctionResources> {
    let r = r.as_ref()?;
    FunctionResources::given(r.memory.as_deref(), r.cpu.as_deref())
}

fn merged(base: Option<&BTreeMap<String, String>>, flags: &[(String, String)]) -> BTreeMap<String, String> {
    let mut out = base.cloned().unwrap_or_default();
    out.extend(flags.iter().cloned());
    out
}

/// The deployment for `function`; `fprocess` is the template's, used when the stack has none.
pub fn from_stack(
    stack: &Stack,
    function: &Function,
    overrides: &Overrides,
    fprocess: Option<String>,
    cwd: &Path,
) -> Result<FunctionDeployment, TagError> {
    let image = image_name(overrides.tag, &function.image, function.handler.as_deref(), cwd)?;
    let mut env = stack.environment(function);
    env.extend(overrides.env.iter().cloned());
    let mut secrets = overrides.secrets.clone();
    for s in &function.secrets {
        if !secrets.contains(s) {
            secrets.push(s.clone());
        }
    }
    Ok(FunctionDeployment {
        service: function.name.clone(),
        image,
        namespace: overrides.namespace.clone().or_else(|| function.namespace.clone()).unwrap_or_default(),
        env_process: function.fprocess.clone().or(fprocess).unwrap_or_default(),
        env_vars: env,
        constraints: function.constraints.clone().unwrap_or_else(|| overrides.constraints.clone()),
        secrets,
        labels: Some(merged(function.labels.as_ref(), &overrides.labels)),
        annotations: Some(merged(function.annotations.as_ref(), &overrides.annotations)),
        limits: resources(&function.limits),
        requests: resources(&function.requests),
        read_only_root_filesystem: function.readonly_root_filesystem || overrides.readonly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{LoadOptions, parse};

    fn stack(text: &str) -> Stack {
        parse("stack.yml", text, &LoadOptions { envsubst: true, ..Default::default() }, Path::new("."), &|_| None)
            .unwrap()
    }

    const STACK: &str = "provider: {name: openfaas}\nfunctions:\n  fn1:\n    image: reg/fn1:0.1\n    fprocess: python index.py\n    namespace: dev\n    environment: {A: stack, B: stack}\n    secrets: [api-key, shared]\n    labels: {team: a, tier: x}\n    annotations: {topic: cron}\n    constraints: [\"node.platform.os == linux\"]\n    limits: {memory: 128Mi, cpu: 200m}\n    requests: {memory: 64Mi}\n    readonly_root_filesystem: true\n  bare:\n    image: reg/bare\n";

    #[test]
    fn stack_values_and_flags_merge_like_faas_cli() {
        let s = stack(STACK);
        let overrides = Overrides {
            env: vec![("B".into(), "flag".into())],
            labels: vec![("tier".into(), "flag".into())],
            secrets: vec!["shared".into(), "extra".into()],
            constraints: vec!["ignored".into()],
            ..Default::default()
        };
        let d = from_stack(&s, &s.file.functions["fn1"], &overrides, Some("ignored".into()), Path::new(".")).unwrap();
        let want = serde_json::json!({"service":"fn1","image":"reg/fn1:0.1","namespace":"dev","envProcess":"python index.py",
            "envVars":{"A":"stack","B":"flag"},"constraints":["node.platform.os == linux"],"secrets":["shared","extra","api-key"],
            "labels":{"team":"a","tier":"flag"},"annotations":{"topic":"cron"},
            "limits":{"memory":"128Mi","cpu":"200m"},"requests":{"memory":"64Mi"},"readOnlyRootFilesystem":true});
        assert_eq!(serde_json::to_value(&d).unwrap(), want);
    }

    #[test]
    fn bare_function_gets_defaults_template_fprocess_and_flag_constraints() {
        let s = stack(STACK);
        let overrides = Overrides {
            constraints: vec!["c".into()],
            readonly: true,
            namespace: Some("ns".into()),
            ..Default::default()
        };
        let d = from_stack(&s, &s.file.functions["bare"], &overrides, Some("node index.js".into()), Path::new("."))
            .unwrap();
        let want = serde_json::json!({"service":"bare","image":"reg/bare:latest","namespace":"ns","envProcess":"node index.js",
            "constraints":["c"],"labels":{},"annotations":{},"readOnlyRootFilesystem":true});
        assert_eq!(serde_json::to_value(&d).unwrap(), want);
    }

    #[test]
    fn pairs_need_an_equals_sign() {
        assert_eq!(parse_pairs("--env", &["A=b=c".into()]).unwrap(), vec![("A".to_string(), "b=c".to_string())]);
        assert_eq!(parse_pairs("--env", &["A=".into()]).unwrap(), vec![("A".to_string(), String::new())]);
        assert_eq!(parse_pairs("--label", &["nope".into()]).unwrap_err(), "--label needs KEY=VALUE, but got \"nope\"");
    }
}
