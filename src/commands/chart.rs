//! `rfaas chart export`: a thin adapter over [`crate::chart::export`].

use crate::chart::{self, ExportOptions};
use crate::cli::chart::{ChartArgs, ChartCommand};
use crate::commands::Context;

pub fn run(args: ChartArgs, ctx: &Context) -> anyhow::Result<()> {
    let ChartCommand::Export(a) = args.command;
    if a.chart.contains('/') || a.chart == ".." {
        anyhow::bail!("invalid chart name \"{}\": give the name of a folder under ./chart/", a.chart);
    }
    let opts = ExportOptions {
        chart: std::path::Path::new("chart").join(&a.chart),
        release: a.release,
        values: a.values,
        set: a.set,
        namespace: a.namespace,
        crds: a.crds,
        output: a.output,
    };
    ctx.printer.status(&format!("Running: helm {}", chart::helm_args(&opts).join(" ")));
    let files = chart::export(&opts, &ctx.cwd)?;
    for f in &files {
        ctx.printer.status(&format!("  wrote {}", f.display()));
    }
    ctx.printer.status(&format!("\nExported {} resources to {}", files.len(), opts.output.display()));
    Ok(())
}
