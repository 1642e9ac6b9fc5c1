//! Replica counts that follow the traffic: [`wake`] holds a request to a function at 0 replicas
//! (or with paused ones) while one replica starts or resumes; [`idle`] pauses, then removes, the
//! replicas of functions labelled `com.openfaas.scale.zero` once they are idle; [`autoscale`]
//! moves the replica count between `com.openfaas.scale.min` and `.max` from the load. The labels
//! are parsed in [`labels`].
//!
//! Every change of the desired replicas made here goes through [`set_replicas`]: saved in the
//! store, logged, counted (`rfaas_scale_events_total`) and kept in the function's recent
//! [`ScalingEvent`]s, which `GET /system/function/{name}` shows.

pub mod autoscale;
pub mod hold;
pub mod idle;
pub mod labels;
pub mod wake;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::console;
use super::replicas::{self, Cause, ReplicaError};
use super::state::{Endpoint, Function, Gateway};
use crate::openfaas::types::{ScalingEvent, ScalingStatus};

/// How many scaling events each function keeps for `describe`.
const EVENTS_KEPT: usize = 20;

/// The gateway-wide scaling settings (flags of `rfaas gateway`).
#[derive(Debug, Clone, Copy)]
pub struct ScalingConfig {
    /// How long a request waits for a function at 0 replicas to start one; then 504.
    pub wake_timeout: Duration,
    /// How long idle replicas stay paused before they are removed (0: removed at once).
    pub pause_before_remove: Duration,
    /// The most replicas any function may have.
    pub max_replicas: u64,
    /// How long the load must stay lower before the autoscaler removes replicas.
    pub scale_down_window: Duration,
}

impl Default for ScalingConfig {
    fn default() -> ScalingConfig {
        ScalingConfig {
            wake_timeout: Duration::from_secs(60),
            pause_before_remove: Duration::from_secs(300),
            max_replicas: super::state::MAX_REPLICAS,
            scale_down_window: Duration::from_secs(60),
        }
    }
}

/// A function's scaling state, kept on its [`Function`].
#[derive(Default)]
pub struct FunctionScaling {
    /// Milliseconds since [`epoch`] of the last request (sync, async or cron).
    last_request_ms: AtomicU64,
    /// The wake in progress, which concurrent requests join.
    waking: Mutex<Option<wake::Outcome>>,
    /// Replicas taken out of the endpoint table and paused, and when.
    paused: Mutex<Option<Paused>>,
    events: Mutex<VecDeque<ScalingEvent>>,
    /// Memory of the paused replicas, bytes (0 when none are paused).
    paused_memory: AtomicU64,
    /// Whether a reconcile has begun since the function was loaded (restored functions answer
    /// requests only once it adopted their replicas).
    reconciled: std::sync::atomic::AtomicBool,
    /// The autoscaler's samples.
    pub(crate) load: Mutex<autoscale::LoadHistory>,
}

/// A replica out of the endpoint table, held still by the idle tier.
struct Held {
    endpoint: Arc<Endpoint>,
    hold: hold::Hold,
}

struct Paused {
    replicas: Vec<Held>,
    since: Instant,
}

/// The instant the gateway's coarse clock counts from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl FunctionScaling {
    /// A reconcile has begun: requests no longer wait for one to adopt the function's replicas.
    pub(crate) fn mark_reconciled(&self) {
        self.reconciled.store(true, Ordering::SeqCst);
    }

    /// Notes a request now (the idle timer starts again).
    pub fn touch(&self) {
        self.last_request_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// How long since the last request (or since the gateway started, before the first).
    pub fn idle_for(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.last_request_ms.load(Ordering::Relaxed)))
    }

    /// How many replicas are paused.
    pub fn paused_count(&self) -> usize {
        self.paused.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map_or(0, |p| p.replicas.len())
    }

    fn paused_since(&self) -> Option<Instant> {
        self.paused.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|p| p.since)
    }

    fn take_paused(&self) -> Vec<Held> {
        let taken = self.paused.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.paused_memory.store(0, Ordering::Relaxed);
        taken.map(|p| p.replicas).unwrap_or_default()
    }

    fn set_paused(&self, replicas: Vec<Held>) {
        *self.paused.lock().unwrap_or_else(|p| p.into_inner()) = Some(Paused { replicas, since: Instant::now() });
    }

    fn record(&self, event: ScalingEvent) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() == EVENTS_KEPT {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// The status `describe` shows.
    pub fn status(&self) -> ScalingStatus {
        ScalingStatus {
            paused_replicas: self.paused_count() as u64,
            paused_memory_bytes: self.paused_memory.load(Ordering::Relaxed),
            events: self.events.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect(),
        }
    }
}

/// Records a scaling event: the gateway log, the function's recent events.
pub(crate) fn note(f: &Function, from: u64, to: u64, reason: &str) {
    console::info(&format!("{}: scaling {from} -> {to} replicas ({reason})", f.key));
    f.scaling.record(ScalingEvent { time: Utc::now(), from, to, reason: reason.to_string() });
}

/// Sets the desired replicas of `f` (saved, logged, counted, kept as an event) and starts or
/// stops replicas to match. Returns once the new replicas are healthy (or failed).
pub async fn set_replicas(gw: &Arc<Gateway>, f: &Arc<Function>, to: u64, reason: &str) -> Result<(), ReplicaError> {
    let edit = f.edit.lock().await;
    let Some(from) = save_replicas(gw, f, to, reason).await else { return Ok(()) };
    drop(edit);
    let cause = if from == 0 { Cause::Wake } else { Cause::Scale };
    replicas::reconcile(gw, f, cause).await
}

/// The record part of [`set_replicas`], with `f.edit` held by the caller: saves `to` as the
/// desired replicas and returns the previous count (`None` when `f` is gone or the store fails).
async fn save_replicas(gw: &Gateway, f: &Arc<Function>, to: u64, reason: &str) -> Option<u64> {
    if !gw.functions.holds(f) {
        return None;
    }
    let old = f.record();
    let from = old.replicas;
    if from != to {
        let record = super::store::FunctionRecord { replicas: to, ..old };
        if let Err(e) = gw.store.put_function(&record).await {
            console::error(&format!("{}: cannot save the replica count {to}: {e}", f.key));
            return None;
        }
        f.set_record(record);
        gw.metrics.scaled(&f.key.to_string(), from, to);
        note(f, from, to, reason);
    }
    Some(from)
}

/// Before a reconcile: paused replicas stay paused for the periodic sweep and after a replica
/// exit (`false`: skip this reconcile); any other cause (a deploy, an update, a scale, a wake)
/// resumes them first so the reconcile sees them running. Called with `f.ops` held.
pub async fn resume_before_reconcile(gw: &Arc<Gateway>, f: &Function, cause: Cause) -> bool {
    f.scaling.mark_reconciled();
    if f.scaling.paused_count() == 0 {
        if cause == Cause::Restore {
            idle::unpause_leftovers(gw, f).await;
        }
        return true;
    }
    if cause == Cause::Replace {
        return false;
    }
    idle::resume(gw, f, cause.label()).await;
    true
}

/// Starts the background scaling work: the idler and the autoscaler.
pub fn start(gw: &Arc<Gateway>) {
    tokio::spawn(idle::run(gw.clone()));
    tokio::spawn(autoscale::run(gw.clone()));
}
