//! Pushing function images with the engine, using the credentials Docker's config holds for
//! each image's registry, and telling apart the failures users hit: not logged in, registry
//! down, image never built.

use std::time::Instant;

use bollard::Docker;
use bollard::query_parameters::PushImageOptions;
use futures_util::StreamExt;

use super::auth::{self, AuthError};
use super::progress::{Board, Task};

/// One image to push.
#[derive(Debug, Clone)]
pub struct PushJob {
    pub function: String,
    pub image: String,
}

/// Why one push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{registry} refused the push of {image}: {message}")]
    Unauthorized { image: String, registry: String, message: String },
    #[error("cannot reach the registry {registry}: {message}")]
    Unreachable { registry: String, message: String },
    #[error("image {image} does not exist locally: {message}")]
    NotBuilt { image: String, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("push of {image} failed: {message}")]
    Failed { image: String, message: String },
}

impl PushError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            PushError::Unauthorized { registry, .. } => Some(format!(
                "log in to {registry}: `rfaas registry-login --server {registry} -u USER --password-stdin` then \
                 `DOCKER_CONFIG=./credentials rfaas push`, or `docker login {registry}`"
            )),
            PushError::Unreachable { registry, .. } => Some(format!("is the registry at {registry} running?")),
            PushError::NotBuilt { .. } => Some("run `rfaas build` first".to_string()),
            _ => None,
        }
    }
}

impl crate::error::Hint for PushError {
    fn hint(&self) -> Option<String> {
        PushError::hint(self)
    }
}

/// faas-cli's rule: a pushed image needs a registry or user prefix (a `/`).
#[derive(Debug, thiserror::Error)]
#[error(
    "unable to push one or more of your functions to Docker Hub:\n{}\nYou must provide a username or registry prefix to the Function's image such as user1/function1",
    .0.iter().map(|(f, i)| format!("  - {f} has image {i}")).collect::<Vec<_>>().join("\n")
)]
pub struct NoPrefix(pub Vec<(String, String)>);

/// Checks every image for a prefix, listing all that lack one.
pub fn check_prefixes(jobs: &[PushJob]) -> Result<(), NoPrefix> {
    let bad: Vec<(String, String)> =
        jobs.iter().filter(|j| !j.image.contains('/')).map(|j| (j.function.clone(), j.image.clone())).collect();
    if bad.is_empty() { Ok(()) } else { Err(NoPrefix(bad)) }
}

/// Pushes every job, at most `parallel` at a time; every job runs to the end.
pub async fn push_all(
    docker: &Docker,
    jobs: Vec<PushJob>,
    board: &Board,
    parallel: usize,
) -> Vec<(PushJob, Result<String, PushError>)> {
    futures_util::stream::iter(jobs)
        .map(|job| async move {
            let mut task = board.task(&job.function);
            let started = Instant::now();
            let result = push_one(docker, &job, &mut task).await;
            match &result {
                Ok(digest) => task.finish(&format!(
                    "{} pushed {} {digest} in {:.1}s",
                    job.function,
                    job.image,
                    started.elapsed().as_secs_f64()
                )),
                Err(e) => task.finish(&format!("{} push failed: {e}", job.function)),
            }
            (job, result)
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await
}

/// Pushes one image; returns its digest (or an empty string if the engine did not report one).
pub async fn push_one(docker: &Docker, job: &PushJob, task: &mut Task) -> Result<String, PushError> {
    let registry = auth::registry_of(&job.image);
    let creds = auth::credentials_for(&registry)?;
    let (repo, tag) = super::split_tag(&job.image);
    let options = PushImageOptions { tag: Some(tag.unwrap_or("latest").to_string()), ..Default::default() };
    task.status(&format!("Pushing {}", job.image));
    let mut stream = docker.push_image(repo, Some(options), creds);
    let mut digest = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                let status = info.status.unwrap_or_default();
                if let Some(d) = status.split("digest: ").nth(1) {
                    digest = d.split_whitespace().next().unwrap_or_default().to_string();
                }
                // Per-layer states carry no layer id here; only the summary lines are worth showing.
                if !matches!(
                    status.as_str(),
                    "Pushing" | "Preparing" | "Waiting" | "Pushed" | "Layer already exists" | ""
                ) {
                    task.output(&format!("{status}\n"));
                }
            }
            Err(e) => return Err(classify(&job.image, &registry, super::engine_reason(&e))),
        }
    }
    Ok(digest)
}

fn classify(image: &str, registry: &str, message: String) -> PushError {
    let lower = message.to_lowercase();
    let (image, registry) = (image.to_string(), registry.to_string());
    if lower.contains("unauthorized") || lower.contains("authentication required") || lower.contains("no basic auth") {
        PushError::Unauthorized { image, registry, message }
    } else if ["connection refused", "no such host", "i/o timeout", "dial tcp", "connection reset"]
        .iter()
        .any(|s| lower.contains(s))
    {
        PushError::Unreachable { registry, message }
    } else if lower.contains("does not exist") || lower.contains("no such image") {
        PushError::NotBuilt { image, message }
    } else {
        PushError::Failed { image, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified() {
        let c = |m: &str| classify("r:5000/a/fn:1", "r:5000", m.to_string());
        assert!(matches!(c("unauthorized: authentication required"), PushError::Unauthorized { .. }));
        assert!(matches!(
            c("Get \"http://r:5000/v2/\": dial tcp 127.0.0.1:5001: connect: connection refused"),
            PushError::Unreachable { .. }
        ));
        assert!(matches!(c("An image does not exist locally with the tag: r:5000/a/fn"), PushError::NotBuilt { .. }));
        assert!(matches!(c("boom"), PushError::Failed { .. }));
    }

    #[test]
    fn images_need_a_prefix() {
        let jobs = vec![
            PushJob { function: "a".into(), image: "fn-a:latest".into() },
            PushJob { function: "b".into(), image: "user/fn-b:latest".into() },
        ];
        let err = check_prefixes(&jobs).unwrap_err().to_string();
        assert!(err.contains("  - a has image fn-a:latest") && !err.contains("fn-b"), "{err}");
    }
}
