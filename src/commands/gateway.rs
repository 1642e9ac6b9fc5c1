//! `rfaas gateway [start|stop|status]`: flags in, calls on `crate::gateway` out.

use crate::cli::{
    GatewayConnectionArgs, LocalGatewayAction, LocalGatewayArgs, LocalGatewayServeArgs, LocalGatewayStateArgs,
};
use clap::ValueEnum;

use crate::commands::Context;
use crate::gateway::callback::CallbackAllow;
use crate::gateway::queue::QueueConfig;
use crate::gateway::{self, GatewayConfig, connections, daemon};

fn state_dir(args: &LocalGatewayStateArgs) -> anyhow::Result<std::path::PathBuf> {
    match &args.state_dir {
        Some(dir) => Ok(std::path::absolute(dir)?),
        None => daemon::default_state_dir(),
    }
}

pub async fn run(args: LocalGatewayArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.action {
        None => serve(args.serve, ctx).await,
        Some(LocalGatewayAction::Start(serve)) => start(*serve, ctx).await,
        Some(LocalGatewayAction::Stop(state)) => stop(state, ctx).await,
        Some(LocalGatewayAction::Status(state)) => status(state, ctx).await,
    }
}

/// The queue's settings from its flags: the last `--queue-workers N` for every queue, and
/// `--queue-workers QUEUE=N` for one.
fn queue_config(args: &LocalGatewayServeArgs) -> QueueConfig {
    let flags = &args.queue;
    let defaults = QueueConfig::default();
    let default_workers =
        flags.queue_workers.iter().rev().find(|w| w.queue.is_none()).map_or(defaults.default_workers, |w| w.workers);
    let workers = flags.queue_workers.iter().filter_map(|w| Some((w.queue.clone()?, w.workers))).collect();
    QueueConfig {
        callback_allow: CallbackAllow::from_flags(&flags.callback_allow, args.bind),
        callback_timeout: flags.callback_timeout,
        default_workers,
        workers,
        retention_count: usize::try_from(flags.async_retention_count).unwrap_or(usize::MAX),
        retention_age: flags.async_retention_age,
    }
}

async fn serve(args: LocalGatewayServeArgs, ctx: &Context) -> anyhow::Result<()> {
    let config = GatewayConfig {
        bind: args.bind,
        port: args.port,
        state_dir: state_dir(&args.state)?,
        upstream_timeout: args.upstream_timeout,
        health_timeout: args.health_timeout,
        connections: limits(&args.connections),
        queue: queue_config(&args),
        scaling: args.scaling.config(),
        pull: args.pull,
    };
    gateway::serve(config, &ctx.printer).await
}

fn limits(args: &GatewayConnectionArgs) -> connections::Limits {
    connections::Limits {
        header_read_timeout: args.header_read_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    }
}

async fn start(args: LocalGatewayServeArgs, ctx: &Context) -> anyhow::Result<()> {
    let dir = state_dir(&args.state)?;
    let opts = daemon::StartOptions {
        exe: std::env::current_exe()?,
        bind: args.bind,
        port: args.port,
        state_dir: dir.clone(),
        extra_args: [
            format!("--upstream-timeout={}ms", args.upstream_timeout.as_millis()),
            format!("--health-timeout={}ms", args.health_timeout.as_millis()),
            format!("--pull={}", args.pull.to_possible_value().expect("no skipped variants").get_name()),
        ]
        .into_iter()
        .chain(args.connections.to_args())
        .chain(args.queue.to_args())
        .chain(args.scaling.to_args())
        .collect(),
    };
    let (file, started) = daemon::start_background(&opts).await?;
    let what = if started { "started" } else { "already running" };
    ctx.printer.status(&format!(
        "gateway {what} (pid {}); password in {}; log in {}",
        file.pid,
        gateway::auth::password_path(&dir).display(),
        dir.join(daemon::LOG_FILE).display()
    ));
    ctx.printer.data(&file.url);
    Ok(())
}

async fn stop(args: LocalGatewayStateArgs, ctx: &Context) -> anyhow::Result<()> {
    match daemon::stop(&state_dir(&args)?).await? {
        Some(pid) => ctx.printer.status(&format!("gateway (pid {pid}) stopped")),
        None => ctx.printer.status("no gateway running"),
    }
    Ok(())
}

async fn status(args: LocalGatewayStateArgs, ctx: &Context) -> anyhow::Result<()> {
    match daemon::running(&state_dir(&args)?).await {
        Some(file) => ctx.printer.data(&format!("running: {} (pid {})", file.url, file.pid)),
        None => anyhow::bail!("no gateway running"),
    }
    Ok(())
}
