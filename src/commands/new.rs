//! `rfaas new NAME --lang L`: copy the template's starter handler to `./NAME/`, write or append
//! the stack file, and keep generated folders out of git.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::NewArgs;
use crate::commands::Context;
use crate::error::with_hint;
use crate::template::lookup::{self, Sources};

/// Entries `new` makes sure `.gitignore` has.
const GITIGNORED: &[&str] = &["template", "build", ".secrets"];

pub async fn run(args: NewArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.list {
        let langs = lookup::available(&ctx.cwd);
        ctx.printer.data(&format!("Languages available as templates:\n{}", bullet(&langs)));
        return Ok(());
    }
    let Some(name) = args.name.clone() else {
        return Err(with_hint(anyhow::anyhow!("give a name for the new function"), "rfaas new NAME --lang LANG"));
    };
    check_name(&name)?;
    let lang = match &args.lang {
        Some(l) => l.clone(),
        None => choose_lang(ctx)?,
    };
    let store_url = ctx.environment.template_store_url.clone();
    let sources = Sources { stack_templates: &[], store_url: &store_url, overwrite: false };
    let template = lookup::resolve(&lang, &ctx.cwd, &sources)
        .await
        .map_err(|e| with_hint(e, "see the languages with `rfaas new --list` or `rfaas template store list`"))?;
    let handler = args.handler.clone().unwrap_or_else(|| format!("./{name}"));
    let file = args.append.clone().or_else(|| ctx.global.yaml.clone()).unwrap_or_else(|| "stack.yaml".to_string());
    let handler_dir = ctx.cwd.join(&handler);
    if handler_dir.exists() {
        anyhow::bail!("Folder: {handler} already exists");
    }
    let block = function_block(&name, &lang, &handler, &image(&args, &name), &args);
    let stack_text = stack_text(&args, &file, &name, &block, ctx)?;
    let sub = template.spec.handler_folder().to_string();
    if template.has_dir(&sub) {
        template.copy_into(&sub, &handler_dir).with_context(|| format!("cannot create {handler}"))?;
    } else {
        fs_err::create_dir_all(&handler_dir)?;
    }
    fs_err::write(ctx.cwd.join(&file), stack_text)?;
    update_gitignore(&ctx.cwd)?;
    ctx.printer.status(&format!("Folder: {handler} created."));
    ctx.printer.status(&format!("Function created in folder: {handler}"));
    ctx.printer.status(&format!("Stack file {}: {file}", if args.append.is_some() { "updated" } else { "written" }));
    if !args.quiet && !template.spec.welcome_message.trim().is_empty() {
        ctx.printer.status(&format!("\nNotes:\n{}", template.spec.welcome_message.trim_end()));
    }
    Ok(())
}

fn bullet(items: &[String]) -> String {
    items.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n")
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let re = regex::Regex::new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("valid regex");
    if re.is_match(name) {
        return Ok(());
    }
    Err(with_hint(
        anyhow::anyhow!("invalid function name \"{name}\": function name can only contain a-z, 0-9 and dashes"),
        "start and end with a letter or digit, e.g. `hello-world`",
    ))
}

fn choose_lang(ctx: &Context) -> anyhow::Result<String> {
    let langs = lookup::available(&ctx.cwd);
    if !ctx.printer.can_prompt() {
        return Err(with_hint(
            anyhow::anyhow!("--lang is required when not running in a terminal"),
            format!("pick one of: {}", langs.join(", ")),
        ));
    }
    let index = dialoguer::Select::new()
        .with_prompt("Language template")
        .items(&langs)
        .default(0)
        .interact()
        .context("cannot read the language choice")?;
    Ok(langs[index].clone())
}

fn image(args: &NewArgs, name: &str) -> String {
    match args.prefix.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(prefix) => format!("{}/{name}:latest", prefix.trim_end_matches('/')),
        None => format!("{name}:latest"),
    }
}

fn function_block(name: &str, lang: &str, handler: &str, image: &str, args: &NewArgs) -> String {
    let mut out = format!("  {name}:\n    lang: {lang}\n    handler: {handler}\n    image: {image}\n");
    let r = &args.resources;
    for (key, cpu, memory) in
        [("limits", &r.cpu_limit, &r.memory_limit), ("requests", &r.cpu_request, &r.memory_request)]
    {
        if cpu.is_none() && memory.is_none() {
            continue;
        }
        let _ = writeln!(out, "    {key}:");
        if let Some(m) = memory {
            let _ = writeln!(out, "      memory: {m}");
        }
        if let Some(c) = cpu {
            let _ = writeln!(out, "      cpu: {c}");
        }
    }
    out
}

/// The new stack file text: a fresh file, or the `--append` file with the function added.
fn stack_text(args: &NewArgs, file: &str, name: &str, block: &str, ctx: &Context) -> anyhow::Result<String> {
    let path = ctx.cwd.join(file);
    let Some(append) = &args.append else {
        if path.exists() {
            anyhow::bail!("File: {file} already exists. Try \"rfaas new --append {file}\" instead");
        }
        let gateway = &args.gateway;
        return Ok(format!("version: 1.0\nprovider:\n  name: openfaas\n  gateway: {gateway}\nfunctions:\n{block}"));
    };
    if !(append.ends_with(".yml") || append.ends_with(".yaml")) {
        anyhow::bail!("--append file must end in .yml or .yaml: {append}");
    }
    let existing = fs_err::read_to_string(&path).context("the --append file must exist")?;
    if has_function(&existing, name) {
        anyhow::bail!("function {name} already exists in {append}");
    }
    let mut text = existing;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(block);
    if !has_function(&text, name) {
        return Err(with_hint(
            anyhow::anyhow!("cannot append {name} to {append}: `functions:` is not the last section of the file"),
            "move the functions: section to the end of the file",
        ));
    }
    Ok(text)
}

fn has_function(text: &str, name: &str) -> bool {
    let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(text) else { return false };
    value.get("functions").and_then(|f| f.get(name)).is_some()
}

pub fn update_gitignore(cwd: &Path) -> anyhow::Result<()> {
    let path = cwd.join(".gitignore");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    let present: Vec<&str> = text.lines().map(|l| l.trim().trim_matches('/')).collect();
    let missing: Vec<&str> = GITIGNORED.iter().copied().filter(|e| !present.contains(e)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for entry in missing {
        text.push_str(entry);
        text.push('\n');
    }
    fs_err::write(&path, text)?;
    Ok(())
}
