//! Publishing multi-platform images without buildx.
//!
//! For each function: one build per platform through the engine's build API (its `platform`
//! parameter; the legacy builder then takes each platform's variant of the base image), each
//! platform's image pushed by the engine under its own tag (`<tag>-<os>-<arch>`, see
//! [`platform_tag`]), its manifest read back from the registry, and only when every platform made
//! it, one image index (manifest list) of those digests pushed under the function's tag and the
//! `--extra-tag`s. A failure in any platform leaves those tags as they were: no index, nothing
//! half-published under the names users pull.
//!
//! The engine's push is used rather than uploading blobs ourselves: it knows which layers the
//! registry already has (the base image's, unchanged steps') and sends only the new ones,
//! compressed as it goes.
//!
//! Builds of one function run one after the other (concurrent builds of one base image for two
//! platforms race in the engine's single-platform image store), but each push overlaps the next
//! platform's build.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use bollard::Docker;
use futures_util::StreamExt;

use crate::docker::build::{self, BuildError, BuildJob, EngineOptions, Outcome};
use crate::docker::progress::Board;
use crate::docker::push::{self, PushError, PushJob};
use crate::docker::registry::{PushedManifest, RegistryError, Repository};

/// One target platform, `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

/// Architectures the engine's platform parameter knows (Go's GOARCH names).
const ARCHES: &[&str] = &["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"];

/// A `--platforms` value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid --platforms \"{value}\": {reason}")]
pub struct PlatformError {
    pub value: String,
    pub reason: String,
}

impl PlatformError {
    pub fn hint(&self) -> String {
        "give a comma-separated list of os/arch[/variant], e.g. --platforms linux/amd64,linux/arm64,linux/arm/v7"
            .to_string()
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(*variant)),
            _ => return Err(format!("\"{s}\" is not os/arch or os/arch/variant")),
        };
        if os != "linux" {
            return Err(format!("\"{s}\": only linux images can be built by a Linux engine (os \"{os}\")"));
        }
        if !ARCHES.contains(&arch) {
            let known = ARCHES.join(", ");
            let tip = match arch {
                "x86_64" | "x86-64" => " (x86_64 is amd64)",
                "aarch64" => " (aarch64 is arm64)",
                "armhf" => " (armhf is arm/v7)",
                _ => "",
            };
            return Err(format!("\"{s}\": unknown architecture \"{arch}\"{tip}; known: {known}"));
        }
        let variant = match (arch, variant) {
            (_, None) => None,
            ("arm", Some(v @ ("v5" | "v6" | "v7"))) | ("arm64", Some(v @ "v8")) => Some(v.to_string()),
            (_, Some(v)) => return Err(format!("\"{s}\": variant \"{v}\" does not exist for {arch}")),
        };
        Ok(Platform { os: os.to_string(), arch: arch.to_string(), variant })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Parses `linux/amd64,linux/arm64`: at least one platform, no duplicates, every entry valid.
pub fn parse_platforms(value: &str) -> Result<Vec<Platform>, PlatformError> {
    let fail = |reason: String| PlatformError { value: value.to_string(), reason };
    let mut out: Vec<Platform> = Vec::new();
    for part in value.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(fail("an empty entry".to_string()));
        }
        let platform: Platform = part.parse().map_err(fail)?;
        if out.contains(&platform) {
            return Err(fail(format!("{platform} is listed twice")));
        }
        out.push(platform);
    }
    Ok(out)
}

/// A tag the registry accepts (the OCI distribution spec's rule).
pub fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid tag \"{tag}\": up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"))
    }
}

/// What to publish and how.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub platforms: Vec<Platform>,
    /// Tags pushed besides the image's own (the tag part replaced).
    pub extra_tags: Vec<String>,
    /// Functions published at the same time.
    pub parallel: usize,
    pub engine: EngineOptions,
}

/// One function published.
#[derive(Debug, Clone)]
pub struct Published {
    pub function: String,
    /// The image reference with the function's own tag.
    pub image: String,
    /// Every tag the index was pushed under.
    pub tags: Vec<String>,
    pub index_digest: String,
    pub manifests: Vec<PushedManifest>,
    pub seconds: f64,
}

/// Why one function was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{platform}: {source}")]
    Build { platform: Platform, source: BuildError },
    #[error("{platform}: {source}")]
    Push { platform: Platform, source: PushError },
    #[error("{platform}: reading the pushed manifest back: {source}")]
    ReadBack { platform: Platform, source: RegistryError },
    #[error("{wanted}: the engine built an image for {got}; the base image has no {wanted} variant it can use")]
    WrongPlatform { wanted: Platform, got: String },
    #[error("pushing the image index: {0}")]
    Index(RegistryError),
    #[error("{0}")]
    Other(String),
}

impl PublishError {
    pub fn hint(&self) -> Option<String> {
        match self {
            PublishError::Push { source, .. } => source.hint(),
            PublishError::ReadBack { source, .. } | PublishError::Index(source) => source.hint(),
            PublishError::WrongPlatform { .. } => Some(
                "make the base image (FROM) a multi-platform image, or pass one per platform with --build-arg"
                    .to_string(),
            ),
            PublishError::Build { platform, source } if source.to_string().contains("exec format error") => {
                Some(format!(
                    "building for {platform} on another architecture needs emulation: `apt-get install \
                     qemu-user-static binfmt-support` (or `rfaas publish --reset-qemu`)"
                ))
            }
            PublishError::Build { .. } => None,
            PublishError::Other(_) => None,
        }
    }
}

/// `repo:tag` → `repo:tag-os-arch[-variant]`: where each platform's build is kept in the engine
/// (its single-platform image store can hold one image per tag).
pub fn platform_tag(image: &str, platform: &Platform) -> String {
    let (repo, tag) = crate::docker::split_tag(image);
    let mut suffix = format!("{}-{}", platform.os, platform.arch);
    if let Some(v) = &platform.variant {
        suffix.push('-');
        suffix.push_str(v);
    }
    format!("{repo}:{}-{suffix}", tag.unwrap_or("latest"))
}

/// The tags one function's index goes under: its own, then the extra ones.
pub fn tags_for(image: &str, extra: &[String]) -> Vec<String> {
    let (_, tag) = crate::docker::split_tag(image);
    let mut tags = vec![tag.unwrap_or("latest").to_string()];
    for t in extra {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    tags
}

/// Opens the registry repository of every job and checks push access, before anything is built.
pub async fn open_repositories(
    docker: &Docker,
    jobs: &[BuildJob],
) -> Result<Vec<(String, Arc<Repository>)>, Vec<(String, RegistryError)>> {
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for job in jobs {
        let repo = match Repository::open(docker, &job.image).await {
            Ok(r) => r,
            Err(e) => {
                failed.push((job.function.clone(), e));
                continue;
            }
        };
        match repo.check_push_access().await {
            Ok(()) => out.push((job.function.clone(), Arc::new(repo))),
            Err(e) => failed.push((job.function.clone(), e)),
        }
    }
    if failed.is_empty() { Ok(out) } else { Err(failed) }
}

/// Publishes every job, at most `opts.parallel` functions at a time; every function runs to its
/// end, each result is its own.
pub async fn publish_all(
    docker: &Docker,
    jobs: Vec<(BuildJob, Arc<Repository>)>,
    opts: &PublishOptions,
    board: &Board,
) -> Vec<(String, Result<Published, PublishError>)> {
    let native = native_platform(docker).await;
    futures_util::stream::iter(jobs)
        .map(|(job, repo)| {
            let native = native.clone();
            async move {
                let result = publish_one(docker, &job, repo, opts, native.as_ref(), board).await;
                (job.function.clone(), result)
            }
        })
        .buffer_unordered(opts.parallel.max(1))
        .collect()
        .await
}

/// Non-native platforms first, the engine's own last: each build pulls its platform's base image,
/// which moves the base's tag in the engine's one-platform-per-tag store, and this way it ends on
/// the engine's own platform again.
fn build_order<'a>(platforms: &'a [Platform], native: Option<&Platform>) -> Vec<&'a Platform> {
    let mut order: Vec<&Platform> = platforms.iter().filter(|p| Some(*p) != native).collect();
    order.extend(platforms.iter().filter(|p| Some(*p) == native));
    order
}

/// True when the build failed at a `FROM` step: the base image could not be had.
fn is_from_step(e: &BuildError) -> bool {
    matches!(e, BuildError::Failed { step: Some(step), .. }
        if step.split(" : ").nth(1).is_some_and(|s| s.trim_start().to_uppercase().starts_with("FROM")))
}

/// One platform's build. Publish pulls the base image for each platform (the engine's
/// single-platform store may hold another platform's variant under the same tag, and the legacy
/// builder takes a local image whatever its platform), so no build is skipped as unchanged; the
/// layer cache still applies.
async fn build_platform(
    docker: &Docker,
    job: &BuildJob,
    platform: &Platform,
    engine: EngineOptions,
    board: &Board,
) -> Result<Outcome, BuildError> {
    let mut task = board.task(&format!("{} {platform}", job.function));
    let result = build::build_one(docker, job, engine, &mut task).await;
    match &result {
        Ok(Outcome::Unchanged) => task.finish(&format!("{} {platform} unchanged, skipping build", job.function)),
        Ok(Outcome::Built { seconds }) => {
            task.finish(&format!("{} {platform} built {} in {seconds:.1}s", job.function, job.image))
        }
        Err(e) => {
            task.finish(&format!("{} {platform} failed: {e}", job.function));
            if let BuildError::Failed { tail, .. } = e
                && !tail.is_empty()
            {
                board.println(&format!(
                    "[{} {platform}] last lines of the build log:\n  {}",
                    job.function,
                    tail.join("\n  ")
                ));
            }
        }
    }
    result
}

async fn publish_one(
    docker: &Docker,
    job: &BuildJob,
    repo: Arc<Repository>,
    opts: &PublishOptions,
    native: Option<&Platform>,
    board: &Board,
) -> Result<Published, PublishError> {
    let started = Instant::now();
    let mut uploads = Vec::new();
    for platform in build_order(&opts.platforms, native) {
        let local = platform_tag(&job.image, platform);
        let mut pjob = job.clone();
        pjob.image = local.clone();
        pjob.platform = Some(platform.to_string());
        let is_native = native == Some(platform);
        let pulling = EngineOptions { pull: true, ..opts.engine };
        let result = match build_platform(docker, &pjob, platform, pulling, board).await {
            // A base image only the engine has (never pushed anywhere) cannot be pulled: for the
            // engine's own platform the local one is the right one.
            Err(e) if is_native && is_from_step(&e) => {
                board.println(&format!("{} {platform}: base image not pullable, using the local one", job.function));
                build_platform(docker, &pjob, platform, EngineOptions { pull: false, ..opts.engine }, board).await
            }
            other => other,
        };
        if let Err(source) = result {
            abort_all(&uploads);
            return Err(PublishError::Build { platform: platform.clone(), source });
        }
        let (docker, repo, platform, board) = (docker.clone(), repo.clone(), platform.clone(), board.clone());
        let function = job.function.clone();
        uploads.push(tokio::spawn(async move {
            let pushed = push_platform(&docker, &repo, &function, &local, &platform, &board).await;
            (platform, pushed)
        }));
    }
    let mut manifests = Vec::new();
    let mut first_error = None;
    for handle in uploads {
        let (platform, pushed) = match handle.await {
            Ok(r) => r,
            Err(e) => return Err(PublishError::Other(format!("an upload task failed: {e}"))),
        };
        match pushed {
            Ok(m) if matches_platform(&m, &platform) => manifests.push((platform, m)),
            Ok(m) => {
                let got = format!("{}/{}", m.platform.os, m.platform.architecture);
                first_error.get_or_insert(PublishError::WrongPlatform { wanted: platform, got });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    // The index lists the platforms in the order they were asked for.
    manifests.sort_by_key(|(p, _)| opts.platforms.iter().position(|q| q == p));
    let manifests: Vec<PushedManifest> = manifests.into_iter().map(|(_, m)| m).collect();
    let tags = tags_for(&job.image, &opts.extra_tags);
    let index_digest = repo.push_index(&manifests, &tags).await.map_err(PublishError::Index)?;
    if let Some(native) = native.filter(|n| opts.platforms.contains(n)) {
        tag_locally(docker, &platform_tag(&job.image, native), &job.image).await;
    }
    Ok(Published {
        function: job.function.clone(),
        image: job.image.clone(),
        tags,
        index_digest,
        manifests,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Pushes one platform's image (`local`, its per-platform tag) with the engine, then reads the
/// manifest the registry stored for it: by the digest the engine reported, else by the tag.
async fn push_platform(
    docker: &Docker,
    repo: &Repository,
    function: &str,
    local: &str,
    platform: &Platform,
    board: &Board,
) -> Result<PushedManifest, PublishError> {
    let mut task = board.task(&format!("{function} {platform}"));
    let job = PushJob { function: function.to_string(), image: local.to_string() };
    let started = Instant::now();
    let digest = match push::push_one(docker, &job, &mut task).await {
        Ok(d) => d,
        Err(source) => {
            task.finish(&format!("{function} {platform} push failed: {source}"));
            return Err(PublishError::Push { platform: platform.clone(), source });
        }
    };
    let reference = if digest.is_empty() { crate::docker::split_tag(local).1.unwrap_or("latest") } else { &digest };
    let result = repo.manifest(reference).await;
    match &result {
        Ok(m) => task.finish(&format!(
            "{function} {platform} pushed {local} {} in {:.1}s",
            m.digest,
            started.elapsed().as_secs_f64()
        )),
        Err(e) => task.finish(&format!("{function} {platform} push failed: {e}")),
    }
    result.map_err(|source| PublishError::ReadBack { platform: platform.clone(), source })
}

fn abort_all<T>(handles: &[tokio::task::JoinHandle<T>]) {
    for h in handles {
        h.abort();
    }
}

fn matches_platform(m: &PushedManifest, p: &Platform) -> bool {
    let variant_ok = match (&p.variant, &m.platform.variant) {
        (Some(want), Some(got)) => want == got,
        (Some(_), None) => true,
        (None, _) => true,
    };
    m.platform.os == p.os && m.platform.architecture == p.arch && variant_ok
}

/// The engine's own platform, so its build can also carry the plain tag locally.
async fn native_platform(docker: &Docker) -> Option<Platform> {
    let version = docker.version().await.ok()?;
    let arch = match version.arch.as_deref()? {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    Some(Platform { os: version.os.unwrap_or_else(|| "linux".into()), arch: arch.to_string(), variant: None })
}

/// Best effort: a missing local tag only costs convenience, never the publish.
async fn tag_locally(docker: &Docker, from: &str, to: &str) {
    let (repo, tag) = crate::docker::split_tag(to);
    let options = bollard::query_parameters::TagImageOptions {
        repo: Some(repo.to_string()),
        tag: Some(tag.unwrap_or("latest").to_string()),
    };
    let _ = docker.tag_image(from, Some(options)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_lists_parse() {
        let p = parse_platforms("linux/amd64, linux/arm64,linux/arm/v7").unwrap();
        assert_eq!(
            p.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["linux/amd64", "linux/arm64", "linux/arm/v7"]
        );
    }

    #[test]
    fn bad_platform_lists_say_what_is_wrong() {
        let err = |s: &str| parse_platforms(s).unwrap_err().to_string();
        assert!(err("").contains("an empty entry"));
        assert!(err("linux/amd64,").contains("an empty entry"));
        assert!(err("linux/x86_64").contains("x86_64 is amd64"), "{}", err("linux/x86_64"));
        assert!(err("windows/amd64").contains("only linux"));
        assert!(err("linux").contains("is not os/arch"));
        assert!(err("linux/arm64/v7").contains("variant \"v7\" does not exist for arm64"));
        assert!(err("linux/amd64,linux/amd64").contains("listed twice"));
        assert!(err("linux/amd64/x/y").contains("is not os/arch"));
        assert!(err("../../etc/passwd").contains("only linux") || err("../../etc/passwd").contains("is not os/arch"));
    }

    #[test]
    fn the_engines_own_platform_builds_last_and_from_failures_are_recognised() {
        let ps = parse_platforms("linux/amd64,linux/arm64,linux/arm/v7").unwrap();
        let order: Vec<String> = build_order(&ps, Some(&ps[0])).iter().map(ToString::to_string).collect();
        assert_eq!(order, ["linux/arm64", "linux/arm/v7", "linux/amd64"]);
        assert_eq!(build_order(&ps, None).len(), 3);
        let failed = |step: &str| BuildError::Failed { message: "x".into(), step: Some(step.into()), tail: vec![] };
        assert!(is_from_step(&failed("Step 1/22 : FROM debian:bookworm-slim")));
        assert!(is_from_step(&failed("Step 5/9 : from golang AS build")));
        assert!(!is_from_step(&failed("Step 2/2 : RUN make")));
    }

    #[test]
    fn per_platform_tags_and_extra_tags() {
        let arm = Platform { os: "linux".into(), arch: "arm".into(), variant: Some("v7".into()) };
        assert_eq!(platform_tag("127.0.0.1:5000/a/fn:1.0", &arm), "127.0.0.1:5000/a/fn:1.0-linux-arm-v7");
        assert_eq!(
            platform_tag("127.0.0.1:5000/fn", &"linux/arm64".parse().unwrap()),
            "127.0.0.1:5000/fn:latest-linux-arm64"
        );
        assert_eq!(tags_for("r/fn:1.0", &["stable".into(), "1.0".into()]), ["1.0", "stable"]);
        assert!(check_tag("v1.2_rc-3").is_ok());
        for bad in ["", ".hidden", "-x", "a/b", "a:b", &"x".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
