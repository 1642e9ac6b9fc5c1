//! `rfaas gateway` flags for the async queue: workers per queue, where callbacks may go and how
//! long they may take, and how long finished invocation records are kept.

use std::time::Duration;

use clap::Args;

use super::parse_duration;
use crate::gateway::callback::HostPattern;

// The async queue's flags, shared by `rfaas gateway` and `rfaas gateway start`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Async queue")]
pub struct QueueFlags {
    /// Async workers of every queue (N), or of one named queue (QUEUE=N; see com.openfaas.queue) (repeatable)
    #[arg(long, value_name = "[QUEUE=]N", value_parser = parse_queue_workers)]
    pub queue_workers: Vec<QueueWorkers>,
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

/// The most workers one queue may have.
pub const MAX_QUEUE_WORKERS: usize = 64;

/// One `--queue-workers` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWorkers {
    /// `None`: every queue without its own value.
    pub queue: Option<String>,
    pub workers: usize,
}

fn parse_queue_workers(s: &str) -> Result<QueueWorkers, String> {
    let (queue, n) = match s.split_once('=') {
        Some((queue, n)) => (Some(crate::gateway::queue::policy::check_queue_name(queue)?.to_string()), n),
        None => (None, s),
    };
    match n.trim().parse::<usize>() {
        Ok(workers) if (1..=MAX_QUEUE_WORKERS).contains(&workers) => Ok(QueueWorkers { queue, workers }),
        _ => Err(format!("expected [QUEUE=]N with N from 1 to {MAX_QUEUE_WORKERS}, got {s:?}")),
    }
}

impl QueueFlags {
    /// The same flags as arguments, for a gateway started in the background.
    pub fn to_args(&self) -> Vec<String> {
        let mut args: Vec<String> = self
            .queue_workers
            .iter()
            .map(|w| match &w.queue {
                Some(queue) => format!("--queue-workers={queue}={}", w.workers),
                None => format!("--queue-workers={}", w.workers),
            })
            .collect();
        args.extend(self.callback_allow.iter().map(|p| format!("--callback-allow={p}")));
        // Whole milliseconds: the duration parser takes `2500ms`, not `2.5s`.
        args.push(format!("--callback-timeout={}ms", self.callback_timeout.as_millis()));
        args.push(format!("--async-retention-count={}", self.async_retention_count));
        args.push(format!("--async-retention-age={}ms", self.async_retention_age.as_millis()));
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        flags: QueueFlags,
    }

    fn parse(args: &[&str]) -> QueueFlags {
        Wrapper::try_parse_from(std::iter::once("gateway").chain(args.iter().copied())).unwrap().flags
    }

    #[test]
    fn a_background_gateway_gets_the_same_flags() {
        let flags = parse(&[
            "--queue-workers=8",
            "--queue-workers",
            "slow=2",
            "--callback-allow",
            "[::1]:9000",
            "--callback-allow=*.example.com",
            "--callback-timeout=2500ms",
            "--async-retention-count=5",
            "--async-retention-age=1h",
        ]);
        let args = flags.to_args();
        let again = parse(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(again.queue_workers, flags.queue_workers);
        assert_eq!(again.callback_allow, flags.callback_allow);
        assert_eq!(
            (again.callback_timeout, again.async_retention_count, again.async_retention_age),
            (Duration::from_millis(2500), 5, Duration::from_secs(3600))
        );
    }

    #[test]
    fn queue_workers_name_a_queue_or_all() {
        assert_eq!(parse_queue_workers("8"), Ok(QueueWorkers { queue: None, workers: 8 }));
        assert_eq!(parse_queue_workers("slow=2"), Ok(QueueWorkers { queue: Some("slow".into()), workers: 2 }));
        for bad in ["0", "65", "x", "=2", "../q=2", "slow=", "slow=0"] {
            assert!(parse_queue_workers(bad).is_err(), "{bad}");
        }
    }
}
