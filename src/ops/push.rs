//! Push: every selected function's image, with the engine, at most [`PushOptions::parallel`] at
//! a time.

use super::{Env, Parallelism};
use crate::docker::progress::Board;
use crate::docker::push::{self, PushError, PushJob};
use crate::stack::Stack;
use crate::stack::image::{TagError, TagFormat, image_name};

/// What to push and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushOptions {
    pub tag: TagFormat,
    pub parallel: Parallelism,
}

/// What happened to each selected function.
#[derive(Debug, Default)]
pub struct PushOutcome {
    /// Function, image and the digest the registry stored.
    pub pushed: Vec<(String, String, String)>,
    /// `skip_build: true`.
    pub skipped: Vec<String>,
    pub failed: Vec<(String, PushError)>,
}

/// Some images could not be pushed; the hints of every distinct failure are kept.
#[derive(Debug, thiserror::Error)]
#[error("failed to push {} of {total} images: {}", .failed.len(), .failed.join(", "))]
pub struct PushFailed {
    pub failed: Vec<String>,
    pub total: usize,
    pub hints: Vec<String>,
}

impl crate::error::Hint for PushFailed {
    fn hint(&self) -> Option<String> {
        (!self.hints.is_empty()).then(|| self.hints.join("\nhint: "))
    }
}

impl PushOutcome {
    /// `Err` when any push failed.
    pub fn check(&self) -> Result<(), PushFailed> {
        if self.failed.is_empty() {
            return Ok(());
        }
        let mut failed: Vec<String> = self.failed.iter().map(|(f, _)| f.clone()).collect();
        failed.sort();
        let mut hints = Vec::new();
        for (_, e) in &self.failed {
            if let Some(h) = e.hint().filter(|h| !hints.contains(h)) {
                hints.push(h);
            }
        }
        Err(PushFailed { failed, total: self.pushed.len() + self.failed.len(), hints })
    }
}

/// Pushes the stack's selected functions' images. Nothing is pushed when any image lacks a
/// registry or user prefix.
pub async fn push(stack: &Stack, opts: &PushOptions, env: &Env<'_>) -> anyhow::Result<PushOutcome> {
    let mut outcome = PushOutcome::default();
    let mut jobs = Vec::new();
    for f in stack.functions() {
        if f.skip_build {
            env.printer.status(&format!("Skipping {}", f.name));
            outcome.skipped.push(f.name.clone());
            continue;
        }
        let image = match image_name(opts.tag, &f.image, f.handler.as_deref(), env.cwd) {
            Err(TagError::NotGit) => {
                env.printer.warn(&format!("{}: not a git repository, pushing the latest tag", f.name));
                image_name(TagFormat::Latest, &f.image, None, env.cwd)?
            }
            other => other?,
        };
        jobs.push(PushJob { function: f.name.clone(), image });
    }
    push::check_prefixes(&jobs)?;
    if jobs.is_empty() {
        return Ok(outcome);
    }
    let docker = crate::docker::connect().await?;
    let board = Board::new(env.printer, !env.printer.is_quiet());
    for (job, result) in push::push_all(&docker, jobs, &board, opts.parallel.get()).await {
        match result {
            Ok(digest) => outcome.pushed.push((job.function, job.image, digest)),
            Err(e) => outcome.failed.push((job.function, e)),
        }
    }
    Ok(outcome)
}
