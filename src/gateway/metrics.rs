//! Prometheus metrics in the text exposition format, with the OpenFaaS gateway's names:
//! `gateway_function_invocation_total{function_name,code}`, `gateway_functions_seconds`
//! (histogram), `gateway_function_invocation_started{function_name}` and
//! `gateway_service_count{function_name}` (available replicas). `function_name` is always
//! `name.namespace`. Kept in memory; counters restart at zero with the gateway.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::state::FunctionTable;

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// One function's counters, kept together so that the hot path finds them with one lookup and
/// allocates only the first time a function or status code is seen.
#[derive(Default)]
struct FunctionCounters {
    started: u64,
    /// Per status code: the invocation count and the duration histogram.
    by_code: BTreeMap<u16, (u64, Histogram)>,
}

#[derive(Default)]
struct Inner {
    functions: BTreeMap<String, FunctionCounters>,
}

impl Inner {
    fn function(&mut self, function: &str) -> &mut FunctionCounters {
        if !self.functions.contains_key(function) {
            self.functions.insert(function.to_string(), FunctionCounters::default());
        }
        self.functions.get_mut(function).expect("just inserted")
    }
}

/// The gateway's counters.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// A synchronous invocation of `function` (`name.ns`) started.
    pub fn started(&self, function: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.function(function).started += 1;
    }

    /// An invocation finished with `code` after `seconds`.
    pub fn finished(&self, function: &str, code: u16, seconds: f64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (total, h) = inner.function(function).by_code.entry(code).or_default();
        *total += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The exposition text.
    pub fn render(&self, functions: &FunctionTable) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP gateway_function_invocation_total Function metrics\n");
        out.push_str("# TYPE gateway_function_invocation_total counter\n");
        for (name, f) in &inner.functions {
            for (code, (n, _)) in &f.by_code {
                let _ =
                    writeln!(out, "gateway_function_invocation_total{{code=\"{code}\",function_name=\"{name}\"}} {n}");
            }
        }
        out.push_str("# HELP gateway_functions_seconds Function time taken\n");
        out.push_str("# TYPE gateway_functions_seconds histogram\n");
        for (name, code, h) in
            inner.functions.iter().flat_map(|(name, f)| f.by_code.iter().map(move |(c, (_, h))| (name, c, h)))
        {
            let labels = format!("code=\"{code}\",function_name=\"{name}\"");
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "gateway_functions_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "gateway_functions_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "gateway_functions_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "gateway_functions_seconds_count{{{labels}}} {}", h.count);
        }
        out.push_str(
            "# HELP gateway_function_invocation_started The total number of function HTTP requests started.\n",
        );
        out.push_str("# TYPE gateway_function_invocation_started counter\n");
        for (name, n) in inner.functions.iter().map(|(name, f)| (name, f.started)).filter(|(_, n)| *n > 0) {
            let _ = writeln!(out, "gateway_function_invocation_started{{function_name=\"{name}\"}} {n}");
        }
        out.push_str("# HELP gateway_service_count Current count of replicas for function\n");
        out.push_str("# TYPE gateway_service_count gauge\n");
        for f in functions.all() {
            let _ = writeln!(out, "gateway_service_count{{function_name=\"{}\"}} {}", f.key, f.endpoints().len());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.started("echo.openfaas-fn");
        m.finished("echo.openfaas-fn", 200, 0.02);
        let text = m.render(&FunctionTable::default());
        assert!(text.contains("gateway_function_invocation_total{code=\"200\",function_name=\"echo.openfaas-fn\"} 1"));
        assert!(text.contains(
            "gateway_functions_seconds_bucket{code=\"200\",function_name=\"echo.openfaas-fn\",le=\"0.01\"} 0"
        ));
        assert!(text.contains(
            "gateway_functions_seconds_bucket{code=\"200\",function_name=\"echo.openfaas-fn\",le=\"0.025\"} 1"
        ));
        assert!(text.contains("gateway_function_invocation_started{function_name=\"echo.openfaas-fn\"} 1"));
    }
}
