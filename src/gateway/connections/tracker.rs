//! What every open connection is doing, and which ones to close when the bound is reached.
//!
//! A connection is in one phase at a time, entered at a known instant:
//! `Idle` (accepted, or its last response sent), `Head` (the first byte of a request head has
//! arrived), `Busy` (a request is being handled) or `Waiting` (busy, but its handler waits for
//! more of the request body). Phase and instant share one atomic word, so the connection task,
//! its handler and the tasks that stream a request body onwards change it without locks. Only
//! `Busy` connections are doing work for someone; the others can be closed to make room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Idle = 0,
    Head = 1,
    Busy = 2,
    Waiting = 3,
}

const SINCE_BITS: u32 = 56;
const SINCE_MASK: u64 = (1 << SINCE_BITS) - 1;

fn pack(phase: Phase, since_ms: u64) -> u64 {
    ((phase as u64) << SINCE_BITS) | (since_ms & SINCE_MASK)
}

fn unpack(word: u64) -> (Phase, u64) {
    let phase = match word >> SINCE_BITS {
        0 => Phase::Idle,
        1 => Phase::Head,
        2 => Phase::Busy,
        _ => Phase::Waiting,
    };
    (phase, word & SINCE_MASK)
}

/// One open connection.
pub(super) struct Conn {
    id: u64,
    epoch: Instant,
    state: AtomicU64,
    evicted: AtomicBool,
    /// Woken on eviction, and when an evicted connection finishes its response.
    pub(super) wake: Notify,
}

impl Conn {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(SINCE_MASK)
    }

    /// The current phase and the instant it began.
    pub(super) fn phase(&self) -> (Phase, Instant) {
        let (phase, since) = unpack(self.state.load(Ordering::Acquire));
        (phase, self.epoch + Duration::from_millis(since))
    }

    /// Moves to `to` (now) if the phase is one of `from`; true when it did.
    ///
    /// Nobody is woken: every deadline a phase change can set lies at least the shorter of the
    /// two timeouts ahead, and the connection task never sleeps longer than that between
    /// checks (see `drive`), so it sees the new deadline in time. Waking it here cost two
    /// task wake-ups and two timer re-arms per request.
    fn transition(&self, from: &[Phase], to: Phase) -> bool {
        let next = pack(to, self.now_ms());
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| from.contains(&unpack(word).0).then_some(next))
            .is_ok()
    }

    /// Bytes arrived from the client.
    pub(super) fn on_read(&self) {
        if unpack(self.state.load(Ordering::Relaxed)).0 == Phase::Idle {
            self.transition(&[Phase::Idle], Phase::Head);
        }
    }

    /// A request head was parsed and its handler starts.
    pub(super) fn on_request(&self) {
        self.transition(&[Phase::Idle, Phase::Head, Phase::Waiting], Phase::Busy);
    }

    /// The handler asked for more of the request body and none had arrived.
    pub(super) fn on_body_pending(&self) {
        self.transition(&[Phase::Busy], Phase::Waiting);
    }

    /// More of the request body arrived.
    pub(super) fn on_body_data(&self) {
        self.transition(&[Phase::Waiting], Phase::Busy);
    }

    /// The response was sent (or abandoned). An evicted connection is woken to close now.
    pub(super) fn on_response_done(&self) {
        if self.transition(&[Phase::Busy, Phase::Waiting], Phase::Idle) && self.is_evicted() {
            self.wake.notify_one();
        }
    }

    /// When the connection should be closed if nothing changes; `None` while it is busy.
    pub(super) fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let (phase, since) = self.phase();
        match phase {
            Phase::Idle | Phase::Waiting => Some(since + limits.idle_timeout),
            Phase::Head => Some(since + limits.header_read_timeout),
            Phase::Busy => None,
        }
    }

    pub(super) fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }
}

/// Every open connection.
pub(super) struct Tracker {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Connections told to close that have not closed yet.
    closing: AtomicUsize,
    /// Woken when the last connection closes.
    pub(super) empty: Notify,
}

/// What to do with a new connection.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admission {
    /// Serve it (connections may have been told to close to make room).
    Accept,
    /// Every open connection is handling a request: refuse it.
    Full,
}

impl Tracker {
    pub(super) fn new() -> Tracker {
        Tracker {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            closing: AtomicUsize::new(0),
            empty: Notify::new(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many connections are open.
    pub(super) fn len(&self) -> usize {
        self.open().len()
    }

    /// A new, idle connection.
    pub(super) fn register(&self) -> Arc<Conn> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            epoch: self.epoch,
            state: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        });
        conn.state.store(pack(Phase::Idle, conn.now_ms()), Ordering::Release);
        self.open().insert(id, conn.clone());
        conn
    }

    /// Forgets a closed connection.
    pub(super) fn remove(&self, conn: &Conn) {
        let mut open = self.open();
        if open.remove(&conn.id).is_some() && conn.is_evicted() {
            self.closing.fetch_sub(1, Ordering::AcqRel);
        }
        if open.is_empty() {
            self.empty.notify_waiters();
        }
    }

    /// Makes room for one more connection under `max`: when the bound is reached, the
    /// connections that are doing nothing for anyone (idle, or stalled in a request head or
    /// body) are told to close, those waiting longest first, in batches of an eighth of the
    /// bound so a flood does not rescan the table at every accept.
    pub(super) fn admit(&self, max: usize) -> Admission {
        let open = self.open();
        if open.len().saturating_sub(self.closing.load(Ordering::Acquire)) < max {
            return Admission::Accept;
        }
        let mut candidates: Vec<(Instant, &Arc<Conn>)> = open
            .values()
            .filter(|c| !c.is_evicted())
            .filter_map(|c| {
                let (phase, since) = c.phase();
                (phase != Phase::Busy).then_some((since, c))
            })
            .collect();
        if candidates.is_empty() {
            return Admission::Full;
        }
        let batch = (max / 8).clamp(1, candidates.len());
        if batch < candidates.len() {
            candidates.select_nth_unstable_by_key(batch - 1, |(since, _)| *since);
        }
        for (_, conn) in &candidates[..batch] {
            conn.evicted.store(true, Ordering::Release);
            self.closing.fetch_add(1, Ordering::AcqRel);
            conn.wake.notify_one();
        }
        Admission::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
            max_connections: 4,
        }
    }

    #[test]
    fn phase_and_instant_share_one_word() {
        for phase in [Phase::Idle, Phase::Head, Phase::Busy, Phase::Waiting] {
            assert_eq!(unpack(pack(phase, 123_456)), (phase, 123_456));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_phase() {
        let tracker = Tracker::new();
        let conn = tracker.register();
        let accepted = Instant::now();
        assert_eq!(conn.deadline(&limits()), Some(accepted + Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(3)).await;
        conn.on_read();
        assert_eq!(conn.deadline(&limits()), Some(accepted + Duration::from_secs(5)), "head: header timeout");
        conn.on_read();
        assert_eq!(conn.deadline(&limits()), Some(accepted + Duration::from_secs(5)), "more head bytes change nothing");
        conn.on_request();
        assert_eq!(conn.deadline(&limits()), None, "busy: no deadline");
        conn.on_read();
        assert_eq!(conn.phase().0, Phase::Busy, "body bytes are not a new head");
        tokio::time::advance(Duration::from_secs(1)).await;
        conn.on_body_pending();
        assert_eq!(conn.deadline(&limits()), Some(accepted + Duration::from_secs(14)), "stalled body: idle timeout");
        conn.on_body_data();
        assert_eq!(conn.deadline(&limits()), None);
        conn.on_response_done();
        assert_eq!(conn.deadline(&limits()), Some(accepted + Duration::from_secs(14)));
        conn.on_body_data();
        assert_eq!(conn.phase().0, Phase::Idle, "a late body frame does not make an idle connection busy");
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_bound_the_longest_waiting_idle_connections_are_closed_first() {
        let tracker = Tracker::new();
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(tracker.register());
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        conns[0].on_request(); // the oldest is busy: kept
        conns[2].on_read(); // a head started later than conns[1] went idle
        assert_eq!(tracker.admit(4), Admission::Accept);
        let evicted: Vec<bool> = conns.iter().map(|c| c.is_evicted()).collect();
        assert_eq!(evicted, [false, true, false, false], "a batch of max/8 (at least 1), oldest first");
        assert_eq!(tracker.admit(4), Admission::Accept, "the connection told to close no longer counts");
        tracker.remove(&conns[1]);
        assert_eq!(tracker.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bound_full_of_busy_connections_refuses() {
        let tracker = Tracker::new();
        let conns: Vec<_> = (0..2).map(|_| tracker.register()).collect();
        conns.iter().for_each(|c| c.on_request());
        assert_eq!(tracker.admit(2), Admission::Full);
        conns[1].on_response_done();
        assert_eq!(tracker.admit(2), Admission::Accept);
        assert!(conns[1].is_evicted());
    }
}
