//! `rfaas remove` / `rm` / `delete`: delete one function, or every function in the stack.
//! Unlike faas-cli, a failure to remove any stack function exits 1.

use crate::cli::RemoveArgs;
use crate::commands::Context;
use crate::ops;

pub async fn run(args: RemoveArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = match &args.name {
        Some(_) => ctx.optional_stack(args.envsubst.envsubst).await?,
        None => Some(ctx.load_stack(args.envsubst.envsubst).await?),
    };
    let (settings, client) =
        ctx.namespaced_client(&args.api, &args.namespace, stack.as_ref(), Some(super::API_CALL_TIMEOUT))?;
    let names: Vec<String> = match &args.name {
        Some(name) => vec![name.clone()],
        None => stack.iter().flat_map(|s| s.functions().map(|f| f.name.clone())).collect(),
    };
    let functions: Vec<(String, String)> = names
        .into_iter()
        .map(|name| {
            let ns = settings.namespace_for(&name).0;
            (name, ns)
        })
        .collect();
    let outcome = ops::remove::remove(&client, &functions, &ctx.env()).await;
    Ok(outcome.check()?)
}
