//! The watch loop shared by `up --watch` and `local-run --watch`.
//!
//! Each debounced batch of changes is classified per function ([`super::changes`]), then:
//! - a handler-only change of a function whose running replicas' image supports it is hot
//!   reloaded in every replica ([`super::hot`]); a handler that fails to load leaves the old code
//!   serving and its error (file and line) is printed;
//! - anything else (a dependency manifest, the template, a language without hot reload, no
//!   running replica, a reload that could not run) rebuilds that function and redeploys it;
//! - a stack file change is re-read: functions whose build inputs changed are rebuilt, those
//!   whose deployment changed are redeployed; a stack file that does not load is reported and
//!   the last good one kept.
//!
//! After hot reloads, the functions' images are rebuilt in the background once the files have
//! been quiet for [`REFRESH_DELAY`] (with the skip-unchanged build hash, so a later `rfaas up`
//! finds them current), so that a replica started later (scaling, a restart, a redeploy) runs the
//! code that was hot reloaded. The background build never delays a hot reload: it is polled only
//! between batches, a redeploy of a function rebuilds it first, and a rebuild cancels it.
//! A failed build or deploy keeps the last good version running and the loop watching.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::changes::{self, Changes, Layout};
use super::ignore_rules::IgnoreRules;
use super::watcher::{Batch, Watcher};
use crate::ops::Env;
use crate::ops::build::{BuildOptions, BuildOutcome};
use crate::output::{Mode, Printer, Terminal};
use crate::stack::Stack;

/// Quiet time after the last hot reload before the reloaded functions' images are rebuilt.
pub const REFRESH_DELAY: Duration = Duration::from_secs(2);

/// A container running a watched function on the local engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub container: String,
    pub image_id: String,
}

/// Where the watched functions run: the gateway (`up --watch`) or one container
/// (`local-run --watch`).
pub(crate) trait Target {
    /// The stack file, read again after it changed.
    async fn load_stack(&self) -> anyhow::Result<Stack>;
    /// The running containers of `function` on the local engine; empty when there are none a
    /// hot reload can reach (a remote gateway, a function scaled to zero).
    async fn replicas(&self, stack: &Stack, function: &str) -> anyhow::Result<Vec<Replica>>;
    /// The functions of `stack` whose deployment differs from what runs.
    async fn deployment_changes(&self, stack: &Stack) -> anyhow::Result<BTreeSet<String>>;
    /// Builds `rebuild` (and pushes them, for a remote gateway), then redeploys `rebuild` and
    /// `redeploy`. An error has been reported; the last good version keeps running.
    async fn apply(
        &mut self,
        stack: &Stack,
        rebuild: &BTreeSet<String>,
        redeploy: &BTreeSet<String>,
    ) -> anyhow::Result<()>;
    /// Completes when the target needs attention by itself (local-run: its container exited).
    async fn wake(&mut self);
    /// Ctrl-C: stop what needs stopping (local-run removes its container).
    async fn stop(&mut self);
}

/// What the loop needs besides its target.
pub struct SessionOptions<'a> {
    /// The stack file on disk (`None` for a stack read from a URL: not watched).
    pub stack_file: Option<PathBuf>,
    /// How images are built in the background after hot reloads.
    pub build: BuildOptions,
    /// The local engine, when hot reloads can reach the functions' containers.
    pub docker: Option<bollard::Docker>,
    pub env: Env<'a>,
}

type Refresh<'r> = Pin<Box<dyn Future<Output = (BTreeSet<String>, anyhow::Result<BuildOutcome>)> + 'r>>;

/// Watches until Ctrl-C or SIGTERM, applying every change to `target`.
pub(crate) async fn run<T: Target>(target: &mut T, stack: Stack, opts: SessionOptions<'_>) -> anyhow::Result<()> {
    let env = opts.env;
    let rules = IgnoreRules::load(env.cwd)?;
    let mut session = Session {
        layout: Layout::of(&stack, opts.stack_file.as_deref(), env.cwd),
        stack,
        rules,
        stale: BTreeSet::new(),
        refresh_at: None,
        refreshing: BTreeSet::new(),
        opts: &opts,
    };
    let mut watcher = Watcher::start(&session.layout.watch_set())?;
    env.printer.status(&session.watching_line());
    // Background builds report as quiet plain lines: no bars drawn under the status lines.
    let background = Printer::new(Mode::Quiet, Terminal::default());
    let background_env = Env { printer: &background, ..env };
    let mut refresh: Option<Refresh<'_>> = None;
    let mut shutdown = std::pin::pin!(crate::commands::local_run::shutdown_signal());
    loop {
        let refresh_due = session.refresh_at.filter(|_| refresh.is_none() && !session.stale.is_empty());
        tokio::select! {
            () = &mut shutdown => break,
            batch = watcher.next_batch(|path| session.layout.concerns(path, &session.rules)) => {
                let Some(batch) = batch else { break };
                session.handle(target, batch, &mut refresh).await;
                if let Err(e) = watcher.watch(&session.layout.watch_set()) {
                    env.printer.warn(&format!("{e:#}"));
                }
            }
            () = target.wake() => {}
            () = sleep_until(refresh_due), if refresh_due.is_some() => {
                refresh = Some(session.start_refresh(background_env));
            }
            (functions, outcome) = poll(&mut refresh), if refresh.is_some() => {
                refresh = None;
                session.refreshed(&functions, outcome);
            }
        }
    }
    env.printer.status("Stopped watching.");
    target.stop().await;
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

async fn poll(refresh: &mut Option<Refresh<'_>>) -> (BTreeSet<String>, anyhow::Result<BuildOutcome>) {
    match refresh {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

struct Session<'o, 'a> {
    stack: Stack,
    layout: Layout,
    rules: IgnoreRules,
    /// Functions hot reloaded since their image was last built.
    stale: BTreeSet<String>,
    /// When the background rebuild of `stale` starts.
    refresh_at: Option<Instant>,
    /// The functions the running background build is building.
    refreshing: BTreeSet<String>,
    opts: &'o SessionOptions<'a>,
}

/// What to do with one function after its changes were looked at.
enum Plan {
    Done,
    Rebuild,
}

impl<'a> Session<'_, 'a> {
    fn printer(&self) -> &'a Printer {
        self.opts.env.printer
    }

    fn watching_line(&self) -> String {
        let folders = self.layout.watch_set();
        let count = folders.recursive.len() + folders.flat.len();
        let names: Vec<&str> = self.layout.functions.iter().map(|f| f.name.as_str()).collect();
        format!(
            "Watching {count} folder{} for changes to {} (Ctrl-C stops)",
            if count == 1 { "" } else { "s" },
            names.join(", ")
        )
    }

    /// Applies one batch. A background build still running gives way to a rebuild (it is
    /// cancelled and started again later).
    async fn handle<T: Target>(&mut self, target: &mut T, batch: Batch, refresh: &mut Option<Refresh<'_>>) {
        let changes = changes::classify(&batch.paths, &self.layout, &self.rules);
        // Only batches that mean something: a log file written into a watched folder would
        // otherwise feed itself.
        if self.opts.env.environment.debug && !changes.is_empty() {
            let paths: Vec<String> = batch.paths.iter().map(|p| p.display().to_string()).collect();
            crate::output::log_line(&format!("[Watch] changed: {} → {changes:?}", paths.join(", ")));
        }
        if changes.is_empty() {
            return;
        }
        let mut rebuild = BTreeSet::new();
        let mut redeploy = BTreeSet::new();
        if changes.stack {
            self.reload_stack(target, &mut rebuild, &mut redeploy).await;
        }
        self.plan_functions(target, &changes, &mut rebuild).await;
        if rebuild.is_empty() && redeploy.is_empty() {
            return;
        }
        // A redeploy starts replicas from the image: one that lags behind hot reloads is rebuilt.
        rebuild.extend(redeploy.iter().filter(|f| self.stale.contains(*f)).cloned());
        if refresh.take().is_some() {
            self.stale.extend(std::mem::take(&mut self.refreshing));
            self.refresh_at = Some(Instant::now() + REFRESH_DELAY);
        }
        self.stale.retain(|f| !rebuild.contains(f));
        if self.stale.is_empty() {
            self.refresh_at = None;
        }
        let started = Instant::now();
        match target.apply(&self.stack, &rebuild, &redeploy).await {
            Ok(()) => {
                let mut done: Vec<&str> = rebuild.iter().chain(redeploy.iter()).map(String::as_str).collect();
                done.sort_unstable();
                done.dedup();
                self.printer().status(&format!(
                    "Updated {} in {:.1}s (save to deployed: {:.1}s); watching",
                    done.join(", "),
                    started.elapsed().as_secs_f64(),
                    batch.first_event.elapsed().as_secs_f64()
                ));
            }
            Err(e) => {
                self.printer().error(&crate::error::render(&e));
                self.printer().status("The last good version keeps running; watching for the next change.");
            }
        }
    }

    /// Re-reads the stack file and adds what its new version rebuilds and redeploys; a stack
    /// file that does not load is reported and the last good one kept.
    async fn reload_stack<T: Target>(
        &mut self,
        target: &T,
        rebuild: &mut BTreeSet<String>,
        redeploy: &mut BTreeSet<String>,
    ) {
        let new = match target.load_stack().await {
            Ok(new) => new,
            Err(e) => {
                self.printer().error(&crate::error::render(&e));
                self.printer().status("The stack file does not load: keeping the last good version; watching.");
                return;
            }
        };
        let build = changes::build_changes(&self.stack, &new);
        for name in &build.removed {
            self.printer().status(&format!(
                "{name} is no longer in the stack file: it stays deployed (`rfaas remove {name}` removes it)"
            ));
        }
        rebuild.extend(build.added.iter().chain(build.rebuild.iter()).cloned());
        match target.deployment_changes(&new).await {
            Ok(changed) => redeploy.extend(changed.into_iter().filter(|f| !rebuild.contains(f))),
            Err(e) => self.printer().error(&crate::error::render(&e)),
        }
        if rebuild.is_empty() && redeploy.is_empty() {
            self.printer().status("The stack file changed: nothing to rebuild or redeploy.");
        } else {
            let what: Vec<String> = rebuild
                .iter()
                .map(|f| format!("rebuild {f}"))
                .chain(redeploy.iter().map(|f| format!("redeploy {f}")))
                .collect();
            self.printer().status(&format!("The stack file changed: {}", what.join(", ")));
        }
        self.stale.retain(|f| new.file.functions.contains_key(f));
        self.layout = Layout::of(&new, self.opts.stack_file.as_deref(), self.opts.env.cwd);
        self.stack = new;
    }

    /// For each changed function: a hot reload when it can be one, else a rebuild.
    async fn plan_functions<T: Target>(&mut self, target: &T, changes: &Changes, rebuild: &mut BTreeSet<String>) {
        for (name, change) in &changes.functions {
            if rebuild.contains(name) || !self.stack.file.functions.contains_key(name) {
                continue;
            }
            if let Some(reason) = &change.rebuild {
                self.printer().status(&format!("{reason}: rebuilding {name}"));
                rebuild.insert(name.clone());
                continue;
            }
            if change.handler.is_empty() {
                continue;
            }
            match self.hot_reload(target, name, change).await {
                Plan::Done => {}
                Plan::Rebuild => {
                    rebuild.insert(name.clone());
                }
            }
        }
    }

    /// Tries the hot path for a handler-only change of `name`.
    async fn hot_reload<T: Target>(&mut self, target: &T, name: &str, change: &changes::FunctionChange) -> Plan {
        let what = change.describe_handler();
        let Some(docker) = &self.opts.docker else {
            self.printer().status(&format!("{what} changed: rebuilding {name}"));
            return Plan::Rebuild;
        };
        let replicas = match target.replicas(&self.stack, name).await {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => {
                self.printer().status(&format!("{what} changed: rebuilding {name} (no running replica to reload)"));
                return Plan::Rebuild;
            }
            Err(e) => {
                self.printer().status(&format!("{what} changed: rebuilding {name} (cannot list its replicas: {e:#})"));
                return Plan::Rebuild;
            }
        };
        let handler = self.layout.functions.iter().find(|f| f.name == name).and_then(|f| f.handler.clone());
        let Some(handler) = handler else { return Plan::Rebuild };
        let ignore = self.rules.for_handler(&handler);
        let shown_as = handler.strip_prefix(&self.layout.project).unwrap_or(&handler).display().to_string();
        match super::hot::reload_all(docker, &replicas, &handler, &ignore, &shown_as).await {
            super::hot::Outcome::Loaded { replicas, elapsed } => {
                self.printer().status(&format!(
                    "{what} changed: reloaded {name} in {replicas} replica{} ({} ms)",
                    if replicas == 1 { "" } else { "s" },
                    elapsed.as_millis()
                ));
                self.stale.insert(name.to_string());
                self.refresh_at = Some(Instant::now() + REFRESH_DELAY);
                Plan::Done
            }
            super::hot::Outcome::Failed { report } => {
                self.printer().error(&report);
                self.printer().status(&format!("{name} keeps serving its previous code; watching for a fix."));
                Plan::Done
            }
            super::hot::Outcome::Unavailable { reason } => {
                self.printer().status(&format!("{what} changed: rebuilding {name} ({reason})"));
                Plan::Rebuild
            }
        }
    }

    /// The background rebuild of the functions hot reloaded since their last build.
    fn start_refresh<'r>(&mut self, env: Env<'r>) -> Refresh<'r> {
        self.refresh_at = None;
        let functions = std::mem::take(&mut self.stale);
        self.refreshing = functions.clone();
        let mut subset = self.stack.clone();
        subset.file.functions.retain(|k, _| functions.contains(k));
        let opts = self.opts.build.clone();
        Box::pin(async move {
            let outcome = crate::ops::build::build(&subset, &opts, &env).await;
            (functions, outcome)
        })
    }

    fn refreshed(&mut self, functions: &BTreeSet<String>, outcome: anyhow::Result<BuildOutcome>) {
        self.refreshing.clear();
        let names: Vec<&str> = functions.iter().map(String::as_str).collect();
        match outcome {
            Ok(o) if o.failed.is_empty() => {
                self.printer().status(&format!(
                    "Background: the image of {} now has the reloaded code ({:.1}s)",
                    names.join(", "),
                    o.elapsed.as_secs_f64()
                ));
            }
            Ok(o) => {
                self.printer().warn(&format!(
                    "the background build of {} failed (the running replicas keep the reloaded code; \
                     a replica started later would run the previous image)",
                    o.failed.join(", ")
                ));
                self.stale.extend(o.failed);
            }
            Err(e) => {
                self.printer().warn(&format!("the background build of {} failed: {e:#}", names.join(", ")));
                self.stale.extend(functions.iter().cloned());
            }
        }
    }
}

/// The stack file a watch session re-reads: `-f`, else the discovered `stack.yaml`/`stack.yml`.
pub fn stack_file(yaml: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    match crate::stack::discover(yaml, cwd)? {
        crate::stack::Source::File(path) => Some(path),
        crate::stack::Source::Url(_) => None,
    }
}
