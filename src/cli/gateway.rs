//! Flags of `rfaas gateway [start|stop|status]`, the local gateway.

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::gateway::pull::PullPolicy;

use super::{QueueFlags, ScalingFlags, parse_duration, parse_positive_duration};

pub const LOCAL_GATEWAY_EXAMPLES: &str = "Examples:
  rfaas gateway                       # foreground on http://127.0.0.1:8080
  rfaas gateway start --port 0        # background, on a free port; prints the URL
  rfaas gateway start --max-connections 4096 --idle-timeout 30s
  rfaas gateway start --wake-timeout 30s --pause-before-remove 10m --max-replicas 20
  rfaas gateway status
  rfaas gateway stop
  rfaas login -g http://127.0.0.1:8080 --password-stdin < ~/.rfaas/gateway/basic-auth-password";

// `rfaas gateway [start|stop|status]`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LocalGatewayArgs {
    #[command(subcommand)]
    pub action: Option<LocalGatewayAction>,
    #[command(flatten)]
    pub serve: LocalGatewayServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum LocalGatewayAction {
    /// Start the gateway in the background and wait until it answers
    Start(Box<LocalGatewayServeArgs>),
    /// Stop the background gateway (SIGTERM) and wait for it to exit; functions keep running
    Stop(LocalGatewayStateArgs),
    /// Show whether the gateway is running, and its URL
    Status(LocalGatewayStateArgs),
}

// Where and how the local gateway listens.
#[derive(Debug, Clone, Args)]
pub struct LocalGatewayServeArgs {
    /// Port to listen on (0 picks a free one; the URL is written to <state-dir>/gateway.json)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    #[command(flatten)]
    pub state: LocalGatewayStateArgs,
    /// How long to wait for a function's response headers before answering 504
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
    /// How long a new replica has to pass its readiness check (the health path annotation, else
    /// GET /_/health, else TCP), counted after any initialDelay annotation
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub health_timeout: Duration,
    /// Whether to pull an image the engine does not have when replicas start: `missing` pulls
    /// it with the credentials in Docker's config; `never` runs only images already in the engine
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,
    #[command(flatten)]
    pub connections: GatewayConnectionArgs,
    #[command(flatten)]
    pub queue: QueueFlags,
    #[command(flatten)]
    pub scaling: ScalingFlags,
}

// Bounds on the gateway's inbound connections, so no client can hold them all.
#[derive(Debug, Clone, Args)]
pub struct GatewayConnectionArgs {
    /// Close a connection whose request head has not arrived this long after its first byte
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub header_read_timeout: Duration,
    /// Close a connection that waits this long for its client (kept alive between requests, or
    /// stalled in a request body)
    #[arg(long, default_value = "60s", value_parser = parse_positive_duration)]
    pub idle_timeout: Duration,
    /// About how many connections may be open; at the bound, those waiting longest for their
    /// client are closed to make room, and only when all are busy is a new one refused (503)
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl GatewayConnectionArgs {
    /// The same settings as flags, for `gateway start` to pass to the background gateway.
    pub fn to_args(&self) -> Vec<String> {
        // Whole milliseconds: the duration parser takes `1500ms`, not `1.5s`.
        vec![
            format!("--header-read-timeout={}ms", self.header_read_timeout.as_millis()),
            format!("--idle-timeout={}ms", self.idle_timeout.as_millis()),
            format!("--max-connections={}", self.max_connections),
        ]
    }
}

// The gateway's state directory.
#[derive(Debug, Clone, Args)]
pub struct LocalGatewayStateArgs {
    /// State directory: credentials, functions, secrets, queue [default: ~/.rfaas/gateway]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
}
