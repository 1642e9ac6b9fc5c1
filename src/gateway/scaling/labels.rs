//! The `com.openfaas.scale.*` labels, parsed once into a [`Policy`]. Deploy and update refuse a
//! bad value with a 400 naming the label ([`Policy::parse`]); after that the gateway reads the
//! policy from the stored deployment, which is known to parse.
//!
//! Defaults follow OpenFaaS: `min` 1, `max` 20 (then capped by the gateway's `--max-replicas`),
//! `target` 50, `type` rps, `target-proportion` 0.90, `zero` false, `zero-duration` 15m.
//! Unlike OpenFaaS Pro, a function is autoscaled only when it names `max`, `target` or `type`:
//! functions without them keep the replicas they were deployed or scaled to.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::gateway::error::shown;

pub const MIN: &str = "com.openfaas.scale.min";
pub const MAX: &str = "com.openfaas.scale.max";
pub const TARGET: &str = "com.openfaas.scale.target";
pub const TYPE: &str = "com.openfaas.scale.type";
pub const PROPORTION: &str = "com.openfaas.scale.target-proportion";
pub const ZERO: &str = "com.openfaas.scale.zero";
pub const ZERO_DURATION: &str = "com.openfaas.scale.zero-duration";

/// The most replicas a `max` label may name (the gateway's limit applies on top).
const MAX_LABEL: u64 = 1000;
const DEFAULT_MAX: u64 = 20;
const DEFAULT_TARGET: f64 = 50.0;
const DEFAULT_PROPORTION: f64 = 0.9;
const DEFAULT_ZERO_DURATION: Duration = Duration::from_secs(15 * 60);

/// What the autoscaler measures against `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Requests per second over all replicas.
    Rps,
    /// Requests in flight over all replicas.
    Capacity,
    /// CPU use over all replicas, in millicores.
    Cpu,
}

impl Metric {
    pub fn label(self) -> &'static str {
        match self {
            Metric::Rps => "rps",
            Metric::Capacity => "capacity",
            Metric::Cpu => "cpu",
        }
    }
}

/// A function's scaling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub min: u64,
    pub max: u64,
    pub target: f64,
    pub metric: Metric,
    pub proportion: f64,
    /// Whether the autoscaler manages the replica count.
    pub autoscale: bool,
    /// Idle time after which replicas are paused, then removed; `None` keeps them.
    pub zero_after: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min: 1,
            max: DEFAULT_MAX,
            target: DEFAULT_TARGET,
            metric: Metric::Rps,
            proportion: DEFAULT_PROPORTION,
            autoscale: false,
            zero_after: None,
        }
    }
}

impl Policy {
    /// The policy of a deployment's labels; the error is the message for a 400 and names the
    /// label. `limit` is the gateway's `--max-replicas`, which `min` may not exceed.
    pub fn parse(labels: Option<&BTreeMap<String, String>>, limit: u64) -> Result<Policy, String> {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        let get = |name: &str| labels.get(name).map(|v| v.trim());
        let mut p = Policy::default();
        if let Some(v) = get(MIN) {
            p.min = whole(MIN, v, 1, limit)?;
        }
        if let Some(v) = get(MAX) {
            p.max = whole(MAX, v, 1, MAX_LABEL)?;
        }
        if p.min > p.max {
            return Err(format!(
                "label {MIN} ({}) is larger than {MAX} ({}); lower {MIN} or raise {MAX}",
                p.min, p.max
            ));
        }
        if let Some(v) = get(TARGET) {
            p.target = match v.parse::<f64>() {
                Ok(t) if t.is_finite() && t > 0.0 => t,
                _ => return Err(format!("label {TARGET} must be a number above 0, got {}", shown(v))),
            };
        }
        if let Some(v) = get(TYPE) {
            p.metric = match v {
                "rps" => Metric::Rps,
                "capacity" => Metric::Capacity,
                "cpu" => Metric::Cpu,
                _ => return Err(format!("label {TYPE} must be rps, capacity or cpu, got {}", shown(v))),
            };
        }
        if let Some(v) = get(PROPORTION) {
            p.proportion = match v.parse::<f64>() {
                Ok(x) if x > 0.0 && x <= 1.0 => x,
                _ => {
                    return Err(format!("label {PROPORTION} must be a number above 0 and at most 1, got {}", shown(v)));
                }
            };
        }
        p.autoscale = [MAX, TARGET, TYPE].iter().any(|l| labels.contains_key(*l));
        let zero = match get(ZERO) {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => return Err(format!("label {ZERO} must be \"true\" or \"false\", got {}", shown(v))),
        };
        let duration = match get(ZERO_DURATION) {
            None => DEFAULT_ZERO_DURATION,
            Some(v) => match parse_go_duration(v) {
                Some(d) if d >= Duration::from_secs(1) => d,
                Some(_) => return Err(format!("label {ZERO_DURATION} must be at least 1s, got {}", shown(v))),
                None => {
                    return Err(format!(
                        "label {ZERO_DURATION} must be a duration such as 15m, 90s or 1h30m, got {}",
                        shown(v)
                    ));
                }
            },
        };
        p.zero_after = zero.then_some(duration);
        Ok(p)
    }

    /// The policy of stored labels, which passed [`Policy::parse`] at deploy time.
    pub fn of(labels: Option<&BTreeMap<String, String>>, limit: u64) -> Policy {
        Policy::parse(labels, limit).unwrap_or_default()
    }

    /// `max`, capped by the gateway's limit.
    pub fn ceiling(&self, limit: u64) -> u64 {
        self.max.min(limit).max(1)
    }
}

fn whole(label: &str, v: &str, low: u64, high: u64) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!("label {label} must be a whole number from {low} to {high}, got {}", shown(v))),
    }
}

/// Go's `time.ParseDuration` syntax (`15m`, `1h30m`, `1.5h`, `300ms`), which OpenFaaS's labels
/// use; negative durations are refused.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let nanos = go_parse_duration::parse_duration(text).ok()?;
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> Result<Policy, String> {
        let labels: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Policy::parse(Some(&labels), 10)
    }

    #[test]
    fn go_durations() {
        let secs = |t: &str| parse_go_duration(t).map(|d| d.as_secs_f64());
        assert_eq!(secs("15m"), Some(900.0));
        assert_eq!(secs("1h30m"), Some(5400.0));
        assert_eq!(secs("1.5h"), Some(5400.0));
        assert_eq!(secs("300ms"), Some(0.3));
        assert_eq!(secs("0"), Some(0.0));
        for bad in ["", "15", "15 m", "m", "1.2.3s", "-5m", "15min", "1d", "9999999999h"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn defaults_and_autoscale_opt_in() {
        let p = policy(&[]).unwrap();
        assert_eq!((p.min, p.max, p.metric, p.autoscale, p.zero_after), (1, 20, Metric::Rps, false, None));
        assert!(!policy(&[(MIN, "2")]).unwrap().autoscale, "min alone only sets the replica count");
        let p = policy(&[(TYPE, "capacity"), (TARGET, "5"), (PROPORTION, "0.5")]).unwrap();
        assert!(p.autoscale && p.metric == Metric::Capacity && p.target == 5.0 && p.proportion == 0.5);
        let p = policy(&[(ZERO, "true"), (ZERO_DURATION, "2m")]).unwrap();
        assert_eq!(p.zero_after, Some(Duration::from_secs(120)));
        assert_eq!(policy(&[(ZERO, "true")]).unwrap().zero_after, Some(DEFAULT_ZERO_DURATION));
        assert_eq!(policy(&[(MAX, "50")]).unwrap().ceiling(10), 10, "capped by the gateway's limit");
    }

    #[test]
    fn bad_values_name_their_label() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[(MAX, "-1")], MAX),
            (&[(MAX, "0")], MAX),
            (&[(MAX, "many")], MAX),
            (&[(MIN, "0")], MIN),
            (&[(MIN, "11")], MIN),
            (&[(MIN, "4"), (MAX, "2")], MIN),
            (&[(TYPE, "memory")], TYPE),
            (&[(TARGET, "0")], TARGET),
            (&[(TARGET, "-3")], TARGET),
            (&[(TARGET, "NaN")], TARGET),
            (&[(PROPORTION, "0")], PROPORTION),
            (&[(PROPORTION, "1.5")], PROPORTION),
            (&[(ZERO, "yes")], ZERO),
            (&[(ZERO, "true"), (ZERO_DURATION, "15 minutes")], ZERO_DURATION),
            (&[(ZERO_DURATION, "100ms")], ZERO_DURATION),
        ];
        for (labels, named) in cases {
            let e = policy(labels).unwrap_err();
            assert!(e.contains(&format!("label {named} ")), "{labels:?}: {e}");
        }
        let huge = "9".repeat(100_000);
        let e = policy(&[(MAX, &huge)]).unwrap_err();
        assert!(e.len() < 200, "the value is bounded in the message: {e}");
    }
}
