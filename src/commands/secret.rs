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
        SecretCommand::Apply(a) => super::secret_apply::run(a, ctx).await,
        SecretCommand::Generate(a) => super::secret_seal::generate(a, ctx),
        SecretCommand::Keygen(a) => super::secret_seal::keygen(a, ctx),
        SecretCommand::Seal(a) => super::secret_seal::seal(a, ctx),
        SecretCommand::Unseal(a) => super::secret_seal::unseal(a, ctx),
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
    let trim = |text: String| if args.trim { text.trim().to_string() } else { text };
    if let Some(v) = &args.from_literal {
        secret.value = trim(v.clone());
    } else if let Some(path) = &args.from_file {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the secret from {}", path.display()))?;
        // As faas-cli sends a file: the exact bytes in `rawValue` (what faasd, faas-netes and
        // rfaas store), and the text in `value` for gateways that only read that.
        secret.value = trim(String::from_utf8_lossy(&bytes).into_owned());
        secret.raw_value = Some(bytes);
    } else {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("cannot read the secret from stdin")?;
        match String::from_utf8(buf) {
            Ok(text) => secret.value = trim(text),
            Err(e) => secret.raw_value = Some(e.into_bytes()),
        }
    }
    if secret.bytes().is_empty() {
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
    let client = ctx.client(&args.api, None, Some(super::API_CALL_TIMEOUT))?;
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
    let (settings, client) = ctx.namespaced_client(&args.api, &args.namespace, None, Some(super::API_CALL_TIMEOUT))?;
    let namespace = settings.namespace();
    let secrets = client.list_secrets(&namespace).await.map_err(ClientError::into_anyhow)?;
    if ctx.printer.is_json() {
        let names: Vec<serde_json::Value> =
            secrets.iter().map(|s| serde_json::json!({"name": s.name, "namespace": s.namespace})).collect();
        return ctx.printer.json(&names);
    }
    if secrets.is_empty() {
        ctx.printer.status("No secrets found.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = secrets.iter().map(|s| vec![s.name.clone()]).collect();
    ctx.printer.data(&crate::output::table(&["NAME"], &rows, crate::output::Columns::Tabs { min_widths: &[] }));
    Ok(())
}

async fn remove(args: SecretRemoveArgs, ctx: &Context) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let (settings, client) = ctx.namespaced_client(&args.api, &args.namespace, None, Some(super::API_CALL_TIMEOUT))?;
    let namespace = settings.namespace();
    match client.delete_secret(&args.name, &namespace).await {
        Ok(()) => ctx.printer.status("Removed.. OK."),
        Err(ClientError::NotFound { .. }) => anyhow::bail!("unable to find secret: {}", args.name),
        Err(e) => return Err(e.into_anyhow()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn value_args(args: &[&str]) -> SecretValueArgs {
        let cli = crate::cli::Cli::try_parse_from(args).unwrap();
        match cli.command {
            crate::cli::Command::Secret(SecretArgs {
                command: SecretCommand::Create(a) | SecretCommand::Update(a),
            }) => a,
            _ => unreachable!("a secret command"),
        }
    }

    #[test]
    fn a_file_is_sent_as_exact_raw_value_beside_its_trimmed_text_as_faas_cli_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let mut bytes: Vec<u8> = b" text \xff".to_vec();
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        let file = path.to_str().unwrap();
        for command in ["create", "update"] {
            let secret = secret_value(&value_args(&["rfaas", "secret", command, "s", "--from-file", file])).unwrap();
            let wire = serde_json::to_value(&secret).unwrap();
            assert_eq!(wire, serde_json::json!({"name": "s", "value": "text \u{fffd}", "rawValue": "IHRleHQg/wo="}));
            assert_eq!(secret.bytes(), bytes);
        }
        let untrimmed =
            secret_value(&value_args(&["rfaas", "secret", "create", "s", "--from-file", file, "--trim=false"]));
        assert_eq!(untrimmed.unwrap().value, " text \u{fffd}\n");
    }

    #[test]
    fn an_empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        let e = secret_value(&value_args(&["rfaas", "secret", "create", "s", "--from-file", path.to_str().unwrap()]));
        assert!(e.unwrap_err().to_string().contains("the value for secret \"s\" is empty"));
    }
}
