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
use crate::devloop::{self, gateway::GatewayTarget, gateway::LocalReplicas, session::SessionOptions};
use crate::error::with_hint;
use crate::gateway::daemon;
use crate::ops::{self, push::PushOptions};
use crate::settings::Settings;
use crate::stack::Stack;

/// Loads the stack once, then composes the build, push and deploy operations over it; with
/// `--watch`, then keeps applying changes until Ctrl-C (see [`crate::devloop`]).
pub async fn run(args: UpArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.multi.platforms.is_some() && !args.publish {
        anyhow::bail!("--platforms can only be given with --publish");
    }
    let stack_file = devloop::session::stack_file(ctx.global.yaml.as_deref(), &ctx.cwd);
    if args.watch && stack_file.is_none() && ctx.global.yaml.is_none() {
        return Err(with_hint(
            anyhow::anyhow!("--watch needs a stack file: there is no ./stack.yaml or ./stack.yml"),
            "create one with `rfaas new`, or name it with -f",
        ));
    }
    let pro = args.multi.remote_builder.is_some()
        || args.multi.payload_secret.is_some()
        || args.multi.builder_public_key.is_some();
    let platforms = if args.publish || pro { Some(commands::publish::check_multi_arch(&args.multi)?) } else { None };
    let stack = load(&args, ctx).await?;
    let mut gateway_flag = args.api.gateway.gateway.clone();
    let mut state_dir = None;
    if args.local {
        let dir = match &args.state_dir {
            Some(dir) => dir.clone(),
            None => daemon::default_state_dir()?,
        };
        let local = daemon::ensure_running(&dir, [127, 0, 0, 1].into(), args.local_port).await?;
        login::save_local(&local, ctx)?;
        gateway_flag = Some(local.url.clone());
        state_dir = Some(dir);
    }
    let result = up_once(&args, &stack, platforms, gateway_flag.as_deref(), ctx).await;
    if !args.watch {
        return result;
    }
    if let Err(e) = result {
        ctx.printer.error(&crate::error::render(&e));
        ctx.printer.status("Watching for a change that fixes it.");
    }
    watch(&args, stack, stack_file, gateway_flag.as_deref(), state_dir, ctx).await
}

/// Build (or publish), push and deploy the stack once.
async fn up_once(
    args: &UpArgs,
    stack: &Stack,
    platforms: Option<Vec<crate::ops::publish::Platform>>,
    gateway_flag: Option<&str>,
    ctx: &Context,
) -> anyhow::Result<()> {
    let env = ctx.env();
    if let (true, Some(platforms)) = (args.publish, platforms) {
        let opts = commands::publish::options(platforms, &args.multi, &args.build, args.parallel);
        let step = commands::publish::Step {
            flags: &args.build,
            tag: args.tag.tag,
            reset_qemu: args.multi.reset_qemu,
            quiet: args.quiet,
            shrinkwrap: args.shrinkwrap,
        };
        commands::publish::publish_stack(stack, &step, &opts, ctx).await?;
    } else {
        let mut build = commands::build::options(&args.build, args.tag.tag, args.force, args.parallel);
        build.shrinkwrap = args.shrinkwrap;
        let built = ops::build::build(stack, &build, &env).await?;
        commands::build::render(&built, ctx)?;
    }
    if args.shrinkwrap {
        return Ok(());
    }
    if args.local {
        ctx.printer.status("Skipping push: the local gateway runs images from the local Docker engine.");
    } else if !args.skip_push && !args.publish {
        let push = PushOptions { tag: args.tag.tag, parallel: args.parallel };
        ops::push::push(stack, &push, &env).await?.check()?;
    }
    if args.skip_deploy {
        return Ok(());
    }
    let overrides = commands::deploy::overrides(&args.deploy, args.namespace.namespace.clone(), args.tag.tag)?;
    let mut deployments = ops::deploy::from_stack(stack, &overrides, args.deploy.read_template, &env)?;
    if stack.source == commands::build::FLAG_STACK {
        apply_flags(&mut deployments, args);
    }
    let settings = settings_for(args, gateway_flag, stack, ctx)?;
    let client = ctx.client_for(&settings, Some(args.deploy.timeout))?;
    if args.local {
        ops::deploy::create_missing_secrets(&client, &deployments, &env).await?;
    }
    let mut deploy = commands::deploy::options(&args.deploy);
    deploy.wait |= args.local;
    ops::deploy::deploy(&client, &deployments, &deploy, &env).await?.check()?;
    if args.local {
        print_samples(stack, &settings, ctx);
    }
    Ok(())
}

fn settings_for(args: &UpArgs, gateway_flag: Option<&str>, stack: &Stack, ctx: &Context) -> anyhow::Result<Settings> {
    let flags = commands::flags(&args.api.gateway, args.api.token.as_deref(), args.namespace.namespace.as_deref());
    ctx.settings(crate::settings::Flags { gateway: gateway_flag, ..flags }, Some(stack))
}

/// `--watch`: the dev loop over the gateway the stack was deployed to.
async fn watch(
    args: &UpArgs,
    stack: Stack,
    stack_file: Option<PathBuf>,
    gateway_flag: Option<&str>,
    state_dir: Option<PathBuf>,
    ctx: &Context,
) -> anyhow::Result<()> {
    let settings = settings_for(args, gateway_flag, &stack, ctx)?;
    let client = ctx.client_for(&settings, Some(args.deploy.timeout))?;
    let local = match local_gateway_id(state_dir, &settings.gateway.url) {
        Some(gateway_id) => Some(LocalReplicas { docker: crate::docker::connect().await?, gateway_id }),
        None => None,
    };
    let build = commands::build::options(&args.build, args.tag.tag, false, args.parallel);
    let mut deploy = commands::deploy::options(&args.deploy);
    deploy.wait |= local.is_some();
    let envsubst = args.envsubst.envsubst;
    let mut target = GatewayTarget {
        client,
        build: build.clone(),
        push: (!args.local && !args.skip_push).then_some(PushOptions { tag: args.tag.tag, parallel: args.parallel }),
        overrides: commands::deploy::overrides(&args.deploy, args.namespace.namespace.clone(), args.tag.tag)?,
        read_template: args.deploy.read_template,
        deploy,
        create_secrets: args.local,
        local: local.clone(),
        load: Box::new(move || Box::pin(ctx.load_stack(envsubst))),
        env: ctx.env(),
    };
    let opts = SessionOptions { stack_file, build, docker: local.map(|l| l.docker), env: ctx.env() };
    devloop::session::run(&mut target, stack, opts).await
}

/// The identity of the local gateway at `url`, whose replicas are containers on this engine:
/// the one `--local` started, or the default state directory's gateway when `url` is its URL.
fn local_gateway_id(state_dir: Option<PathBuf>, url: &str) -> Option<String> {
    let dir = match state_dir {
        Some(dir) => dir,
        None => {
            let dir = daemon::default_state_dir().ok()?;
            let running = daemon::read_gateway_file(&dir)?;
            (running.url.trim_end_matches('/') == url.trim_end_matches('/')).then_some(dir)?
        }
    };
    let id = std::fs::read_to_string(dir.join(crate::gateway::GATEWAY_ID_FILE)).ok()?;
    Some(id.trim().to_string()).filter(|id| !id.is_empty())
}

/// The stack file, or (with `--image`/`--name` and no stack file) a one-function stack from
/// `--name --image --lang --handler`, as `build` makes it.
async fn load(args: &UpArgs, ctx: &Context) -> anyhow::Result<Stack> {
    let flag_mode = args.function.function.names_a_function()
        && ctx.global.yaml.is_none()
        && crate::stack::discover(None, &ctx.cwd).is_none();
    if !flag_mode {
        return ctx.load_stack(args.envsubst.envsubst).await;
    }
    commands::build::flag_function_stack(&args.function.function)
}

/// `--fprocess` and the resource flags, for a function given by flags.
fn apply_flags(deployments: &mut [crate::openfaas::types::FunctionDeployment], args: &UpArgs) {
    let flags = &args.function;
    for d in deployments {
        if let Some(f) = &flags.fprocess {
            d.env_process = f.clone();
        }
        d.limits = flags.resources.limits().or(d.limits.take());
        d.requests = flags.resources.requests().or(d.requests.take());
    }
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
