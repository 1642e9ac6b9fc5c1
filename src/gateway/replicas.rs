//! Keeping each function's replicas as desired: [`reconcile`] compares the containers Docker has
//! with the stored record and starts, adopts, replaces or stops replicas.
//!
//! * New replicas join the endpoint table only once ready (`readiness.rs`: the health path of
//!   the annotations, else `/_/health`, else a TCP check), pulling the image first if the engine
//!   lacks it (`pull.rs`). One that exits
//!   first fails the deploy, scale or update at once with its exit code and the end of its output
//!   (secrets redacted), instead of after the health timeout.
//! * Updates are rolling: the record's generation is bumped, replicas of the new generation are
//!   started and become healthy, the endpoint table switches to them in one step, and only then
//!   are old replicas drained (in-flight requests finish) and stopped.
//! * A container that dies is dropped from the table at once (Docker `die` events) and replaced
//!   by the next reconcile; a periodic sweep is the backstop if an event is missed.
//! * At start-up, running containers labelled with this gateway's id are re-adopted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::future::join_all;

use super::console;
use super::names::FnKey;
use super::provider::{Replica, ReplicaSpec, labels};
use super::readiness::{self, NotReady, Probe, Seen};
use super::replica_exit::{ExitReport, shown_output};
use super::state::{Endpoint, Function, Gateway};

/// How often every function is checked even without Docker events.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// How long stopping waits for in-flight requests on a replica that left the table.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause between background retries of a function that keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("{0}")]
    Provider(#[from] super::provider::ProviderError),
    #[error("cannot prepare secrets for {0}: {1}")]
    Secrets(String, std::io::Error),
    #[error("{failed} of {wanted} new replicas of {function} did not become healthy within {timeout:?}: {why}")]
    Unhealthy { function: String, failed: usize, wanted: usize, timeout: Duration, why: NotReady },
    #[error("{failed} of {wanted} new replicas of {function} failed: {report}")]
    Exited { function: String, failed: usize, wanted: usize, report: ExitReport },
}

impl ReplicaError {
    /// The message shown in the function's status and the deploy response, with a hint.
    pub fn reason(&self) -> String {
        match self {
            ReplicaError::Provider(super::provider::ProviderError::Pull(e)) => match e.hint() {
                Some(hint) => format!("{e} (hint: {hint})"),
                None => e.to_string(),
            },
            other => other.to_string(),
        }
    }

    /// True when the image is at fault (cannot be pulled, has no command): the client's 424.
    pub fn is_image_problem(&self) -> bool {
        use super::provider::ProviderError;
        match self {
            ReplicaError::Provider(ProviderError::Pull(_) | ProviderError::NoCommand(_)) => true,
            ReplicaError::Unhealthy { why, .. } => why.image_at_fault(),
            _ => false,
        }
    }
}

/// How waiting for a new replica to become healthy ended.
enum Readiness {
    Healthy,
    TimedOut(NotReady),
    Exited(ExitReport),
}

fn endpoint_of(r: &Replica) -> Arc<Endpoint> {
    Arc::new(Endpoint {
        container_id: r.id.clone(),
        instance: r.name.clone(),
        port: r.port,
        generation: r.generation,
        inflight: AtomicUsize::new(0),
    })
}

/// Why replicas are being started: the `cause` of `rfaas_cold_starts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A new function's first replicas.
    Deploy,
    /// A rolling update (set automatically when replicas of an older generation run).
    Update,
    /// A scale request raised the desired replicas.
    Scale,
    /// A replica exited, or the periodic sweep found fewer than desired.
    Replace,
    /// The gateway started and brought back a stored function's replicas.
    Restore,
    /// A request arrived for a function at 0 replicas.
    Wake,
}

impl Cause {
    pub fn label(self) -> &'static str {
        match self {
            Cause::Deploy => "deploy",
            Cause::Update => "update",
            Cause::Scale => "scale",
            Cause::Replace => "replace",
            Cause::Restore => "restore",
            Cause::Wake => "wake",
        }
    }
}

/// Brings `f`'s replicas in line with its record. Holds `f.ops` throughout.
pub async fn reconcile(gw: &Arc<Gateway>, f: &Arc<Function>, cause: Cause) -> Result<(), ReplicaError> {
    let _ops = f.ops.lock().await;
    let result = reconcile_locked(gw, f, cause).await;
    f.set_reason(result.as_ref().err().map(ReplicaError::reason));
    result
}

async fn reconcile_locked(gw: &Arc<Gateway>, f: &Arc<Function>, cause: Cause) -> Result<(), ReplicaError> {
    if !gw.functions.holds(f) {
        return Ok(()); // removed (or replaced) while this reconcile waited for the lock
    }
    if !super::scaling::resume_before_reconcile(gw, f, cause).await {
        return Ok(()); // paused by the idler: left alone until a request or a change
    }
    let record = f.record();
    let containers = gw.provider.list(Some(&f.key)).await?;
    let (running, dead): (Vec<Replica>, Vec<Replica>) =
        containers.into_iter().partition(|c| c.running && !f.is_dead(&c.id));
    for d in &dead {
        if f.forget_container(&d.id) {
            gw.metrics.replica_restarted(&f.key.to_string());
        }
        gw.provider.remove(&d.id).await;
    }
    let (current, stale): (Vec<Replica>, Vec<Replica>) =
        running.into_iter().partition(|c| c.generation == record.generation);
    let cause = if stale.is_empty() { cause } else { Cause::Update };

    let table = f.endpoints();
    // Validated at deploy; a record from before the annotations were checked probes the default.
    let probe = Probe::of(&record.deployment).unwrap_or_default();
    let mut serving = adopt_current(gw, &current, &table, &probe).await;

    let wanted = record.replicas as usize;
    let mut failure = None;
    if serving.len() < wanted {
        match start_many(gw, f, &record, wanted - serving.len(), cause).await {
            Ok(new) => serving.extend(new),
            Err((healthy, e)) => {
                serving.extend(healthy);
                failure = Some(e);
            }
        }
    }
    let mut surplus = Vec::new();
    while serving.len() > wanted {
        surplus.extend(serving.pop());
    }

    let retire = switch_table(f, &table, serving, &stale, surplus, failure.is_some() && wanted > 0);
    retire_all(gw, retire).await;
    failure.map_or(Ok(()), Err)
}

/// Current-generation replicas: those already serving stay; the others (adopted after a restart)
/// join once healthy and are removed if they are not.
async fn adopt_current(
    gw: &Arc<Gateway>,
    current: &[Replica],
    table: &[Arc<Endpoint>],
    probe: &Probe,
) -> Vec<Arc<Endpoint>> {
    let mut serving: Vec<Arc<Endpoint>> = Vec::new();
    let mut unknown = Vec::new();
    for c in current {
        match table.iter().find(|e| e.container_id == c.id) {
            Some(e) => serving.push(e.clone()),
            None => unknown.push(c.clone()),
        }
    }
    let healthy = health_check_all(gw, &unknown, probe).await;
    for (replica, ok) in unknown.iter().zip(healthy) {
        if ok {
            serving.push(endpoint_of(replica));
        } else {
            gw.provider.remove(&replica.id).await;
        }
    }
    serving
}

/// Replaces the endpoint table in one step and returns the endpoints to drain and stop. If no
/// current replica could start, stale ones still serving stay in the table (the previous version
/// keeps answering) until a later try.
fn switch_table(
    f: &Function,
    table: &[Arc<Endpoint>],
    serving: Vec<Arc<Endpoint>>,
    stale: &[Replica],
    mut retire: Vec<Arc<Endpoint>>,
    start_failed: bool,
) -> Vec<Arc<Endpoint>> {
    let stale_endpoints: Vec<Arc<Endpoint>> = stale
        .iter()
        .map(|s| table.iter().find(|e| e.container_id == s.id).cloned().unwrap_or_else(|| endpoint_of(s)))
        .collect();
    if serving.is_empty() && start_failed {
        let still = stale_endpoints.into_iter().filter(|e| table.iter().any(|t| t.container_id == e.container_id));
        f.set_endpoints(still.collect());
    } else {
        f.set_endpoints(serving);
        retire.extend(stale_endpoints);
    }
    retire
}

async fn health_check_all(gw: &Arc<Gateway>, replicas: &[Replica], probe: &Probe) -> Vec<bool> {
    let ready = join_all(replicas.iter().map(|r| wait_ready(gw, r, probe, &[]))).await;
    ready.into_iter().map(|r| matches!(r, Readiness::Healthy)).collect()
}

/// Starts `count` replicas of `record` and waits until they are healthy; unhealthy ones are
/// removed. On failure, the replicas that did become healthy come back with the error.
async fn start_many(
    gw: &Arc<Gateway>,
    f: &Function,
    record: &super::store::FunctionRecord,
    count: usize,
    cause: Cause,
) -> Result<Vec<Arc<Endpoint>>, (Vec<Arc<Endpoint>>, ReplicaError)> {
    gw.provider.ensure_image(&record.deployment.image).await.map_err(|e| (Vec::new(), e.into()))?;
    let owner = match gw.provider.image_owner(&record.deployment.image).await {
        Ok(owner) => Some(owner),
        Err(e) => {
            if !record.deployment.secrets.is_empty() {
                console::warn(&format!("{}: {e}; secret copies fall back to mode 0444", record.key));
            }
            None
        }
    };
    let secret_files = gw
        .secrets
        .materialize(record, owner)
        .map_err(|e| (Vec::new(), ReplicaError::Secrets(record.key.to_string(), e)))?;
    let spec = ReplicaSpec { record, secret_files };
    let mut started = Vec::new();
    let mut start_error = None;
    for _ in 0..count {
        let t0 = Instant::now();
        let starting = Starting::new(f);
        match gw.provider.start_replica(&spec).await {
            Ok(replica) => started.push((replica, t0, starting)),
            Err(e) => {
                start_error = Some(ReplicaError::from(e));
                break;
            }
        }
    }
    let secrets = gw.secrets.values(&record.key.namespace, &record.deployment.secrets);
    let name = record.key.to_string();
    let probe = Probe::of(&record.deployment).unwrap_or_default();
    let ready = join_all(started.iter().map(|(r, t0, _)| async {
        let readiness = wait_ready(gw, r, &probe, &secrets).await;
        if matches!(readiness, Readiness::Healthy) {
            gw.metrics.cold_start(&name, cause.label(), t0.elapsed().as_secs_f64());
        }
        readiness
    }))
    .await;
    let (mut out, mut failed, mut exited, mut why) = (Vec::new(), 0, None, None);
    for ((replica, _, _), readiness) in started.iter().zip(ready) {
        match readiness {
            Readiness::Healthy => out.push(endpoint_of(replica)),
            other => {
                failed += 1;
                match other {
                    Readiness::Exited(report) => _ = exited.get_or_insert(report),
                    Readiness::TimedOut(not_ready) => _ = why.get_or_insert(not_ready),
                    Readiness::Healthy => {}
                }
                gw.provider.remove(&replica.id).await;
            }
        }
    }
    drop(started);
    if let Some(e) = start_error {
        return Err((out, e));
    }
    let function = record.key.to_string();
    if let Some(report) = exited {
        return Err((out, ReplicaError::Exited { function, failed, wanted: count, report }));
    }
    if let Some(why) = why {
        let timeout = probe.initial_delay + gw.config.health_timeout;
        return Err((out, ReplicaError::Unhealthy { function, failed, wanted: count, timeout, why }));
    }
    console::info(&format!("{}: {} replica(s) of generation {} ready", record.key, out.len(), record.generation));
    Ok(out)
}

/// Counts a replica in `rfaas_replicas_starting` from before its container is created until
/// its health check is decided.
struct Starting<'a>(&'a Function);

impl<'a> Starting<'a> {
    fn new(f: &'a Function) -> Starting<'a> {
        f.starting.fetch_add(1, Ordering::Relaxed);
        Starting(f)
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        self.0.starting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Readiness probing (see `readiness.rs`) that ends as soon as the container exits (checked
/// every 250 ms), with its exit code and the end of its output, `secrets` redacted. A replica
/// still running at the end of its window is examined to say why it never became ready.
async fn wait_ready(gw: &Arc<Gateway>, r: &Replica, probe: &Probe, secrets: &[Vec<u8>]) -> Readiness {
    let mut seen = Seen::default();
    let health = readiness::wait_ready(&gw.http, r.port, probe, gw.config.health_timeout, &mut seen);
    let death = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Some(exit) = gw.provider.exit(&r.id).await {
                return exit;
            }
        }
    };
    tokio::select! {
        ok = health => if ok { Readiness::Healthy } else { Readiness::TimedOut(not_ready(gw, r, probe, &seen).await) },
        exit = death => {
            let (output, cut) = gw.provider.output_tail(&r.id).await;
            let output = shown_output(&output, cut, secrets);
            Readiness::Exited(ExitReport { replica: r.name.clone(), exit, output })
        }
    }
}

async fn not_ready(gw: &Arc<Gateway>, r: &Replica, probe: &Probe, seen: &Seen) -> NotReady {
    let pid = gw.provider.main_pid(&r.id).await;
    let (port, probe, seen) = (r.port, probe.clone(), seen.clone());
    tokio::task::spawn_blocking(move || readiness::why_not_ready(pid, port, &probe, &seen))
        .await
        .unwrap_or_else(|e| NotReady::Probe(format!("cannot examine the replica: {e}")))
}

/// Waits for in-flight requests on each endpoint (bounded), then stops its container.
async fn retire_all(gw: &Arc<Gateway>, endpoints: Vec<Arc<Endpoint>>) {
    join_all(endpoints.into_iter().map(|e| async move {
        let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
        while e.inflight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        gw.provider.remove(&e.container_id).await;
    }))
    .await;
}

/// Stops every replica of a removed function and deletes its secret copies.
pub async fn remove_all(gw: &Arc<Gateway>, f: &Arc<Function>) {
    let _ops = f.ops.lock().await;
    let endpoints = f.endpoints().iter().cloned().collect::<Vec<_>>();
    f.set_endpoints(Vec::new());
    retire_all(gw, endpoints).await;
    if let Ok(left) = gw.provider.list(Some(&f.key)).await {
        join_all(left.iter().map(|c| gw.provider.remove(&c.id))).await;
    }
    gw.secrets.remove_copies(&f.key);
}

/// Rebuilds functions that have containers but no database record (the database was lost)
/// from the `FunctionDeployment` label; containers without a readable label are removed.
/// Deletes remove containers before the record, so a deleted function never comes back this way.
pub async fn recover_from_labels(gw: &Arc<Gateway>) {
    let all = match gw.provider.list(None).await {
        Ok(all) => all,
        Err(e) => {
            console::warn(&format!("cannot list function containers to restore functions from their labels: {e}"));
            return;
        }
    };
    let mut orphans: HashMap<FnKey, Vec<Replica>> = HashMap::new();
    for c in all.into_iter().filter(|c| gw.functions.get(&c.key).is_none()) {
        orphans.entry(c.key.clone()).or_default().push(c);
    }
    for (key, containers) in orphans {
        let generation = containers.iter().map(|c| c.generation).max().unwrap_or(1);
        let newest: Vec<&Replica> = containers.iter().filter(|c| c.generation == generation).collect();
        let deployment = newest.iter().find_map(|c| c.deployment.as_deref().and_then(|d| serde_json::from_str(d).ok()));
        let Some(deployment) = deployment else {
            console::warn(&format!(
                "removing {} container(s) of {key}: no readable deployment label",
                containers.len()
            ));
            join_all(containers.iter().map(|c| gw.provider.remove(&c.id))).await;
            continue;
        };
        let replicas = newest.iter().filter(|c| c.running).count().max(1) as u64;
        let record = super::store::FunctionRecord {
            key: key.clone(),
            deployment,
            replicas,
            generation,
            created_at: chrono::Utc::now(),
        };
        if let Err(e) = gw.store.put_function(&record).await {
            console::error(&format!("cannot restore {key} from its containers: {e}"));
            continue;
        }
        gw.functions.insert(Arc::new(Function::new(record)));
        console::warn(&format!("{key}: not in the database; restored from its containers' labels"));
    }
}

/// Runs `reconcile` for `f` in the background, logging failures. Repeated failures (an image
/// that never gets healthy) back off the periodic sweep exponentially, up to 5 minutes.
pub fn spawn_reconcile(gw: &Arc<Gateway>, f: Arc<Function>) {
    let gw = gw.clone();
    tokio::spawn(async move {
        let result = reconcile(&gw, &f, Cause::Replace).await;
        let mut backoff = f.backoff.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => *backoff = (0, None),
            Err(e) => {
                let failures = backoff.0.saturating_add(1);
                let wait = (SWEEP_INTERVAL * 2u32.saturating_pow(failures.min(6))).min(MAX_BACKOFF);
                *backoff = (failures, Some(std::time::Instant::now() + wait));
                console::warn(&format!("{}: {e}; next try in {wait:?}", f.key));
            }
        }
    });
}

fn sweep_due(f: &Function) -> bool {
    let backoff = f.backoff.lock().unwrap_or_else(|p| p.into_inner());
    backoff.1.is_none_or(|at| std::time::Instant::now() >= at)
}

/// Background supervision: Docker `die` events and a periodic sweep.
pub fn supervise(gw: &Arc<Gateway>) {
    tokio::spawn(watch_events(gw.clone()));
    let gw = gw.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_INTERVAL).await;
            for f in gw.functions.all() {
                if sweep_due(&f) && f.ops.try_lock().is_ok() {
                    spawn_reconcile(&gw, f);
                }
            }
        }
    });
}

async fn watch_events(gw: Arc<Gateway>) {
    loop {
        // No `event=die` filter: Podman (4.3) matches nothing with it (it wants `died`) though
        // it reports the action as `die`; the gateway's own containers have few other events.
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("label".to_string(), vec![format!("{}={}", labels::GATEWAY, gw.provider.gateway_id)]),
        ]);
        let options = EventsOptionsBuilder::default().filters(&filters).build();
        let mut events = gw.provider.docker.events(Some(options));
        while let Some(Ok(event)) = events.next().await {
            if event.action.as_deref() != Some("die") {
                continue;
            }
            let Some(actor) = event.actor else { continue };
            let attributes = actor.attributes.unwrap_or_default();
            let (Some(name), Some(ns)) = (attributes.get(labels::NAME), attributes.get(labels::NAMESPACE)) else {
                continue;
            };
            let key = FnKey { namespace: ns.clone(), name: name.clone() };
            let Some(f) = gw.functions.get(&key) else { continue };
            let id = actor.id.unwrap_or_default();
            f.mark_dead(&id);
            if f.forget_container(&id) {
                gw.metrics.replica_restarted(&key.to_string());
                console::warn(&format!(
                    "{key}: replica {} exited; replacing it",
                    attributes.get("name").map_or(id.as_str(), |n| n)
                ));
                spawn_reconcile(&gw, f);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
