//! `rfaas secret apply`: every file in `./.secrets/` becomes (or updates) the secret of its name.
//!
//! faas-cli deletes an existing secret and creates it again, so for a moment functions that mount
//! it find nothing; rfaas updates it in place (PUT) and creates only the new ones, falling back to
//! the other call when a concurrent apply got there first. Unlike faas-cli, a failed secret makes
//! the exit code 1 (after trying the others).

use crate::cli::secret_seal::SecretApplyArgs;
use crate::commands::Context;
use crate::openfaas::types::Secret;
use crate::openfaas::{Client, ClientError};
use crate::secrets_folder::{self, Entry};

pub async fn run(args: SecretApplyArgs, ctx: &Context) -> anyhow::Result<()> {
    let namespace = args.namespace.namespace.clone().unwrap_or_default();
    let dir = ctx.cwd.join(secrets_folder::FOLDER);
    let entries = secrets_folder::read(&dir, &namespace, args.trim)?;
    let mut secrets = Vec::new();
    for entry in entries {
        match entry {
            Entry::Secret(s) => secrets.push(s),
            Entry::Skipped { name, reason } => ctx.printer.warn(&format!("skipping {name}: {reason}")),
        }
    }
    if secrets.is_empty() {
        ctx.printer.status(&format!("No secrets found in {} directory", secrets_folder::FOLDER));
        return Ok(());
    }
    let client = ctx.client(&args.api, None, Some(super::API_CALL_TIMEOUT))?;
    let existing = client.list_secrets(&namespace).await?;
    let mut failed = Vec::new();
    for secret in &secrets {
        let exists = existing.iter().any(|e| e.name == secret.name);
        let label = if namespace.is_empty() { secret.name.clone() } else { format!("{}.{namespace}", secret.name) };
        ctx.printer.status(&format!("{} secret: {label}", if exists { "Updating" } else { "Creating" }));
        match apply_one(&client, secret, exists).await {
            Ok(line) => ctx.printer.status(&line),
            Err(e) => {
                ctx.printer.error(&crate::error::render(&e.into()));
                failed.push(secret.name.clone());
            }
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("{} of {} secrets could not be applied: {}", failed.len(), secrets.len(), failed.join(", "));
    }
    Ok(())
}

/// Updates or creates `secret`, switching to the other call when the gateway's view changed
/// since the list (a concurrent apply or remove).
async fn apply_one(client: &Client, secret: &Secret, exists: bool) -> Result<String, ClientError> {
    if exists {
        match client.update_secret(secret).await {
            Ok(status) => return Ok(format!("Updated: {status}")),
            Err(ClientError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    match client.create_secret(secret).await {
        Ok(status) => Ok(format!("Created: {status}")),
        Err(ClientError::Conflict { .. }) => client.update_secret(secret).await.map(|s| format!("Updated: {s}")),
        Err(e) => Err(e),
    }
}
