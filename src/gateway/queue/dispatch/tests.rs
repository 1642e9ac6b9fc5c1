use super::*;

fn pending(id: &str, function: &str, due_ms: i64, seq: i64) -> Pending {
    Pending { call_id: id.into(), key: FnKey::new(function, ""), due_ms, seq }
}

fn lane(queue: &str, max_inflight: Option<usize>) -> Lane {
    Lane { queue: queue.into(), max_inflight }
}

fn ids(taken: &[Dispatch]) -> Vec<&str> {
    taken.iter().map(|d| d.call_id.as_str()).collect()
}

#[test]
fn calls_run_when_due_in_order_and_a_known_call_is_held_once() {
    let d = Dispatcher::default();
    d.add(pending("b", "f", 10, 2));
    d.add(pending("a", "f", 10, 1));
    d.add(pending("later", "f", 500, 3));
    d.add(pending("a", "f", 10, 1));
    let (taken, next) = d.take_due(100, |_| lane(DEFAULT_QUEUE, None), |_| 4);
    assert_eq!(ids(&taken), ["a", "b"]);
    assert_eq!(next, Some(500), "the dispatcher sleeps until the retry is due");
    let (taken, next) = d.take_due(100, |_| lane(DEFAULT_QUEUE, None), |_| 4);
    assert!(taken.is_empty() && next == Some(500));
    d.add(pending("a", "f", 10, 1));
    assert!(d.take_due(100, |_| lane(DEFAULT_QUEUE, None), |_| 4).0.is_empty(), "a is running");
}

#[test]
fn functions_of_a_queue_take_turns_so_a_backlog_does_not_starve_the_others() {
    let d = Dispatcher::default();
    for i in 0..100 {
        d.add(pending(&format!("slow-{i}"), "slow", 0, i));
    }
    d.add(pending("fast-0", "fast", 0, 100));
    d.add(pending("fast-1", "fast", 0, 101));
    let (taken, _) = d.take_due(1, |_| lane(DEFAULT_QUEUE, None), |_| 3);
    assert_eq!(ids(&taken), ["fast-0", "slow-0", "fast-1"]);
    let slow = taken.iter().find(|t| t.call_id == "slow-0").unwrap().clone();
    d.finished(&slow, Next::Final);
    let (taken, _) = d.take_due(1, |_| lane(DEFAULT_QUEUE, None), |_| 3);
    assert_eq!(ids(&taken), ["slow-1"]);
    assert!(d.take_finished() && !d.take_finished());
}

#[test]
fn each_queue_has_its_own_workers_and_each_function_its_cap() {
    let d = Dispatcher::default();
    for i in 0..10 {
        d.add(pending(&format!("slow-{i}"), "slow", 0, i));
        d.add(pending(&format!("capped-{i}"), "capped", 0, 100 + i));
        d.add(pending(&format!("other-{i}"), "other", 0, 200 + i));
    }
    let lanes = |k: &FnKey| match k.name.as_str() {
        "slow" => lane("slow-queue", None),
        "capped" => lane(DEFAULT_QUEUE, Some(1)),
        _ => lane(DEFAULT_QUEUE, None),
    };
    let workers = |q: &str| if q == "slow-queue" { 2 } else { 4 };
    let (taken, _) = d.take_due(1, lanes, workers);
    let count = |prefix: &str| taken.iter().filter(|t| t.call_id.starts_with(prefix)).count();
    assert_eq!((count("slow-"), count("capped-"), count("other-")), (2, 1, 3));
    let (again, _) = d.take_due(1, lanes, workers);
    assert!(again.is_empty(), "every worker is busy and capped is at its cap: {:?}", ids(&again));
    let capped = taken.iter().find(|t| t.call_id.starts_with("capped-")).unwrap().clone();
    d.finished(&capped, Next::Retry { due_ms: 50 });
    let (taken, next) = d.take_due(1, lanes, workers);
    assert_eq!(ids(&taken), ["capped-1"], "the retry waits until it is due");
    assert_eq!(next, None, "only due-but-blocked work is left; a finish wakes the dispatcher");
}
