//! `rfaas gateway` flags for scaling: how long a request waits for a function to start from
//! zero, how long idle replicas stay paused, the gateway-wide replica limit and the
//! autoscaler's scale-down window.

use std::time::Duration;

use clap::Args;

use super::{parse_duration, parse_positive_duration};
use crate::gateway::scaling::ScalingConfig;

// The scaling flags, shared by `rfaas gateway` and `rfaas gateway start`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Scaling")]
pub struct ScalingFlags {
    /// How long a request to a function at 0 replicas waits for one to start before a 504
    #[arg(long, default_value = "60s", value_parser = parse_positive_duration)]
    pub wake_timeout: Duration,
    /// How long the idle replicas of a com.openfaas.scale.zero function stay paused (resumed by
    /// the next request in milliseconds) before they are removed; 0 removes them at once
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub pause_before_remove: Duration,
    /// The most replicas any function may have (caps com.openfaas.scale.max and scale requests)
    #[arg(long, default_value_t = crate::gateway::state::MAX_REPLICAS, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub max_replicas: u64,
    /// How long the load must stay lower before the autoscaler removes replicas
    #[arg(long, default_value = "60s", value_parser = parse_positive_duration)]
    pub scale_down_window: Duration,
}

impl ScalingFlags {
    pub fn config(&self) -> ScalingConfig {
        ScalingConfig {
            wake_timeout: self.wake_timeout,
            pause_before_remove: self.pause_before_remove,
            max_replicas: self.max_replicas,
            scale_down_window: self.scale_down_window,
        }
    }

    /// The same settings as flags, for `gateway start` to pass to the background gateway.
    pub fn to_args(&self) -> Vec<String> {
        // Whole milliseconds: the duration parser takes `2500ms`, not `2.5s`.
        vec![
            format!("--wake-timeout={}ms", self.wake_timeout.as_millis()),
            format!("--pause-before-remove={}ms", self.pause_before_remove.as_millis()),
            format!("--max-replicas={}", self.max_replicas),
            format!("--scale-down-window={}ms", self.scale_down_window.as_millis()),
        ]
    }
}
