//! The gateway's Prometheus metrics (`GET /metrics`, text format 0.0.4), kept with the `prometheus`
//! crate's registry.
//!
//! OpenFaaS's families, with its names, types, help texts and labels (checked against
//! openfaas/faas `gateway/metrics/metrics.go` and `handlers/notifiers.go`), so that existing
//! dashboards and alert rules work: `gateway_function_invocation_total{code,function_name}`,
//! `gateway_functions_seconds{code,function_name}` (histogram, the Go client's default buckets),
//! `gateway_function_invocation_started{function_name}` and `gateway_service_count{function_name}`
//! (the function's `replicas` as `/system/functions` reports them). `function_name` is always
//! `name.namespace`. rfaas's own families carry an `rfaas_` prefix; process metrics are the
//! standard `process_*` family.
//!
//! The invoke hot path never looks a series up: each function resolves its handles once (see
//! [`FunctionMetrics`], kept on the function) and then only bumps atomics. Gauges that describe
//! the current state (replicas, in-flight, queue depth) are read when `/metrics` is scraped.
//! Counters live in memory and restart at zero with the gateway; like OpenFaaS, the series of a
//! removed function stay until then.

use std::sync::{Mutex, OnceLock};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use super::queue::QueueStats;
use super::window::Window;

/// The status codes with a pre-resolved series slot; others (600-999) are looked up per call.
const CODES: std::ops::Range<u16> = 100..600;

/// Buckets for replica start-up time: a container start and its first health check.
const COLD_START_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Why upstream replicas failed to answer, as `rfaas_upstream_errors_total{kind}` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    /// No response headers within the upstream timeout (504).
    Timeout,
    /// The replica's port refused the connection.
    Refused,
    /// The connection was reset or closed before a complete response.
    Reset,
    /// Anything else the HTTP client reported.
    Other,
}

impl UpstreamError {
    const ALL: [UpstreamError; 4] =
        [UpstreamError::Timeout, UpstreamError::Refused, UpstreamError::Reset, UpstreamError::Other];

    fn label(self) -> &'static str {
        match self {
            UpstreamError::Timeout => "timeout",
            UpstreamError::Refused => "refused",
            UpstreamError::Reset => "reset",
            UpstreamError::Other => "other",
        }
    }
}

/// The current state of one function, read when `/metrics` is scraped.
pub struct FunctionGauges {
    /// `name.namespace`.
    pub name: String,
    pub desired: u64,
    pub available: usize,
    pub starting: usize,
    pub inflight: usize,
}

/// Everything `/metrics` reads at scrape time besides the counters.
pub struct Scrape {
    pub functions: Vec<FunctionGauges>,
    /// The async queue's gauges and totals (kept by the queue, see `queue::stats`).
    pub queue: QueueStats,
}

/// The registry and every family.
pub struct Metrics {
    registry: Registry,
    invocations: IntCounterVec,
    seconds: HistogramVec,
    started: IntCounterVec,
    service_count: IntGaugeVec,
    available: IntGaugeVec,
    starting: IntGaugeVec,
    inflight: IntGaugeVec,
    upstream_errors: IntCounterVec,
    restarts: IntCounterVec,
    scale_events: IntCounterVec,
    cold_starts: IntCounterVec,
    cold_start_seconds: HistogramVec,
    cron_runs: IntCounterVec,
    cron_skipped: IntCounterVec,
    async_waiting: IntGaugeVec,
    async_running: IntGaugeVec,
    async_workers: IntGaugeVec,
    /// The queue's own totals, copied at each scrape.
    async_totals: [IntCounter; 5],
    connections: IntGauge,
    paused: IntGaugeVec,
    paused_memory: IntGaugeVec,
    /// Scrape-time gauges are reset and refilled; one scrape at a time.
    render: Mutex<()>,
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let family = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry.register(Box::new(family.clone())).expect("metric names are unique");
    family
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let family = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry.register(Box::new(family.clone())).expect("metric names are unique");
    family
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric definition");
    registry.register(Box::new(c.clone())).expect("metric names are unique");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric definition");
    registry.register(Box::new(g.clone())).expect("metric names are unique");
    g
}

fn histogram_vec(registry: &Registry, name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    let family = HistogramVec::new(opts, labels).expect("valid metric definition");
    registry.register(Box::new(family.clone())).expect("metric names are unique");
    family
}

impl Default for Metrics {
    fn default() -> Metrics {
        let r = Registry::new();
        let fcode = ["function_name", "code"];
        let f = ["function_name"];
        let m = Metrics {
            invocations: counter_vec(&r, "gateway_function_invocation_total", "Function metrics", &fcode),
            seconds: histogram_vec(
                &r,
                "gateway_functions_seconds",
                "Function time taken",
                &fcode,
                prometheus::DEFAULT_BUCKETS,
            ),
            started: counter_vec(
                &r,
                "gateway_function_invocation_started",
                "The total number of function HTTP requests started.",
                &f,
            ),
            service_count: gauge_vec(&r, "gateway_service_count", "Current count of replicas for function", &f),
            available: gauge_vec(
                &r,
                "rfaas_replicas_available",
                "Replicas that passed their health check and receive traffic.",
                &f,
            ),
            starting: gauge_vec(
                &r,
                "rfaas_replicas_starting",
                "Replicas started and waiting for their first health check.",
                &f,
            ),
            inflight: gauge_vec(&r, "rfaas_function_inflight", "Synchronous invocations being proxied now.", &f),
            upstream_errors: counter_vec(
                &r,
                "rfaas_upstream_errors_total",
                "Invocations whose replica did not answer, by kind (timeout, refused, reset, other).",
                &["function_name", "kind"],
            ),
            restarts: counter_vec(
                &r,
                "rfaas_replica_restarts_total",
                "Replicas that exited while serving and were replaced.",
                &f,
            ),
            scale_events: counter_vec(
                &r,
                "rfaas_scale_events_total",
                "Changes of a function's desired replicas, by direction (up, down).",
                &["function_name", "direction"],
            ),
            cold_starts: counter_vec(
                &r,
                "rfaas_cold_starts_total",
                "Replicas started to serve, by cause (deploy, update, scale, replace, restore, wake).",
                &["function_name", "cause"],
            ),
            cold_start_seconds: histogram_vec(
                &r,
                "rfaas_cold_start_seconds",
                "Time from creating a replica's container to its first healthy answer.",
                &f,
                &COLD_START_BUCKETS,
            ),
            cron_runs: counter_vec(&r, "rfaas_cron_runs_total", "Scheduled invocations, by status code.", &fcode),
            cron_skipped: counter_vec(
                &r,
                "rfaas_cron_skipped_total",
                "Scheduled runs skipped because the previous run was still going.",
                &f,
            ),
            async_waiting: gauge_vec(
                &r,
                "rfaas_async_queue_depth",
                "Async calls waiting for an attempt, by named queue.",
                &["queue"],
            ),
            async_running: gauge_vec(
                &r,
                "rfaas_async_inflight",
                "Async attempts under way, by named queue.",
                &["queue"],
            ),
            async_workers: gauge_vec(&r, "rfaas_async_workers", "Workers of each named queue.", &["queue"]),
            async_totals: [
                ("rfaas_async_retries_total", "Async attempts that failed and were scheduled again."),
                ("rfaas_async_succeeded_total", "Async calls that ended with a success."),
                ("rfaas_async_dead_total", "Async calls that ran out of attempts (dead)."),
                ("rfaas_async_callback_failures_total", "Callbacks not delivered or answered with 400 or more."),
                ("rfaas_async_manual_retries_total", "Finished async calls queued again through the retry route."),
            ]
            .map(|(name, help)| counter(&r, name, help)),
            connections: gauge(&r, "rfaas_open_connections", "Client connections open to the gateway."),
            paused: gauge_vec(&r, "rfaas_paused_replicas", "Idle replicas paused (docker pause), by function.", &f),
            paused_memory: gauge_vec(
                &r,
                "rfaas_paused_memory_bytes",
                "Memory held by a function's paused replicas (usage without inactive file cache).",
                &f,
            ),
            registry: r,
            render: Mutex::new(()),
        };
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            m.registry.register(Box::new(process)).expect("metric names are unique");
        }
        m
    }
}

impl Metrics {
    /// Resolves the series of `function` (`name.ns`) once; the proxy keeps the result.
    pub fn function(&self, function: &str) -> FunctionMetrics {
        let errors = UpstreamError::ALL.map(|kind| self.upstream_errors.with_label_values(&[function, kind.label()]));
        FunctionMetrics {
            name: function.to_string(),
            started: self.started.with_label_values(&[function]),
            by_code: CODES.map(|_| OnceLock::new()).collect(),
            errors,
            window: Window::default(),
        }
    }

    /// The gauge of open client connections, for the listener to keep.
    pub fn open_connections(&self) -> IntGauge {
        self.connections.clone()
    }

    /// A replica that was serving exited (crash, OOM, `docker rm`).
    pub fn replica_restarted(&self, function: &str) {
        self.restarts.with_label_values(&[function]).inc();
    }

    /// The desired replicas of `function` changed from `from` to `to`.
    pub fn scaled(&self, function: &str, from: u64, to: u64) {
        if from != to {
            let direction = if to > from { "up" } else { "down" };
            self.scale_events.with_label_values(&[function, direction]).inc();
        }
    }

    /// A replica started for `cause` became healthy after `seconds`.
    pub fn cold_start(&self, function: &str, cause: &str, seconds: f64) {
        self.cold_starts.with_label_values(&[function, cause]).inc();
        self.cold_start_seconds.with_label_values(&[function]).observe(seconds);
    }

    /// `function` has `count` paused replicas holding `bytes` of memory.
    pub fn paused(&self, function: &str, count: u64, bytes: u64) {
        self.paused.with_label_values(&[function]).set(i64::try_from(count).unwrap_or(i64::MAX));
        self.paused_memory.with_label_values(&[function]).set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// A cron run of `function` finished with `code`.
    pub fn cron_run(&self, function: &str, code: u16) {
        self.cron_runs.with_label_values(&[function, &code.to_string()]).inc();
    }

    /// A cron run of `function` was skipped: the previous one was still going.
    pub fn cron_skipped(&self, function: &str) {
        self.cron_skipped.with_label_values(&[function]).inc();
    }

    fn render_queue(&self, q: &QueueStats) {
        for family in [&self.async_waiting, &self.async_running, &self.async_workers] {
            family.reset();
        }
        for named in &q.queues {
            let labels = [named.queue.as_str()];
            self.async_waiting.with_label_values(&labels).set(named.waiting as i64);
            self.async_running.with_label_values(&labels).set(named.running as i64);
            self.async_workers.with_label_values(&labels).set(named.workers as i64);
        }
        let totals =
            [q.retries_total, q.succeeded_total, q.dead_total, q.callback_failures_total, q.manual_retries_total];
        for (counter, total) in self.async_totals.iter().zip(totals) {
            counter.reset();
            counter.inc_by(total);
        }
    }

    /// The exposition text: counters as they are, gauges from `scrape`.
    pub fn render(&self, scrape: &Scrape) -> String {
        let _one = self.render.lock().unwrap_or_else(|p| p.into_inner());
        for family in [&self.service_count, &self.available, &self.starting, &self.inflight] {
            family.reset();
        }
        for f in &scrape.functions {
            let labels = [f.name.as_str()];
            self.service_count.with_label_values(&labels).set(i64::try_from(f.desired).unwrap_or(i64::MAX));
            self.available.with_label_values(&labels).set(f.available as i64);
            self.starting.with_label_values(&labels).set(f.starting as i64);
            self.inflight.with_label_values(&labels).set(f.inflight as i64);
        }
        self.render_queue(&scrape.queue);
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            super::console::error(&format!("cannot encode metrics: {e}"));
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// One function's hot-path series, resolved once per function and kept on it.
pub struct FunctionMetrics {
    name: String,
    started: IntCounter,
    /// `(invocations, duration)` per status code, indexed by `code - 100`, filled on first use.
    by_code: Box<[OnceLock<(IntCounter, Histogram)>]>,
    errors: [IntCounter; 4],
    /// The last minutes, for the UI.
    pub window: Window,
}

impl FunctionMetrics {
    /// A synchronous invocation started.
    pub fn started(&self) {
        self.started.inc();
    }

    /// An invocation finished with `code` after `seconds`; `unix_secs` is when it started.
    pub fn finished(&self, metrics: &Metrics, code: u16, seconds: f64, unix_secs: u64) {
        let slot = usize::from(code.wrapping_sub(CODES.start));
        match self.by_code.get(slot) {
            Some(cell) => {
                let (count, histogram) = cell.get_or_init(|| resolve(metrics, &self.name, code));
                count.inc();
                histogram.observe(seconds);
            }
            None => {
                let (count, histogram) = resolve(metrics, &self.name, code);
                count.inc();
                histogram.observe(seconds);
            }
        }
        self.window.record(unix_secs, seconds, code >= 500);
    }

    /// The replica did not answer.
    pub fn upstream_error(&self, kind: UpstreamError) {
        self.errors[kind as usize].inc();
    }
}

fn resolve(metrics: &Metrics, function: &str, code: u16) -> (IntCounter, Histogram) {
    let code = code.to_string();
    let labels = [function, code.as_str()];
    (metrics.invocations.with_label_values(&labels), metrics.seconds.with_label_values(&labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing() -> Scrape {
        let queue = QueueStats {
            functions: Vec::new(),
            queues: Vec::new(),
            retries_total: 0,
            succeeded_total: 0,
            dead_total: 0,
            callback_failures_total: 0,
            manual_retries_total: 0,
        };
        Scrape { functions: Vec::new(), queue }
    }

    #[test]
    fn renders_openfaas_names_labels_and_buckets() {
        let m = Metrics::default();
        let f = m.function("echo.openfaas-fn");
        f.started();
        f.finished(&m, 200, 0.02, 0);
        f.finished(&m, 999, 0.02, 0);
        let text = m.render(&nothing());
        assert!(text.contains("gateway_function_invocation_total{code=\"200\",function_name=\"echo.openfaas-fn\"} 1"));
        assert!(text.contains("gateway_function_invocation_total{code=\"999\",function_name=\"echo.openfaas-fn\"} 1"));
        assert!(text.contains(
            "gateway_functions_seconds_bucket{code=\"200\",function_name=\"echo.openfaas-fn\",le=\"0.01\"} 0"
        ));
        assert!(
            text.contains(
                "gateway_functions_seconds_bucket{code=\"200\",function_name=\"echo.openfaas-fn\",le=\"1\"} 1"
            )
        );
        assert!(text.contains("# TYPE gateway_functions_seconds histogram"));
        assert!(text.contains("gateway_function_invocation_started{function_name=\"echo.openfaas-fn\"} 1"));
        assert!(text.contains("# TYPE gateway_function_invocation_started counter"));
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }

    #[test]
    fn the_same_function_resolves_the_same_series() {
        let m = Metrics::default();
        m.function("a.ns").finished(&m, 200, 0.1, 0);
        m.function("a.ns").finished(&m, 200, 0.1, 0);
        assert!(
            m.render(&nothing()).contains("gateway_function_invocation_total{code=\"200\",function_name=\"a.ns\"} 2")
        );
    }
}
