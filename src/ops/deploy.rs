//! Deploy: create or update functions on a gateway.
//!
//! Everything is computed and checked (image tags, flags, secrets present on the gateway) before
//! the first function is deployed; then every function is attempted, and the outcome lists the
//! ones that failed.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use super::Env;
use crate::openfaas::deployment::{self, Overrides};
use crate::openfaas::types::{FunctionDeployment, Secret};
use crate::openfaas::{Client, DeployMode, DeployOutcome as Answer};
use crate::stack::Stack;

/// How long `wait` waits for each function.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// How functions are deployed.
#[derive(Debug, Clone, Copy)]
pub struct DeployOptions {
    pub mode: DeployMode,
    /// Wait until every deployed function has an available replica.
    pub wait: bool,
}

/// What happened to each function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployOutcome {
    /// Functions deployed, with the URL they answer on.
    pub deployed: Vec<(String, String)>,
    /// Functions that failed to deploy or (with `wait`) to become ready; the reason was shown.
    pub failed: Vec<String>,
}

/// Some functions failed to deploy.
#[derive(Debug, thiserror::Error)]
#[error("failed to deploy: {}", .0.join(", "))]
pub struct DeployFailed(pub Vec<String>);

impl DeployOutcome {
    pub fn check(&self) -> Result<(), DeployFailed> {
        if self.failed.is_empty() { Ok(()) } else { Err(DeployFailed(self.failed.clone())) }
    }
}

/// The deployments for the stack's selected functions, with `fprocess` read from each template
/// when `read_template` is set and the stack has none.
pub fn from_stack(
    stack: &Stack,
    overrides: &Overrides,
    read_template: bool,
    env: &Env<'_>,
) -> anyhow::Result<Vec<FunctionDeployment>> {
    stack
        .functions()
        .map(|f| {
            let fprocess = if read_template { template_fprocess(f.lang.as_deref(), env) } else { None };
            deployment::from_stack(stack, f, overrides, fprocess, env.cwd)
                .with_context(|| format!("function {}", f.name))
        })
        .collect()
}

/// `fprocess` from the function's template (`./template/<lang>/`, else the bundled one), for
/// languages other than `dockerfile`.
pub fn template_fprocess(lang: Option<&str>, env: &Env<'_>) -> Option<String> {
    let lang = lang.filter(|l| !crate::template::is_dockerfile(l))?;
    match crate::template::lookup::find_local(lang, env.cwd) {
        Ok(Some(t)) => Some(t.spec.fprocess).filter(|f| !f.is_empty()),
        Ok(None) => None,
        Err(e) => {
            env.printer.warn(&format!("cannot read the {lang} template: {e}"));
            None
        }
    }
}

/// Deploys every deployment (after checking their secrets exist), reporting each as it goes.
pub async fn deploy(
    client: &Client,
    deployments: &[FunctionDeployment],
    opts: &DeployOptions,
    env: &Env<'_>,
) -> anyhow::Result<DeployOutcome> {
    check_secrets_exist(client, deployments).await?;
    let mut outcome = DeployOutcome::default();
    for d in deployments {
        env.printer.status(&format!("Deploying: {}.", d.service));
        match client.deploy(d, opts.mode).await {
            Ok(answer) => {
                let url = report(client, d, answer, env);
                outcome.deployed.push((d.service.clone(), url));
            }
            Err(e) => {
                env.printer.error(&crate::error::render(&e.into()));
                outcome.failed.push(d.service.clone());
            }
        }
    }
    if opts.wait {
        let deployed: Vec<&FunctionDeployment> =
            deployments.iter().filter(|d| !outcome.failed.contains(&d.service)).collect();
        for d in deployed {
            if client.wait_ready(&d.service, &d.namespace, WAIT_LIMIT).await? {
                env.printer.status(&format!("{} is ready", d.service));
            } else {
                env.printer.error(&format!("error: {} has no available replica after {WAIT_LIMIT:?}", d.service));
                outcome.failed.push(d.service.clone());
            }
        }
    }
    Ok(outcome)
}

/// Fails before deploying anything when a function names a secret the gateway does not have.
async fn check_secrets_exist(client: &Client, deployments: &[FunctionDeployment]) -> anyhow::Result<()> {
    let mut wanted: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for d in deployments {
        for s in &d.secrets {
            wanted.entry(d.namespace.as_str()).or_default().push((d.service.as_str(), s.as_str()));
        }
    }
    let mut missing = Vec::new();
    for (namespace, refs) in wanted {
        let existing = client.list_secrets(namespace).await?;
        for (function, secret) in refs {
            if !existing.iter().any(|e| e.name == secret) {
                missing.push(format!("{secret} (used by {function})"));
            }
        }
    }
    if !missing.is_empty() {
        return Err(crate::error::with_hint(
            anyhow::anyhow!("secrets missing on {}: {}; nothing was deployed", client.gateway(), missing.join(", ")),
            "create them first, e.g. `rfaas secret create NAME --from-file FILE`",
        ));
    }
    Ok(())
}

/// Prints the gateway's answer for one function; returns the function's URL.
fn report(client: &Client, d: &FunctionDeployment, answer: Answer, env: &Env<'_>) -> String {
    let status = match answer {
        Answer::Updated(s) => {
            env.printer.status(&format!("Function {} already exists, attempting rolling-update.", d.service));
            s
        }
        Answer::Created(s) => s,
    };
    let suffix = if d.namespace.is_empty() { String::new() } else { format!(".{}", d.namespace) };
    let url = format!("{}/function/{}{suffix}", client.gateway(), d.service);
    env.printer.data(&format!("\nDeployed. {status}.\nURL: {url}"));
    url
}

/// Creates the secrets `deployments` use and the gateway lacks from `./.secrets/<name>`
/// (faas-cli's local-run convention). Secrets already on the gateway, and names without a file,
/// are left alone. Returns the names created.
pub async fn create_missing_secrets(
    client: &Client,
    deployments: &[FunctionDeployment],
    env: &Env<'_>,
) -> anyhow::Result<Vec<String>> {
    let mut wanted: Vec<(String, String)> =
        deployments.iter().flat_map(|d| d.secrets.iter().map(|s| (d.namespace.clone(), s.clone()))).collect();
    wanted.sort();
    wanted.dedup();
    let mut created = Vec::new();
    for (namespace, name) in wanted {
        let existing = client.list_secrets(&namespace).await?;
        if existing.iter().any(|s| s.name == name) {
            continue;
        }
        let path = env.cwd.join(".secrets").join(&name);
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let secret = match String::from_utf8(bytes) {
            Ok(text) => Secret { name: name.clone(), namespace, value: text.trim().to_string(), ..Default::default() },
            Err(e) => Secret { name: name.clone(), namespace, raw_value: Some(e.into_bytes()), ..Default::default() },
        };
        client.create_secret(&secret).await?;
        env.printer.status(&format!("Created secret {name} from .secrets/{name}"));
        created.push(name);
    }
    Ok(created)
}
