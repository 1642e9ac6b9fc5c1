//! The gateway's in-memory state: configuration, the shared clients, and the function table.
//!
//! The function table maps each deployed function to a [`Function`]: its stored record, the
//! endpoint list the invoke proxy reads on every request (an `ArcSwap`, replaced whole when
//! replicas change, so the hot path never blocks or calls Docker), a round-robin counter, an
//! invocation counter and its metric handles. Changes to a function's replicas are serialised by its `ops` lock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use super::auth::Credentials;
use super::cron::CronSlot;
use super::metrics::{FunctionMetrics, Metrics};
use super::names::FnKey;
use super::provider::Provider;
use super::queue::{Queue, QueueConfig};
use super::secrets::SecretStore;
use super::store::{FunctionRecord, Store};

/// How the gateway was asked to run.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub state_dir: PathBuf,
    /// How long the proxy waits for a function's response headers before answering 504.
    pub upstream_timeout: Duration,
    /// How long a new replica has to become ready (`readiness.rs`), after any initial delay.
    pub health_timeout: Duration,
    /// Timeouts and bound for inbound connections.
    pub connections: super::connections::Limits,
    /// The async queue: callbacks, workers, records.
    pub queue: QueueConfig,
    /// Scale from zero, idle scale to zero, autoscaling.
    pub scaling: super::scaling::ScalingConfig,
    /// Whether images the engine does not have are pulled.
    pub pull: super::pull::PullPolicy,
}

/// The most replicas one function may have by default (`--max-replicas`).
pub const MAX_REPLICAS: u64 = 10;

/// The pooled HTTP/1 client used to reach function replicas.
pub type HttpClient = Client<HttpConnector, Body>;

/// Everything request handlers and background tasks share.
pub struct Gateway {
    pub config: GatewayConfig,
    pub credentials: Credentials,
    pub store: Store,
    pub functions: FunctionTable,
    pub provider: Provider,
    pub secrets: SecretStore,
    pub metrics: Metrics,
    pub http: HttpClient,
    pub queue: Queue,
}

/// One running replica the proxy can send requests to.
#[derive(Debug)]
pub struct Endpoint {
    pub container_id: String,
    /// The container name, used as the log `instance` and in `X-Served-By`-style diagnostics.
    pub instance: String,
    pub port: u16,
    pub generation: u64,
    /// Requests currently being proxied; a replica is stopped only once this drains to 0.
    pub inflight: AtomicUsize,
}

/// A deployed function.
pub struct Function {
    pub key: FnKey,
    record: Mutex<FunctionRecord>,
    endpoints: ArcSwap<Vec<Arc<Endpoint>>>,
    next: AtomicUsize,
    pub invocations: AtomicU64,
    /// This function's metric series, resolved on its first invocation (see [`Function::metrics`]).
    pub metrics: OnceLock<FunctionMetrics>,
    /// Replicas started and not yet healthy.
    pub starting: AtomicUsize,
    /// Held while replicas are started, replaced or stopped.
    pub ops: tokio::sync::Mutex<()>,
    /// Held while the record is read, changed and saved (update, scale, delete), so concurrent
    /// requests never overwrite each other's changes.
    pub edit: tokio::sync::Mutex<()>,
    pub cron: CronSlot,
    /// Containers reported dead by Docker events, so a listing that still says "running"
    /// is not mistaken for a replica to adopt.
    died: Mutex<Vec<String>>,
    /// Consecutive failed background reconciles and when the sweep may try again.
    pub backoff: Mutex<(u32, Option<std::time::Instant>)>,
    /// Idle clock, paused replicas, the wake in progress, autoscaler samples, recent events.
    pub scaling: super::scaling::FunctionScaling,
    /// Why the last reconcile failed (shown in the function's status), cleared by a success.
    reason: Mutex<Option<String>>,
}

impl Function {
    pub fn new(record: FunctionRecord) -> Function {
        Function {
            key: record.key.clone(),
            record: Mutex::new(record),
            endpoints: ArcSwap::from_pointee(Vec::new()),
            next: AtomicUsize::new(0),
            invocations: AtomicU64::new(0),
            metrics: OnceLock::new(),
            starting: AtomicUsize::new(0),
            ops: tokio::sync::Mutex::new(()),
            edit: tokio::sync::Mutex::new(()),
            cron: CronSlot::default(),
            died: Mutex::new(Vec::new()),
            backoff: Mutex::new((0, None)),
            scaling: super::scaling::FunctionScaling::default(),
            reason: Mutex::new(None),
        }
    }

    /// A copy of the stored record.
    pub fn record(&self) -> FunctionRecord {
        self.record.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_record(&self, record: FunctionRecord) {
        *self.record.lock().unwrap_or_else(|p| p.into_inner()) = record;
    }

    /// Why the replicas are not as desired, if the last reconcile failed.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_reason(&self, reason: Option<String>) {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    }

    /// The replicas currently receiving traffic.
    pub fn endpoints(&self) -> Arc<Vec<Arc<Endpoint>>> {
        self.endpoints.load_full()
    }

    /// The hot-path metric handles, resolved from `metrics` the first time.
    pub fn metrics(&self, metrics: &Metrics) -> &FunctionMetrics {
        self.metrics.get_or_init(|| metrics.function(&self.key.to_string()))
    }

    /// Requests being proxied to this function's replicas now.
    pub fn inflight(&self) -> usize {
        self.endpoints.load().iter().map(|e| e.inflight.load(Ordering::Relaxed)).sum()
    }

    /// Replaces the endpoint list in one step.
    pub fn set_endpoints(&self, endpoints: Vec<Arc<Endpoint>>) {
        self.endpoints.store(Arc::new(endpoints));
    }

    /// Records that Docker reported `container_id` dead (the last few are remembered).
    pub fn mark_dead(&self, container_id: &str) {
        let mut died = self.died.lock().unwrap_or_else(|p| p.into_inner());
        died.push(container_id.to_string());
        let excess = died.len().saturating_sub(32);
        died.drain(..excess);
    }

    /// Whether Docker reported `container_id` dead.
    pub fn is_dead(&self, container_id: &str) -> bool {
        self.died.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|d| d == container_id)
    }

    /// Drops the endpoint of a container that is gone, without waiting for the ops lock.
    pub fn forget_container(&self, container_id: &str) -> bool {
        let mut removed = false;
        self.endpoints.rcu(|current| {
            let kept: Vec<_> = current.iter().filter(|e| e.container_id != container_id).cloned().collect();
            removed = kept.len() != current.len();
            kept
        });
        removed
    }

    /// The next endpoint in round-robin order, if any replica is available.
    pub fn pick(&self) -> Option<Arc<Endpoint>> {
        let endpoints = self.endpoints.load();
        if endpoints.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % endpoints.len();
        Some(endpoints[i].clone())
    }
}

impl FunctionTable {
    /// True while `f` (this very function, not a later one with the same name) is deployed.
    pub fn holds(&self, f: &Arc<Function>) -> bool {
        self.get(&f.key).is_some_and(|current| Arc::ptr_eq(&current, f))
    }
}

/// All deployed functions by key.
#[derive(Default)]
pub struct FunctionTable {
    map: RwLock<HashMap<FnKey, Arc<Function>>>,
}

impl FunctionTable {
    pub fn get(&self, key: &FnKey) -> Option<Arc<Function>> {
        self.map.read().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    pub fn insert(&self, function: Arc<Function>) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).insert(function.key.clone(), function);
    }

    /// Inserts `function` unless its key is taken; false when it was.
    pub fn insert_new(&self, function: Arc<Function>) -> bool {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&function.key) {
            return false;
        }
        map.insert(function.key.clone(), function);
        true
    }

    pub fn remove(&self, key: &FnKey) -> Option<Arc<Function>> {
        self.map.write().unwrap_or_else(|p| p.into_inner()).remove(key)
    }

    /// Every function, sorted by namespace then name.
    pub fn all(&self) -> Vec<Arc<Function>> {
        let mut all: Vec<_> = self.map.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }

    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<Function>> {
        self.all().into_iter().filter(|f| f.key.namespace == namespace).collect()
    }
}
