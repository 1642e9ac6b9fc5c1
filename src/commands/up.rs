//! `rfaas up`: build → push → deploy in one step.
//!
//! With `--local` the target is rfaas's own gateway: it is started in the background when it is
//! not answering, its credentials are saved like `rfaas login --local`, images stay in the local
//! engine (no registry, no push), secrets the stack needs are created from `./.secrets/<name>`
//! files when the gateway lacks them, and every function is waited for before the URLs and a
//! sample `rfaas invoke` per function are printed.

use std::path::{Path, PathBuf};

use crate::cli::{ApiArgs, BuildArgs, DeployArgs, PushArgs, UpArgs};
use crate::commands::{self, Context, login, namespace_for};
use crate::gateway::daemon;
use crate::openfaas::types::Secret;
use crate::openfaas::{Client, ClientError};
use crate::stack::Stack;

pub async fn run(args: UpArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.multi.platforms.is_some() && !args.publish {
        anyhow::bail!("--platforms can only be given with --publish");
    }
    let pro = args.multi.remote_builder.is_some() || args.multi.payload_secret.is_some();
    let platforms = if args.publish || pro { Some(commands::publish::check_multi_arch(&args.multi)?) } else { None };
    let flag_mode = (args.image.is_some() || args.name.is_some())
        && ctx.global.yaml.is_none()
        && crate::stack::discover(None, &ctx.cwd).is_none();
    let stack = if flag_mode {
        let (name, image) = (args.name.as_deref(), args.image.as_deref());
        commands::build::flag_function_stack(name, image, args.handler.as_deref(), args.lang.as_deref())?
    } else {
        ctx.load_stack(args.envsubst.envsubst).await?
    };
    let mut api = args.api.clone();
    if args.local {
        let state_dir = match &args.state_dir {
            Some(dir) => dir.clone(),
            None => daemon::default_state_dir()?,
        };
        let local = daemon::ensure_running(&state_dir, [127, 0, 0, 1].into(), args.local_port).await?;
        login::save_local(&local, ctx)?;
        api.gateway.gateway = Some(local.url.clone());
    }
    if let (true, Some(platforms)) = (args.publish, platforms) {
        let opts = commands::publish::options(platforms, &args.multi, &args.build, args.parallel.max(1));
        let step = commands::publish::Step {
            flags: &args.build,
            tag: args.tag,
            reset_qemu: args.multi.reset_qemu,
            quiet: args.quiet,
            shrinkwrap: args.shrinkwrap,
        };
        commands::publish::publish_stack(&stack, &step, &opts, ctx).await?;
    } else {
        commands::build::run(build_args(&args), ctx).await?;
    }
    if args.shrinkwrap {
        return Ok(());
    }
    if args.local {
        ctx.printer.status("Skipping push: the local gateway runs images from the local Docker engine.");
    } else if !args.skip_push && !args.publish {
        let push = PushArgs { parallel: args.parallel, quiet: args.quiet, tag: args.tag, envsubst: args.envsubst };
        commands::push::push_stack(&stack, &push, ctx).await?;
    }
    if args.skip_deploy {
        return Ok(());
    }
    if args.local {
        let client = ctx.client(&api, Some(&stack), Some(args.deploy.timeout))?;
        create_local_secrets(&client, &stack, &args.namespace.namespace, ctx).await?;
    }
    commands::deploy::run(deploy_args(&args, api.clone()), ctx).await?;
    if args.local {
        print_samples(&stack, &api, &args.namespace.namespace, ctx);
    }
    Ok(())
}

fn build_args(args: &UpArgs) -> BuildArgs {
    BuildArgs {
        flags: args.build.clone(),
        shrinkwrap: args.shrinkwrap,
        force: args.force,
        parallel: args.parallel.max(1),
        quiet: args.quiet,
        tag: args.tag,
        envsubst: args.envsubst,
        image: args.image.clone(),
        handler: args.handler.clone(),
        name: args.name.clone(),
        lang: args.lang.clone(),
    }
}

fn deploy_args(args: &UpArgs, api: ApiArgs) -> DeployArgs {
    let mut flags = args.deploy.clone();
    flags.wait |= args.local;
    DeployArgs {
        api,
        namespace: args.namespace.clone(),
        envsubst: args.envsubst,
        tag: args.tag,
        flags,
        image: args.image.clone(),
        name: args.name.clone(),
        fprocess: args.fprocess.clone(),
        lang: args.lang.clone(),
        handler: args.handler.clone(),
        resources: args.resources.clone(),
        network: args.network.clone(),
    }
}

/// Creates secrets the stack uses and the gateway lacks from `./.secrets/<name>` (faas-cli's
/// local-run convention), in the namespace each function is deployed to (`-n` > the stack's).
/// Secrets already on the gateway are left alone.
async fn create_local_secrets(
    client: &Client,
    stack: &Stack,
    namespace_flag: &Option<String>,
    ctx: &Context,
) -> anyhow::Result<()> {
    let mut wanted: Vec<(String, String)> = stack
        .functions()
        .flat_map(|f| {
            let namespace = namespace_for(namespace_flag, Some(stack), &f.name);
            f.secrets.iter().map(move |s| (namespace.clone(), s.clone()))
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    for (namespace, name) in wanted {
        let existing = client.list_secrets(&namespace).await.map_err(ClientError::into_anyhow)?;
        if existing.iter().any(|s| s.name == name) {
            continue;
        }
        let path = ctx.cwd.join(".secrets").join(&name);
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let secret = match String::from_utf8(bytes) {
            Ok(text) => Secret { name: name.clone(), namespace, value: text.trim().to_string(), ..Default::default() },
            Err(e) => Secret { name: name.clone(), namespace, raw_value: Some(e.into_bytes()), ..Default::default() },
        };
        client.create_secret(&secret).await.map_err(ClientError::into_anyhow)?;
        ctx.printer.status(&format!("Created secret {name} from .secrets/{name}"));
    }
    Ok(())
}

fn print_samples(stack: &Stack, api: &ApiArgs, namespace_flag: &Option<String>, ctx: &Context) {
    let gateway = api.gateway.gateway.clone().unwrap_or_default();
    // `rfaas invoke` only finds a gateway on another port when it is told where it is.
    let gateway_flag = if gateway == crate::config::DEFAULT_GATEWAY { String::new() } else { format!(" -g {gateway}") };
    let mut out = String::from("\nYour functions are ready:");
    for f in stack.functions() {
        let namespace = namespace_for(namespace_flag, Some(stack), &f.name);
        let suffix = if namespace.is_empty() { String::new() } else { format!(".{namespace}") };
        let payload = sample_payload(&stack.source, &f.name).filter(|p| ctx.cwd.join(p).is_file());
        let invoke = sample_invoke(&f.name, &gateway_flag, payload.as_deref());
        out.push_str(&format!(
            "\n  {name}\n    URL:    {gateway}/function/{name}{suffix}\n    invoke: {invoke}",
            name = f.name
        ));
    }
    ctx.printer.data(&out);
}

/// Where a sample request body for `function` would be: `payloads/<function>.json` beside a
/// local stack file (none for a stack read from a URL).
fn sample_payload(stack_source: &str, function: &str) -> Option<PathBuf> {
    if crate::stack::is_url(stack_source) {
        return None;
    }
    let dir = Path::new(stack_source).parent().unwrap_or(Path::new(""));
    Some(dir.join("payloads").join(format!("{function}.json")))
}

/// A command line that invokes `name`, with the sample body when there is one.
fn sample_invoke(name: &str, gateway_flag: &str, payload: Option<&Path>) -> String {
    let invoke = format!("rfaas invoke {name}{gateway_flag} --content-type application/json");
    match payload {
        Some(path) => format!("{invoke} < {}", path.display()),
        None => format!("echo '{{}}' | {invoke}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_use_a_payload_beside_a_local_stack_file() {
        let path = sample_payload("stacks/food/stack.yaml", "orders").unwrap();
        assert_eq!(path, Path::new("stacks/food/payloads/orders.json"));
        assert_eq!(sample_payload("stack.yaml", "orders").unwrap(), Path::new("payloads/orders.json"));
        assert_eq!(sample_payload("https://example.com/stack.yaml", "orders"), None);
        assert_eq!(
            sample_invoke("orders", "", Some(&path)),
            "rfaas invoke orders --content-type application/json < stacks/food/payloads/orders.json"
        );
        assert_eq!(
            sample_invoke("orders", " -g http://127.0.0.1:9000", None),
            "echo '{}' | rfaas invoke orders -g http://127.0.0.1:9000 --content-type application/json"
        );
    }
}
