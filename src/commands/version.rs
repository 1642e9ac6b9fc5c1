//! `rfaas version`: the client's version and commit, and the gateway's and provider's when one
//! answers.

use serde_json::json;

use crate::cli::VersionArgs;
use crate::commands::Context;
use crate::openfaas::types::GatewayInfo;

/// The git commit rfaas was built from, or `unknown` outside a checkout.
pub const COMMIT: &str = match option_env!("RFAAS_GIT_SHA") {
    Some(sha) => sha,
    None => "unknown",
};

pub async fn run(args: VersionArgs, ctx: &Context) -> anyhow::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    if args.short_version {
        ctx.printer.data(version);
        return Ok(());
    }
    let stack = ctx.optional_stack(args.envsubst.envsubst).await?;
    let client = ctx.client(&args.api, stack.as_ref(), Some(std::time::Duration::from_secs(5)))?;
    let info = client.info().await;
    if ctx.printer.is_json() {
        let mut value = json!({"cli": {"commit": COMMIT, "version": version}});
        if let Ok(info) = &info {
            value["gateway"] =
                json!({"uri": client.gateway(), "version": info.version.release, "sha": info.version.sha});
            value["provider"] = json!({"name": info.provider.provider, "orchestration": info.provider.orchestration,
                "version": info.provider.version.release, "sha": info.provider.version.sha});
        }
        return ctx.printer.json(&value);
    }
    let mut text = format!("CLI:\n commit:  {COMMIT}\n version: {version}");
    match info {
        Ok(info) => text.push_str(&server_text(client.gateway(), &info)),
        Err(e) => {
            let hint = e.hint().map(|h| format!("; {h}")).unwrap_or_default();
            ctx.printer.status(&format!("(no gateway or provider version: {e}{hint})"));
        }
    }
    ctx.printer.data(&text);
    Ok(())
}

fn server_text(uri: &str, info: &GatewayInfo) -> String {
    format!(
        "\n\nGateway\n uri:     {uri}\n version: {}\n sha:     {}\n\nProvider\n name:          {}\n orchestration: {}\n version:       {}\n sha:           {}",
        info.version.release,
        info.version.sha,
        info.provider.provider,
        info.provider.orchestration,
        info.provider.version.release,
        info.provider.version.sha
    )
}
