//! Building function images on the engine: the context goes up as a tar, the build runs with
//! host networking on the legacy builder, and the JSON stream is followed for progress and
//! errors. An image whose `com.rfaas.build.hash` label matches the context is not rebuilt.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;

use super::context::{self, HASH_LABEL, HashInputs, Packed};
use super::progress::{Board, Task};

/// One function's image build, fully resolved.
#[derive(Debug, Clone)]
pub struct BuildJob {
    pub function: String,
    pub lang: String,
    pub image: String,
    pub context_dir: PathBuf,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// The engine's `platform` build parameter (`linux/arm64`); `None` builds for the engine's own.
    pub platform: Option<String>,
    /// Credentials the engine may use to pull base images (`FROM` a private registry).
    pub pull_auth: PullAuth,
}

/// Registry credentials handed to the engine with a build, keyed by registry host. Its `Debug`
/// names the registries only, so a logged job never shows a password.
#[derive(Clone, Default)]
pub struct PullAuth(pub HashMap<String, bollard::auth::DockerCredentials>);

impl std::fmt::Debug for PullAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Flags that apply to every build of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineOptions {
    pub force: bool,
    pub no_cache: bool,
    pub pull: bool,
    pub squash: bool,
}

/// What happened to one function.
#[derive(Debug)]
pub enum Outcome {
    Built { seconds: f64 },
    Unchanged,
}

/// Why one function's build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot pack the build context {dir}: {source}")]
    Pack { dir: String, source: std::io::Error },
    #[error("{}{message}", .step.as_ref().map(|s| format!("{s}: ")).unwrap_or_default())]
    Failed { message: String, step: Option<String>, tail: Vec<String> },
}

/// Builds every job, at most `parallel` at a time; every job runs to the end.
pub async fn build_all(
    docker: &Docker,
    jobs: Vec<BuildJob>,
    opts: EngineOptions,
    board: &Board,
    parallel: usize,
) -> Vec<(BuildJob, Result<Outcome, BuildError>)> {
    futures_util::stream::iter(jobs)
        .map(|job| async move {
            let mut task = board.task(&job.function);
            let result = build_one(docker, &job, opts, &mut task).await;
            report(&job, &result, &mut task, board);
            (job, result)
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await
}

fn report(job: &BuildJob, result: &Result<Outcome, BuildError>, task: &mut Task, board: &Board) {
    match result {
        Ok(Outcome::Unchanged) => task.finish(&format!("{} unchanged, skipping build", job.function)),
        Ok(Outcome::Built { seconds }) => {
            task.finish(&format!("{} built {} in {seconds:.1}s", job.function, job.image))
        }
        Err(e) => {
            task.finish(&format!("{} failed: {e}", job.function));
            if let BuildError::Failed { tail, .. } = e
                && !tail.is_empty()
            {
                let mut text = format!("[{}] last {} lines of the build log:", job.function, tail.len());
                for line in tail {
                    text.push_str(&format!("\n  {line}"));
                }
                board.println(&text);
            }
        }
    }
}

/// Packs the context, skips the build when the image is current, otherwise builds it.
pub async fn build_one(
    docker: &Docker,
    job: &BuildJob,
    opts: EngineOptions,
    task: &mut Task,
) -> Result<Outcome, BuildError> {
    let packed = pack(job).await?;
    if !(opts.force || opts.no_cache || opts.pull) && is_current(docker, &job.image, &packed.hash).await {
        return Ok(Outcome::Unchanged);
    }
    task.status(&format!("Building {} with the {} template ({} files)", job.image, job.lang, packed.files));
    let started = Instant::now();
    let mut labels: HashMap<String, String> = job.labels.clone().into_iter().collect();
    labels.insert(HASH_LABEL.to_string(), packed.hash.clone());
    let options = BuildImageOptions {
        t: Some(job.image.clone()),
        buildargs: Some(job.build_args.clone().into_iter().collect()),
        labels: Some(labels),
        nocache: opts.no_cache,
        pull: opts.pull.then(|| "1".to_string()),
        squash: opts.squash.then_some(true),
        networkmode: Some("host".to_string()),
        platform: job.platform.clone().unwrap_or_default(),
        rm: true,
        forcerm: true,
        ..Default::default()
    };
    let body = bollard::body_full(packed.tar.into());
    let auth = (!job.pull_auth.0.is_empty()).then(|| job.pull_auth.0.clone());
    let mut stream = docker.build_image(options, auth, Some(body));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.as_deref().or(info.status.as_deref()) {
                    task.output(text);
                }
            }
            Err(e) => {
                task.output("\n");
                let message = compact(super::engine_reason(&e).trim());
                return Err(BuildError::Failed { message, step: task.step().map(str::to_string), tail: task.tail() });
            }
        }
    }
    Ok(Outcome::Built { seconds: started.elapsed().as_secs_f64() })
}

/// The legacy builder repeats the whole RUN command in its error; the step line already shows it.
fn compact(message: &str) -> String {
    match (message.starts_with("The command '"), message.rfind("' returned ")) {
        (true, Some(i)) => format!("the command{}", &message[i + 1..]),
        _ => message.to_string(),
    }
}

async fn pack(job: &BuildJob) -> Result<Packed, BuildError> {
    let (dir, lang, args, labels) =
        (job.context_dir.clone(), job.lang.clone(), job.build_args.clone(), job.labels.clone());
    let result = tokio::task::spawn_blocking(move || {
        context::pack(&dir, &HashInputs { template: &lang, build_args: &args, labels: &labels })
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    result.map_err(|source| BuildError::Pack { dir: job.context_dir.display().to_string(), source })
}

/// True when `image` exists and carries `hash` in its build-hash label.
async fn is_current(docker: &Docker, image: &str, hash: &str) -> bool {
    let Ok(inspect) = docker.inspect_image(image).await else { return false };
    inspect.config.and_then(|c| c.labels).and_then(|labels| labels.get(HASH_LABEL).cloned()).is_some_and(|h| h == hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_do_not_repeat_the_command() {
        let m = "The command '/bin/sh -c exit 3' returned a non-zero code: 3";
        assert_eq!(compact(m), "the command returned a non-zero code: 3");
        assert_eq!(compact("pull access denied"), "pull access denied");
    }
}
