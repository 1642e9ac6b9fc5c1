//! Idle scale to zero for functions labelled `com.openfaas.scale.zero: "true"`, in two tiers:
//!
//! 1. after `com.openfaas.scale.zero-duration` without a request, the replicas leave the
//!    endpoint table and are held still ([`super::hold`]: their processes stopped, or the
//!    container paused): they keep their memory and use no CPU, and the next request resumes
//!    them at once ([`resume`]);
//! 2. after `--pause-before-remove` paused (0: at once), they are removed and the desired
//!    replicas saved as 0; the next request then starts a replica from the image
//!    ([`super::wake`]).
//!
//! A replica is paused only when no request is in flight on it; a request that picked it just
//! before it left the table is caught by a short grace period, after which the pause is
//! abandoned if anything is in flight. The memory of paused replicas (Docker stats: usage minus
//! inactive file cache) is kept for `describe` and `rfaas_paused_memory_bytes`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, StatsOptionsBuilder};
use futures_util::StreamExt;
use futures_util::future::join_all;

use super::labels::Policy;
use super::{Held, hold};
use crate::gateway::console;
use crate::gateway::provider::labels;
use crate::gateway::state::{Endpoint, Function, Gateway};

/// How often idle functions are looked for.
const TICK: Duration = Duration::from_millis(500);
/// How long a replica that left the table waits for a request that just picked it.
const GRACE: Duration = Duration::from_millis(50);

pub async fn run(gw: Arc<Gateway>) {
    loop {
        tokio::time::sleep(TICK).await;
        for f in gw.functions.all() {
            let policy = Policy::of(f.record().deployment.labels.as_ref(), gw.config.scaling.max_replicas);
            let Some(idle_after) = policy.zero_after else { continue };
            if let Err(e) = step(&gw, &f, idle_after).await {
                console::warn(&format!("{}: idle scale to zero: {e}", f.key));
            }
        }
    }
}

/// One look at one function: pause it when idle, remove it when paused long enough.
async fn step(gw: &Arc<Gateway>, f: &Arc<Function>, idle_after: Duration) -> Result<(), String> {
    let pause_for = gw.config.scaling.pause_before_remove;
    if let Some(since) = f.scaling.paused_since() {
        if since.elapsed() >= pause_for {
            remove(gw, f).await;
        } else {
            refresh_memory(gw, f).await;
        }
        return Ok(());
    }
    if f.scaling.idle_for() < idle_after || f.endpoints().is_empty() || f.inflight() > 0 || f.record().replicas == 0 {
        return Ok(());
    }
    if f.scaling.waking.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
        return Ok(());
    }
    if pause_for.is_zero() {
        let reason = format!("idle for {}", humantime::format_duration(idle_after));
        return super::set_replicas(gw, f, 0, &reason).await.map_err(|e| e.to_string());
    }
    pause(gw, f, idle_after).await;
    Ok(())
}

async fn pause(gw: &Arc<Gateway>, f: &Arc<Function>, idle_after: Duration) {
    let Ok(_ops) = f.ops.try_lock() else { return };
    let endpoints: Vec<Arc<Endpoint>> = f.endpoints().iter().cloned().collect();
    if endpoints.is_empty() {
        return;
    }
    f.set_endpoints(Vec::new());
    tokio::time::sleep(GRACE).await;
    if endpoints.iter().any(|e| e.inflight.load(Ordering::SeqCst) > 0) || f.scaling.idle_for() < idle_after {
        f.set_endpoints(endpoints);
        return;
    }
    let docker = &gw.provider.docker;
    let results = join_all(endpoints.iter().map(|e| hold::hold(docker, &e.container_id))).await;
    let (mut paused, mut failed) = (Vec::new(), Vec::new());
    for (endpoint, r) in endpoints.into_iter().zip(results) {
        match r {
            Ok(hold) => paused.push(Held { endpoint, hold }),
            Err(err) => {
                console::warn(&format!("{}: cannot pause replica {}: {err}", f.key, endpoint.instance));
                failed.push(endpoint);
            }
        }
    }
    f.set_endpoints(failed);
    if paused.is_empty() {
        return;
    }
    let n = paused.len();
    let bytes: u64 = join_all(paused.iter().map(|h| memory_of(gw, &h.endpoint.container_id))).await.into_iter().sum();
    f.scaling.set_paused(paused);
    f.scaling.paused_memory.store(bytes, Ordering::Relaxed);
    gw.metrics.paused(&f.key.to_string(), n as u64, bytes);
    let idle = humantime::format_duration(idle_after);
    let reason = format!("idle for {idle}: {n} replica(s) paused");
    super::note(f, f.record().replicas, f.record().replicas, &reason);
}

/// Unpauses the paused replicas of `f` and puts them back in the endpoint table (those that
/// cannot be unpaused are removed), for `why` (logged). Called with `f.ops` held.
pub async fn resume(gw: &Arc<Gateway>, f: &Function, why: &str) {
    let paused = f.scaling.take_paused();
    if paused.is_empty() {
        return;
    }
    let docker = &gw.provider.docker;
    let results = join_all(paused.iter().map(|h| hold::release(docker, &h.endpoint.container_id, &h.hold))).await;
    let mut back = Vec::new();
    for (Held { endpoint, .. }, r) in paused.into_iter().zip(results) {
        match r {
            Ok(()) => back.push(endpoint),
            Err(err) => {
                console::warn(&format!("{}: cannot unpause replica {}: {err}; removing it", f.key, endpoint.instance));
                gw.provider.remove(&endpoint.container_id).await;
            }
        }
    }
    let n = back.len();
    let mut table: Vec<Arc<Endpoint>> = f.endpoints().iter().cloned().collect();
    table.extend(back);
    f.set_endpoints(table);
    gw.metrics.paused(&f.key.to_string(), 0, 0);
    let replicas = f.record().replicas;
    super::note(f, replicas, replicas, &format!("{why}: {n} paused replica(s) resumed"));
}

/// Paused replicas go: the desired replicas become 0 (the next request starts one afresh).
/// All under `f.edit` and `f.ops` (in the order deletes take them), so a wake that arrives
/// meanwhile waits and then finds 0 desired replicas instead of racing the removal. Containers
/// first (a forced remove: stopping a frozen process would wait for its timeout); a crash in
/// between leaves 1 desired, and the restart starts it again.
async fn remove(gw: &Arc<Gateway>, f: &Arc<Function>) {
    let _edit = f.edit.lock().await;
    let _ops = f.ops.lock().await;
    if f.scaling.waking.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
        return;
    }
    let paused = f.scaling.take_paused();
    if paused.is_empty() {
        return;
    }
    gw.metrics.paused(&f.key.to_string(), 0, 0);
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    for Held { endpoint: e, .. } in &paused {
        if let Err(err) = gw.provider.docker.remove_container(&e.container_id, Some(options.clone())).await {
            console::warn(&format!("{}: cannot remove paused replica {}: {err}", f.key, e.instance));
        }
    }
    let reason = format!("paused for {}", humantime::format_duration(gw.config.scaling.pause_before_remove));
    super::save_replicas(gw, f, 0, &reason).await;
}

/// After a restart, containers of `f` that an earlier gateway held are let go (paused ones
/// unpaused, running ones sent `SIGCONT`, a no-op for processes that were not stopped), so the
/// reconcile that follows adopts them like any running replica.
pub async fn unpause_leftovers(gw: &Arc<Gateway>, f: &Function) {
    let filters = std::collections::HashMap::from([
        (
            "label".to_string(),
            vec![
                format!("{}={}", labels::GATEWAY, gw.provider.gateway_id),
                format!("{}={}", labels::NAME, f.key.name),
                format!("{}={}", labels::NAMESPACE, f.key.namespace),
            ],
        ),
        ("status".to_string(), vec!["paused".to_string(), "running".to_string()]),
    ]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let docker = &gw.provider.docker;
    let Ok(containers) = docker.list_containers(Some(options)).await else { return };
    for c in containers {
        let Some(id) = c.id else { continue };
        if c.state != Some(bollard::models::ContainerSummaryStateEnum::PAUSED) {
            hold::release_all(docker, &id).await;
            continue;
        }
        match docker.unpause_container(&id).await {
            Ok(()) => console::info(&format!("{}: resumed a replica paused before the restart", f.key)),
            Err(e) => console::warn(&format!("{}: cannot unpause {id}: {e}", f.key)),
        }
    }
}

/// Measures the memory of `f`'s paused replicas.
async fn refresh_memory(gw: &Arc<Gateway>, f: &Function) {
    let ids: Vec<String> = {
        let paused = f.scaling.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused
            .as_ref()
            .map(|p| p.replicas.iter().map(|h| h.endpoint.container_id.clone()).collect())
            .unwrap_or_default()
    };
    if ids.is_empty() {
        return;
    }
    let bytes: u64 = join_all(ids.iter().map(|id| memory_of(gw, id))).await.into_iter().sum();
    // 0 is a failed measurement (an engine too busy to answer): keep the last one.
    if bytes > 0 && f.scaling.paused_count() == ids.len() {
        f.scaling.paused_memory.store(bytes, Ordering::Relaxed);
        gw.metrics.paused(&f.key.to_string(), ids.len() as u64, bytes);
    }
}

/// A container's memory in use (as `docker stats` shows it: without the inactive file cache).
pub async fn memory_of(gw: &Gateway, id: &str) -> u64 {
    let options = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
    let mut stats = gw.provider.docker.stats(id, Some(options));
    let Some(Ok(s)) = stats.next().await else { return 0 };
    let Some(memory) = s.memory_stats else { return 0 };
    let cache = memory.stats.as_ref().and_then(|m| m.get("inactive_file").or_else(|| m.get("total_inactive_file")));
    memory.usage.unwrap_or(0).saturating_sub(cache.copied().unwrap_or(0))
}
