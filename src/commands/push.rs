//! `rfaas push`: the push operation ([`crate::ops::push`]) over the stack file.

use crate::cli::PushArgs;
use crate::commands::Context;
use crate::ops::{self, push::PushOptions};

pub async fn run(args: PushArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    let opts = PushOptions { tag: args.tag.tag, parallel: args.parallel };
    let outcome = ops::push::push(&stack, &opts, &ctx.env()).await?;
    Ok(outcome.check()?)
}
