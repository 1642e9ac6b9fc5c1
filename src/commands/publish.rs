//! `rfaas publish`: build every selected function for each `--platforms` entry and push one
//! multi-platform image index per function (see [`crate::ops::publish`]).
//!
//! Everything that can be checked is checked before the first build: the platform list, the
//! extra tags, the Pro-only flags, the stack and templates, and that each registry answers and
//! takes the credentials.

use std::collections::HashMap;
use std::time::Instant;

use crate::cli::{BuildFlags, DEFAULT_PLATFORMS, MultiArchFlags, PublishArgs};
use crate::commands::Context;
use crate::docker::auth;
use crate::docker::build::{BuildJob, EngineOptions, PullAuth};
use crate::docker::progress::Board;
use crate::error::with_hint;
use crate::ops::publish::{self, Platform, PublishOptions, Published};
use crate::stack::Stack;
use crate::stack::image::TagFormat;

pub async fn run(args: PublishArgs, ctx: &Context) -> anyhow::Result<()> {
    let platforms = check_multi_arch(&args.multi)?;
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    let opts = options(platforms, &args.multi, &args.flags, args.parallel);
    let step = Step {
        flags: &args.flags,
        tag: args.tag.tag,
        reset_qemu: args.multi.reset_qemu,
        quiet: args.quiet,
        shrinkwrap: args.shrinkwrap,
    };
    publish_stack(&stack, &step, &opts, ctx).await.map(|_| ())
}

/// How the images are built for a publish (`publish` and `up --publish`).
pub struct Step<'a> {
    pub flags: &'a BuildFlags,
    pub tag: TagFormat,
    pub reset_qemu: bool,
    pub quiet: bool,
    /// Only write ./build/<fn>/.
    pub shrinkwrap: bool,
}

/// The publish options from the flags `publish` and `up --publish` share.
pub fn options(
    platforms: Vec<Platform>,
    multi: &MultiArchFlags,
    flags: &BuildFlags,
    parallel: crate::ops::Parallelism,
) -> PublishOptions {
    PublishOptions {
        platforms,
        extra_tags: multi.extra_tags.clone(),
        parallel: parallel.get(),
        engine: EngineOptions { force: false, no_cache: flags.no_cache, pull: flags.pull, squash: flags.squash },
    }
}

/// Refuses what rfaas cannot do, and parses the platforms and tags, before anything else.
pub fn check_multi_arch(multi: &MultiArchFlags) -> anyhow::Result<Vec<Platform>> {
    let pro = [
        ("--remote-builder", multi.remote_builder.is_some()),
        ("--payload-secret", multi.payload_secret.is_some()),
        ("--builder-public-key", multi.builder_public_key.is_some()),
    ];
    if let Some((flag, _)) = pro.iter().find(|(_, given)| *given) {
        return Err(with_hint(
            anyhow::anyhow!("{flag} is for OpenFaaS Pro's remote builder, which rfaas does not support"),
            "build with the local engine instead: drop the flag (and OPENFAAS_REMOTE_BUILDER / OPENFAAS_PAYLOAD_SECRET)",
        ));
    }
    let platforms = publish::parse_platforms(multi.platforms.as_deref().unwrap_or(DEFAULT_PLATFORMS)).map_err(|e| {
        let hint = e.hint();
        with_hint(e, hint)
    })?;
    for tag in &multi.extra_tags {
        publish::check_tag(tag).map_err(|e| anyhow::anyhow!("--extra-tag: {e}"))?;
    }
    Ok(platforms)
}

/// The publish step of `publish` and `up --publish`, over a loaded stack; returns what was
/// published.
pub async fn publish_stack(
    stack: &Stack,
    args: &Step<'_>,
    opts: &PublishOptions,
    ctx: &Context,
) -> anyhow::Result<Vec<Published>> {
    let build = crate::commands::build::options(args.flags, args.tag, false, crate::ops::Parallelism::ONE);
    let (mut jobs, _skipped) = crate::ops::build::prepare(stack, &build, &ctx.env()).await?;
    if args.shrinkwrap {
        for job in &jobs {
            ctx.printer.status(&format!("{} shrink-wrapped to build/{}", job.function, job.function));
        }
        return Ok(Vec::new());
    }
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let push = jobs
        .iter()
        .map(|j| crate::docker::push::PushJob { function: j.function.clone(), image: j.image.clone() })
        .collect::<Vec<_>>();
    crate::docker::push::check_prefixes(&push)?;
    for job in &mut jobs {
        job.pull_auth = pull_auth(&job.image)?;
    }
    let docker = crate::docker::connect().await?;
    if args.reset_qemu {
        crate::docker::qemu::reset(&docker, &ctx.printer).await?;
    }
    let repos = match publish::open_repositories(&docker, &jobs).await {
        Ok(r) => r,
        Err(failed) => return Err(registry_failure(failed)),
    };
    let paired: Vec<(BuildJob, _)> = jobs
        .into_iter()
        .map(|j| {
            let repo = repos.iter().find(|(f, _)| *f == j.function).map(|(_, r)| r.clone()).expect("opened above");
            (j, repo)
        })
        .collect();
    let total = paired.len();
    let board = Board::new(&ctx.printer, !args.quiet);
    let started = Instant::now();
    let names: Vec<String> = opts.platforms.iter().map(ToString::to_string).collect();
    ctx.printer.status(&format!("Publishing {total} function(s) for {}", names.join(", ")));
    let results = publish::publish_all(&docker, paired, opts, &board).await;
    summarize(results, total, started, ctx)
}

/// The target registry's credentials, for base images the engine pulls from it.
fn pull_auth(image: &str) -> anyhow::Result<PullAuth> {
    let registry = auth::registry_of(image);
    let mut map = HashMap::new();
    if let Some(creds) = auth::credentials_for(&registry)? {
        map.insert(registry, creds);
    }
    Ok(PullAuth(map))
}

fn registry_failure(failed: Vec<(String, crate::docker::registry::RegistryError)>) -> anyhow::Error {
    let hints: Vec<String> =
        failed.iter().filter_map(|(_, e)| e.hint()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let lines: Vec<String> = failed.iter().map(|(f, e)| format!("  {f}: {e}")).collect();
    let err = anyhow::anyhow!("cannot publish, nothing was built:\n{}", lines.join("\n"));
    if hints.is_empty() { err } else { with_hint(err, hints.join("\nhint: ")) }
}

fn summarize(
    results: Vec<(String, Result<Published, publish::PublishError>)>,
    total: usize,
    started: Instant,
    ctx: &Context,
) -> anyhow::Result<Vec<Published>> {
    let mut published = Vec::new();
    let mut failed = Vec::new();
    let mut hints = Vec::new();
    for (function, result) in results {
        match result {
            Ok(p) => {
                let platforms: Vec<String> =
                    p.manifests.iter().map(|m| format!("{}/{}", m.platform.os, m.platform.architecture)).collect();
                let (repo, _) = crate::docker::split_tag(&p.image);
                ctx.printer.data(&format!(
                    "{function}: published {repo}:{} {} ({}) in {:.1}s",
                    p.tags.join(","),
                    p.index_digest,
                    platforms.join(", "),
                    p.seconds
                ));
                published.push(p);
            }
            Err(e) => {
                ctx.printer.error(&format!("{function}: not published: {e}"));
                if let Some(h) = e.hint().filter(|h| !hints.contains(h)) {
                    hints.push(h);
                }
                failed.push(function);
            }
        }
    }
    ctx.printer.status(&format!(
        "Published {}, failed {} in {:.1}s",
        published.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    ));
    if failed.is_empty() {
        return Ok(published);
    }
    failed.sort();
    let err = anyhow::anyhow!(
        "failed to publish {} of {total} functions: {} (their tags in the registry were left as they were; \
         platforms that built may have been pushed under <tag>-<os>-<arch>)",
        failed.len(),
        failed.join(", ")
    );
    Err(if hints.is_empty() { err } else { with_hint(err, hints.join("\nhint: ")) })
}
