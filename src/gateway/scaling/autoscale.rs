//! The autoscaler, for functions with `com.openfaas.scale.max`, `.target` or `.type`.
//!
//! Every [`TICK`] it samples each such function's load: requests per second (from the
//! invocation counter), requests in flight, or CPU in millicores (Docker stats of each replica,
//! differenced between samples), averaged over the last [`SAMPLES`] ticks. The wanted replicas
//! are `ceil(load / (target × target-proportion))`, kept within `min` and `max` (and the
//! gateway's `--max-replicas`). More replicas are started at once; fewer only when every sample
//! over `--scale-down-window` wanted fewer (the largest of them is kept), so a dip in traffic
//! does not stop replicas that are needed a moment later. Replicas that go are drained first
//! (in-flight requests finish), so scaling down fails no request.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::future::join_all;

use super::labels::{Metric, Policy};
use crate::gateway::console;
use crate::gateway::state::{Function, Gateway};

/// How often the load is sampled.
const TICK: Duration = Duration::from_millis(500);
/// How many samples the load is averaged over.
const SAMPLES: usize = 4;

/// One function's recent load samples and wanted replica counts.
#[derive(Default)]
pub struct LoadHistory {
    last_invocations: Option<(u64, Instant)>,
    /// Cumulative CPU nanoseconds of each container at the previous sample.
    last_cpu: HashMap<String, (u64, Instant)>,
    samples: VecDeque<f64>,
    /// `(when, wanted replicas)` over the scale-down window.
    wanted: VecDeque<(Instant, u64)>,
    busy: Arc<AtomicBool>,
}

impl LoadHistory {
    fn push(&mut self, load: f64) -> f64 {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(load);
        self.samples.iter().sum::<f64>() / self.samples.len() as f64
    }

    fn reset(&mut self) {
        self.samples.clear();
        self.wanted.clear();
    }
}

/// The replicas `load` calls for under `policy`, within its bounds.
pub fn wanted(policy: &Policy, load: f64, limit: u64) -> u64 {
    let per_replica = policy.target * policy.proportion;
    let n = (load / per_replica).ceil();
    let n = if n.is_finite() && n > 0.0 { n as u64 } else { 0 };
    n.clamp(policy.min, policy.ceiling(limit).max(policy.min))
}

/// What to do given the current replicas, the new wanted count and the window's history:
/// `Some(n)` to scale to `n`.
fn decide(current: u64, now_wanted: u64, history: &VecDeque<(Instant, u64)>, window: Duration) -> Option<u64> {
    if now_wanted > current {
        return Some(now_wanted);
    }
    let oldest = history.front()?;
    if oldest.0.elapsed() < window {
        return None;
    }
    let keep = history.iter().map(|(_, n)| *n).max().unwrap_or(current);
    (keep < current).then_some(keep)
}

pub async fn run(gw: Arc<Gateway>) {
    loop {
        tokio::time::sleep(TICK).await;
        for f in gw.functions.all() {
            let record = f.record();
            let policy = Policy::of(record.deployment.labels.as_ref(), gw.config.scaling.max_replicas);
            if !policy.autoscale || record.replicas == 0 || f.scaling.paused_count() > 0 {
                continue;
            }
            let busy = f.scaling.load.lock().unwrap_or_else(|p| p.into_inner()).busy.clone();
            if busy.load(Ordering::SeqCst) {
                continue;
            }
            let load = match policy.metric {
                Metric::Rps => rps(&f),
                Metric::Capacity => Some(f.inflight() as f64),
                Metric::Cpu => cpu_millicores(&gw, &f).await,
            };
            let Some(load) = load else { continue };
            let limit = gw.config.scaling.max_replicas;
            let target = {
                let mut h = f.scaling.load.lock().unwrap_or_else(|p| p.into_inner());
                let average = h.push(load);
                let now_wanted = wanted(&policy, average, limit);
                let window = gw.config.scaling.scale_down_window;
                h.wanted.push_back((Instant::now(), now_wanted));
                while h.wanted.len() > 1 && h.wanted.get(1).is_some_and(|(t, _)| t.elapsed() >= window) {
                    h.wanted.pop_front();
                }
                let decision = decide(record.replicas, now_wanted, &h.wanted, window);
                decision.map(|to| (to, average))
            };
            if let Some((to, average)) = target {
                busy.store(true, Ordering::SeqCst);
                let (gw, f) = (gw.clone(), f.clone());
                let reason = format!(
                    "autoscale: {} {average:.1}, target {} per replica",
                    policy.metric.label(),
                    policy.target * policy.proportion
                );
                tokio::spawn(async move {
                    if let Err(e) = super::set_replicas(&gw, &f, to, &reason).await {
                        console::warn(&format!("{}: {e}", f.key));
                    }
                    f.scaling.load.lock().unwrap_or_else(|p| p.into_inner()).reset();
                    busy.store(false, Ordering::SeqCst);
                });
            }
        }
    }
}

/// Requests per second since the previous sample.
fn rps(f: &Function) -> Option<f64> {
    let count = f.invocations.load(Ordering::Relaxed);
    let now = Instant::now();
    let mut h = f.scaling.load.lock().unwrap_or_else(|p| p.into_inner());
    let last = h.last_invocations.replace((count, now));
    let (before, at) = last?;
    let seconds = now.duration_since(at).as_secs_f64();
    (seconds > 0.0).then(|| count.saturating_sub(before) as f64 / seconds)
}

/// CPU use of all replicas since the previous sample, in millicores.
async fn cpu_millicores(gw: &Gateway, f: &Function) -> Option<f64> {
    let ids: Vec<String> = f.endpoints().iter().map(|e| e.container_id.clone()).collect();
    let usage = join_all(ids.iter().map(|id| cpu_ns(gw, id))).await;
    let now = Instant::now();
    let mut h = f.scaling.load.lock().unwrap_or_else(|p| p.into_inner());
    let mut total = 0.0;
    let mut measured = false;
    let mut next = HashMap::new();
    for (id, ns) in ids.into_iter().zip(usage) {
        let Some(ns) = ns else { continue };
        if let Some((before, at)) = h.last_cpu.get(&id) {
            let seconds = now.duration_since(*at).as_secs_f64();
            if seconds > 0.0 {
                total += ns.saturating_sub(*before) as f64 / 1e9 / seconds * 1000.0;
                measured = true;
            }
        }
        next.insert(id, (ns, now));
    }
    h.last_cpu = next;
    measured.then_some(total)
}

async fn cpu_ns(gw: &Gateway, id: &str) -> Option<u64> {
    let options = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
    let s = gw.provider.docker.stats(id, Some(options)).next().await?.ok()?;
    s.cpu_stats?.cpu_usage?.total_usage
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min: u64, max: u64, target: f64) -> Policy {
        Policy { min, max, target, proportion: 1.0, autoscale: true, ..Policy::default() }
    }

    #[test]
    fn wanted_replicas_follow_the_load_within_bounds() {
        let p = policy(1, 5, 10.0);
        assert_eq!(wanted(&p, 0.0, 10), 1);
        assert_eq!(wanted(&p, 10.0, 10), 1);
        assert_eq!(wanted(&p, 10.5, 10), 2);
        assert_eq!(wanted(&p, 1000.0, 10), 5, "never past max");
        assert_eq!(wanted(&p, 1000.0, 3), 3, "never past the gateway's limit");
        assert_eq!(wanted(&Policy { proportion: 0.5, ..p.clone() }, 10.0, 10), 2);
        assert_eq!(wanted(&p, f64::NAN, 10), 1);
    }

    #[test]
    fn up_at_once_down_after_a_stable_window() {
        let window = Duration::from_millis(200);
        let mut h = VecDeque::new();
        h.push_back((Instant::now(), 4));
        assert_eq!(decide(2, 4, &h, window), Some(4));
        assert_eq!(decide(4, 1, &h, window), None, "window not yet full");
        std::thread::sleep(window);
        h.push_back((Instant::now(), 1));
        assert_eq!(decide(4, 1, &h, window), None, "a sample in the window still wanted 4");
        h.pop_front();
        h.push_front((Instant::now() - window, 2));
        assert_eq!(decide(4, 1, &h, window), Some(2), "down to the most the window wanted");
    }
}
