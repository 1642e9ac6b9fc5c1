//! Kubernetes resource quantities (`128Mi`, `1G`, `100m`, `0.5`) turned into what Docker takes.
//!
//! - `limits.memory` is the hard memory limit, `requests.memory` the reservation.
//! - `limits.cpu` is a CFS bandwidth limit with a 10 ms period instead of the 100 ms that
//!   `docker run --cpus` uses: a function that spends its quota early in a period waits for the
//!   rest of it, so at 500m a burst stalls for up to 50 ms with 100 ms periods and up to 5 ms
//!   with 10 ms ones. The kernel's smallest quota is 1 ms, so limits under 100m get a longer
//!   period (`quota = 1 ms`).
//! - `requests.cpu` becomes the relative CPU weight, as the kubelet maps it (1 CPU = 1024 shares).

use crate::openfaas::types::FunctionResources;

/// Docker resource settings for one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DockerResources {
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// CFS bandwidth: `cpu_quota` µs of CPU time in every `cpu_period` µs.
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<i64>,
    pub cpu_shares: Option<i64>,
}

/// The CFS period used for CPU limits, in µs.
const CFS_PERIOD_US: i64 = 10_000;
/// The kernel's smallest CFS quota and largest period, in µs.
const CFS_MIN_QUOTA_US: i64 = 1_000;
const CFS_MAX_PERIOD_US: i64 = 1_000_000;

/// One millicore, the smallest CPU quantity accepted.
const NANO_CPUS_PER_MILLI: i64 = 1_000_000;
/// The kubelet's bounds for CPU shares.
const MIN_SHARES: i64 = 2;
const MAX_SHARES: i64 = 262_144;

/// `(quota, period)` in µs for a limit of `nano_cpus` (at least 1m).
fn cfs_bandwidth(nano_cpus: i64) -> (i64, i64) {
    let quota = nano_cpus.saturating_mul(CFS_PERIOD_US) / 1_000_000_000;
    if quota >= CFS_MIN_QUOTA_US {
        return (quota, CFS_PERIOD_US);
    }
    let period = (CFS_MIN_QUOTA_US * 1_000_000_000 / nano_cpus).min(CFS_MAX_PERIOD_US);
    (CFS_MIN_QUOTA_US, period)
}

/// CPU shares for a request of `nano_cpus`, as the kubelet computes and bounds them.
fn cpu_shares(nano_cpus: i64) -> i64 {
    (nano_cpus.saturating_mul(1024) / 1_000_000_000).clamp(MIN_SHARES, MAX_SHARES)
}

/// Parses a memory quantity into bytes.
pub fn memory_bytes(text: &str) -> Result<i64, String> {
    const SUFFIXES: [(&str, f64); 11] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("m", 1e-3),
        ("", 1.0),
    ];
    let t = text.trim();
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = t.strip_suffix(suffix)
            && let Ok(value) = number.parse::<f64>()
            && value.is_finite()
            && value > 0.0
        {
            return Ok((value * factor).round() as i64);
        }
    }
    Err(format!("invalid memory quantity {text:?} (examples: 128Mi, 1Gi, 500M)"))
}

/// Parses a CPU quantity into nano-CPUs (`100m` = 0.1 CPU).
pub fn nano_cpus(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let cpus = match t.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().map(|m| m / 1000.0),
        None => t.parse::<f64>(),
    };
    match cpus {
        // Kubernetes' finest CPU precision is 1m; anything smaller would be 0 or less than
        // the kernel can enforce. (The f64 → i64 cast saturates for absurdly large values.)
        Ok(c) if c.is_finite() && c * 1e9 >= NANO_CPUS_PER_MILLI as f64 => Ok((c * 1e9).round() as i64),
        _ => Err(format!("invalid cpu quantity {text:?} (at least 1m; examples: 100m, 0.5, 2)")),
    }
}

/// Converts `limits` and `requests`; the error is the message for a 400.
pub fn to_docker(
    limits: Option<&FunctionResources>,
    requests: Option<&FunctionResources>,
) -> Result<DockerResources, String> {
    let mut out = DockerResources::default();
    if let Some(l) = limits {
        if !l.memory.is_empty() {
            out.memory = Some(memory_bytes(&l.memory)?);
        }
        if !l.cpu.is_empty() {
            let (quota, period) = cfs_bandwidth(nano_cpus(&l.cpu)?);
            out.cpu_quota = Some(quota);
            out.cpu_period = Some(period);
        }
    }
    if let Some(r) = requests {
        if !r.memory.is_empty() {
            out.memory_reservation = Some(memory_bytes(&r.memory)?);
        }
        if !r.cpu.is_empty() {
            out.cpu_shares = Some(cpu_shares(nano_cpus(&r.cpu)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(memory_bytes("128Mi"), Ok(128 * 1024 * 1024));
        assert_eq!(memory_bytes("1G"), Ok(1_000_000_000));
        assert_eq!(memory_bytes("1000"), Ok(1000));
        assert!(memory_bytes("lots").is_err());
        assert_eq!(nano_cpus("100m"), Ok(100_000_000));
        assert_eq!(nano_cpus("0.5"), Ok(500_000_000));
        assert_eq!(nano_cpus("1m"), Ok(1_000_000));
        assert!(nano_cpus("-1").is_err());
        // Below 1m: rejected, not rounded to 0 (which would divide by zero in cfs_bandwidth).
        assert!(nano_cpus("0.5m").is_err());
        assert!(nano_cpus("1e-10").is_err());
    }

    #[test]
    fn limits_and_requests() {
        let limits = FunctionResources { memory: "64Mi".into(), cpu: "1".into() };
        let requests = FunctionResources { memory: "32Mi".into(), cpu: "x".into() };
        assert!(to_docker(Some(&limits), Some(&requests)).is_err());
        let requests = FunctionResources { memory: "32Mi".into(), cpu: "100m".into() };
        let d = to_docker(Some(&limits), Some(&requests)).unwrap();
        assert_eq!(d.memory, Some(64 << 20));
        assert_eq!(d.memory_reservation, Some(32 << 20));
        assert_eq!((d.cpu_quota, d.cpu_period), (Some(10_000), Some(10_000)));
        assert_eq!(d.cpu_shares, Some(102));
    }

    #[test]
    fn cpu_limits_use_short_cfs_periods_within_kernel_bounds() {
        assert_eq!(cfs_bandwidth(500_000_000), (5_000, 10_000));
        assert_eq!(cfs_bandwidth(2_000_000_000), (20_000, 10_000));
        assert_eq!(cfs_bandwidth(100_000_000), (1_000, 10_000));
        // Under 100m the quota stays at the kernel's 1 ms minimum and the period grows.
        assert_eq!(cfs_bandwidth(50_000_000), (1_000, 20_000));
        assert_eq!(cfs_bandwidth(1_000_000), (1_000, 1_000_000));
        assert_eq!(cpu_shares(1_000_000), 2);
        assert_eq!(cpu_shares(250_000_000), 256);
        // Absurd quantities saturate instead of overflowing.
        let huge = nano_cpus("1e12").unwrap();
        assert_eq!(cfs_bandwidth(huge), (i64::MAX / 1_000_000_000, 10_000));
        assert_eq!(cpu_shares(huge), MAX_SHARES);
    }
}
