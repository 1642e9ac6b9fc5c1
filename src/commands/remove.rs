//! `rfaas remove` / `rm` / `delete`: delete one function, or every function in the stack.
//! Unlike faas-cli, a failure to remove any stack function exits 1.

use crate::cli::RemoveArgs;
use crate::commands::{Context, namespace_for};
use crate::openfaas::ClientError;

pub async fn run(args: RemoveArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = match &args.name {
        Some(_) => ctx.optional_stack(args.envsubst.envsubst).await?,
        None => Some(ctx.load_stack(args.envsubst.envsubst).await?),
    };
    let client = ctx.client(&args.api, stack.as_ref(), Some(std::time::Duration::from_secs(60)))?;
    let names: Vec<String> = match &args.name {
        Some(name) => vec![name.clone()],
        None => stack.iter().flat_map(|s| s.functions().map(|f| f.name.clone())).collect(),
    };
    let mut failed = Vec::new();
    for name in &names {
        let namespace = namespace_for(&args.namespace.namespace, stack.as_ref(), name);
        ctx.printer.status(&format!("Deleting: {name}.{namespace}"));
        match client.delete_function(name, &namespace).await {
            Ok(()) => ctx.printer.status("Removing old function."),
            Err(ClientError::NotFound { .. }) => {
                ctx.printer.error(&format!("error: no existing function to remove: {name}"));
                failed.push(name.clone());
            }
            Err(e) => {
                ctx.printer.error(&crate::error::render(&e.into_anyhow()));
                failed.push(name.clone());
            }
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("failed to remove: {}", failed.join(", "));
    }
    Ok(())
}
