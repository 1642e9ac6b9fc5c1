//! Flags of `rfaas async list|describe|retry`: the async call records of rfaas's own gateway.

use clap::{Args, Subcommand};

use super::{ApiArgs, JsonArg};
use crate::openfaas::invocations::InvocationStatus;

pub const ASYNC_EXAMPLES: &str = "Examples:
  rfaas async list                                   # the newest 100 calls, every namespace
  rfaas async list --status dead                     # the dead-letter queue
  rfaas async list --function payment -n shop --limit 10
  rfaas async describe order-42:payment              # attempts, response and callback of one call
  rfaas async retry order-42:payment                 # run a dead (or succeeded) call again
  rfaas async list -g http://127.0.0.1:8080 --output json | jq -r '.[].callId'

Only rfaas's own gateway (`rfaas gateway`) keeps these records: OpenFaaS and faasd have no such API.";

// `rfaas async`.
#[derive(Debug, Args)]
pub struct AsyncArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: AsyncCommand,
}

#[derive(Debug, Subcommand)]
pub enum AsyncCommand {
    /// List async calls, newest first
    #[command(alias = "ls", after_help = ASYNC_EXAMPLES)]
    List(AsyncListArgs),
    /// Show one async call: its attempts, final response and callback
    #[command(alias = "get", after_help = ASYNC_EXAMPLES)]
    Describe(AsyncCallArgs),
    /// Queue a dead or succeeded call again with the same request (a fresh set of retries)
    #[command(after_help = ASYNC_EXAMPLES)]
    Retry(AsyncCallArgs),
}

#[derive(Debug, Args)]
pub struct AsyncListArgs {
    /// Only this function's calls
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// Only calls in this namespace [default: every namespace]
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Only calls in this state: queued, running, succeeded, failed (another attempt is due) or dead
    #[arg(long, value_parser = parse_status)]
    pub status: Option<InvocationStatus>,
    /// At most this many calls (1 to 1000)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: u64,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct AsyncCallArgs {
    /// The call id (the X-Call-Id the gateway answered with, or the one the client sent)
    #[arg(value_name = "CALL_ID")]
    pub call_id: String,
    #[command(flatten)]
    pub json: JsonArg,
}

fn parse_status(s: &str) -> Result<InvocationStatus, String> {
    s.parse()
}
