//! `rfaas login`: check basic-auth credentials against a gateway and save them in config.yml.

use std::io::{IsTerminal, Read};

use anyhow::Context as _;

use crate::cli::LoginArgs;
use crate::commands::Context;
use crate::config::{self, AuthConfig};
use crate::env_vars;
use crate::openfaas::{Auth, Client, ClientError, ClientOptions};

pub async fn run(args: LoginArgs, ctx: &Context) -> anyhow::Result<()> {
    let gateway = config::resolve_gateway(
        args.gateway.gateway.as_deref(),
        None,
        std::env::var(env_vars::OPENFAAS_URL).ok().as_deref(),
    );
    let password = password(&args, ctx)?;
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

fn password(args: &LoginArgs, ctx: &Context) -> anyhow::Result<String> {
    let password = if let Some(p) = &args.password {
        ctx.printer.warn("--password is visible to other users of this machine; prefer --password-stdin");
        p.trim().to_string()
    } else if args.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the password from stdin")?;
        text.trim().to_string()
    } else if ctx.printer.is_interactive() && std::io::stdin().is_terminal() {
        dialoguer::Password::new().with_prompt("Password").interact().context("cannot read the password")?
    } else {
        String::new()
    };
    if password.is_empty() {
        return Err(crate::error::with_hint(
            anyhow::anyhow!("must provide a non-empty password via --password or --password-stdin"),
            "pipe it in: `rfaas login --password-stdin < password.txt`",
        ));
    }
    Ok(password)
}
