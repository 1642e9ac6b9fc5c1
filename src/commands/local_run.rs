//! `rfaas local-run [NAME]`: build one function (unless `--build=false`) and run it in a
//! container on the local engine until Ctrl-C (see [`crate::ops::local_run`]).

use crate::cli::LocalRunArgs;
use crate::commands::Context;
use crate::devloop::container::{ContainerTarget, Planner};
use crate::devloop::gateway::StackLoader;
use crate::devloop::session::SessionOptions;
use crate::docker::build::{self, EngineOptions};
use crate::docker::progress::Board;
use crate::error::with_hint;
use crate::openfaas::deployment::{self, Overrides};
use crate::ops::local_run::{self, LocalRunOptions, Ports, RunOutcome, RunPlan};
use crate::stack::Stack;

pub async fn run(args: LocalRunArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.watch && !args.build {
        return Err(with_hint(
            anyhow::anyhow!("--watch rebuilds the function on changes: it cannot be combined with --build=false"),
            "leave out --build=false",
        ));
    }
    let stack = ctx.load_stack(args.envsubst.envsubst).await?;
    let stack = only(&stack, args.name.as_deref())?;
    if args.name.is_none() {
        crate::commands::new::update_gitignore(&ctx.cwd)?;
    }
    let docker = crate::docker::connect().await;
    let ports = match &docker {
        Ok(d) if args.network.is_none() && !local_run::engine_has_bridge(d).await => Ports::HostNetwork,
        _ => Ports::Publish,
    };
    let plan = plan_for(&stack, &args, ports, ctx)?;
    if ports == Ports::HostNetwork {
        let (name, port) = (&plan.name, plan.port.unwrap_or_default());
        ctx.printer.warn(&format!(
            "the engine has no bridge network to publish a port: {name} runs on the host network, listening on \
             127.0.0.1:{port} (given as -e {}={port} -e {}=127.0.0.1)",
            local_run::PORT_ENV,
            local_run::BIND_ENV
        ));
    }
    if args.print {
        ctx.printer.data(&local_run::docker_run_line(&plan));
        return Ok(());
    }
    let docker = docker?;
    local_run::check_port_free(&plan)?;
    if args.watch {
        // Rebuilt plans keep this one's port, a `--port 0` pick included.
        let args = LocalRunArgs { port: plan.port.unwrap_or(args.port), ..args };
        return watch(stack, plan, docker, &args, ports, ctx).await;
    }
    if args.build {
        build_function(&stack, &args, &docker, ctx).await?;
    }
    let outcome = local_run::run(&docker, &plan, &ctx.printer, shutdown_signal()).await?;
    match outcome {
        RunOutcome::Stopped => {
            ctx.printer.status(&format!("{} stopped and removed", plan.name));
            Ok(())
        }
        RunOutcome::Exited(0) => Ok(()),
        RunOutcome::Exited(code) => anyhow::bail!("{} exited with code {code}", plan.name),
    }
}

/// The container for the stack's one function, as `args` ask for it.
fn plan_for(stack: &Stack, args: &LocalRunArgs, ports: Ports, ctx: &Context) -> anyhow::Result<RunPlan> {
    let function = stack.functions().next().expect("one function selected");
    let overrides = Overrides { tag: args.tag.tag, ..Default::default() };
    let fprocess = crate::ops::deploy::template_fprocess(function.lang.as_deref(), &ctx.env());
    let d = deployment::from_stack(stack, function, &overrides, fprocess, &ctx.cwd)?;
    let opts = LocalRunOptions {
        port: args.port,
        network: args.network.clone(),
        ports,
        extra_env: args.env.clone(),
        secrets_dir: local_run::secrets_dir(&ctx.cwd),
    };
    Ok(local_run::plan(&d, &opts)?)
}

/// `--watch`: build and run, then apply every change until Ctrl-C (see [`crate::devloop`]).
async fn watch(
    stack: Stack,
    plan: RunPlan,
    docker: bollard::Docker,
    args: &LocalRunArgs,
    ports: Ports,
    ctx: &Context,
) -> anyhow::Result<()> {
    let built = build_function(&stack, args, &docker, ctx).await;
    let name = plan.name.clone();
    let envsubst = args.envsubst.envsubst;
    let load: StackLoader<'_> = Box::new(move || {
        let name = name.clone();
        Box::pin(async move { only(&ctx.load_stack(envsubst).await?, Some(&name)) })
    });
    let build = crate::commands::build::options(&args.flags, args.tag.tag, false, crate::ops::Parallelism::ONE);
    let planner: Planner<'_> = Box::new(move |stack: &Stack| plan_for(stack, args, ports, ctx));
    let mut target = ContainerTarget::new(docker.clone(), plan, build.clone(), planner, load, ctx.env());
    match built {
        Ok(()) => target.start(),
        Err(e) => {
            ctx.printer.error(&crate::error::render(&e));
            ctx.printer.status("Watching for a change that fixes it.");
        }
    }
    let stack_file = crate::devloop::session::stack_file(ctx.global.yaml.as_deref(), &ctx.cwd);
    let opts = SessionOptions { stack_file, build, docker: Some(docker), env: ctx.env() };
    crate::devloop::session::run(&mut target, stack, opts).await
}

/// The stack with only the function to run: `name`, or the only one there is.
fn only(stack: &Stack, name: Option<&str>) -> anyhow::Result<Stack> {
    let names: Vec<&String> = stack.file.functions.keys().collect();
    let chosen = match name {
        Some(n) if stack.file.functions.contains_key(n) => n.to_string(),
        Some(n) => {
            let listed: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            return Err(with_hint(
                anyhow::anyhow!("no function \"{n}\" in {}", stack.source),
                format!("the stack has: {}", listed.join(", ")),
            ));
        }
        None if names.len() == 1 => names[0].clone(),
        None if names.is_empty() => anyhow::bail!("{} selects no function to run", stack.source),
        None => {
            let listed: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            return Err(with_hint(
                anyhow::anyhow!("give a function name to run: [{}]", listed.join(" ")),
                format!("e.g. `rfaas local-run {}`", listed[0]),
            ));
        }
    };
    let mut one = stack.clone();
    one.file.functions.retain(|k, _| *k == chosen);
    Ok(one)
}

async fn build_function(
    stack: &Stack,
    args: &LocalRunArgs,
    docker: &bollard::Docker,
    ctx: &Context,
) -> anyhow::Result<()> {
    let build = crate::commands::build::options(&args.flags, args.tag.tag, false, crate::ops::Parallelism::ONE);
    let (jobs, _skipped) = crate::ops::build::prepare(stack, &build, &ctx.env()).await?;
    let opts =
        EngineOptions { force: false, no_cache: args.flags.no_cache, pull: args.flags.pull, squash: args.flags.squash };
    let board = Board::new(&ctx.printer, !args.quiet);
    for (job, result) in build::build_all(docker, jobs, opts, &board, 1).await {
        if let Err(e) = result {
            return Err(with_hint(
                anyhow::anyhow!("cannot build {}: {e}", job.function),
                "fix the build, or run the existing image with --build=false",
            ));
        }
    }
    Ok(())
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        // Without signal handlers the default action ends the process; never complete here.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
