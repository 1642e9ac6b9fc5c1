//! `rfaas secret create|update|list|remove`. Values are never printed, and unlike faas-cli any
//! failure exits 1.

use std::io::Read;

use anyhow::Context as _;

use crate::cli::{SecretArgs, SecretCommand, SecretListArgs, SecretRemoveArgs, SecretValueArgs};
use crate::commands::Context;
use crate::openfaas::ClientError;
use crate::openfaas::types::Secret;

pub async fn run(args: SecretArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        SecretCommand::Create(a) => save(a, true, ctx).await,
        SecretCommand::Update(a) => save(a, false, ctx).await,
        SecretCommand::List(a) => list(a, ctx).await,
        SecretCommand::Remove(a) => remove(a, ctx).await,
    }
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if let Some(problem) = crate::stack::rules::dns_subdomain_problem(name) {
        anyhow::bail!("invalid secret name \"{name}\": it {problem}");
    }
    Ok(())
}

fn secret_value(args: &SecretValueArgs) -> anyhow::Result<Secret> {
    let mut secret = Secret {
        name: args.name.clone(),
        namespace: args.namespace.namespace.clone().unwrap_or_default(),
        ..Default::default()
    };
    let bytes = if let Some(v) = &args.from_literal {
        v.as_bytes().to_vec()
    } else if let Some(path) = &args.from_file {
        std::fs::read(path).with_context(|| format!("cannot read the secret from {}", path.display()))?
    } else {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("cannot read the secret from stdin")?;
        buf
    };
    match String::from_utf8(bytes) {
        Ok(text) => secret.value = if args.trim { text.trim().to_string() } else { text },
        Err(e) => secret.raw_value = Some(e.into_bytes()),
    }
    if secret.value.is_empty() && secret.raw_value.is_none() {
        anyhow::bail!(
            "the value for secret \"{}\" is empty; give --from-literal, --from-file or pipe it in",
            args.name
        );
    }
    Ok(secret)
}

async fn save(args: SecretValueArgs, create: bool, ctx: &Context) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let secret = secret_value(&args)?;
    let client = ctx.client(&args.api, None, Some(std::time::Duration::from_secs(60)))?;
    if !create {
        let status = client.update_secret(&secret).await.map_err(ClientError::into_anyhow)?;
        ctx.printer.status(&format!("Updated: {status}"));
        return Ok(());
    }
    match client.create_secret(&secret).await {
        Ok(status) => ctx.printer.status(&format!("Created: {status}")),
        Err(ClientError::Conflict { .. }) if args.replace => {
            ctx.printer.status(&format!("Secret {} already exists, updating...", args.name));
            let status = client.update_secret(&secret).await.map_err(ClientError::into_anyhow)?;
            ctx.printer.status(&format!("Updated: {status}"));
        }
        Err(ClientError::Conflict { .. }) => {
            return Err(crate::error::with_hint(
                anyhow::anyhow!("secret with the name \"{}\" already exists", args.name),
                "use --replace to update it, or `rfaas secret update`",
            ));
        }
        Err(e) => return Err(e.into_anyhow()),
    }
    Ok(())
}

async fn list(args: SecretListArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client(&args.api, None, Some(std::time::Duration::from_secs(60)))?;
    let namespace = args.namespace.namespace.unwrap_or_default();
    let secrets = client.list_secrets(&namespace).await.map_err(ClientError::into_anyhow)?;
    if args.json.is_json() {
        let names: Vec<serde_json::Value> =
            secrets.iter().map(|s| serde_json::json!({"name": s.name, "namespace": s.namespace})).collect();
        return ctx.printer.json(&names);
    }
    if secrets.is_empty() {
        ctx.printer.status("No secrets found.");
        return Ok(());
    }
    let mut out = String::from("NAME");
    for s in &secrets {
        out.push('\n');
        out.push_str(&s.name);
    }
    ctx.printer.data(&out);
    Ok(())
}

async fn remove(args: SecretRemoveArgs, ctx: &Context) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let client = ctx.client(&args.api, None, Some(std::time::Duration::from_secs(60)))?;
    let namespace = args.namespace.namespace.unwrap_or_default();
    match client.delete_secret(&args.name, &namespace).await {
        Ok(()) => ctx.printer.status("Removed.. OK."),
        Err(ClientError::NotFound { .. }) => anyhow::bail!("unable to find secret: {}", args.name),
        Err(e) => return Err(e.into_anyhow()),
    }
    Ok(())
}
