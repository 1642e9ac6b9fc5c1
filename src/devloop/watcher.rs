//! File-system events for `--watch`, debounced into batches of changed paths.
//!
//! The `notify` crate watches the stack file's folder (not recursively: editors replace a file by
//! renaming a new one over it, which a watch on the file itself would lose), each handler folder
//! and each local template folder (recursively). Events arrive on `notify`'s thread and are sent
//! into a channel; [`Watcher::next_batch`] waits for the first change of a path that concerns
//! the caller, then collects until no such change has arrived for [`DEBOUNCE`], so an editor's
//! two or three writes of one save become one batch. Read-only accesses (a build or a hot reload
//! reading the handler) are not changes, and neither are writes to files of no concern (the
//! output of `rfaas local-run --watch > run.log` beside the stack file, which would otherwise
//! hold a batch open for as long as the function logs).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// Quiet time that ends a batch: long enough to coalesce one save's events (editors write,
/// truncate, rename within a few milliseconds), short enough to stay well inside the 1 s budget
/// from save to the new code serving.
pub const DEBOUNCE: Duration = Duration::from_millis(120);

/// What to watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSet {
    /// Folders watched without their sub-folders (the stack file's folder).
    pub flat: BTreeSet<PathBuf>,
    /// Folders watched with everything under them (handlers, templates).
    pub recursive: BTreeSet<PathBuf>,
}

/// The changed paths of one burst of events, and when its first event arrived.
#[derive(Debug, Clone)]
pub struct Batch {
    pub paths: BTreeSet<PathBuf>,
    pub first_event: Instant,
}

/// A running `notify` watcher and the channel its events arrive on.
pub struct Watcher {
    // Dropping the watcher stops the events; kept for that.
    inner: RecommendedWatcher,
    watched: WatchSet,
    events: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
}

impl Watcher {
    /// Starts watching `set`; a folder that does not exist is an error naming it.
    pub fn start(set: &WatchSet) -> anyhow::Result<Watcher> {
        let (tx, events) = mpsc::unbounded_channel();
        let inner = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })
        .map_err(|e| anyhow::anyhow!("cannot watch files: {e}"))?;
        let mut watcher = Watcher { inner, watched: WatchSet::default(), events };
        watcher.watch(set)?;
        Ok(watcher)
    }

    /// Makes the watched folders `set`: new ones are added, those no longer wanted removed.
    pub fn watch(&mut self, set: &WatchSet) -> anyhow::Result<()> {
        let wanted = |s: &WatchSet| -> BTreeSet<(PathBuf, bool)> {
            s.flat.iter().map(|p| (p.clone(), false)).chain(s.recursive.iter().map(|p| (p.clone(), true))).collect()
        };
        let (old, new) = (wanted(&self.watched), wanted(set));
        for (path, _) in old.difference(&new) {
            let _ = self.inner.unwatch(path);
        }
        for (path, recursive) in new.difference(&old) {
            let mode = if *recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
            self.inner.watch(path, mode).map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", path.display()))?;
        }
        self.watched = set.clone();
        Ok(())
    }

    /// The next batch of changed paths that `concerns` the caller; `None` when the watcher has
    /// stopped.
    pub async fn next_batch(&mut self, concerns: impl Fn(&Path) -> bool) -> Option<Batch> {
        let mut paths = BTreeSet::new();
        let first_event = loop {
            let event = self.events.recv().await?;
            if collect(event, &concerns, &mut paths) {
                break Instant::now();
            }
        };
        // Only changes extend the batch: reads (an open, a close) in a watched folder arrive as
        // events too, and a file read every 100 ms would otherwise keep the batch open forever.
        let mut quiet_at = tokio::time::Instant::now() + DEBOUNCE;
        while let Ok(Some(event)) = tokio::time::timeout_at(quiet_at, self.events.recv()).await {
            if collect(event, &concerns, &mut paths) {
                quiet_at = tokio::time::Instant::now() + DEBOUNCE;
            }
        }
        Some(Batch { paths, first_event })
    }
}

/// Adds the paths of concern an event changed; true when it changed any.
fn collect(
    event: notify::Result<notify::Event>,
    concerns: &impl Fn(&Path) -> bool,
    paths: &mut BTreeSet<PathBuf>,
) -> bool {
    let Ok(event) = event else { return false };
    if !changes_content(&event.kind) {
        return false;
    }
    let mut changed = false;
    for path in event.paths.into_iter().filter(|p| concerns(p)) {
        paths.insert(path);
        changed = true;
    }
    changed
}

fn changes_content(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any)
        && !matches!(kind, EventKind::Modify(notify::event::ModifyKind::Metadata(_)))
}

/// A path made absolute and free of symbolic links where it exists (event paths are reported
/// under the folder as it was watched, so both sides must be spelled the same way).
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_save_is_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        let set = WatchSet { recursive: BTreeSet::from([root.clone()]), ..Default::default() };
        let mut watcher = Watcher::start(&set).unwrap();
        let file = root.join("handler.py");
        std::fs::write(&file, "a").unwrap();
        std::fs::write(&file, "ab").unwrap();
        let batch = tokio::time::timeout(Duration::from_secs(5), watcher.next_batch(|_| true)).await.unwrap().unwrap();
        assert_eq!(batch.paths, BTreeSet::from([file.clone()]));
        // Nothing more is pending: the two writes were coalesced.
        let next = tokio::time::timeout(Duration::from_millis(300), watcher.next_batch(|_| true)).await;
        assert!(next.is_err(), "a second batch: {next:?}");
        // Reading is not a change, and reads do not hold a batch open.
        let _ = std::fs::read(&file).unwrap();
        let next = tokio::time::timeout(Duration::from_millis(300), watcher.next_batch(|_| true)).await;
        assert!(next.is_err(), "a read made a batch: {next:?}");
        let reader = root.join("log");
        std::fs::write(&reader, "x").unwrap();
        let batch = tokio::time::timeout(Duration::from_secs(5), watcher.next_batch(|_| true)).await.unwrap().unwrap();
        assert_eq!(batch.paths, BTreeSet::from([reader.clone()]));
        std::fs::write(&file, "abc").unwrap();
        let reads = std::thread::spawn(move || {
            for _ in 0..30 {
                let _ = std::fs::read(&reader);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let started = Instant::now();
        let batch = tokio::time::timeout(Duration::from_secs(5), watcher.next_batch(|_| true)).await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "reads held the batch for {:?}", started.elapsed());
        assert_eq!(batch.paths, BTreeSet::from([file.clone()]));
        reads.join().unwrap();
    }

    #[tokio::test]
    async fn writes_of_no_concern_neither_start_nor_hold_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        let set = WatchSet { flat: BTreeSet::from([root.clone()]), ..Default::default() };
        let mut watcher = Watcher::start(&set).unwrap();
        let (stack, log) = (root.join("stack.yaml"), root.join("run.log"));
        let concerns = |p: &Path| p == stack;
        // A log written beside the stack file every 30 ms, as `local-run --watch > run.log` does.
        let writer = {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    std::fs::write(&log, format!("line {i}\n")).unwrap();
                    std::thread::sleep(Duration::from_millis(30));
                }
            })
        };
        let next = tokio::time::timeout(Duration::from_millis(400), watcher.next_batch(concerns)).await;
        assert!(next.is_err(), "the log made a batch: {next:?}");
        std::fs::write(&stack, "a").unwrap();
        let started = Instant::now();
        let batch = tokio::time::timeout(Duration::from_secs(5), watcher.next_batch(concerns)).await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_millis(600), "the log held the batch for {:?}", started.elapsed());
        assert_eq!(batch.paths, BTreeSet::from([stack.clone()]));
        writer.join().unwrap();
    }

    #[tokio::test]
    async fn a_file_renamed_over_another_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::create_dir(root.join("fn")).unwrap();
        let stack = root.join("stack.yaml");
        std::fs::write(&stack, "a").unwrap();
        let set = WatchSet { flat: BTreeSet::from([root.clone()]), recursive: BTreeSet::from([root.join("fn")]) };
        let mut watcher = Watcher::start(&set).unwrap();
        std::fs::write(root.join("stack.tmp"), "b").unwrap();
        std::fs::rename(root.join("stack.tmp"), &stack).unwrap();
        let batch = tokio::time::timeout(Duration::from_secs(5), watcher.next_batch(|_| true)).await.unwrap().unwrap();
        assert!(batch.paths.contains(&stack), "{batch:?}");
    }
}
