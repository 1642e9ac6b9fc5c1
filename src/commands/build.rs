//! `rfaas build`: validate every selected function, assemble `./build/<fn>/`, then build the
//! images (skipping unchanged ones), at most `--parallel` at a time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{BuildArgs, BuildFlags};
use crate::commands::Context;
use crate::docker::build::{self, BuildError, BuildJob, EngineOptions, Outcome};
use crate::docker::plan::{self, PlanOptions, Step};
use crate::docker::progress::Board;
use crate::error::with_hint;
use crate::stack::Stack;
use crate::template::store::DEFAULT_STORE_URL;

pub async fn run(args: BuildArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = load(&args, ctx).await?;
    let jobs = prepare(&stack, &args.flags, args.tag, ctx).await?;
    if args.shrinkwrap {
        for job in &jobs {
            ctx.printer.status(&format!("{} shrink-wrapped to build/{}", job.function, job.function));
        }
        return Ok(());
    }
    if jobs.is_empty() {
        return Ok(());
    }
    let docker = crate::docker::connect().await?;
    let opts = EngineOptions {
        force: args.force,
        no_cache: args.flags.no_cache,
        pull: args.flags.pull,
        squash: args.flags.squash,
    };
    let board = Board::new(&ctx.printer, !args.quiet);
    let started = Instant::now();
    let total = jobs.len();
    let results = build::build_all(&docker, jobs, opts, &board, args.parallel).await;
    summarize(results, total, started, ctx)
}

/// The stack file, or a one-function stack from `--name --image --lang --handler`.
async fn load(args: &BuildArgs, ctx: &Context) -> anyhow::Result<Stack> {
    let flags_given = args.image.is_some() || args.name.is_some() || args.lang.is_some() || args.handler.is_some();
    let has_stack = ctx.global.yaml.is_some() || crate::stack::discover(None, &ctx.cwd).is_some();
    if flags_given && !has_stack {
        return flag_stack(args);
    }
    ctx.load_stack(args.envsubst.envsubst).await
}

fn flag_stack(args: &BuildArgs) -> anyhow::Result<Stack> {
    flag_function_stack(args.name.as_deref(), args.image.as_deref(), args.handler.as_deref(), args.lang.as_deref())
}

/// A one-function stack from `--name --image --handler --lang` (build and up without a stack file).
pub fn flag_function_stack(
    name: Option<&str>,
    image: Option<&str>,
    handler: Option<&str>,
    lang: Option<&str>,
) -> anyhow::Result<Stack> {
    let (Some(name), Some(image), Some(handler)) = (name, image, handler) else {
        return Err(with_hint(
            anyhow::anyhow!("without a stack file, --name, --image, --handler and --lang are all required"),
            "or give a stack file with -f",
        ));
    };
    let function = crate::stack::Function {
        name: name.to_string(),
        lang: lang.map(str::to_string),
        handler: Some(handler.to_string()),
        image: image.to_string(),
        ..Default::default()
    };
    let mut file = crate::stack::StackFile::default();
    file.functions.insert(name.to_string(), function);
    Ok(Stack { source: "(flags)".to_string(), file, file_environment: Default::default(), warnings: Vec::new() })
}

/// Validates everything, then writes every build context; returns the builds to run.
pub async fn prepare(
    stack: &Stack,
    flags: &BuildFlags,
    tag: crate::stack::image::TagFormat,
    ctx: &Context,
) -> anyhow::Result<Vec<BuildJob>> {
    let opts = PlanOptions {
        build_args: flags.build_args.clone(),
        build_options: flags.build_options.clone(),
        build_labels: flags.build_labels.clone(),
        copy_extra: flags.copy_extra.clone(),
        tag,
        disable_stack_pull: flags.disable_stack_pull,
        overwrite: flags.overwrite.overwrite,
        store_url: store_url(),
    };
    let (steps, copy) = plan::prepare(stack, &opts, &ctx.cwd)
        .await
        .map_err(|e| with_hint(e, "fix the problems above; no image was built"))?;
    let mut jobs = Vec::new();
    for step in steps {
        match step {
            Step::Skip(name) => ctx.printer.status(&format!("Skipping build of: {name} (skip_build)")),
            Step::NoLang(name) => {
                ctx.printer.status(&format!("Please provide a valid language for your function: {name} has no lang"))
            }
            Step::Build(p) => {
                if p.template.spec.mount_ssh {
                    ctx.printer.warn(&format!(
                        "{}: the template asks for mount_ssh, which needs BuildKit; building without it",
                        p.job.function
                    ));
                }
                assemble(&p, &copy, &ctx.cwd)?;
                jobs.push(p.job);
            }
        }
    }
    Ok(jobs)
}

fn assemble(p: &plan::Prepared, copy: &[PathBuf], cwd: &Path) -> anyhow::Result<()> {
    plan::assemble(p, copy, cwd)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot write the build context for {}: {e}", p.job.function))
}

/// The template store for auto-pulls: `$OPENFAAS_TEMPLATE_STORE_URL`, else faas-cli's default.
pub fn store_url() -> String {
    std::env::var(crate::env_vars::OPENFAAS_TEMPLATE_STORE_URL)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_STORE_URL.to_string())
}

fn summarize(
    results: Vec<(BuildJob, Result<Outcome, BuildError>)>,
    total: usize,
    started: Instant,
    ctx: &Context,
) -> anyhow::Result<()> {
    let unchanged = results.iter().filter(|(_, r)| matches!(r, Ok(Outcome::Unchanged))).count();
    let mut failed: Vec<String> = results.iter().filter(|(_, r)| r.is_err()).map(|(j, _)| j.function.clone()).collect();
    failed.sort();
    let built = total - unchanged - failed.len();
    ctx.printer.status(&format!(
        "Built {built}, unchanged {unchanged}, failed {} in {:.1}s",
        failed.len(),
        started.elapsed().as_secs_f64()
    ));
    if failed.is_empty() {
        return Ok(());
    }
    Err(with_hint(
        anyhow::anyhow!("failed to build {} of {total} functions: {}", failed.len(), failed.join(", ")),
        "the build log above shows the failing step; fix it and run `rfaas build` again",
    ))
}
