//! `rfaas logout`: remove a gateway's saved credentials from config.yml.

use crate::cli::LogoutArgs;
use crate::commands::Context;
use crate::config;
use crate::env_vars;

pub fn run(args: LogoutArgs, ctx: &Context) -> anyhow::Result<()> {
    let env = std::env::var(env_vars::OPENFAAS_URL).ok();
    let gateway = config::resolve_gateway(args.gateway.as_deref(), None, env.as_deref());
    let path = config::config_path(&ctx.cwd)?;
    if !path.exists() {
        anyhow::bail!("config file not found: {}", path.display());
    }
    let mut file = config::read_config(&path)?;
    if !file.remove(&gateway.url) {
        anyhow::bail!("no auth config found for {} in {}", gateway.url, path.display());
    }
    config::write_config(&path, &file)?;
    ctx.printer.status(&format!("credentials removed for {}", gateway.url));
    Ok(())
}
