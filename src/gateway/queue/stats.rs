//! Counters and gauges of the async queue, for the metrics module to render: waiting and running
//! calls per function and per queue, and totals of retries, final states and failed callbacks.
//! Kept in memory; the totals restart at zero with the gateway, as the other metrics do.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::lane_of;
use crate::gateway::names::FnKey;
use crate::gateway::state::Gateway;

/// Running totals, bumped by the workers and the retry route.
#[derive(Default)]
pub(super) struct Counters {
    retries: AtomicU64,
    succeeded: AtomicU64,
    dead: AtomicU64,
    callback_failures: AtomicU64,
    manual_retries: AtomicU64,
}

/// An event the counters count.
#[derive(Debug, Clone, Copy)]
pub(super) enum Event {
    /// An attempt failed and another is scheduled.
    Retry,
    Succeeded,
    Dead,
    /// A callback could not be delivered or was answered with a status of 400 or more.
    CallbackFailed,
    /// A finished call was queued again through the retry route.
    ManualRetry,
}

impl Counters {
    pub(super) fn count(&self, event: Event) {
        let counter = match event {
            Event::Retry => &self.retries,
            Event::Succeeded => &self.succeeded,
            Event::Dead => &self.dead,
            Event::CallbackFailed => &self.callback_failures,
            Event::ManualRetry => &self.manual_retries,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One function's calls in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionQueueStats {
    pub function: FnKey,
    pub queue: String,
    /// Calls waiting for an attempt (due now, or later after a failed attempt).
    pub waiting: usize,
    /// Attempts under way.
    pub running: usize,
}

/// One named queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedQueueStats {
    pub queue: String,
    pub workers: usize,
    pub waiting: usize,
    pub running: usize,
}

/// A snapshot of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// Functions with calls waiting or running, by key.
    pub functions: Vec<FunctionQueueStats>,
    /// The default queue and every queue with calls, by name.
    pub queues: Vec<NamedQueueStats>,
    pub retries_total: u64,
    pub succeeded_total: u64,
    pub dead_total: u64,
    pub callback_failures_total: u64,
    pub manual_retries_total: u64,
}

/// The queue's gauges and counters now.
pub fn stats(gw: &Gateway) -> QueueStats {
    let functions: Vec<FunctionQueueStats> = gw
        .queue
        .dispatcher
        .counts()
        .into_iter()
        .map(|(function, waiting, running)| {
            let queue = lane_of(gw, &function).queue;
            FunctionQueueStats { function, queue, waiting, running }
        })
        .collect();
    let empty = |queue: &str| NamedQueueStats {
        queue: queue.to_string(),
        workers: gw.queue.workers_of(queue),
        waiting: 0,
        running: 0,
    };
    let mut by_queue: BTreeMap<String, NamedQueueStats> = BTreeMap::new();
    by_queue.insert(super::DEFAULT_QUEUE.to_string(), empty(super::DEFAULT_QUEUE));
    for f in &functions {
        let q = by_queue.entry(f.queue.clone()).or_insert_with(|| empty(&f.queue));
        q.waiting += f.waiting;
        q.running += f.running;
    }
    let c = &gw.queue.counters;
    let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
    QueueStats {
        functions,
        queues: by_queue.into_values().collect(),
        retries_total: load(&c.retries),
        succeeded_total: load(&c.succeeded),
        dead_total: load(&c.dead),
        callback_failures_total: load(&c.callback_failures),
        manual_retries_total: load(&c.manual_retries),
    }
}
