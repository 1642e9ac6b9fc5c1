//! Kubernetes resource quantities (`128Mi`, `1G`, `100m`, `0.5`) turned into what Docker takes.
//!
//! - `limits.memory` is the hard memory limit, `requests.memory` the reservation.
//! - `limits.cpu` is a CFS bandwidth limit with a 10 ms period instead of the 100 ms that
//!   `docker run --cpus` uses: a function that spends its quota early in a period waits for the
//!   rest of it, so at 500m a burst stalls for up to 50 ms with 100 ms periods and up to 5 ms
//!   with 10 ms ones. The kernel's smallest quota is 1 ms, so limits under 100m get a longer
//!   period (`quota = 1 ms`).
//! - `requests.cpu` becomes the relative CPU weight, as the kubelet maps it (1 CPU = 1024 shares).
//!
//! What Docker would refuse at container creation is refused here, at deploy time, with the field
//! and the value: memory that is not a whole number of bytes or is below Docker's 6 MiB minimum
//! (a limit or a reservation), a reservation above the limit, and CPU under 1m. Without that, the
//! record was stored and the gateway retried a container Docker would never create.

use super::error::shown;
use super::quantity::{Quantity, QuantityError};
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

/// Docker's smallest memory limit and reservation (`linuxMinMemory` in moby): 6 MiB.
const DOCKER_MIN_MEMORY: i64 = 6 << 20;

/// A field of `limits` or `requests` and its value, for error messages.
struct Field<'a> {
    name: &'static str,
    value: &'a str,
}

impl Field<'_> {
    fn error(&self, problem: &str) -> String {
        format!("{} {} {problem}", self.name, shown(self.value))
    }

    fn quantity(&self, examples: &str) -> Result<Quantity, String> {
        Quantity::parse(self.value).map_err(|e| match e {
            QuantityError::Syntax => self.error(&format!("is not a quantity (examples: {examples})")),
            QuantityError::Negative => self.error("is negative"),
            QuantityError::OutOfRange => self.error("is out of range"),
        })
    }

    /// Bytes: a whole number, at least Docker's minimum.
    fn memory(&self) -> Result<i64, String> {
        let bytes = self
            .quantity("128Mi, 1Gi, 500M")?
            .whole()
            .ok_or_else(|| self.error("is not a whole number of bytes (examples: 128Mi, 1Gi, 500M)"))?;
        let bytes = i64::try_from(bytes).map_err(|_| self.error("is out of range"))?;
        if bytes < DOCKER_MIN_MEMORY {
            return Err(self.error("is below Docker's minimum of 6Mi (omit it for no limit)"));
        }
        Ok(bytes)
    }

    /// Nano-CPUs: at least 1m, Kubernetes' finest CPU precision (anything smaller would be 0
    /// or less than the kernel can enforce); absurdly large values saturate.
    fn nano_cpus(&self) -> Result<i64, String> {
        let q = self.quantity("100m, 0.5, 2")?;
        if !q.at_least(1, 1000) {
            return Err(self.error("is below 1m, the smallest CPU quantity"));
        }
        Ok(q.scaled_up(1_000_000_000))
    }
}

fn field<'a>(name: &'static str, value: &'a str) -> Option<Field<'a>> {
    (!value.is_empty()).then_some(Field { name, value })
}

/// Converts `limits` and `requests`, refusing what Docker would refuse; the error is the
/// message for a 400 and names the field and its value.
pub fn to_docker(
    limits: Option<&FunctionResources>,
    requests: Option<&FunctionResources>,
) -> Result<DockerResources, String> {
    let empty = FunctionResources::default();
    let (l, r) = (limits.unwrap_or(&empty), requests.unwrap_or(&empty));
    let mut out = DockerResources::default();
    if let Some(f) = field("limits.memory", &l.memory) {
        out.memory = Some(f.memory()?);
    }
    if let Some(f) = field("limits.cpu", &l.cpu) {
        let (quota, period) = cfs_bandwidth(f.nano_cpus()?);
        out.cpu_quota = Some(quota);
        out.cpu_period = Some(period);
    }
    if let Some(f) = field("requests.memory", &r.memory) {
        let reservation = f.memory()?;
        if out.memory.is_some_and(|limit| reservation > limit) {
            return Err(f.error(&format!("is above limits.memory {}", shown(&l.memory))));
        }
        out.memory_reservation = Some(reservation);
    }
    if let Some(f) = field("requests.cpu", &r.cpu) {
        out.cpu_shares = Some(cpu_shares(f.nano_cpus()?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(memory: &str, cpu: &str) -> FunctionResources {
        FunctionResources { memory: memory.into(), cpu: cpu.into() }
    }

    fn limits(memory: &str, cpu: &str) -> Result<DockerResources, String> {
        to_docker(Some(&resources(memory, cpu)), None)
    }

    #[test]
    fn memory_docker_would_refuse_is_an_error_naming_field_and_value() {
        assert_eq!(limits("128Mi", "").unwrap().memory, Some(128 << 20));
        assert_eq!(limits("6Mi", "").unwrap().memory, Some(6 << 20));
        assert_eq!(limits("1G", "").unwrap().memory, Some(1_000_000_000));
        assert_eq!(limits("+64Mi", "").unwrap().memory, Some(64 << 20));
        let cases = [
            ("0.4", "limits.memory \"0.4\" is not a whole number of bytes (examples: 128Mi, 1Gi, 500M)"),
            ("1m", "limits.memory \"1m\" is not a whole number of bytes (examples: 128Mi, 1Gi, 500M)"),
            ("1e-10", "limits.memory \"1e-10\" is not a whole number of bytes (examples: 128Mi, 1Gi, 500M)"),
            ("1", "limits.memory \"1\" is below Docker's minimum of 6Mi (omit it for no limit)"),
            ("0", "limits.memory \"0\" is below Docker's minimum of 6Mi (omit it for no limit)"),
            ("4Mi", "limits.memory \"4Mi\" is below Docker's minimum of 6Mi (omit it for no limit)"),
            ("1E3", "limits.memory \"1E3\" is below Docker's minimum of 6Mi (omit it for no limit)"),
            ("+5Mi", "limits.memory \"+5Mi\" is below Docker's minimum of 6Mi (omit it for no limit)"),
            ("lots", "limits.memory \"lots\" is not a quantity (examples: 128Mi, 1Gi, 500M)"),
            ("-64Mi", "limits.memory \"-64Mi\" is negative"),
            ("16Ei", "limits.memory \"16Ei\" is out of range"),
            ("7.99Ei", "limits.memory \"7.99Ei\" is not a whole number of bytes (examples: 128Mi, 1Gi, 500M)"),
            ("8Ei", "limits.memory \"8Ei\" is out of range"),
            ("1e19", "limits.memory \"1e19\" is out of range"),
        ];
        for (value, message) in cases {
            assert_eq!(limits(value, ""), Err(message.to_string()), "{value}");
        }
        let reservation = to_docker(None, Some(&resources("5Mi", "")));
        assert_eq!(
            reservation,
            Err("requests.memory \"5Mi\" is below Docker's minimum of 6Mi (omit it for no limit)".into())
        );
        let above = to_docker(Some(&resources("32Mi", "")), Some(&resources("64Mi", "")));
        assert_eq!(above, Err("requests.memory \"64Mi\" is above limits.memory \"32Mi\"".into()));
    }

    #[test]
    fn cpu_quantities() {
        assert_eq!(limits("", "1m").unwrap().cpu_quota, Some(CFS_MIN_QUOTA_US));
        assert_eq!(limits("", "0.5").unwrap().cpu_quota, Some(5_000));
        assert_eq!(limits("", "1E0").unwrap().cpu_quota, Some(10_000));
        for (value, problem) in [
            ("0.5m", "is below 1m, the smallest CPU quantity"),
            ("1e-10", "is below 1m, the smallest CPU quantity"),
            ("0", "is below 1m, the smallest CPU quantity"),
            ("-1", "is negative"),
            ("x", "is not a quantity (examples: 100m, 0.5, 2)"),
        ] {
            assert_eq!(limits("", value), Err(format!("limits.cpu {value:?} {problem}")));
        }
        let requests = to_docker(None, Some(&resources("", "fast")));
        assert_eq!(requests, Err("requests.cpu \"fast\" is not a quantity (examples: 100m, 0.5, 2)".into()));
    }

    #[test]
    fn limits_and_requests() {
        let l = resources("64Mi", "1");
        let r = resources("32Mi", "100m");
        let d = to_docker(Some(&l), Some(&r)).unwrap();
        assert_eq!(d.memory, Some(64 << 20));
        assert_eq!(d.memory_reservation, Some(32 << 20));
        assert_eq!((d.cpu_quota, d.cpu_period), (Some(10_000), Some(10_000)));
        assert_eq!(d.cpu_shares, Some(102));
        assert_eq!(to_docker(Some(&resources("", "")), None), Ok(DockerResources::default()));
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
        let huge = limits("", "1e12").unwrap();
        assert_eq!((huge.cpu_quota, huge.cpu_period), (Some(i64::MAX / 1_000_000_000), Some(10_000)));
        let shares = to_docker(None, Some(&resources("", "1e12"))).unwrap();
        assert_eq!(shares.cpu_shares, Some(MAX_SHARES));
    }
}
