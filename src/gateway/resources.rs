//! Kubernetes resource quantities (`128Mi`, `1G`, `100m`, `0.5`) turned into what Docker takes:
//! bytes for memory, nano-CPUs for cpu. `limits` become hard limits, `requests.memory` a
//! reservation; `requests.cpu` has no Docker equivalent and is only validated.

use crate::openfaas::types::FunctionResources;

/// Docker resource settings for one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DockerResources {
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub nano_cpus: Option<i64>,
}

/// Parses a memory quantity into bytes.
pub fn memory_bytes(text: &str) -> Result<i64, String> {
    const SUFFIXES: [(&str, f64); 12] = [
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
        Ok(c) if c.is_finite() && c > 0.0 => Ok((c * 1e9).round() as i64),
        _ => Err(format!("invalid cpu quantity {text:?} (examples: 100m, 0.5, 2)")),
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
            out.nano_cpus = Some(nano_cpus(&l.cpu)?);
        }
    }
    if let Some(r) = requests {
        if !r.memory.is_empty() {
            out.memory_reservation = Some(memory_bytes(&r.memory)?);
        }
        if !r.cpu.is_empty() {
            nano_cpus(&r.cpu)?;
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
        assert!(nano_cpus("-1").is_err());
    }

    #[test]
    fn limits_and_requests() {
        let limits = FunctionResources { memory: "64Mi".into(), cpu: "1".into() };
        let requests = FunctionResources { memory: "32Mi".into(), cpu: "x".into() };
        assert!(to_docker(Some(&limits), Some(&requests)).is_err());
        let requests = FunctionResources { memory: "32Mi".into(), cpu: String::new() };
        let d = to_docker(Some(&limits), Some(&requests)).unwrap();
        assert_eq!(d.memory, Some(64 << 20));
        assert_eq!(d.memory_reservation, Some(32 << 20));
        assert_eq!(d.nano_cpus, Some(1_000_000_000));
    }
}
