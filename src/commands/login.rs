//! `rfaas login`: check basic-auth credentials against a gateway and save them in config.yml.

use anyhow::Context as _;

use crate::cli::LoginArgs;
use crate::commands::Context;
use crate::config::{self, AuthConfig};
use crate::openfaas::{Auth, Client, ClientError, ClientOptions};

pub async fn run(args: LoginArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.local {
        return login_local(&args, ctx).await;
    }
    // Like faas-cli, login does not read the stack file: the gateway is the flag's or $OPENFAAS_URL.
    let settings = ctx.settings_without_credentials(crate::commands::flags(&args.gateway, None, None), None);
    let gateway = &settings.gateway;
    let password = crate::commands::read_password(
        args.password.as_deref(),
        args.password_stdin,
        "rfaas login --password-stdin < password.txt",
        ctx,
    )?;
    let auth = Auth::Basic { user: args.username.clone(), password: password.clone() };
    let opts = ClientOptions {
        tls_no_verify: settings.tls_no_verify,
        timeout: Some(args.timeout),
        debug: ctx.environment.debug,
    };
    let client = Client::new(&gateway.url, auth, opts)?;
    ctx.printer.status(&format!("Calling the gateway at {} to validate the credentials...", gateway.url));
    match client.check_credentials().await {
        Ok(()) => {}
        Err(ClientError::Unauthorized { .. }) => {
            anyhow::bail!("unable to login, either username or password is incorrect")
        }
        Err(e) => return Err(e.into_anyhow()),
    }
    let (path, mut file) = ctx.read_config()?;
    file.upsert(AuthConfig::basic(&gateway.url, &args.username, &password));
    ctx.write_config(&path, &file).with_context(|| format!("cannot save credentials in {}", path.display()))?;
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
    let (path, mut file) = ctx.read_config()?;
    file.upsert(AuthConfig::basic(&url, &local.user, &local.password));
    ctx.write_config(&path, &file).with_context(|| format!("cannot save credentials in {}", path.display()))?;
    ctx.printer.status(&format!("credentials saved for {} {url} in {}", local.user, path.display()));
    Ok(())
}
