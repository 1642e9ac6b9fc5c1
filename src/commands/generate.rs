//! `rfaas generate`: Kubernetes YAML for the stack's functions, or for one function-store entry.

use crate::cli::GenerateArgs;
use crate::commands::Context;
use crate::function_store::{self, GenerateRequest};
use crate::kubernetes::{GenerateOptions, generate, render, validate};
use crate::openfaas::deployment::parse_pairs;
use crate::stack::image::TagFormat;

pub async fn run(args: GenerateArgs, ctx: &Context) -> anyhow::Result<()> {
    let opts = GenerateOptions { api: &args.api, namespace: &args.namespace, tag: args.tag.tag };
    let yaml = match &args.from_store {
        Some(function) => from_store(&args, function, &opts, ctx).await?,
        None => {
            for (flag, given) in [
                ("--name", args.name.is_some()),
                ("--label", !args.labels.is_empty()),
                ("--annotation", !args.annotations.is_empty()),
            ] {
                if given {
                    ctx.printer
                        .warn(&format!("{flag} applies only with --from-store; ignored for the stack's functions"));
                }
            }
            let stack = ctx.load_stack(args.envsubst.envsubst).await?;
            generate(&stack, &opts, &ctx.cwd)?
        }
    };
    if !yaml.is_empty() {
        ctx.printer.data(&yaml);
    }
    Ok(())
}

async fn from_store(
    args: &GenerateArgs,
    function: &str,
    opts: &GenerateOptions<'_>,
    ctx: &Context,
) -> anyhow::Result<String> {
    validate(opts)?;
    if args.tag.tag == TagFormat::Digest {
        anyhow::bail!("digest tag format is not supported for store functions");
    }
    let pairs = |flag: &str, v: &[String]| parse_pairs(flag, v).map_err(anyhow::Error::msg);
    let req = GenerateRequest {
        function,
        name: args.name.as_deref(),
        arch: &args.arch,
        labels: pairs("--label", &args.labels)?,
        annotations: pairs("--annotation", &args.annotations)?,
    };
    if let Some(name) = req.name
        && let Some(problem) = crate::stack::rules::dns_label_problem(name)
    {
        anyhow::bail!("function name \"{name}\" {problem}");
    }
    let functions = function_store::fetch(&args.url, &ctx.cwd).await?;
    let spec = function_store::function_spec(&functions, &req)?;
    Ok(render(&[spec], opts))
}
