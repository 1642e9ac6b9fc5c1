//! `rfaas plugin get`: a thin adapter over [`crate::plugins::get`].

use crate::cli::plugin::{PluginArgs, PluginCommand};
use crate::commands::Context;
use crate::plugins::{self, GetOptions};

pub async fn run(args: PluginArgs, ctx: &Context) -> anyhow::Result<()> {
    let PluginCommand::Get(a) = args.command;
    let arch = match a.arch.as_deref().unwrap_or(std::env::consts::ARCH).to_lowercase().as_str() {
        "x86_64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    };
    let os = a.os.clone().unwrap_or_else(|| std::env::consts::OS.to_string()).to_lowercase();
    let dir = match &a.path {
        Some(p) => ctx.cwd.join(p),
        None => plugins::plugin_dir().ok_or_else(|| anyhow::anyhow!("cannot find the home directory; give --path"))?,
    };
    let opts =
        GetOptions { name: a.name.clone(), registry: a.registry.clone(), version: a.version.clone(), os, arch, dir };
    if a.verbose {
        ctx.printer.status(&format!(
            "Fetching plugin: {} {}/{}:{} for: {}/{}",
            opts.name, opts.registry, opts.name, opts.version, opts.os, opts.arch
        ));
    } else {
        ctx.printer.status(&format!("Fetching plugin: {}", opts.name));
    }
    let started = std::time::Instant::now();
    let path = plugins::get(&opts).await?;
    ctx.printer.status(&format!(
        "Wrote: {} ({}/{}) in ({}ms)\n\nUsage:\n  rfaas {}",
        path.display(),
        opts.os,
        opts.arch,
        started.elapsed().as_millis(),
        opts.name
    ));
    Ok(())
}
