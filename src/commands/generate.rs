//! `rfaas generate`: Kubernetes YAML for the stack's functions.

use crate::cli::GenerateArgs;
use crate::commands::Context;
use crate::kubernetes::{GenerateOptions, generate};

pub async fn run(args: GenerateArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    let opts = GenerateOptions { api: &args.api, namespace: &args.namespace, tag: args.tag };
    let yaml = generate(&stack, &opts, &ctx.cwd)?;
    if !yaml.is_empty() {
        ctx.printer.data(&yaml);
    }
    Ok(())
}
