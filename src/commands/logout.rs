//! `rfaas logout`: remove a gateway's saved credentials from config.yml.

use crate::cli::LogoutArgs;
use crate::commands::Context;
use crate::settings::Flags;

pub fn run(args: LogoutArgs, ctx: &Context) -> anyhow::Result<()> {
    let flags = Flags { gateway: args.gateway.as_deref(), ..Default::default() };
    let settings = ctx.settings_without_credentials(flags, None);
    let gateway = &settings.gateway;
    let path = ctx.config_path()?;
    if !path.exists() {
        anyhow::bail!("config file not found: {}", path.display());
    }
    let (path, mut file) = ctx.read_config()?;
    if !file.remove(&gateway.url) {
        anyhow::bail!("no auth config found for {} in {}", gateway.url, path.display());
    }
    ctx.write_config(&path, &file)?;
    ctx.printer.status(&format!("credentials removed for {}", gateway.url));
    Ok(())
}
