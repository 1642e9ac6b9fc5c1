//! `rfaas push`: push every selected function's image with the engine.

use crate::cli::PushArgs;
use crate::commands::Context;
use crate::docker::progress::Board;
use crate::docker::push::{self, PushJob};
use crate::error::with_hint;
use crate::stack::image::{TagError, TagFormat, image_name};

pub async fn run(args: PushArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    push_stack(&stack, &args, ctx).await
}

/// Pushes the images of a loaded stack's functions.
pub async fn push_stack(stack: &crate::stack::Stack, args: &PushArgs, ctx: &Context) -> anyhow::Result<()> {
    let mut jobs = Vec::new();
    for f in stack.functions() {
        if f.skip_build {
            ctx.printer.status(&format!("Skipping {}", f.name));
            continue;
        }
        let image = match image_name(args.tag, &f.image, f.handler.as_deref(), &ctx.cwd) {
            Err(TagError::NotGit) => {
                ctx.printer.warn(&format!("{}: not a git repository, pushing the latest tag", f.name));
                image_name(TagFormat::Latest, &f.image, None, &ctx.cwd)?
            }
            other => other?,
        };
        jobs.push(PushJob { function: f.name.clone(), image });
    }
    push::check_prefixes(&jobs)?;
    if jobs.is_empty() {
        return Ok(());
    }
    let docker = crate::docker::connect().await?;
    let board = Board::new(&ctx.printer, !args.quiet);
    let total = jobs.len();
    let results = push::push_all(&docker, jobs, &board, args.parallel).await;
    let mut failed = Vec::new();
    let mut hints = Vec::new();
    for (job, result) in &results {
        if let Err(e) = result {
            failed.push(job.function.clone());
            if let Some(h) = e.hint().filter(|h| !hints.contains(h)) {
                hints.push(h);
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    failed.sort();
    let err = anyhow::anyhow!("failed to push {} of {total} images: {}", failed.len(), failed.join(", "));
    Err(if hints.is_empty() { err } else { with_hint(err, hints.join("\nhint: ")) })
}
