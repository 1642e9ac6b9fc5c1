use super::*;
use crate::openfaas::invocations::InvocationStatus as S;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("gateway.db")).unwrap();
    (dir, store)
}

fn new(id: &str, function: &str, now_ms: i64) -> NewInvocation {
    NewInvocation {
        call_id: id.into(),
        key: FnKey::new(function, ""),
        request: "{}".into(),
        body: vec![0, 255, b'x'],
        callback_url: None,
        now_ms,
    }
}

fn answer(status_code: u16, finished_ms: i64) -> AttemptResult {
    AttemptResult { status_code, duration_seconds: 0.5, bytes: 7, error: None, finished_ms }
}

async fn status(store: &Store, id: &str) -> S {
    store.invocation(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_call_id_is_accepted_once() {
    let (_dir, store) = store();
    assert!(matches!(store.insert_invocation(new("c1", "f", 1)).await.unwrap(), Inserted::New(_)));
    assert_eq!(store.insert_invocation(new("c1", "f", 2)).await.unwrap(), Inserted::Existing(FnKey::new("f", "")));
    assert_eq!(store.insert_invocation(new("c1", "g", 3)).await.unwrap(), Inserted::Existing(FnKey::new("f", "")));
    let record = store.invocation("c1").await.unwrap().unwrap();
    assert_eq!((record.status, record.created_at.timestamp_millis()), (S::Queued, 1));
    assert_eq!(store.pending_invocations(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn attempts_are_recorded_and_a_retry_gets_a_fresh_budget() {
    let (_dir, store) = store();
    store.insert_invocation(new("c1", "f", 1)).await.unwrap();
    let job = store.start_attempt("c1", 2).await.unwrap().unwrap();
    assert_eq!((job.number, job.charged, job.body.as_slice()), (1, 0, &[0, 255, b'x'][..]));
    assert_eq!(status(&store, "c1").await, S::Running);
    assert!(store.start_attempt("c1", 2).await.unwrap().is_none(), "a running call is not started twice");
    store.finish_attempt("c1", answer(503, 3), AttemptEnd::Retry { next_ms: 100 }).await.unwrap();
    let record = store.invocation("c1").await.unwrap().unwrap();
    assert_eq!((record.status, record.next_attempt_at.map(|t| t.timestamp_millis())), (S::Failed, Some(100)));
    let job = store.start_attempt("c1", 100).await.unwrap().unwrap();
    assert_eq!((job.number, job.charged), (2, 1));
    let end = AttemptEnd::Final { status: S::Dead, callback: None };
    store.finish_attempt("c1", answer(500, 101), end).await.unwrap();
    let record = store.invocation("c1").await.unwrap().unwrap();
    assert_eq!(record.status, S::Dead);
    assert_eq!(record.attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(), [Some(503), Some(500)]);
    assert_eq!(record.response.unwrap().status_code, 500);
    assert!(record.next_attempt_at.is_none());

    let pending = store.requeue_invocation("c1", 200).await.unwrap().unwrap();
    assert_eq!((pending.call_id.as_str(), pending.due_ms), ("c1", 200));
    let job = store.start_attempt("c1", 200).await.unwrap().unwrap();
    assert_eq!((job.number, job.charged), (3, 0), "numbering goes on, the budget starts again");
    assert_eq!(store.requeue_invocation("c1", 201).await.unwrap(), Err(RetryRefused::Status(S::Running)));
    assert_eq!(store.requeue_invocation("nope", 201).await.unwrap(), Err(RetryRefused::NotFound));
}

#[tokio::test]
async fn concurrent_retries_of_one_call_requeue_it_once() {
    let (_dir, store) = store();
    store.insert_invocation(new("c1", "f", 1)).await.unwrap();
    store.start_attempt("c1", 2).await.unwrap().unwrap();
    let end = AttemptEnd::Final { status: S::Succeeded, callback: None };
    store.finish_attempt("c1", answer(200, 3), end).await.unwrap();
    let tries = (0..16).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.requeue_invocation("c1", 10 + i).await.unwrap() })
    });
    let results = futures_util::future::join_all(tries).await;
    let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    assert_eq!(won, 1, "{results:?}");
}

#[tokio::test]
async fn a_call_cut_short_by_a_crash_is_queued_again_with_its_attempt_marked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    {
        let store = Store::open(&path).unwrap();
        store.insert_invocation(new("c1", "f", 1)).await.unwrap();
        store.start_attempt("c1", 2).await.unwrap().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let pending = store.pending_invocations(50).await.unwrap();
    assert_eq!(pending.iter().map(|p| (p.call_id.as_str(), p.due_ms)).collect::<Vec<_>>(), [("c1", 50)]);
    let record = store.invocation("c1").await.unwrap().unwrap();
    assert_eq!(record.status, S::Queued);
    assert_eq!(record.attempts[0].error.as_deref(), Some(INTERRUPTED));
    let job = store.start_attempt("c1", 60).await.unwrap().unwrap();
    assert_eq!((job.number, job.charged), (2, 0), "an interrupted attempt is not charged");
}

#[tokio::test]
async fn lists_filter_newest_first_and_pruning_keeps_unfinished_calls() {
    let (_dir, store) = store();
    for (i, function) in ["a", "b", "a", "a"].iter().enumerate() {
        let id = format!("c{i}");
        store.insert_invocation(new(&id, function, i as i64)).await.unwrap();
        if i < 3 {
            store.start_attempt(&id, 10).await.unwrap().unwrap();
            let end = AttemptEnd::Final { status: S::Succeeded, callback: None };
            store.finish_attempt(&id, answer(200, 100 + i as i64), end).await.unwrap();
        }
    }
    let list = |function: Option<&str>, status: Option<S>, limit| {
        let filter = Filter { function: function.map(str::to_string), namespace: None, status, limit };
        let store = store.clone();
        async move { store.invocations(filter).await.unwrap().into_iter().map(|r| r.call_id).collect::<Vec<_>>() }
    };
    assert_eq!(list(None, None, 10).await, ["c3", "c2", "c1", "c0"]);
    assert_eq!(list(Some("a"), Some(S::Succeeded), 10).await, ["c2", "c0"]);
    assert_eq!(list(None, None, 2).await, ["c3", "c2"]);
    let by_ns = Filter { namespace: Some("other".into()), limit: 10, ..Filter::default() };
    assert!(store.invocations(by_ns).await.unwrap().is_empty());

    assert_eq!(store.prune_invocations(2, 0).await.unwrap(), 1, "c0 finished first");
    assert_eq!(list(None, None, 10).await, ["c3", "c2", "c1"]);
    assert_eq!(store.prune_invocations(10, 102).await.unwrap(), 1, "c1 is older than the cut-off");
    assert_eq!(store.prune_invocations(0, i64::MAX).await.unwrap(), 1);
    assert_eq!(list(None, None, 10).await, ["c3"], "a queued call is never pruned");
}
