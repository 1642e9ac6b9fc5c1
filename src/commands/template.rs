//! `rfaas template pull [REPO|stack]` and `rfaas template store list|describe|pull`.

use crate::cli::{
    TemplateArgs, TemplateCommand, TemplatePullArgs, TemplateStoreArgs, TemplateStoreCommand,
    TemplateStoreDescribeArgs, TemplateStoreListArgs, TemplateStorePullArgs,
};
use crate::commands::Context;
use crate::error::with_hint;
use crate::template::lookup::{self, Sources};
use crate::template::pull::{self, DEFAULT_REPOSITORY, PullOptions};
use crate::template::store::{self, Selection, StoreEntry};

pub async fn run(args: TemplateArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        TemplateCommand::Pull(a) if a.repository.as_deref() == Some("stack") => pull_stack(a, ctx).await,
        TemplateCommand::Pull(a) => pull_repo(a, ctx),
        TemplateCommand::Store(TemplateStoreArgs { command }) => match command {
            TemplateStoreCommand::List(a) => list(a, ctx).await,
            TemplateStoreCommand::Describe(a) => describe(a, ctx).await,
            TemplateStoreCommand::Pull(a) => store_pull(a, ctx).await,
        },
    }
}

fn pull_repo(args: TemplatePullArgs, ctx: &Context) -> anyhow::Result<()> {
    let repo = args
        .repository
        .or_else(|| std::env::var(crate::env_vars::OPENFAAS_TEMPLATE_URL).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| DEFAULT_REPOSITORY.to_string());
    let opts = PullOptions { overwrite: args.overwrite.overwrite, debug: args.debug, only: None };
    pull_and_report(&repo, &opts, ctx)
}

fn pull_and_report(repo: &str, opts: &PullOptions, ctx: &Context) -> anyhow::Result<()> {
    ctx.printer.status(&format!("Fetching templates from {repo}"));
    match pull::pull(repo, &ctx.cwd, opts) {
        Ok(pulled) => {
            if let Some(dir) = pulled.kept {
                ctx.printer.status(&format!("Kept the clone in {} (--debug)", dir.display()));
            }
            let written = pulled.written;
            ctx.printer.status(&format!("Wrote {} template(s) : [{}]", written.len(), written.join(" ")));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn pull_stack(args: TemplatePullArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.load_stack(true).await?;
    let entries = &stack.file.configuration.templates;
    if entries.is_empty() {
        return Err(with_hint(
            anyhow::anyhow!("can't read configuration: no template repos currently configured"),
            format!("add configuration.templates entries to {}", stack.source),
        ));
    }
    let store_url = ctx.environment.template_store_url.clone();
    let sources = Sources { stack_templates: entries, store_url: &store_url, overwrite: args.overwrite.overwrite };
    for entry in entries {
        lookup::pull_entry(entry, &ctx.cwd, &sources).await?;
        ctx.printer.status(&format!("Wrote template {}", entry.name));
    }
    Ok(())
}

async fn list(args: TemplateStoreListArgs, ctx: &Context) -> anyhow::Result<()> {
    let entries = store::fetch(&args.url.url, &ctx.cwd).await?;
    let sel = Selection { platform: &args.platform, official: args.official, recommended: args.recommended };
    let selected = store::select(&entries, &sel);
    if args.json {
        return ctx.printer.json(&selected);
    }
    let rows: Vec<Vec<String>> = selected
        .iter()
        .map(|e| {
            let mut row = vec![e.template.clone()];
            if args.verbose {
                row.extend([e.language.clone(), e.platform.clone()]);
            }
            row.extend([e.source.clone(), e.description.clone()]);
            row
        })
        .collect();
    let header: &[&str] = if args.verbose {
        &["NAME", "LANGUAGE", "PLATFORM", "SOURCE", "DESCRIPTION"]
    } else {
        &["NAME", "SOURCE", "DESCRIPTION"]
    };
    ctx.printer.data(&crate::output::table(header, &rows, crate::output::Columns::Spaces));
    Ok(())
}

async fn find(url: &str, name: &str, ctx: &Context) -> anyhow::Result<(StoreEntry, Option<String>)> {
    let entries = store::fetch(url, &ctx.cwd).await?;
    let (source, base, reference) = store::parse_name(name);
    let entry = store::find(&entries, source, base, store::host_platform()).cloned().ok_or_else(|| {
        with_hint(
            store::StoreError::NotFound { name: name.to_string(), url: url.to_string() },
            "see `rfaas template store list` for the available names",
        )
    })?;
    Ok((entry, reference.map(str::to_string)))
}

async fn describe(args: TemplateStoreDescribeArgs, ctx: &Context) -> anyhow::Result<()> {
    let (e, _) = find(&args.url.url, &args.name, ctx).await?;
    if args.json {
        return ctx.printer.json(&e);
    }
    let mark = |b: bool| if b { "[x]" } else { "[ ]" };
    ctx.printer.data(&format!(
        "Name:              {}\nDescription:       {}\nLanguage:          {}\nSource:            {}\nRepository:        {}\nPlatform:          {}\nOfficial:          {}\nRecommended:       {}",
        e.template, e.description, e.language, e.source, e.repo, e.platform, mark(e.is_official()), mark(e.recommended)
    ));
    Ok(())
}

async fn store_pull(args: TemplateStorePullArgs, ctx: &Context) -> anyhow::Result<()> {
    let (entry, reference) = find(&args.url.url, &args.name, ctx).await?;
    let repo = store::pull_source(&entry, reference.as_deref());
    let opts = PullOptions { overwrite: args.overwrite.overwrite, debug: args.debug, only: None };
    pull_and_report(&repo, &opts, ctx)
}
