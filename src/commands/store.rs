//! `rfaas store list|describe|deploy`: the function store, read from `--url`/`OPENFAAS_STORE`.

use std::collections::BTreeMap;

use crate::cli::store::{StoreArgs, StoreCommand, StoreDeployArgs};
use crate::commands::Context;
use crate::function_store::{self, StoreFunction};
use crate::openfaas::deployment;
use crate::openfaas::types::FunctionDeployment;

pub async fn run(args: StoreArgs, ctx: &Context) -> anyhow::Result<()> {
    let platform = args.platform.clone().unwrap_or_else(|| crate::template::store::host_platform().to_string());
    let functions = function_store::fetch(&args.url, &ctx.cwd).await?;
    match args.command {
        StoreCommand::List(a) => {
            let found = function_store::for_platform(&functions, &platform);
            if a.json.is_json() {
                return ctx.printer.json(&found);
            }
            if found.is_empty() {
                ctx.printer.data(&format!(
                    "No functions found in the store for platform '{platform}', try one of the following: {}",
                    function_store::platforms(&functions).join(", ")
                ));
                return Ok(());
            }
            ctx.printer.raw(function_store::render_list(&found, a.verbose).as_bytes());
            Ok(())
        }
        StoreCommand::Describe(a) => {
            let item = function_store::find(&functions, &a.name, &platform)?;
            if a.json.is_json() {
                return ctx.printer.json(&item);
            }
            ctx.printer.raw(function_store::render_item(&item, &platform).as_bytes());
            Ok(())
        }
        StoreCommand::Deploy(a) => {
            let item = function_store::find(&functions, &a.function, &platform)?;
            deploy(&a, &item, &platform, ctx).await
        }
    }
}

async fn deploy(args: &StoreDeployArgs, item: &StoreFunction, platform: &str, ctx: &Context) -> anyhow::Result<()> {
    let deployments = [deployment_for(args, item, platform)?];
    // As faas-cli: the stack's gateway is not used here, only -g, OPENFAAS_URL and the default.
    let (_, client) = ctx.namespaced_client(&args.api, &args.namespace, None, Some(args.flags.timeout))?;
    let opts = super::deploy::options(&args.flags);
    let outcome = crate::ops::deploy::deploy(&client, &deployments, &opts, &ctx.env()).await?;
    Ok(outcome.check()?)
}

/// What is deployed, merged as faas-cli merges it: environment from the store overridden by
/// `--env`; labels and annotations from the flags overridden by the store's.
fn deployment_for(args: &StoreDeployArgs, item: &StoreFunction, platform: &str) -> anyhow::Result<FunctionDeployment> {
    let pairs = |flag: &str, v: &[String]| deployment::parse_pairs(flag, v).map_err(anyhow::Error::msg);
    let name = args.name.clone().unwrap_or_else(|| item.name.clone());
    if let Some(problem) = crate::stack::rules::dns_label_problem(&name) {
        anyhow::bail!("function name \"{name}\" {problem}");
    }
    let mut env = item.environment.clone().unwrap_or_default();
    env.extend(pairs("--env", &args.flags.env)?);
    let store_wins = |flags: Vec<(String, String)>, store: &Option<BTreeMap<String, String>>| {
        let mut out: BTreeMap<String, String> = flags.into_iter().collect();
        out.extend(store.clone().unwrap_or_default());
        out
    };
    Ok(FunctionDeployment {
        service: name,
        image: item.image(platform).unwrap_or_default().to_string(),
        namespace: args.namespace.namespace.clone().unwrap_or_default(),
        env_process: item.fprocess.clone(),
        env_vars: env,
        constraints: args.flags.constraints.clone(),
        secrets: args.flags.secrets.clone(),
        labels: Some(store_wins(pairs("--label", &args.flags.labels)?, &item.labels)),
        annotations: Some(store_wins(pairs("--annotation", &args.flags.annotations)?, &item.annotations)),
        limits: args.resources.limits(),
        requests: args.resources.requests(),
        read_only_root_filesystem: item.read_only_root_filesystem || args.flags.readonly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn store_env_loses_to_flags_but_store_labels_win_as_in_faas_cli() {
        let cli = crate::cli::Cli::try_parse_from([
            "rfaas",
            "store",
            "deploy",
            "figlet",
            "-e",
            "a=flag",
            "-l",
            "l=flag",
            "-l",
            "mine=1",
            "--annotation",
            "x=flag",
            "--name",
            "banner",
            "--memory-limit",
            "64Mi",
        ])
        .unwrap();
        let crate::cli::Command::Store(StoreArgs { command: StoreCommand::Deploy(args), .. }) = cli.command else {
            unreachable!()
        };
        let item = StoreFunction {
            name: "figlet".into(),
            fprocess: "figlet".into(),
            environment: Some([("a".to_string(), "store".to_string()), ("b".into(), "store".into())].into()),
            labels: Some([("l".to_string(), "store".to_string())].into()),
            annotations: Some([("x".to_string(), "store".to_string())].into()),
            images: [("x86_64".to_string(), "ghcr.io/openfaas/figlet:latest".to_string())].into(),
            ..Default::default()
        };
        let d = deployment_for(&args, &item, "x86_64").unwrap();
        assert_eq!(d.service, "banner");
        assert_eq!(d.image, "ghcr.io/openfaas/figlet:latest");
        assert_eq!(d.env_process, "figlet");
        assert_eq!(d.env_vars["a"], "flag");
        assert_eq!(d.env_vars["b"], "store");
        let labels = d.labels.unwrap();
        assert_eq!((labels["l"].as_str(), labels["mine"].as_str()), ("store", "1"));
        assert_eq!(d.annotations.unwrap()["x"], "store");
        assert_eq!(d.limits.unwrap().memory, "64Mi");
    }
}
