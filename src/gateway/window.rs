//! Each function's invocations over the last five minutes, in 10-second slots: counts, 5xx
//! answers and a latency histogram with log-spaced buckets (each bound 1.2 times the last, from
//! 50 µs), from which the UI's req/s, p50 and p99 come. Fed by the proxy's metrics hook; served
//! as JSON by `GET /system/function-stats` (behind auth).
//!
//! Prometheus has the long-term numbers; this is the gateway's own short memory, so the UI needs
//! no Prometheus. A quantile is the geometric middle of its bucket: within 10 % of the true value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{ApiError, bad_name};
use super::names::{FnKey, check_namespace};
use super::namespaces::require_namespace;
use super::state::Gateway;

/// The width of one slot.
pub const SLOT_SECONDS: u64 = 10;
/// Slots kept: five minutes.
pub const SLOTS: usize = 30;
const FIRST_BOUND: f64 = 50e-6;
const GROWTH: f64 = 1.2;
/// 50 µs · 1.2^83 ≈ 190 s; slower calls count in the last bucket.
const BUCKETS: usize = 84;

#[derive(Clone)]
struct Slot {
    /// Which 10-second slot since the Unix epoch this holds; stale slots are reused.
    number: u64,
    requests: u32,
    errors: u32,
    latency: [u32; BUCKETS],
}

const EMPTY: Slot = Slot { number: 0, requests: 0, errors: 0, latency: [0; BUCKETS] };

/// One function's last five minutes.
pub struct Window {
    slots: Mutex<Box<[Slot; SLOTS]>>,
}

impl Default for Window {
    fn default() -> Window {
        Window { slots: Mutex::new(Box::new([EMPTY; SLOTS])) }
    }
}

fn bucket(seconds: f64) -> usize {
    if seconds.is_nan() || seconds <= FIRST_BOUND {
        return 0;
    }
    let i = ((seconds / FIRST_BOUND).ln() / GROWTH.ln()).ceil();
    (i as usize).min(BUCKETS - 1)
}

/// The geometric middle of bucket `i`.
fn bucket_middle(i: usize) -> f64 {
    let upper = FIRST_BOUND * GROWTH.powi(i as i32);
    if i == 0 { upper } else { upper / GROWTH.sqrt() }
}

/// A summary over the last `slots` slots, for JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub window_seconds: u64,
    pub requests: u64,
    /// Answers with a 5xx status.
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
    /// Requests per slot, oldest first, the current (partial) slot last.
    pub series: Vec<u32>,
}

impl Window {
    /// One finished invocation that started at `unix_secs`.
    pub fn record(&self, unix_secs: u64, seconds: f64, error: bool) {
        let number = unix_secs / SLOT_SECONDS;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut slots[(number % SLOTS as u64) as usize];
        if slot.number != number {
            *slot = Slot { number, ..EMPTY };
        }
        slot.requests = slot.requests.saturating_add(1);
        slot.errors = slot.errors.saturating_add(u32::from(error));
        let b = bucket(seconds);
        slot.latency[b] = slot.latency[b].saturating_add(1);
    }

    /// The last `slots` slots (1..=30) up to the one holding `now_secs`.
    pub fn summary(&self, now_secs: u64, slots: usize) -> Summary {
        let slots = slots.clamp(1, SLOTS);
        let current = now_secs / SLOT_SECONDS;
        let kept = self.slots.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut latency = [0u64; BUCKETS];
        let mut out = Summary { window_seconds: slots as u64 * SLOT_SECONDS, ..Summary::default() };
        for number in (current + 1).saturating_sub(slots as u64)..=current {
            let slot = &kept[(number % SLOTS as u64) as usize];
            let live = slot.number == number && number != 0;
            out.series.push(if live { slot.requests } else { 0 });
            if live {
                out.requests += u64::from(slot.requests);
                out.errors += u64::from(slot.errors);
                for (sum, n) in latency.iter_mut().zip(slot.latency) {
                    *sum += u64::from(n);
                }
            }
        }
        // The current slot is partly over: divide by the time the window really covers.
        let covered = (slots as u64 - 1) * SLOT_SECONDS + now_secs % SLOT_SECONDS + 1;
        out.requests_per_second = out.requests as f64 / covered as f64;
        out.p50_seconds = quantile(&latency, out.requests, 0.5);
        out.p99_seconds = quantile(&latency, out.requests, 0.99);
        out
    }
}

fn quantile(latency: &[u64; BUCKETS], total: u64, q: f64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    latency
        .iter()
        .position(|n| {
            seen += n;
            seen >= rank
        })
        .map(bucket_middle)
}

/// One function's entry in `GET /system/function-stats`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionStats {
    name: String,
    namespace: String,
    slot_seconds: u64,
    last_minute: Summary,
    last_five_minutes: Summary,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `GET /system/function-stats?namespace=`: every function of the namespace, sorted by name.
pub async fn stats(
    State(gw): State<Arc<Gateway>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let key = FnKey::new("", q.get("namespace").map(String::as_str).unwrap_or_default());
    bad_name(check_namespace(&key.namespace))?;
    require_namespace(&gw, &key.namespace).await?;
    let now = now_secs();
    let items: Vec<FunctionStats> = gw
        .functions
        .in_namespace(&key.namespace)
        .iter()
        .map(|f| {
            let (minute, five) = match f.metrics.get() {
                Some(m) => (m.window.summary(now, 6), m.window.summary(now, SLOTS)),
                None => (Window::default().summary(now, 6), Window::default().summary(now, SLOTS)),
            };
            FunctionStats {
                name: f.key.name.clone(),
                namespace: f.key.namespace.clone(),
                slot_seconds: SLOT_SECONDS,
                last_minute: minute,
                last_five_minutes: five,
            }
        })
        .collect();
    Ok(axum::Json(items).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log_spaced_and_bounded() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(50e-6), 0);
        assert_eq!(bucket(60e-6), 1);
        assert_eq!(bucket(1e9), BUCKETS - 1);
        for s in [0.0001, 0.003, 0.02, 0.5, 7.0] {
            let m = bucket_middle(bucket(s));
            assert!((m / s - 1.0).abs() < 0.1, "{s} -> {m}");
        }
    }

    #[test]
    fn summaries_cover_the_window_and_forget_old_slots() {
        let w = Window::default();
        let t0 = 1_000_000; // a slot boundary
        for i in 0..99 {
            w.record(t0 + i % 10, 0.010, false);
        }
        w.record(t0 + 5, 2.0, true);
        let s = w.summary(t0 + 9, 6);
        assert_eq!((s.requests, s.errors, s.series.len()), (100, 1, 6));
        assert_eq!(s.series[5], 100);
        assert!((s.p50_seconds.unwrap() / 0.010 - 1.0).abs() < 0.1);
        assert!((s.p99_seconds.unwrap() / 0.010 - 1.0).abs() < 0.1, "{s:?}");
        assert!((s.requests_per_second - 100.0 / 60.0).abs() < 1e-9);
        // Five minutes later the slot is out of the window, and then reused.
        assert_eq!(w.summary(t0 + 300, SLOTS).requests, 0);
        w.record(t0 + 300, 0.5, false);
        let s = w.summary(t0 + 300, SLOTS);
        assert_eq!((s.requests, s.series[SLOTS - 1]), (1, 1));
    }

    #[test]
    fn an_empty_window_has_no_quantiles() {
        let s = Window::default().summary(1234, SLOTS);
        assert_eq!((s.requests, s.p50_seconds, s.series.len()), (0, None, SLOTS));
    }
}
