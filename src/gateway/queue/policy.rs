//! A function's async settings, from its annotations: the retry policy (how many attempts, on
//! which statuses, how long to wait between them: exponential back-off from the minimum wait,
//! capped at the maximum) and its lane (the named queue its calls run in, and how many at once).
//!
//! The retry annotations are OpenFaaS Pro's, with its meanings: `com.openfaas.retry.attempts`
//! counts attempts in all (the first included), `.codes` lists the statuses to retry, `.min_wait`
//! and `.max_wait` are Go-style durations (`500ms`, `5s`, `1m30s`). Unlike OpenFaaS Pro, which
//! falls back to its defaults, a bad value is refused at deploy (400 naming the annotation).

use std::collections::BTreeMap;
use std::time::Duration;

use super::dispatch::{DEFAULT_QUEUE, Lane};

/// Attempts in all, the first included (1 = never retry).
pub const ATTEMPTS: &str = "com.openfaas.retry.attempts";
/// Comma-separated statuses to retry, e.g. `429,503`.
pub const CODES: &str = "com.openfaas.retry.codes";
/// The wait before the first retry.
pub const MIN_WAIT: &str = "com.openfaas.retry.min_wait";
/// The longest wait between two attempts.
pub const MAX_WAIT: &str = "com.openfaas.retry.max_wait";
/// The named queue the function's async calls run in (each queue has its own workers).
pub const QUEUE: &str = "com.openfaas.queue";
/// rfaas: at most this many of the function's async calls run at once.
pub const MAX_INFLIGHT: &str = "com.rfaas.queue.max_inflight";

const MAX_ATTEMPTS: u32 = 100;
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);
const MAX_INFLIGHT_LIMIT: usize = 1000;
const MAX_QUEUE_NAME: usize = 64;

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
    /// The policy `annotations` ask for, the defaults filling what they leave out; the error names
    /// the annotation and value.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Result<RetryPolicy, String> {
        let defaults = RetryPolicy::default();
        let attempts = match annotations.get(ATTEMPTS) {
            None => defaults.attempts,
            Some(text) => whole(ATTEMPTS, text, 1, MAX_ATTEMPTS as usize)? as u32,
        };
        let codes = match annotations.get(CODES) {
            None => defaults.codes,
            Some(text) => parse_codes(text)?,
        };
        let min_wait = match annotations.get(MIN_WAIT) {
            None => defaults.min_wait,
            Some(text) => duration(MIN_WAIT, text)?,
        };
        let max_wait = match annotations.get(MAX_WAIT) {
            None => defaults.max_wait.max(min_wait),
            Some(text) => duration(MAX_WAIT, text)?,
        };
        if max_wait < min_wait {
            return Err(format!(
                "annotation {MAX_WAIT} ({max_wait:?}) must not be shorter than {MIN_WAIT} ({min_wait:?})"
            ));
        }
        Ok(RetryPolicy { attempts, codes, min_wait, max_wait })
    }

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

/// The lane `annotations` ask for: `com.openfaas.queue` (default [`DEFAULT_QUEUE`]) and
/// `com.rfaas.queue.max_inflight` (default: no cap below the queue's workers).
pub fn lane_from_annotations(annotations: &BTreeMap<String, String>) -> Result<Lane, String> {
    let queue = match annotations.get(QUEUE) {
        None => DEFAULT_QUEUE.to_string(),
        Some(name) => check_queue_name(name).map_err(|why| format!("annotation {QUEUE}: {why}"))?.to_string(),
    };
    let max_inflight = match annotations.get(MAX_INFLIGHT) {
        None => None,
        Some(text) => Some(whole(MAX_INFLIGHT, text, 1, MAX_INFLIGHT_LIMIT)?),
    };
    Ok(Lane { queue, max_inflight })
}

/// Checks a queue name (`com.openfaas.queue`, `--queue-workers NAME=N`); the error says why.
pub fn check_queue_name(name: &str) -> Result<&str, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > MAX_QUEUE_NAME {
        return Err(format!("a queue name must be 1 to {MAX_QUEUE_NAME} characters long, got {name:?}"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.chars().all(allowed) {
        return Err(format!(
            "a queue name may hold only letters, digits, '-', '_' and '.', starting with a letter or digit, got {name:?}"
        ));
    }
    Ok(name)
}

fn whole(annotation: &str, text: &str, min: usize, max: usize) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("annotation {annotation} must be a whole number from {min} to {max}, got {text:?}")),
    }
}

fn duration(annotation: &str, text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d <= LONGEST_WAIT => Ok(d),
        Ok(_) => Err(format!("annotation {annotation} must be at most 24h, got {text:?}")),
        Err(_) => Err(format!("annotation {annotation} must be a duration such as 500ms, 5s or 1m30s, got {text:?}")),
    }
}

fn parse_codes(text: &str) -> Result<Vec<u16>, String> {
    let bad = || format!("annotation {CODES} must list HTTP statuses from 400 to 599, e.g. \"429,503\", got {text:?}");
    let codes: Vec<u16> = text
        .split(',')
        .map(|c| c.trim().parse::<u16>().ok().filter(|c| (400..=599).contains(c)))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn openfaas_pro_annotations_set_the_policy() {
        let a = annotations(&[(ATTEMPTS, "30"), (CODES, "429, 500"), (MIN_WAIT, "5s"), (MAX_WAIT, "1m")]);
        let p = RetryPolicy::from_annotations(&a).unwrap();
        assert_eq!(
            p,
            RetryPolicy {
                attempts: 30,
                codes: vec![429, 500],
                min_wait: Duration::from_secs(5),
                max_wait: Duration::from_secs(60)
            }
        );
        assert_eq!(RetryPolicy::from_annotations(&BTreeMap::new()).unwrap(), RetryPolicy::default());
        let only_min = RetryPolicy::from_annotations(&annotations(&[(MIN_WAIT, "30s")])).unwrap();
        assert_eq!(only_min.max_wait, Duration::from_secs(30), "the maximum is at least the minimum");
        let never = RetryPolicy::from_annotations(&annotations(&[(ATTEMPTS, "1"), (MIN_WAIT, "0s")])).unwrap();
        assert_eq!((never.attempts, never.min_wait), (1, Duration::ZERO));
    }

    #[test]
    fn bad_annotation_values_are_refused_by_name() {
        for (name, value) in [
            (ATTEMPTS, "0"),
            (ATTEMPTS, "101"),
            (ATTEMPTS, "three"),
            (ATTEMPTS, "-1"),
            (CODES, ""),
            (CODES, "429,"),
            (CODES, "200"),
            (CODES, "600"),
            (CODES, "5xx"),
            (MIN_WAIT, "5"),
            (MIN_WAIT, "soon"),
            (MIN_WAIT, "25h"),
            (MAX_WAIT, "-1s"),
        ] {
            let err = RetryPolicy::from_annotations(&annotations(&[(name, value)])).unwrap_err();
            assert!(err.contains(name) && err.contains(&format!("{value:?}")), "{name}={value}: {err}");
        }
        let err = RetryPolicy::from_annotations(&annotations(&[(MIN_WAIT, "10s"), (MAX_WAIT, "5s")])).unwrap_err();
        assert!(err.contains(MAX_WAIT) && err.contains(MIN_WAIT), "{err}");
    }

    #[test]
    fn lanes_come_from_the_queue_annotations() {
        assert_eq!(
            lane_from_annotations(&BTreeMap::new()).unwrap(),
            Lane { queue: DEFAULT_QUEUE.into(), max_inflight: None }
        );
        let a = annotations(&[(QUEUE, "slow-fns"), (MAX_INFLIGHT, "2")]);
        assert_eq!(lane_from_annotations(&a).unwrap(), Lane { queue: "slow-fns".into(), max_inflight: Some(2) });
        for (name, value) in [(QUEUE, ""), (QUEUE, "../x"), (QUEUE, "a b"), (MAX_INFLIGHT, "0"), (MAX_INFLIGHT, "1001")]
        {
            let err = lane_from_annotations(&annotations(&[(name, value)])).unwrap_err();
            assert!(err.contains(name), "{name}={value}: {err}");
        }
        assert!(lane_from_annotations(&annotations(&[(QUEUE, &"q".repeat(65))])).is_err());
    }

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
