//! Which waiting call runs next. The store is the durable truth; this keeps an in-memory index of
//! the calls waiting for an attempt (per function, ordered by due time) and of those running, so
//! picking work never scans the database.
//!
//! Each queue (`com.openfaas.queue`, default [`DEFAULT_QUEUE`]) has its own workers, so a slow
//! function in one queue never holds up another queue. Within a queue, functions take turns: each
//! free worker goes to the next function (round robin) that has a call due and is under its own
//! in-flight cap, so a backlog of one function delays another's calls by at most one call per
//! worker, never by the whole backlog. The dispatcher sleeps until new work arrives, an attempt
//! finishes, or the earliest retry is due; it never polls.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::now_ms;
use super::worker::{self, Next};
use crate::gateway::names::FnKey;
use crate::gateway::state::Gateway;
use crate::gateway::store::Pending;

/// The queue of functions without `com.openfaas.queue` (OpenFaaS's default queue name).
pub const DEFAULT_QUEUE: &str = "faas-request";
/// The longest the dispatcher sleeps with nothing due (a safety net; every change wakes it).
const IDLE: Duration = Duration::from_secs(60);

/// Where a function's calls run and how many at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub queue: String,
    /// At most this many of the function's calls run at once (within the queue's workers).
    pub max_inflight: Option<usize>,
}

/// A call handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dispatch {
    call_id: String,
    key: FnKey,
    queue: String,
    seq: i64,
}

#[derive(Default)]
struct Index {
    /// Waiting calls per function: `(due_ms, seq, call_id)`.
    waiting: HashMap<FnKey, BTreeSet<(i64, i64, String)>>,
    /// Every call id waiting or running, so a call is never held twice.
    known: HashSet<String>,
    running_by_function: HashMap<FnKey, usize>,
    running_by_queue: HashMap<String, usize>,
    /// Per queue, the function served last (round robin resumes after it).
    last_served: HashMap<String, FnKey>,
    /// Set when a call reached a final state (the pruner looks at it).
    finished: bool,
}

/// The in-memory index and the dispatcher's wake-up signal.
#[derive(Default)]
pub struct Dispatcher {
    index: Mutex<Index>,
    wake: Notify,
}

impl Dispatcher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a waiting call (ignored when the call is already held) and wakes the dispatcher.
    pub fn add(&self, p: Pending) {
        let mut index = self.lock();
        if index.known.insert(p.call_id.clone()) {
            index.waiting.entry(p.key).or_default().insert((p.due_ms, p.seq, p.call_id));
        }
        drop(index);
        self.wake.notify_one();
    }

    /// True (once) when a call reached a final state since the last call.
    pub fn take_finished(&self) -> bool {
        std::mem::take(&mut self.lock().finished)
    }

    /// Waiting and running calls per function: `(function, waiting, running)`, by function.
    pub fn counts(&self) -> Vec<(FnKey, usize, usize)> {
        let index = self.lock();
        let keys: BTreeSet<&FnKey> = index.waiting.keys().chain(index.running_by_function.keys()).collect();
        keys.into_iter()
            .map(|k| {
                let waiting = index.waiting.get(k).map_or(0, BTreeSet::len);
                (k.clone(), waiting, index.running_by_function.get(k).copied().unwrap_or(0))
            })
            .collect()
    }

    /// Takes the calls that may start now and says when the next one not yet due is.
    fn take_due(
        &self,
        now: i64,
        lane_of: impl Fn(&FnKey) -> Lane,
        workers_of: impl Fn(&str) -> usize,
    ) -> (Vec<Dispatch>, Option<i64>) {
        let mut index = self.lock();
        let mut by_queue: HashMap<String, Vec<(FnKey, Option<usize>)>> = HashMap::new();
        for (key, calls) in &index.waiting {
            if calls.first().is_some_and(|(due, _, _)| *due <= now) {
                let lane = lane_of(key);
                by_queue.entry(lane.queue).or_default().push((key.clone(), lane.max_inflight));
            }
        }
        let mut taken = Vec::new();
        for (queue, mut functions) in by_queue {
            functions.sort();
            let free = workers_of(&queue).saturating_sub(index.running_by_queue.get(&queue).copied().unwrap_or(0));
            let start = index.last_served.get(&queue).map_or(0, |last| functions.partition_point(|(k, _)| k <= last));
            let len = functions.len();
            functions.rotate_left(start.min(len));
            take_round_robin(&mut index, &queue, &functions, free, now, &mut taken);
        }
        // Calls due but blocked by a cap or busy workers wait for a finish, which wakes us.
        let next_due = index
            .waiting
            .values()
            .filter_map(|calls| calls.first())
            .map(|(due, _, _)| *due)
            .filter(|due| *due > now)
            .min();
        (taken, next_due)
    }

    /// Records that an attempt of `d` ended, and re-adds the call if it is to be tried again.
    fn finished(&self, d: &Dispatch, next: Next) {
        let mut index = self.lock();
        decrement(&mut index.running_by_function, &d.key);
        decrement(&mut index.running_by_queue, &d.queue);
        index.known.remove(&d.call_id);
        match next {
            Next::Retry { due_ms } => {
                index.known.insert(d.call_id.clone());
                index.waiting.entry(d.key.clone()).or_default().insert((due_ms, d.seq, d.call_id.clone()));
            }
            Next::Final => index.finished = true,
            Next::Dropped => {}
        }
        drop(index);
        self.wake.notify_one();
    }
}

/// Gives up to `free` workers of `queue` to `functions` (already in round-robin order), one call
/// per function per turn, skipping functions at their cap or without a due call.
fn take_round_robin(
    index: &mut Index,
    queue: &str,
    functions: &[(FnKey, Option<usize>)],
    mut free: usize,
    now: i64,
    taken: &mut Vec<Dispatch>,
) {
    let mut progress = true;
    while free > 0 && progress {
        progress = false;
        for (key, cap) in functions {
            if free == 0 {
                break;
            }
            let running = index.running_by_function.get(key).copied().unwrap_or(0);
            if cap.is_some_and(|cap| running >= cap) {
                continue;
            }
            let Some(calls) = index.waiting.get_mut(key) else { continue };
            let Some(first) = calls.first().filter(|(due, _, _)| *due <= now).cloned() else { continue };
            calls.remove(&first);
            if calls.is_empty() {
                index.waiting.remove(key);
            }
            *index.running_by_function.entry(key.clone()).or_default() += 1;
            *index.running_by_queue.entry(queue.to_string()).or_default() += 1;
            index.last_served.insert(queue.to_string(), key.clone());
            taken.push(Dispatch { call_id: first.2, key: key.clone(), queue: queue.to_string(), seq: first.1 });
            free -= 1;
            progress = true;
        }
    }
}

fn decrement<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// Runs the dispatcher until the process exits.
pub fn spawn(gw: Arc<Gateway>) {
    tokio::spawn(async move {
        loop {
            // Registered before looking, so a wake-up between the look and the sleep is not lost.
            let woken = gw.queue.dispatcher.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let now = now_ms();
            let (calls, next_due) =
                gw.queue.dispatcher.take_due(now, |key| super::lane_of(&gw, key), |queue| gw.queue.workers_of(queue));
            for d in calls {
                let gw = gw.clone();
                tokio::spawn(async move {
                    let next = worker::attempt(&gw, &d.call_id).await;
                    gw.queue.dispatcher.finished(&d, next);
                });
            }
            let sleep = next_due.map_or(IDLE, |due| Duration::from_millis(due.saturating_sub(now).max(0) as u64));
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(sleep.min(IDLE)) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests;
