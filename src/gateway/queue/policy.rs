//! The retry policy of a function's async calls: how many attempts, on which statuses, and how
//! long to wait between them (exponential back-off from the minimum wait, capped at the maximum).

use std::time::Duration;

/// When and how often a call is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Function statuses that are retried.
    pub codes: Vec<u16>,
    /// The wait before the first retry; each further retry waits twice as long...
    pub min_wait: Duration,
    /// ...up to this.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            codes: vec![429, 502, 503, 504],
            min_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Whether an attempt that ended with `status` is retried (attempts permitting). `internal` is
    /// true when the gateway answered for the function (no replica): the function never saw the
    /// call, so it is retried whatever the codes say, as OpenFaaS Pro does.
    pub fn retries(&self, status: u16, internal: bool) -> bool {
        internal || self.codes.contains(&status)
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn wait(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.min_wait.saturating_mul(factor).min(self.max_wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_minimum_up_to_the_maximum() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = (1..=7).map(|n| p.wait(n)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(waits, [ms(500), ms(1000), ms(2000), ms(4000), ms(8000), ms(10_000), ms(10_000)]);
        assert_eq!(p.wait(200), Duration::from_secs(10), "no overflow");
        let zero = RetryPolicy { min_wait: Duration::ZERO, ..p.clone() };
        assert_eq!(zero.wait(3), Duration::ZERO);
    }

    #[test]
    fn retried_statuses() {
        let p = RetryPolicy::default();
        assert!(p.retries(503, false) && p.retries(429, false));
        assert!(!p.retries(500, false) && !p.retries(200, false));
        assert!(p.retries(503, true));
        let only_429 = RetryPolicy { codes: vec![429], ..p };
        assert!(!only_429.retries(503, false) && only_429.retries(503, true));
    }
}
