//! `rfaas up`: build → push → deploy in one step.
//!
//! With `--local` the target is rfaas's own gateway: it is started in the background when it is
//! not answering, its credentials are saved like `rfaas login --local`, images stay in the local
//! engine (no registry, no push), secrets the stack needs are created from `./.secrets/<name>`
//! files when the gateway lacks them, and every function is waited for before the URLs and a
//! sample `rfaas invoke` per function are printed.

use std::path::{Path, PathBuf};

use crate::cli::UpArgs;
use crate::commands::{self, Context, login};
use crate::gateway::daemon;
use crate::ops::{self, push::PushOptions};
use crate::settings::Settings;
use crate::stack::Stack;

/// Loads the stack once, then composes the build, push and deploy operations over it.
pub async fn run(args: UpArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    let mut gateway_flag = args.api.gateway.gateway.clone();
    if args.local {
        let state_dir = match &args.state_dir {
            Some(dir) => dir.clone(),
            None => daemon::default_state_dir()?,
        };
        let local = daemon::ensure_running(&state_dir, [127, 0, 0, 1].into(), args.local_port).await?;
        login::save_local(&local, ctx)?;
        gateway_flag = Some(local.url.clone());
    }
    let env = ctx.env();
    let build = commands::build::options(&args.build, args.tag, args.force, args.parallel);
    let built = ops::build::build(&stack, &build, &env).await?;
    commands::build::render(&built, ctx)?;
    if args.local {
        ctx.printer.status("Skipping push: the local gateway runs images from the local Docker engine.");
    } else if !args.skip_push {
        let push = PushOptions { tag: args.tag, parallel: args.parallel };
        ops::push::push(&stack, &push, &env).await?.check()?;
    }
    if args.skip_deploy {
        return Ok(());
    }
    let overrides = commands::deploy::overrides(&args.deploy, args.namespace.namespace.clone(), args.tag)?;
    let deployments = ops::deploy::from_stack(&stack, &overrides, args.deploy.read_template, &env)?;
    let flags = commands::flags(&args.api.gateway, args.api.token.as_deref(), args.namespace.namespace.as_deref());
    let settings = ctx.settings(crate::settings::Flags { gateway: gateway_flag.as_deref(), ..flags }, Some(&stack))?;
    let client = ctx.client_for(&settings, Some(args.deploy.timeout))?;
    if args.local {
        ops::deploy::create_missing_secrets(&client, &deployments, &env).await?;
    }
    let mut deploy = commands::deploy::options(&args.deploy);
    deploy.wait |= args.local;
    ops::deploy::deploy(&client, &deployments, &deploy, &env).await?.check()?;
    if args.local {
        print_samples(&stack, &settings, ctx);
    }
    Ok(())
}

fn print_samples(stack: &Stack, settings: &Settings, ctx: &Context) {
    let gateway = settings.gateway.url.clone();
    // `rfaas invoke` only finds a gateway on another port when it is told where it is.
    let gateway_flag = if gateway == crate::config::DEFAULT_GATEWAY { String::new() } else { format!(" -g {gateway}") };
    let mut out = String::from("\nYour functions are ready:");
    for f in stack.functions() {
        let (namespace, _) = settings.namespace_for(&f.name);
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
