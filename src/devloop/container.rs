//! `local-run --watch`'s target: the one function's container on the local engine.
//!
//! The container runs in a task ([`ops::local_run::run`], which forwards its output and removes
//! it when told to stop). A handler change is hot reloaded into it; a rebuild builds the image
//! while the old container keeps serving, then replaces the container; a stack change that
//! alters the container (environment, secrets, limits) replaces it. A container that exits by
//! itself is reported and started again after the next change. Ctrl-C stops and removes it.

use std::collections::BTreeSet;

use bollard::Docker;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::gateway::StackLoader;
use super::session::{Replica, Target};
use crate::ops::build::{BuildFailed, BuildOptions};
use crate::ops::local_run::{self, LocalRunError, RunOutcome, RunPlan};
use crate::ops::{self, Env};
use crate::stack::Stack;

/// Makes the container plan of a stack's one function.
pub type Planner<'a> = Box<dyn Fn(&Stack) -> anyhow::Result<RunPlan> + 'a>;

pub struct ContainerTarget<'a> {
    docker: Docker,
    plan: RunPlan,
    build: BuildOptions,
    planner: Planner<'a>,
    load: StackLoader<'a>,
    env: Env<'a>,
    running: Option<Running>,
}

/// The task running the container, and how to tell it to stop.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<RunOutcome, LocalRunError>>,
}

impl<'a> ContainerTarget<'a> {
    pub fn new(
        docker: Docker,
        plan: RunPlan,
        build: BuildOptions,
        planner: Planner<'a>,
        load: StackLoader<'a>,
        env: Env<'a>,
    ) -> ContainerTarget<'a> {
        ContainerTarget { docker, plan, build, planner, load, env, running: None }
    }

    /// Starts the container (replacing one of the same name).
    pub fn start(&mut self) {
        let (stop, stopped) = oneshot::channel::<()>();
        let (docker, plan, printer) = (self.docker.clone(), self.plan.clone(), self.env.printer.clone());
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            local_run::run(&docker, &plan, &printer, stop).await
        });
        self.running = Some(Running { stop, task });
    }

    /// Stops and removes the container, when one runs.
    async fn halt(&mut self) -> Option<Result<RunOutcome, LocalRunError>> {
        let running = self.running.take()?;
        let _ = running.stop.send(());
        running.task.await.ok()
    }

    /// `plan` for `stack`, on the port the container already has (a `--port 0` pick stays).
    fn plan_for(&self, stack: &Stack) -> anyhow::Result<RunPlan> {
        let mut plan = (self.planner)(stack)?;
        plan.port = self.plan.port;
        Ok(plan)
    }
}

impl Target for ContainerTarget<'_> {
    async fn load_stack(&self) -> anyhow::Result<Stack> {
        (self.load)().await
    }

    async fn replicas(&self, _stack: &Stack, _function: &str) -> anyhow::Result<Vec<Replica>> {
        if self.running.is_none() {
            return Ok(Vec::new());
        }
        let Ok(c) = self.docker.inspect_container(&self.plan.name, None).await else { return Ok(Vec::new()) };
        let running = c.state.and_then(|s| s.running).unwrap_or(false);
        Ok(match (running, c.id, c.image) {
            (true, Some(container), Some(image_id)) => vec![Replica { container, image_id }],
            _ => Vec::new(),
        })
    }

    async fn deployment_changes(&self, stack: &Stack) -> anyhow::Result<BTreeSet<String>> {
        let plan = self.plan_for(stack)?;
        Ok(if plan == self.plan { BTreeSet::new() } else { BTreeSet::from([plan.name]) })
    }

    async fn apply(&mut self, stack: &Stack, rebuild: &BTreeSet<String>, _: &BTreeSet<String>) -> anyhow::Result<()> {
        let plan = self.plan_for(stack)?;
        if !rebuild.is_empty() {
            let built = ops::build::build(stack, &self.build, &self.env).await?;
            if !built.failed.is_empty() {
                return Err(BuildFailed { total: built.attempted(), failed: built.failed }.into());
            }
        }
        self.halt().await;
        self.plan = plan;
        self.start();
        Ok(())
    }

    async fn wake(&mut self) {
        let Some(running) = &mut self.running else { return std::future::pending().await };
        let result = (&mut running.task).await;
        self.running = None;
        let printer = self.env.printer;
        match result {
            Ok(Ok(RunOutcome::Exited(code))) => printer
                .status(&format!("{} exited with code {code}; it starts again after the next change", self.plan.name)),
            Ok(Ok(RunOutcome::Stopped)) => {}
            Ok(Err(e)) => printer.error(&crate::error::render(&e.into())),
            Err(e) => printer.error(&format!("error: the container task failed: {e}")),
        }
    }

    async fn stop(&mut self) {
        if let Some(Ok(RunOutcome::Stopped)) = self.halt().await {
            self.env.printer.status(&format!("{} stopped and removed", self.plan.name));
        }
    }
}
