//! `rfaas diff`: compare the stack with the deployed functions (see [`crate::ops::diff`]);
//! exit 1 when they differ, as faas-cli does, in text or (`--output json`) as one JSON document.

use std::collections::BTreeSet;

use anyhow::Context as _;

use crate::cli::DiffArgs;
use crate::commands::Context;
use crate::openfaas::ClientError;
use crate::openfaas::deployment::{self, Overrides};
use crate::ops::diff;

/// `--output json`: every differing function with its changed fields (`stack` and `deployed`
/// values, `null` where one side lacks the field).
#[derive(serde::Serialize)]
struct Report<'a> {
    differences: bool,
    functions: &'a [diff::FunctionDiff],
}

pub async fn run(args: DiffArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    if stack.file.functions.is_empty() {
        anyhow::bail!("no functions found in {}", stack.source);
    }
    let overrides = Overrides { namespace: args.namespace.namespace.clone(), tag: args.tag.tag, ..Default::default() };
    let wanted = stack
        .functions()
        .map(|f| {
            deployment::from_stack(&stack, f, &overrides, None, &ctx.cwd)
                .with_context(|| format!("function {}", f.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = ctx.client(&args.api, Some(&stack), Some(args.timeout))?;
    let namespaces: BTreeSet<&str> = wanted.iter().map(|w| w.namespace.as_str()).collect();
    let mut deployed = Vec::new();
    for namespace in namespaces {
        deployed.extend(client.list_functions(namespace).await.map_err(ClientError::into_anyhow)?);
    }
    let diffs = diff::diff(&wanted, &deployed, args.env);
    if ctx.printer.is_json() {
        ctx.printer.json(&Report { differences: !diffs.is_empty(), functions: &diffs })?;
    } else if diffs.is_empty() {
        ctx.printer.data("YAML matches deployment, no differences found.");
    } else {
        for d in &diffs {
            ctx.printer.data(&diff::render(d));
        }
    }
    if diffs.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = diffs.iter().map(|d| d.function.as_str()).collect();
    anyhow::bail!("differences found in {} function(s): {}", diffs.len(), names.join(", "))
}
