//! `rfaas build`: the build operation ([`crate::ops::build`]) over the stack file, or over a
//! one-function stack made from `--name --image --lang --handler`.

use crate::cli::{BuildArgs, BuildFlags, FunctionFlags};
use crate::commands::Context;
use crate::docker::build::EngineOptions;
use crate::docker::plan::PlanOptions;
use crate::error::with_hint;
use crate::ops::build::{BuildFailed, BuildOptions, BuildOutcome};
use crate::ops::{self, Parallelism};
use crate::stack::Stack;
use crate::stack::image::TagFormat;

pub async fn run(args: BuildArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = load(&args, ctx).await?;
    let mut opts = options(&args.flags, args.tag.tag, args.force, args.parallel);
    opts.shrinkwrap = args.shrinkwrap;
    let outcome = ops::build::build(&stack, &opts, &ctx.env()).await?;
    render(&outcome, ctx)
}

/// The build options from the flags `build` and `up` share.
pub fn options(flags: &BuildFlags, tag: TagFormat, force: bool, parallel: Parallelism) -> BuildOptions {
    BuildOptions {
        plan: PlanOptions {
            build_args: flags.build_args.clone(),
            build_options: flags.build_options.clone(),
            build_labels: flags.build_labels.clone(),
            copy_extra: flags.copy_extra.clone(),
            tag,
            disable_stack_pull: flags.disable_stack_pull,
            overwrite: flags.overwrite.overwrite,
        },
        engine: EngineOptions { force, no_cache: flags.no_cache, pull: flags.pull, squash: flags.squash },
        parallel,
        shrinkwrap: false,
    }
}

/// The summary line (or the shrink-wrapped contexts), then the failure when any build failed.
pub fn render(outcome: &BuildOutcome, ctx: &Context) -> anyhow::Result<()> {
    for name in &outcome.shrinkwrapped {
        ctx.printer.status(&format!("{name} shrink-wrapped to build/{name}"));
    }
    let total = outcome.attempted();
    if total == 0 {
        return Ok(());
    }
    ctx.printer.status(&format!(
        "Built {}, unchanged {}, failed {} in {:.1}s",
        outcome.built.len(),
        outcome.unchanged.len(),
        outcome.failed.len(),
        outcome.elapsed.as_secs_f64()
    ));
    if outcome.failed.is_empty() {
        return Ok(());
    }
    Err(BuildFailed { failed: outcome.failed.clone(), total }.into())
}

/// The stack file, or a one-function stack from `--name --image --lang --handler`.
async fn load(args: &BuildArgs, ctx: &Context) -> anyhow::Result<Stack> {
    let f = &args.function;
    let flags_given = f.names_a_function() || f.lang.is_some() || f.handler.is_some();
    let has_stack = ctx.global.yaml.is_some() || crate::stack::discover(None, &ctx.cwd).is_some();
    if flags_given && !has_stack {
        return flag_function_stack(f);
    }
    ctx.load_stack(args.envsubst.envsubst).await
}

/// The `source` of a stack made from flags.
pub const FLAG_STACK: &str = "(flags)";

/// A one-function stack from `--name --image --handler --lang` (`build` and `up` without a
/// stack file).
pub fn flag_function_stack(flags: &FunctionFlags) -> anyhow::Result<Stack> {
    let FunctionFlags { name, image, handler, lang } = flags;
    let (Some(name), Some(image), Some(handler)) = (name, image, handler) else {
        return Err(with_hint(
            anyhow::anyhow!("without a stack file, --name, --image, --handler and --lang are all required"),
            "or give a stack file with -f",
        ));
    };
    let function = crate::stack::Function {
        name: name.clone(),
        lang: lang.clone(),
        handler: Some(handler.clone()),
        image: image.clone(),
        ..Default::default()
    };
    let mut file = crate::stack::StackFile::default();
    file.functions.insert(name.clone(), function);
    Ok(Stack { source: FLAG_STACK.to_string(), file, file_environment: Default::default(), warnings: Vec::new() })
}
