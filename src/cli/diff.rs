//! Flags of `diff`: what `deploy` would change.

use clap::Args;

use super::{ApiArgs, EnvsubstArg, NamespaceArg, TagArg};
use crate::ops::diff::EnvMode;

pub const DIFF_EXAMPLES: &str = "Examples:
  rfaas diff
  rfaas diff -f stack.yaml --filter 'api-*' --env all
  rfaas diff -n staging && echo 'nothing to deploy'
  rfaas diff --output json | jq '.functions[].function'

Exit code: 0 when the gateway matches the stack, 1 when something differs (or on an error).";

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    #[command(flatten)]
    pub tag: TagArg,
    /// Environment variables set on one side only: local ignores those only deployed, remote
    /// those only in the stack, all reports both
    #[arg(long, value_enum, default_value = "local", value_name = "MODE")]
    pub env: EnvMode,
    /// Output format: text (side by side, as faas-cli) or json ({"differences", "functions"})
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: crate::output::Format,
    /// Timeout for the call to the gateway API
    #[arg(long, default_value = "60s", value_parser = super::parse_duration)]
    pub timeout: std::time::Duration,
}
