//! `up --watch`'s target: functions deployed on a gateway.
//!
//! Rebuilds go through [`ops::build`] (the skip-unchanged hash kept), then [`ops::push`] for a
//! remote gateway (as faas-cli's watch does: build, push, deploy), then [`ops::deploy`] of only
//! the touched functions (the gateway does a rolling update). With rfaas's local gateway the
//! replicas are containers on this engine, found by the gateway's labels, and a handler change
//! can be hot reloaded into them; a remote gateway is always rebuilt.

use std::collections::{BTreeSet, HashMap};

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::future::LocalBoxFuture;

use super::session::{Replica, Target};
use crate::gateway::provider::labels;
use crate::openfaas::Client;
use crate::openfaas::deployment::Overrides;
use crate::openfaas::types::DEFAULT_NAMESPACE;
use crate::ops::build::{BuildFailed, BuildOptions};
use crate::ops::deploy::DeployOptions;
use crate::ops::diff::{self, EnvMode};
use crate::ops::push::PushOptions;
use crate::ops::{self, Env};
use crate::stack::Stack;

/// The local gateway whose replicas run on this engine.
#[derive(Debug, Clone)]
pub struct LocalReplicas {
    pub docker: Docker,
    /// The gateway's identity (`<state-dir>/gateway-id`), on every container it starts.
    pub gateway_id: String,
}

/// Re-reads the stack file as the command first read it.
pub type StackLoader<'a> = Box<dyn Fn() -> LocalBoxFuture<'a, anyhow::Result<Stack>> + 'a>;

pub struct GatewayTarget<'a> {
    pub client: Client,
    pub build: BuildOptions,
    /// Push after building; `None` for the local gateway (it runs the local engine's images).
    pub push: Option<PushOptions>,
    pub overrides: Overrides,
    pub read_template: bool,
    pub deploy: DeployOptions,
    /// Create missing secrets from `./.secrets/` (the local gateway, as `up --local` does).
    pub create_secrets: bool,
    pub local: Option<LocalReplicas>,
    pub load: StackLoader<'a>,
    pub env: Env<'a>,
}

/// `stack` with only the functions in `names`.
pub fn only(stack: &Stack, names: &BTreeSet<String>) -> Stack {
    let mut subset = stack.clone();
    subset.file.functions.retain(|k, _| names.contains(k));
    subset
}

impl Target for GatewayTarget<'_> {
    async fn load_stack(&self) -> anyhow::Result<Stack> {
        (self.load)().await
    }

    async fn replicas(&self, stack: &Stack, function: &str) -> anyhow::Result<Vec<Replica>> {
        let Some(local) = &self.local else { return Ok(Vec::new()) };
        let namespace = self
            .overrides
            .namespace
            .clone()
            .or_else(|| stack.file.functions.get(function).and_then(|f| f.namespace.clone()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{}={}", labels::GATEWAY, local.gateway_id),
                format!("{}={function}", labels::NAME),
                format!("{}={namespace}", labels::NAMESPACE),
            ],
        )]);
        let options = ListContainersOptionsBuilder::default().filters(&filters).build();
        let containers = local.docker.list_containers(Some(options)).await?;
        Ok(containers
            .into_iter()
            .filter_map(|c| Some(Replica { container: c.id?, image_id: c.image_id.unwrap_or_default() }))
            .collect())
    }

    async fn deployment_changes(&self, stack: &Stack) -> anyhow::Result<BTreeSet<String>> {
        let wanted = ops::deploy::from_stack(stack, &self.overrides, self.read_template, &self.env)?;
        let namespaces: BTreeSet<&str> = wanted.iter().map(|w| w.namespace.as_str()).collect();
        let mut deployed = Vec::new();
        for namespace in namespaces {
            deployed.extend(self.client.list_functions(namespace).await.map_err(|e| e.into_anyhow())?);
        }
        let changed: BTreeSet<String> =
            diff::diff(&wanted, &deployed, EnvMode::All).into_iter().map(|d| d.function).collect();
        Ok(wanted
            .iter()
            .filter(|w| changed.contains(&diff::key(&w.service, &w.namespace)))
            .map(|w| w.service.clone())
            .collect())
    }

    async fn apply(
        &mut self,
        stack: &Stack,
        rebuild: &BTreeSet<String>,
        redeploy: &BTreeSet<String>,
    ) -> anyhow::Result<()> {
        if !rebuild.is_empty() {
            let subset = only(stack, rebuild);
            let built = ops::build::build(&subset, &self.build, &self.env).await?;
            if !built.failed.is_empty() {
                return Err(BuildFailed { total: built.attempted(), failed: built.failed }.into());
            }
            if let Some(push) = &self.push {
                ops::push::push(&subset, push, &self.env).await?.check()?;
            }
        }
        let subset = only(stack, &rebuild.union(redeploy).cloned().collect());
        let deployments = ops::deploy::from_stack(&subset, &self.overrides, self.read_template, &self.env)?;
        if self.create_secrets {
            ops::deploy::create_missing_secrets(&self.client, &deployments, &self.env).await?;
        }
        ops::deploy::deploy(&self.client, &deployments, &self.deploy, &self.env).await?.check()?;
        Ok(())
    }

    async fn wake(&mut self) {
        std::future::pending().await
    }

    async fn stop(&mut self) {}
}
