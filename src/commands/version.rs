//! `rfaas version`: the client's version and commit.

use crate::cli::VersionArgs;
use crate::commands::Context;

/// The git commit rfaas was built from, or `unknown` outside a checkout.
pub const COMMIT: &str = match option_env!("RFAAS_GIT_SHA") {
    Some(sha) => sha,
    None => "unknown",
};

pub fn run(args: VersionArgs, ctx: &Context) -> anyhow::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    if args.short_version {
        ctx.printer.data(version);
    } else if args.json {
        ctx.printer.json(&serde_json::json!({"cli": {"commit": COMMIT, "version": version}}))?;
    } else {
        ctx.printer.data(&format!("CLI:\n commit:  {COMMIT}\n version: {version}"));
    }
    Ok(())
}
