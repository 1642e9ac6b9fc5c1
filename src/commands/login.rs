//! `rfaas login`: check basic-auth credentials against a gateway and save them in config.yml.

use anyhow::Context as _;

use crate::cli::LoginArgs;
use crate::commands::Context;
use crate::config::{self, AuthConfig};
use crate::env_vars;
use crate::openfaas::{Auth, Client, ClientError, ClientOptions};

pub async fn run(args: LoginArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.local {
        return login_local(&args, ctx).await;
    }
    let gateway = config::resolve_gateway(
        args.gateway.gateway.as_deref(),
        None,
        std::env::var(env_vars::OPENFAAS_URL).ok().as_deref(),
    );
    crate::commands::warn_if_unencrypted(&ctx.printer, &gateway.url);
    let password = crate::commands::read_password(
        args.password.as_deref(),
        args.password_stdin,
        "rfaas login --password-stdin < password.txt",
        ctx,
    )?;
    let auth = Auth::Basic { user: args.username.clone(), password: password.clone() };
    let opts = ClientOptions { tls_no_verify: args.gateway.tls_no_verify, timeout: Some(args.timeout) };
    let client = Client::new(&gateway.url, auth, opts).map_err(ClientError::into_anyhow)?;
    ctx.printer.status(&format!("Calling the gateway at {} to validate the credentials...", gateway.url));
    match client.check_credentials().await {
        Ok(()) => {}
        Err(ClientError::Unauthorized { .. }) => {
            anyhow::bail!("unable to login, either username or password is incorrect")
        }
        Err(e) => return Err(e.into_anyhow()),
    }
    let path = config::config_path(&ctx.cwd)?;
    let mut file = config::read_config(&path)?;
    file.upsert(AuthConfig::basic(&gateway.url, &args.username, &password));
    config::write_config(&path, &file).with_context(|| format!("cannot save credentials in {}", path.display()))?;
    ctx.printer.status(&format!("credentials saved for {} {} in {}", args.username, gateway.url, path.display()));
    Ok(())
}

/// `rfaas login --local`: the credentials rfaas's own gateway created in its state directory.
async fn login_local(args: &LoginArgs, ctx: &Context) -> anyhow::Result<()> {
    let state_dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => crate::gateway::daemon::default_state_dir()?,
    };
    if state_dir.exists() {
        crate::private_files::check_private_dir(&state_dir)
            .with_context(|| format!("cannot use the state directory {}", state_dir.display()))?;
    }
    let Some(running) = crate::gateway::daemon::running(&state_dir).await else {
        return Err(crate::error::with_hint(
            anyhow::anyhow!("no local gateway is running with state directory {}", state_dir.display()),
            "start it with `rfaas gateway start` (or `rfaas up --local`)",
        ));
    };
    let creds = crate::gateway::daemon::read_credentials(&state_dir)?;
    let local = crate::gateway::daemon::LocalGateway { url: running.url, user: creds.user, password: creds.password };
    save_local(&local, ctx)
}

/// Saves the local gateway's credentials in config.yml so every command can reach it.
pub fn save_local(local: &crate::gateway::daemon::LocalGateway, ctx: &Context) -> anyhow::Result<()> {
    let url = config::normalise_gateway(&local.url);
    let path = config::config_path(&ctx.cwd)?;
    let mut file = config::read_config(&path)?;
    file.upsert(AuthConfig::basic(&url, &local.user, &local.password));
    config::write_config(&path, &file).with_context(|| format!("cannot save credentials in {}", path.display()))?;
    ctx.printer.status(&format!("credentials saved for {} {url} in {}", local.user, path.display()));
    Ok(())
}
