//! `rfaas registry-login`: write registry credentials as a Docker `config.json` (faas-cli writes
//! `./credentials/config.json` for the OpenFaaS Pro builder). rfaas writes it with mode 0600 and
//! merges into an existing file, so `DOCKER_CONFIG=./credentials rfaas push` can use it too.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine;

use crate::cli::RegistryLoginArgs;
use crate::commands::Context;
use crate::error::with_hint;

pub fn run(args: RegistryLoginArgs, ctx: &Context) -> anyhow::Result<()> {
    let dir = ctx.cwd.join(&args.config_dir);
    let path = dir.join("config.json");
    let mut config = read(&path)?;
    if args.ecr {
        let (account, region) = (args.account_id.as_deref().unwrap_or(""), args.region.as_deref().unwrap_or(""));
        config["credsStore"] = "ecr-login".into();
        config["credHelpers"][format!("{account}.dkr.ecr.{region}.amazonaws.com")] = "ecr-login".into();
    } else {
        let username = args
            .username
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| with_hint(anyhow::anyhow!("a username is required"), "give it with -u/--username"))?;
        let password = crate::commands::read_password(
            args.password.as_deref(),
            args.password_stdin,
            "rfaas registry-login -u USER --password-stdin < password.txt",
            ctx,
        )?;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        config["auths"][args.server.as_str()] = serde_json::json!({ "auth": auth });
    }
    write(&dir, &path, &config)?;
    let shown = Path::new(&args.config_dir).join("config.json");
    ctx.printer.status(&format!("Wrote {} (mode 0600)", shown.display()));
    ctx.printer.status(&format!("Push with these credentials: DOCKER_CONFIG={} rfaas push", args.config_dir));
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::json!({})),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write(dir: &Path, path: &Path, config: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(config)? + "\n";
    crate::private_files::private_dir(dir)?;
    crate::private_files::write_private(path, text.as_bytes())?;
    Ok(())
}
