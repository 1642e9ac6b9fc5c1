//! `rfaas gateway` flags for the async queue: where callbacks may go and how long they may take,
//! and how long finished invocation records are kept.

use std::time::Duration;

use clap::Args;

use super::parse_duration;
use crate::gateway::callback::HostPattern;

/// The async queue's flags, shared by `rfaas gateway` and `rfaas gateway start`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Async queue")]
pub struct QueueFlags {
    /// Accept X-Callback-Url only for this host: HOST, HOST:PORT, *.DOMAIN[:PORT] or * (repeatable)
    /// [default: any host when listening on loopback, none otherwise]
    #[arg(long, value_name = "HOST[:PORT]", value_parser = parse_host_pattern)]
    pub callback_allow: Vec<HostPattern>,
    /// The longest one callback may take, connecting included (redirects are never followed)
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub callback_timeout: Duration,
    /// Finished async records (succeeded, dead) to keep, newest first; older ones are deleted
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub async_retention_count: u64,
    /// Delete finished async records older than this (a re-sent X-Call-Id is deduplicated while its record is kept)
    #[arg(long, default_value = "7d", value_parser = parse_duration, value_name = "DURATION")]
    pub async_retention_age: Duration,
}

fn parse_host_pattern(s: &str) -> Result<HostPattern, String> {
    s.parse()
}

impl QueueFlags {
    /// The same flags as arguments, for a gateway started in the background.
    pub fn to_args(&self) -> Vec<String> {
        let mut args: Vec<String> = self.callback_allow.iter().map(|p| format!("--callback-allow={p}")).collect();
        args.push(format!("--callback-timeout={}s", self.callback_timeout.as_secs_f64()));
        args.push(format!("--async-retention-count={}", self.async_retention_count));
        args.push(format!("--async-retention-age={}s", self.async_retention_age.as_secs_f64()));
        args
    }
}
