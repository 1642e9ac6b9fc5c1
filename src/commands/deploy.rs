//! `rfaas deploy`: create or update functions on a gateway, from the stack or from flags.
//!
//! Everything is computed and checked (image tags, flags, secrets present on the gateway) before
//! the first function is deployed; then every function is attempted and any failure exits 1.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::DeployArgs;
use crate::commands::Context;
use crate::openfaas::deployment::{self, Overrides};
use crate::openfaas::types::{FunctionDeployment, FunctionResources};
use crate::openfaas::{Client, ClientError, DeployMode, DeployOutcome};
use crate::stack::Stack;

/// How long `--wait` waits for each function.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

pub async fn run(args: DeployArgs, ctx: &Context) -> anyhow::Result<()> {
    let flag_mode = args.image.is_some() || args.name.is_some();
    let stack = if flag_mode { None } else { Some(ctx.load_stack(args.envsubst.envsubst).await?) };
    let deployments = match &stack {
        Some(stack) => from_stack(&args, stack, ctx)?,
        None => vec![from_flags(&args, ctx)?],
    };
    let client = ctx.client(&args.api, stack.as_ref(), Some(args.flags.timeout))?;
    check_secrets_exist(&client, &deployments).await?;
    deploy_all(&client, &deployments, mode(&args), args.flags.wait, ctx).await
}

fn mode(args: &DeployArgs) -> DeployMode {
    if args.flags.replace {
        DeployMode::Replace
    } else if args.flags.update {
        DeployMode::Update
    } else {
        DeployMode::Create
    }
}

fn overrides(args: &DeployArgs) -> anyhow::Result<Overrides> {
    let pairs = |flag: &str, v: &[String]| deployment::parse_pairs(flag, v).map_err(anyhow::Error::msg);
    Ok(Overrides {
        env: pairs("--env", &args.flags.env)?,
        labels: pairs("--label", &args.flags.labels)?,
        annotations: pairs("--annotation", &args.flags.annotations)?,
        secrets: args.flags.secrets.clone(),
        constraints: args.flags.constraints.clone(),
        readonly: args.flags.readonly,
        namespace: args.namespace.namespace.clone(),
        tag: args.tag,
    })
}

fn from_stack(args: &DeployArgs, stack: &Stack, ctx: &Context) -> anyhow::Result<Vec<FunctionDeployment>> {
    let overrides = overrides(args)?;
    stack
        .functions()
        .map(|f| {
            let fprocess = if args.flags.read_template { template_fprocess(f.lang.as_deref(), ctx) } else { None };
            deployment::from_stack(stack, f, &overrides, fprocess, &ctx.cwd)
                .with_context(|| format!("function {}", f.name))
        })
        .collect()
}

fn from_flags(args: &DeployArgs, ctx: &Context) -> anyhow::Result<FunctionDeployment> {
    let (Some(image), Some(name)) = (&args.image, &args.name) else {
        anyhow::bail!("to deploy a function give --yaml/-f or both --image and --name");
    };
    if let Some(problem) = crate::stack::rules::dns_label_problem(name) {
        anyhow::bail!("function name \"{name}\" {problem}");
    }
    let o = overrides(args)?;
    let resources = |memory: &Option<String>, cpu: &Option<String>| {
        let r = FunctionResources { memory: memory.clone().unwrap_or_default(), cpu: cpu.clone().unwrap_or_default() };
        (!r.is_empty()).then_some(r)
    };
    let fprocess = args
        .fprocess
        .clone()
        .or_else(|| if args.flags.read_template { template_fprocess(args.lang.as_deref(), ctx) } else { None });
    Ok(FunctionDeployment {
        service: name.clone(),
        image: crate::stack::image::image_name(args.tag, image, args.handler.as_deref(), &ctx.cwd)?,
        namespace: o.namespace.clone().unwrap_or_default(),
        env_process: fprocess.unwrap_or_default(),
        env_vars: o.env.into_iter().collect(),
        constraints: o.constraints,
        secrets: o.secrets,
        labels: Some(o.labels.into_iter().collect()),
        annotations: Some(o.annotations.into_iter().collect()),
        limits: resources(&args.resources.memory_limit, &args.resources.cpu_limit),
        requests: resources(&args.resources.memory_request, &args.resources.cpu_request),
        read_only_root_filesystem: o.readonly,
    })
}

/// `fprocess` from the function's template (`./template/<lang>/`, else the bundled one), for
/// languages other than `dockerfile`.
pub fn template_fprocess(lang: Option<&str>, ctx: &Context) -> Option<String> {
    let lang = lang.filter(|l| !crate::template::is_dockerfile(l))?;
    match crate::template::lookup::find_local(lang, &ctx.cwd) {
        Ok(Some(t)) => Some(t.spec.fprocess).filter(|f| !f.is_empty()),
        Ok(None) => None,
        Err(e) => {
            ctx.printer.warn(&format!("cannot read the {lang} template: {e}"));
            None
        }
    }
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
        let existing = client.list_secrets(namespace).await.map_err(ClientError::into_anyhow)?;
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

async fn deploy_all(
    client: &Client,
    deployments: &[FunctionDeployment],
    mode: DeployMode,
    wait: bool,
    ctx: &Context,
) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for d in deployments {
        ctx.printer.status(&format!("Deploying: {}.", d.service));
        match client.deploy(d, mode).await {
            Ok(outcome) => report(client, d, outcome, ctx),
            Err(e) => {
                ctx.printer.error(&crate::error::render(&e.into_anyhow()));
                failed.push(d.service.clone());
            }
        }
    }
    if wait {
        let deployed: Vec<&FunctionDeployment> = deployments.iter().filter(|d| !failed.contains(&d.service)).collect();
        for d in deployed {
            if !client.wait_ready(&d.service, &d.namespace, WAIT_LIMIT).await.map_err(ClientError::into_anyhow)? {
                ctx.printer.error(&format!("error: {} has no available replica after {WAIT_LIMIT:?}", d.service));
                failed.push(d.service.clone());
            } else {
                ctx.printer.status(&format!("{} is ready", d.service));
            }
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("failed to deploy: {}", failed.join(", "));
    }
    Ok(())
}

fn report(client: &Client, d: &FunctionDeployment, outcome: DeployOutcome, ctx: &Context) {
    let status = match outcome {
        DeployOutcome::Updated(s) => {
            ctx.printer.status(&format!("Function {} already exists, attempting rolling-update.", d.service));
            s
        }
        DeployOutcome::Created(s) => s,
    };
    let suffix = if d.namespace.is_empty() { String::new() } else { format!(".{}", d.namespace) };
    ctx.printer.data(&format!("\nDeployed. {status}.\nURL: {}/function/{}{suffix}", client.gateway(), d.service));
}
