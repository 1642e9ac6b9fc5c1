//! `rfaas deploy`: the deploy operation ([`crate::ops::deploy`]) over the stack's functions, or
//! over one function described by flags.

use crate::cli::{DeployArgs, DeployFlags, DeployedFunctionFlags};
use crate::commands::Context;
use crate::openfaas::DeployMode;
use crate::openfaas::deployment::{self, Overrides};
use crate::openfaas::types::FunctionDeployment;
use crate::ops::{self, deploy::DeployOptions};
use crate::stack::image::TagFormat;

pub async fn run(args: DeployArgs, ctx: &Context) -> anyhow::Result<()> {
    let flag_mode = args.function.function.names_a_function();
    let stack = if flag_mode { None } else { Some(ctx.load_stack(args.envsubst.envsubst).await?) };
    let overrides = overrides(&args.flags, args.namespace.namespace.clone(), args.tag.tag)?;
    let deployments = match &stack {
        Some(stack) => ops::deploy::from_stack(stack, &overrides, args.flags.read_template, &ctx.env())?,
        None => vec![from_flags(&args, overrides, ctx)?],
    };
    let (_, client) = ctx.namespaced_client(&args.api, &args.namespace, stack.as_ref(), Some(args.flags.timeout))?;
    let outcome = ops::deploy::deploy(&client, &deployments, &options(&args.flags), &ctx.env()).await?;
    Ok(outcome.check()?)
}

/// The deploy options from the flags `deploy` and `up` share.
pub fn options(flags: &DeployFlags) -> DeployOptions {
    let mode = if flags.replace {
        DeployMode::Replace
    } else if flags.update {
        DeployMode::Update
    } else {
        DeployMode::Create
    };
    DeployOptions { mode, wait: flags.wait }
}

/// What the flags `deploy` and `up` share change in each deployment.
pub fn overrides(flags: &DeployFlags, namespace: Option<String>, tag: TagFormat) -> anyhow::Result<Overrides> {
    let pairs = |flag: &str, v: &[String]| deployment::parse_pairs(flag, v).map_err(anyhow::Error::msg);
    Ok(Overrides {
        env: pairs("--env", &flags.env)?,
        labels: pairs("--label", &flags.labels)?,
        annotations: pairs("--annotation", &flags.annotations)?,
        secrets: flags.secrets.clone(),
        constraints: flags.constraints.clone(),
        readonly: flags.readonly,
        namespace,
        tag,
    })
}

fn from_flags(args: &DeployArgs, o: Overrides, ctx: &Context) -> anyhow::Result<FunctionDeployment> {
    let DeployedFunctionFlags { function, fprocess, resources } = &args.function;
    let (Some(image), Some(name)) = (&function.image, &function.name) else {
        anyhow::bail!("to deploy a function give --yaml/-f or both --image and --name");
    };
    if let Some(problem) = crate::stack::rules::dns_label_problem(name) {
        anyhow::bail!("function name \"{name}\" {problem}");
    }
    let fprocess = fprocess.clone().or_else(|| {
        if args.flags.read_template {
            ops::deploy::template_fprocess(function.lang.as_deref(), &ctx.env())
        } else {
            None
        }
    });
    Ok(FunctionDeployment {
        service: name.clone(),
        image: crate::stack::image::image_name(args.tag.tag, image, function.handler.as_deref(), &ctx.cwd)?,
        namespace: o.namespace.clone().unwrap_or_default(),
        env_process: fprocess.unwrap_or_default(),
        env_vars: o.env.into_iter().collect(),
        constraints: o.constraints,
        secrets: o.secrets,
        labels: Some(o.labels.into_iter().collect()),
        annotations: Some(o.annotations.into_iter().collect()),
        limits: resources.limits(),
        requests: resources.requests(),
        read_only_root_filesystem: o.readonly,
    })
}
