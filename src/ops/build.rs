//! Build: validate every selected function, assemble `./build/<fn>/`, then build the images
//! (skipping unchanged ones), at most [`BuildOptions::parallel`] at a time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Env, Parallelism};
use crate::docker::build::{self, BuildJob, EngineOptions, Outcome};
use crate::docker::plan::{self, PlanOptions, Step};
use crate::docker::progress::Board;
use crate::stack::Stack;

/// What to build and how.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// What goes into each function's build context.
    pub plan: PlanOptions,
    pub engine: EngineOptions,
    pub parallel: Parallelism,
    /// Only assemble `./build/<fn>/` and stop.
    pub shrinkwrap: bool,
}

/// What happened to each selected function.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildOutcome {
    pub built: Vec<String>,
    /// Already built from the same files and arguments.
    pub unchanged: Vec<String>,
    /// `skip_build: true`, or no `lang`.
    pub skipped: Vec<String>,
    /// Contexts assembled with `shrinkwrap` (nothing was built).
    pub shrinkwrapped: Vec<String>,
    pub failed: Vec<String>,
    pub elapsed: Duration,
}

impl BuildOutcome {
    /// How many builds were started.
    pub fn attempted(&self) -> usize {
        self.built.len() + self.unchanged.len() + self.failed.len()
    }
}

/// Some functions failed to build (their logs were shown as they failed).
#[derive(Debug, thiserror::Error)]
#[error("failed to build {} of {total} functions: {}", .failed.len(), .failed.join(", "))]
pub struct BuildFailed {
    pub failed: Vec<String>,
    pub total: usize,
}

impl crate::error::Hint for BuildFailed {
    fn hint(&self) -> Option<String> {
        Some("the build log above shows the failing step; fix it and run `rfaas build` again".into())
    }
}

/// Builds the stack's selected functions. Nothing is built unless every function validates.
pub async fn build(stack: &Stack, opts: &BuildOptions, env: &Env<'_>) -> anyhow::Result<BuildOutcome> {
    let started = Instant::now();
    let (jobs, skipped) = prepare(stack, opts, env).await?;
    let mut outcome = BuildOutcome { skipped, ..Default::default() };
    if opts.shrinkwrap {
        outcome.shrinkwrapped = jobs.into_iter().map(|j| j.function).collect();
        return Ok(outcome);
    }
    if jobs.is_empty() {
        return Ok(outcome);
    }
    let docker = crate::docker::connect().await?;
    let board = Board::new(env.printer, !env.printer.is_quiet());
    let results = build::build_all(&docker, jobs, opts.engine, &board, opts.parallel.get()).await;
    for (job, result) in results {
        match result {
            Ok(Outcome::Unchanged) => outcome.unchanged.push(job.function),
            Ok(Outcome::Built { .. }) => outcome.built.push(job.function),
            Err(_) => outcome.failed.push(job.function),
        }
    }
    outcome.built.sort();
    outcome.unchanged.sort();
    outcome.failed.sort();
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Validates everything, then writes every build context; returns the builds to run and the
/// functions skipped.
pub async fn prepare(
    stack: &Stack,
    opts: &BuildOptions,
    env: &Env<'_>,
) -> anyhow::Result<(Vec<BuildJob>, Vec<String>)> {
    let store_url = &env.environment.template_store_url;
    let (steps, copy) = plan::prepare(stack, &opts.plan, store_url, env.cwd).await?;
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for step in steps {
        match step {
            Step::Skip(name) => {
                env.printer.status(&format!("Skipping build of: {name} (skip_build)"));
                skipped.push(name);
            }
            Step::NoLang(name) => {
                env.printer.status(&format!("Please provide a valid language for your function: {name} has no lang"));
                skipped.push(name);
            }
            Step::Build(p) => {
                if p.template.spec.mount_ssh {
                    env.printer.warn(&format!(
                        "{}: the template asks for mount_ssh, which needs BuildKit; building without it",
                        p.job.function
                    ));
                }
                assemble(&p, &copy, env.cwd)?;
                jobs.push(p.job);
            }
        }
    }
    Ok((jobs, skipped))
}

fn assemble(p: &plan::Prepared, copy: &[PathBuf], cwd: &Path) -> anyhow::Result<()> {
    plan::assemble(p, copy, cwd)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot write the build context for {}: {e}", p.job.function))
}
